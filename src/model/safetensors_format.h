// The safetensors container without tensors: 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then raw data.
// Parsing and every check live here (no LibTorch), so the fuzz target exercises them all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rr {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // F32, F16, BF16, F64, I64, I32
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within `data`
  size_t element_size = 4;
};

struct SafetensorsFile {
  std::vector<SafetensorsEntry> entries;
  std::vector<char> data;  // the bytes after the header (empty when only the header was read)
};

// Throws Input naming the file (and tensor) on a truncated file, a bad header, an unknown dtype,
// offsets outside the data, or a shape that does not match the bytes. header_only: names, shapes and
// offsets (checked against the file size) without reading the tensors.
SafetensorsFile parse_safetensors(const std::filesystem::path& path, bool header_only = false);

}  // namespace rr
