#include "model/autocast.h"

#include <ATen/autocast_mode.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

namespace rr {

bool cpu_flags_have_fast_bf16(std::string_view cpuinfo) {
  for (size_t line = 0; line < cpuinfo.size();) {
    size_t end = cpuinfo.find('\n', line);
    if (end == std::string_view::npos) end = cpuinfo.size();
    const std::string_view l = cpuinfo.substr(line, end - line);
    if (l.rfind("flags", 0) == 0) {
      std::string padded(" ");
      padded.append(l.substr(l.find(':') + 1)).push_back(' ');
      return padded.find(" avx512_bf16 ") != std::string::npos ||
             padded.find(" amx_bf16 ") != std::string::npos;
    }
    line = end + 1;
  }
  return false;
}

bool has_fast_bf16(const c10::Device& device) {
  if (device.is_cuda()) return true;
  static const bool cpu = [] {
    std::ifstream in("/proc/cpuinfo");
    std::stringstream s;
    s << in.rdbuf();
    return cpu_flags_have_fast_bf16(s.str());
  }();
  return cpu;
}

Autocast::Autocast(bool on, const c10::Device& device) : on_(on), cuda_(device.is_cuda()) {
  if (on_ && !has_fast_bf16(device)) {
    static std::once_flag told;
    std::call_once(told, [] {
      spdlog::warn(
          "bf16 requested, but this CPU has no AVX512_BF16 or AMX-BF16: bfloat16 would be emulated "
          "(~100x slower than fp32 here), so it runs fp32");
    });
    on_ = false;
  }
  if (!on_) return;
  if (cuda_) {  // CUDA autocast defaults to float16: bf16 must be asked for (and the dtype restored after)
    was_enabled_ = at::autocast::is_enabled();
    was_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    was_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
}

Autocast::~Autocast() {
  if (!on_) return;
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(was_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(was_dtype_);
  }
  // The cast weights cached for the scope are freed when the outermost scope ends.
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace rr
