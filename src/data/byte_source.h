// The bytes of a plain or gzip-compressed file (by its .gz extension), read in pieces; zlib's errors become
// Input errors naming the file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

namespace rr {

class ByteSource {
 public:
  explicit ByteSource(const std::filesystem::path& path);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  // Reads up to n bytes; returns how many (fewer only at the end).
  size_t read(char* out, size_t n);
  // Skips the first n bytes of an uncompressed file (a seek).
  void skip(int64_t n);
  // Everything left.
  std::string read_all();
  // True for gzip input, whatever the extension says (by its magic bytes).
  static bool is_gzip(const std::filesystem::path& path);

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  void* gz_ = nullptr;  // gzFile
};

}  // namespace rr
