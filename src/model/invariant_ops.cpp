#include "model/invariant_ops.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <fmt/ranges.h>
#include <omp.h>
#include <torch/csrc/autograd/custom_function.h>

#include <exception>
#include <mutex>

#include "common/error.h"

namespace rr {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Output tiles: one serial BLAS call each. Fixed sizes (never derived from the thread count): a tile's
// product is the same computation whichever thread runs it.
constexpr int64_t kTileRows = 128;
constexpr int64_t kTileCols = 512;
// Elements a sum adds in one chunk (one thread each).
constexpr int64_t kSumChunk = 8192;

bool on_invariant_path(std::initializer_list<const at::Tensor*> tensors) {
  if (at::autocast::is_cpu_enabled()) return false;
  for (const at::Tensor* t : tensors)
    if (t->defined() && (!t->device().is_cpu() || t->scalar_type() != at::kFloat)) return false;
  return true;
}

bool needs_grad(std::initializer_list<const at::Tensor*> tensors) {
  if (!at::GradMode::is_enabled()) return false;
  for (const at::Tensor* t : tensors)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Matrix `index` of t's batch dimensions (all but the last two), by selecting each in turn: no copy.
at::Tensor matrix_at(const at::Tensor& t, int64_t index) {
  at::Tensor m = t;
  int64_t inner = 1;
  for (int64_t d = 0; d + 2 < t.dim(); ++d) inner *= t.size(d);
  for (int64_t d = 0; d + 2 < t.dim(); ++d) {
    inner /= t.size(d);
    m = m.select(0, index / inner);
    index %= inner;
  }
  return m;
}

// out[i] = a[i] b[i] over the batch dimensions; every (matrix, row tile, column tile) one serial BLAS call.
// The OpenMP region makes each call serial (OpenBLAS runs single-threaded inside a parallel region; with
// one thread it is serial anyway), and the workers take the caller's inference and grad modes.
void tiled_products(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  const int64_t m = a.size(-2), n = b.size(-1);
  const int64_t matrices = a.numel() == 0 ? 0 : a.numel() / (m * a.size(-1));
  const int64_t row_tiles = ceil_div(m, kTileRows), col_tiles = ceil_div(n, kTileCols);
  const int64_t tiles = matrices * row_tiles * col_tiles;
  if (tiles == 0) return;
  const bool inference = c10::InferenceMode::is_enabled();
  std::exception_ptr failure;
  std::mutex failure_mutex;
#pragma omp parallel
  {
    c10::InferenceMode inference_guard(inference);
    at::NoGradGuard no_grad;
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      try {
        const int64_t i = t / (row_tiles * col_tiles), r0 = (t / col_tiles) % row_tiles * kTileRows,
                      c0 = t % col_tiles * kTileCols;
        const int64_t rn = std::min(kTileRows, m - r0), cn = std::min(kTileCols, n - c0);
        at::Tensor o = matrix_at(out, i).narrow(0, r0, rn).narrow(1, c0, cn);
        at::mm_out(o, matrix_at(a, i).narrow(0, r0, rn), matrix_at(b, i).narrow(1, c0, cn));
      } catch (...) {
        const std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
}

at::Tensor products(const at::Tensor& a, const at::Tensor& b) {
  RR_CHECK(a.dim() >= 2 && a.dim() == b.dim() && a.size(-1) == b.size(-2) &&
               a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2),
           Runtime, "matmul: shapes {} and {} do not multiply (same batch dimensions needed)",
           fmt::join(a.sizes(), " x "), fmt::join(b.sizes(), " x "));
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = b.size(-1);
  at::Tensor out = at::empty(shape, a.options());
  tiled_products(out, a, b);
  return out;
}

struct MatmulFunction : public torch::autograd::Function<MatmulFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    return products(a, b);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& a = saved[0];
    const at::Tensor& b = saved[1];
    const at::Tensor g = grads[0];
    return {ctx->needs_input_grad(0) ? products(g, b.transpose(-1, -2)) : at::Tensor(),
            ctx->needs_input_grad(1) ? products(a.transpose(-1, -2), g) : at::Tensor()};
  }
};

// x w^T without the bias, x flattened to rows.
struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w) {
    ctx->save_for_backward({x, w});
    return product(x, w);
  }
  static at::Tensor product(const at::Tensor& x, const at::Tensor& w) {
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape.back() = w.size(0);
    return products(x.reshape({-1, x.size(-1)}), w.t()).view(shape);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const at::Tensor g = grads[0].reshape({-1, w.size(0)});
    return {ctx->needs_input_grad(0) ? products(g, w).view(x.sizes()) : at::Tensor(),
            ctx->needs_input_grad(1) ? products(g.t(), x.reshape({-1, x.size(-1)})) : at::Tensor()};
  }
};

// LibTorch's layer norm forward and input gradient (both row by row); the weight and bias gradients as sums
// over the rows, one thread per output element.
struct LayerNormFunction : public torch::autograd::Function<LayerNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, double eps) {
    auto [y, mean, rstd] = at::native_layer_norm(x, {x.size(-1)}, weight, bias, eps);
    ctx->save_for_backward({x, weight, bias, mean, rstd});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const at::Tensor &x = s[0], &weight = s[1], &bias = s[2], &mean = s[3], &rstd = s[4];
    const at::Tensor& g = grads[0];
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0))
      gx = std::get<0>(
          at::native_layer_norm_backward(g, x, {x.size(-1)}, mean, rstd, weight, bias, {true, false, false}));
    const int64_t h = x.size(-1);
    std::vector<int64_t> stat_shape(x.sizes().begin(), x.sizes().end());
    stat_shape.back() = 1;  // one mean and one rstd per row
    if (ctx->needs_input_grad(1))
      gw = (g * ((x - mean.reshape(stat_shape)) * rstd.reshape(stat_shape))).reshape({-1, h}).sum(0);
    if (ctx->needs_input_grad(2)) gb = g.reshape({-1, h}).sum(0);
    return {gx, gw, gb, at::Tensor()};
  }
};

}  // namespace

at::Tensor invariant_mm(const at::Tensor& a, const at::Tensor& b) {
  if (!on_invariant_path({&a, &b})) return at::mm(a, b);
  RR_CHECK(a.dim() == 2 && b.dim() == 2, Runtime, "mm: {} and {} are not matrices",
           fmt::join(a.sizes(), " x "), fmt::join(b.sizes(), " x "));
  return products(a, b);
}

void invariant_mm_out(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  if (!on_invariant_path({&out, &a, &b})) {
    at::Tensor o = out;
    at::mm_out(o, a, b);
    return;
  }
  RR_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0) && out.size(0) == a.size(0) &&
               out.size(1) == b.size(1),
           Runtime, "mm: {} x {} into {}", fmt::join(a.sizes(), " x "), fmt::join(b.sizes(), " x "),
           fmt::join(out.sizes(), " x "));
  tiled_products(out, a, b);
}

at::Tensor invariant_matmul(const at::Tensor& a, const at::Tensor& b) {
  if (!on_invariant_path({&a, &b})) return at::matmul(a, b);
  return needs_grad({&a, &b}) ? MatmulFunction::apply(a, b) : products(a, b);
}

at::Tensor invariant_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  if (!on_invariant_path({&x, &w, &bias})) return at::linear(x, w, bias);
  RR_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), Runtime, "linear: input {} for weight {}",
           fmt::join(x.sizes(), " x "), fmt::join(w.sizes(), " x "));
  at::Tensor y = needs_grad({&x, &w}) ? LinearFunction::apply(x, w) : LinearFunction::product(x, w);
  return bias.defined() ? y + bias : y;
}

at::Tensor invariant_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                double eps) {
  if (!needs_grad({&x, &weight, &bias}) || !on_invariant_path({&x, &weight, &bias}) || !weight.defined() ||
      !bias.defined())
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  return LayerNormFunction::apply(x, weight, bias, eps);
}

at::Tensor invariant_sum(const at::Tensor& x) {
  if (!x.device().is_cpu()) return x.sum();
  const at::Tensor flat = x.reshape({-1});
  const int64_t n = flat.numel(), full = n / kSumChunk;
  if (full < 2) return flat.sum();
  // Each chunk summed by one thread; the partial sums (and the tail) then summed the same way.
  at::Tensor partials = flat.narrow(0, 0, full * kSumChunk).view({full, kSumChunk}).sum(1);
  if (n > full * kSumChunk)
    partials = at::cat({partials, flat.narrow(0, full * kSumChunk, n - full * kSumChunk).sum().view({1})});
  return invariant_sum(partials);
}

}  // namespace rr
