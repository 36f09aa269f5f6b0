#include "model/bf16_attention.h"

#include <ATen/ops/empty.h>

#include <omp.h>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

#include "common/error.h"

namespace rr {

namespace {

using dnnl::memory;
using Dims = memory::dims;

}  // namespace

struct Bf16Attention::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  mutable dnnl::stream stream{engine};
  int64_t hidden = 0, heads = 0, width = 0;
  float scale = 1;
  // Per (B, T): the batched products B x heads x (T x width) . (width x T) -> scores and
  // B x heads x (T x T) . (T x width) -> context over strided views of qkv and ctx, and the softmax from
  // fp32 scores to bf16 probabilities. (The mask as a binary post-op of the scores product made it 2x slower
  // than adding it afterwards.)
  struct Shape {
    memory::desc q, k_t, v, scores, probs, ctx;
    dnnl::matmul scores_product, ctx_product;
    dnnl::softmax_v2_forward softmax;
  };
  mutable std::map<std::tuple<int64_t, int64_t, int>, Shape> shapes;

  const Shape& shape(int64_t B, int64_t T) const {
    const auto key = std::make_tuple(B, T, omp_get_max_threads());
    auto it = shapes.find(key);
    if (it != shapes.end()) return it->second;
    if (shapes.size() >= 256) shapes.clear();
    const int64_t row = 3 * hidden;  // qkv's row stride
    Shape s;
    // Element (b, h, t, j) of Q, K, V lies at b T row + t row + h width + j (+ hidden for K, 2 hidden for V).
    s.q = memory::desc({B, heads, T, width}, memory::data_type::bf16, Dims{T * row, width, row, 1});
    s.k_t = memory::desc({B, heads, width, T}, memory::data_type::bf16, Dims{T * row, width, 1, row});
    s.v = s.q;
    s.scores = memory::desc({B, heads, T, T}, memory::data_type::f32, memory::format_tag::abcd);
    s.probs = memory::desc({B, heads, T, T}, memory::data_type::bf16, memory::format_tag::abcd);
    s.ctx = memory::desc({B, heads, T, width}, memory::data_type::bf16, Dims{T * hidden, width, hidden, 1});
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {scale});
    s.scores_product =
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(s.q, s.k_t, s.scores), attr, engine));
    s.ctx_product =
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(s.probs, s.v, s.ctx), engine));
    s.softmax = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(
        dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                       s.scores, s.probs, 3),
        engine));
    return shapes.emplace(key, std::move(s)).first->second;
  }
};

Bf16Attention::Bf16Attention(int64_t hidden, int64_t heads, double scale) : impl_(std::make_unique<Impl>()) {
  RR_CHECK(heads > 0 && hidden % heads == 0, Runtime, "Bf16Attention: {} hidden over {} heads", hidden,
           heads);
  impl_->hidden = hidden;
  impl_->heads = heads;
  impl_->width = hidden / heads;
  impl_->scale = static_cast<float>(scale);
}

Bf16Attention::~Bf16Attention() = default;
Bf16Attention::Bf16Attention(Bf16Attention&&) noexcept = default;
Bf16Attention& Bf16Attention::operator=(Bf16Attention&&) noexcept = default;

void Bf16Attention::forward(const at::Tensor& qkv, const at::Tensor& mask_bias, const at::Tensor& ctx) const {
  const Impl& m = *impl_;
  RR_CHECK(mask_bias.dim() == 2 && mask_bias.scalar_type() == at::kFloat && mask_bias.is_contiguous(),
           Runtime, "Bf16Attention: the mask bias must be B x T fp32, row-major");
  const int64_t B = mask_bias.size(0), T = mask_bias.size(1);
  RR_CHECK(qkv.scalar_type() == at::kBFloat16 && qkv.is_contiguous() && qkv.dim() == 2 &&
               qkv.size(0) == B * T && qkv.size(1) == 3 * m.hidden,
           Runtime, "Bf16Attention: qkv must be {} x {} bf16, row-major", B * T, 3 * m.hidden);
  RR_CHECK(ctx.scalar_type() == at::kBFloat16 && ctx.is_contiguous() && ctx.dim() == 2 &&
               ctx.size(0) == B * T && ctx.size(1) == m.hidden,
           Runtime, "Bf16Attention: ctx must be {} x {} bf16, row-major", B * T, m.hidden);
  const Impl::Shape& s = m.shape(B, T);
  char* base = static_cast<char*>(qkv.data_ptr());
  const size_t part = static_cast<size_t>(m.hidden) * sizeof(uint16_t);  // bytes from Q to K, K to V
  at::Tensor scores = at::empty({B, m.heads, T, T}, at::TensorOptions().dtype(at::kFloat));
  memory q(s.q, m.engine, base), k_t(s.k_t, m.engine, base + part), v(s.v, m.engine, base + 2 * part);
  memory scores_memory(s.scores, m.engine, scores.data_ptr());
  s.scores_product.execute(m.stream,
                           {{DNNL_ARG_SRC, q}, {DNNL_ARG_WEIGHTS, k_t}, {DNNL_ARG_DST, scores_memory}});
  m.stream.wait();
  scores.add_(mask_bias.view({B, 1, 1, T}));
  const at::Tensor probs = at::empty({B, m.heads, T, T}, at::TensorOptions().dtype(at::kBFloat16));
  memory probs_memory(s.probs, m.engine, probs.data_ptr());
  s.softmax.execute(m.stream, {{DNNL_ARG_SRC, scores_memory}, {DNNL_ARG_DST, probs_memory}});
  memory ctx_memory(s.ctx, m.engine, ctx.data_ptr());
  s.ctx_product.execute(m.stream,
                        {{DNNL_ARG_SRC, probs_memory}, {DNNL_ARG_WEIGHTS, v}, {DNNL_ARG_DST, ctx_memory}});
  m.stream.wait();
}

}  // namespace rr
