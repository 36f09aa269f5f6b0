// BERT's multi-head self-attention for bf16 inference on a CPU with fast bf16, reading Q, K and V where one
// packed projection (Bf16Dense of query, key, value) wrote them and writing the context where the output
// projection reads it: no copies between the products. Scores in fp32 (scaled, the mask added), softmax in
// fp32, probabilities rounded to bf16 for the product with V (as autocast rounds them).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

namespace rr {

class Bf16Attention {
 public:
  // hidden = heads x head width; scale: the factor of the scores (1 / sqrt(head width) in BERT).
  Bf16Attention(int64_t hidden, int64_t heads, double scale);
  ~Bf16Attention();
  Bf16Attention(Bf16Attention&&) noexcept;
  Bf16Attention& operator=(Bf16Attention&&) noexcept;

  // qkv: (B * T) x 3 hidden bf16 row-major (Q | K | V, each head's columns side by side); mask_bias: B x T
  // fp32 added to every score of its key (0 attended, the float minimum padded); ctx: (B * T) x hidden bf16
  // row-major, the heads' contexts side by side.
  void forward(const at::Tensor& qkv, const at::Tensor& mask_bias, const at::Tensor& ctx) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
