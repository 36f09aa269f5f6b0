// Matrix products, layer norm and sums whose float32 results on the CPU do not depend on the thread count, so
// that --threads changes speed, never numbers (as the rank count does not).
//
// Why: a BLAS blocks a product's reduction dimension K differently when it runs threaded. OpenBLAS's serial
// driver (level3.c) splits a tail of K between GEMM_Q and 2 GEMM_Q in halves rounded up to its unroll width,
// its threaded one (level3_thread.c) in exact halves; so x w^T for K = 1000, or attention's probs x V for 450
// tokens, differed in the last bits between 1 and 2 threads. And LibTorch's layer_norm backward sums the
// weight and bias gradients in per-thread partials. Here every output tile (a fixed function of the shapes,
// never of the thread count) is one serial BLAS call inside an OpenMP region, the tiles spread over the
// threads; layer norm's weight and bias gradients are reductions with one thread per output; sums run in
// fixed chunks.
//
// On other devices, other dtypes or under autocast these are LibTorch's own ops (bf16 and GPU results may
// differ with the thread count or the run, within their precision).
#pragma once

#include <ATen/core/Tensor.h>

namespace rr {

// a: m x k, b: k x n (any strides) -> m x n. No autograd (inference and search).
at::Tensor invariant_mm(const at::Tensor& a, const at::Tensor& b);
// out: m x n, written in place (e.g. a preallocated score buffer).
void invariant_mm_out(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b);

// a: [batch..., m, k], b: [batch..., k, n] with the same batch dimensions (or none) -> [batch..., m, n].
// Differentiable.
at::Tensor invariant_matmul(const at::Tensor& a, const at::Tensor& b);

// x: [..., in], w: out x in, bias: out (or undefined) -> x w^T + bias. Differentiable.
at::Tensor invariant_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias);

// Layer norm over the last dimension (LibTorch's forward and input gradient; the weight and bias gradients
// summed with one thread per output). Differentiable.
at::Tensor invariant_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                double eps);

// The sum of every element, in chunks fixed by the size. Differentiable.
at::Tensor invariant_sum(const at::Tensor& x);

}  // namespace rr
