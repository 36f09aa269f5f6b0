#include "common/fingerprint.h"

#include <fmt/format.h>

#include "common/stable_hash.h"

namespace rr {

std::string file_identity(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return "";
  const auto t = std::filesystem::last_write_time(path, ec);
  return fmt::format("{}:{}", size, t.time_since_epoch().count());
}

std::string fingerprint(const std::string& text) {
  return fmt::format("{:016x}", stable_hash(text, 0x5eed));
}

}  // namespace rr
