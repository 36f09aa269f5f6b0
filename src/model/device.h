// The torch device rr runs on: "cpu", "cuda" (this rank's GPU by local rank) or "cuda:i".
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace rr {

// Throws Usage with a clear message on a malformed name, or on CUDA when this LibTorch has no CUDA
// support or the machine has no GPU.
c10::Device parse_device(const std::string& name, int local_rank = 0);

}  // namespace rr
