// One or more Linears (y = x W^T + b) sharing an input, for bf16 inference on a CPU with fast bf16: the
// weights rounded to bfloat16 once and packed into the layout oneDNN's bf16 matmul reads fastest. A product
// accumulates in fp32, adds the bias and applies its epilogue in fp32, then rounds the output once. About
// 1.2x at::linear on plain bf16 weights at BERT-base shapes (bench_encoder_flops).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace rr {

class Bf16Dense {
 public:
  enum class Epilogue {
    None,
    GeluErf,     // HF "gelu"
    GeluTanh,    // HF "gelu_new" and the other tanh approximations
    Relu,        // HF "relu"
    Accumulate,  // out += x W^T + b (out fp32): the residual added before rounding
  };
  // weights[i]: out_i x in fp32, biases[i]: out_i; the Linears are stacked along the output (e.g. Q, K, V:
  // one product, out = their sum). Usage error when the CPU has no fast bf16.
  Bf16Dense(const std::vector<at::Tensor>& weights, const std::vector<at::Tensor>& biases);
  ~Bf16Dense();
  Bf16Dense(Bf16Dense&&) noexcept;
  Bf16Dense& operator=(Bf16Dense&&) noexcept;

  int64_t in_features() const;
  int64_t out_features() const;
  // x: M x in_features() bf16, row-major; out: M x out_features() row-major, bf16 or fp32 (fp32 for
  // Accumulate).
  void forward(const at::Tensor& x, Epilogue epilogue, const at::Tensor& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
