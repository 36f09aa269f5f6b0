// Shared by the libFuzzer targets: a scratch file per process and the one exception type inputs may raise.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace rr::fuzz {

// A file under /tmp unique to this process, rewritten with `data`.
inline std::filesystem::path scratch(const std::string& name, const uint8_t* data, size_t size) {
  auto p = std::filesystem::temp_directory_path() / ("rr-fuzz-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p;
}

}  // namespace rr::fuzz
