// PyTorch checkpoints (torch.save zip archives of a state dict, e.g. pytorch_model.bin, adapter_model.bin).
#pragma once

#include <filesystem>

#include "model/safetensors.h"

namespace rr {

// Every floating tensor as float32 (F64, F16 and BF16 converted), integer and bool tensors as saved; each
// contiguous, in its saved shape (a saved view, e.g. a transpose or a slice, holds the view's values). Throws
// Input naming the file when it is not a readable state dict (model/torch_save_format.h: the file is checked
// and its pickle run without LibTorch).
TensorMap read_pytorch_bin(const std::filesystem::path& path);

}  // namespace rr
