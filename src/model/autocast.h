// bfloat16 autocast for a scope (CPU autocast to bf16, or CUDA autocast), restoring the previous state on
// exit.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace rr {

class Autocast {
 public:
  // Off (`on` false) leaves autocast as it is.
  Autocast(bool on, const c10::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_, cuda_;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::BFloat16;
};

}  // namespace rr
