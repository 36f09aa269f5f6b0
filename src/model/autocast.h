// bfloat16 autocast for a scope (CPU or CUDA autocast, its dtype set to bfloat16: CUDA's default is float16),
// restoring the previous state (enabled flag and dtype) on exit. Only where bf16 is fast: a CPU without
// AVX512_BF16 or AMX-BF16 emulates it (~100x slower than fp32 on this project's AVX2 machine), so there the
// scope runs fp32 and says so once per process.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string_view>

namespace rr {

// Whether `device` multiplies bfloat16 natively: CUDA, or a CPU whose flags (as /proc/cpuinfo lists them)
// include avx512_bf16 or amx_bf16.
bool has_fast_bf16(const c10::Device& device);
bool cpu_flags_have_fast_bf16(std::string_view cpuinfo);

class Autocast {
 public:
  // Off (`on` false, or bf16 not fast on `device`) leaves autocast as it is.
  Autocast(bool on, const c10::Device& device);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;
  bool active() const { return on_; }

 private:
  bool on_, cuda_;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::BFloat16;
};

}  // namespace rr
