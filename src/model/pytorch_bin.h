// PyTorch checkpoints (torch.save zip archives of a state dict), read through LibTorch's unpickler.
#pragma once

#include <filesystem>

#include "model/safetensors.h"

namespace rr {

// Every floating tensor as float32. Throws Input naming the file when it is not a readable state dict.
TensorMap read_pytorch_bin(const std::filesystem::path& path);

}  // namespace rr
