// The torch.save container without tensors: a zip archive (every record stored uncompressed) holding
// <archive>/data.pkl, a pickle of the saved object, and <archive>/data/<key>, one raw little-endian storage
// per key. The pickle is run here by a small interpreter of the opcodes and globals torch.save writes for a
// dict of tensors (protocols 2-5); no LibTorch and no Python, so every byte of a damaged or hostile file is
// checked in this file, which the fuzz target exercises with the sanitizers on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rr {

// One tensor value of the dict: a strided view of a storage record, in elements.
struct TorchSaveTensor {
  std::string name;
  std::string dtype;  // F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL
  size_t element_size = 4;
  uint64_t storage_begin = 0;           // byte offset of the storage's record in the file
  int64_t storage_numel = 0;            // elements in the storage (its record holds at least this many)
  int64_t storage_offset = 0;           // the view's first element
  std::vector<int64_t> sizes, strides;  // every element the view reaches lies inside the storage
};

struct TorchSaveFile {
  std::vector<TorchSaveTensor> tensors;  // the dict's entries with a string key and a tensor value, in order
  std::vector<char> bytes;               // the whole file
};

// Throws Input naming the file and what is wrong (zip structure, pickle byte and opcode, a global outside
// the state-dict subset, a view outside its storage). Entries whose key is not a string or whose value is
// not a tensor are left out (a checkpoint's step counters, nested optimizer state).
TorchSaveFile parse_torch_save(const std::filesystem::path& path);

}  // namespace rr
