// The safetensors format: 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then raw data.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <string>

namespace rr {

using TensorMap = std::map<std::string, at::Tensor>;

// Reads every tensor as float32 (F32, F16 and BF16 are widened; I64/I32 kept as integers).
// Throws Input naming the file (and tensor) on a truncated file, a bad header, an unknown dtype,
// offsets outside the data, or a shape that does not match the bytes.
TensorMap read_safetensors(const std::filesystem::path& path);

// Writes float32 contiguous copies of the tensors, keys sorted, header padded to 8 bytes; atomic.
void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace rr
