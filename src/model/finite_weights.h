// Weights read from a file must be finite: a NaN or Inf in a checkpoint (a diverged run, a damaged file)
// would otherwise turn every embedding into NaN and every ranking into noise without an error.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "common/error.h"

namespace rr {

// Input error naming the file, the first tensor holding NaN or Inf and how many values are; float32 tensors
// are checked (readers widen every floating type to float32), others pass.
inline void check_finite_weights(const std::map<std::string, at::Tensor>& tensors,
                                 const std::filesystem::path& path) {
  for (const auto& [name, t] : tensors) {
    if (t.scalar_type() != at::kFloat || !t.is_contiguous()) continue;
    const float* v = t.data_ptr<float>();
    int64_t bad = 0;
    for (int64_t i = 0, n = t.numel(); i < n; ++i) bad += !std::isfinite(v[i]);
    RR_CHECK(bad == 0, Input, "{}: tensor '{}' holds {} NaN or Inf value(s) of {}: the weights are damaged",
             path.string(), name, bad, t.numel());
  }
}

}  // namespace rr
