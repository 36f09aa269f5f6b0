// Built instead of bf16_dense.cpp and bf16_attention.cpp when oneDNN is not found (CMake option
// RR_WITH_ONEDNN): bf16 inference on the CPU is refused with a clear message; fp32, and bf16 on CUDA
// (autocast), do not use these kernels.
#include "common/error.h"
#include "model/bf16_attention.h"
#include "model/bf16_dense.h"

namespace rr {

namespace {

[[noreturn]] void refuse() {
  RR_THROW(Usage,
           "precision bf16 on the CPU runs oneDNN's bf16 kernels, and this routerretriever was built without "
           "oneDNN (not found at build time: install Debian's libdnnl-dev, or give -DDNNL_LIBRARY and "
           "-DDNNL_INCLUDE_DIR, and rebuild); use precision fp32, or bf16 on a GPU");
}

}  // namespace

struct Bf16Dense::Impl {};
Bf16Dense::Bf16Dense(const std::vector<at::Tensor>&, const std::vector<at::Tensor>&) {
  refuse();
}
Bf16Dense::~Bf16Dense() = default;
Bf16Dense::Bf16Dense(Bf16Dense&&) noexcept = default;
Bf16Dense& Bf16Dense::operator=(Bf16Dense&&) noexcept = default;
int64_t Bf16Dense::in_features() const {
  refuse();
}
int64_t Bf16Dense::out_features() const {
  refuse();
}
void Bf16Dense::forward(const at::Tensor&, Epilogue, const at::Tensor&) const {
  refuse();
}

struct Bf16Attention::Impl {};
Bf16Attention::Bf16Attention(int64_t, int64_t, double) {
  refuse();
}
Bf16Attention::~Bf16Attention() = default;
Bf16Attention::Bf16Attention(Bf16Attention&&) noexcept = default;
Bf16Attention& Bf16Attention::operator=(Bf16Attention&&) noexcept = default;
void Bf16Attention::forward(const at::Tensor&, const at::Tensor&, const at::Tensor&) const {
  refuse();
}

}  // namespace rr
