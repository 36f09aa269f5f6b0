#include "model/autocast.h"

#include <ATen/autocast_mode.h>

namespace rr {

Autocast::Autocast(bool on, const c10::Device& device) : on_(on), cuda_(device.is_cuda()) {
  if (!on_) return;
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    at::autocast::set_enabled(true);
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
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(was_dtype_);
  }
  // The cast weights cached for the scope are freed when the outermost scope ends.
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace rr
