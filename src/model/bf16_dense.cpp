#include "model/bf16_dense.h"

#include <ATen/ops/cat.h>
#include <c10/core/Device.h>
#include <spdlog/spdlog.h>

#include <omp.h>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <tuple>

#include "common/error.h"
#include "model/autocast.h"

namespace rr {

namespace {

using dnnl::memory;

dnnl::algorithm eltwise_of(Bf16Dense::Epilogue e) {
  switch (e) {
    case Bf16Dense::Epilogue::GeluErf:
      return dnnl::algorithm::eltwise_gelu_erf;
    case Bf16Dense::Epilogue::GeluTanh:
      return dnnl::algorithm::eltwise_gelu_tanh;
    default:
      return dnnl::algorithm::eltwise_relu;
  }
}

memory::data_type onednn_type(const at::Tensor& t) {
  return t.scalar_type() == at::kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

}  // namespace

struct Bf16Dense::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  mutable dnnl::stream stream{engine};
  int64_t in = 0, out = 0;
  memory::desc packed_desc;  // in x out bf16 in the layout oneDNN chose for its fastest product
  memory packed;
  at::Tensor bias;  // 1 x out fp32
  // Products by (rows, epilogue, output type, threads): oneDNN splits a product among the threads it sees
  // when the product is made. Bounded: the rows change with every batch's padded length.
  mutable std::map<std::tuple<int64_t, Epilogue, memory::data_type, int>, dnnl::matmul> products;

  const dnnl::matmul& product(int64_t rows, Epilogue e, memory::data_type dst_type) const {
    const auto key = std::make_tuple(rows, e, dst_type, omp_get_max_threads());
    auto it = products.find(key);
    if (it != products.end()) return it->second;
    if (products.size() >= 256) products.clear();
    dnnl::post_ops post;
    if (e == Epilogue::Accumulate)
      post.append_sum(1.f);
    else if (e != Epilogue::None)
      post.append_eltwise(1.f, eltwise_of(e), 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post);
    const memory::desc src({rows, in}, memory::data_type::bf16, memory::format_tag::ab);
    const memory::desc dst({rows, out}, dst_type, memory::format_tag::ab);
    const memory::desc b({1, out}, memory::data_type::f32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, packed_desc, b, dst), attr, engine);
    const std::string impl = pd.impl_info_str();
    // The packed layout was chosen for 512 rows; on avx512_bf16 every row count from 1 up gets brgemm
    // for it. Should another CPU pick a generic kernel instead, say so once.
    static std::once_flag told;
    if (impl.rfind("brg", 0) != 0)
      std::call_once(told, [&] {
        spdlog::warn(
            "bf16 dense {} x {} x {}: oneDNN runs {} on the packed weights, not its bf16 brgemm: "
            "precision bf16 may be slow on this CPU",
            rows, in, out, impl);
      });
    return products.emplace(key, dnnl::matmul(pd)).first->second;
  }
};

Bf16Dense::Bf16Dense(const std::vector<at::Tensor>& weights, const std::vector<at::Tensor>& biases)
    : impl_(std::make_unique<Impl>()) {
  RR_CHECK(has_fast_bf16(c10::Device(c10::kCPU)), Usage,
           "bf16 inference needs a CPU that multiplies bfloat16 natively (AVX512_BF16 or AMX-BF16)");
  RR_CHECK(!weights.empty() && weights.size() == biases.size(), Runtime,
           "Bf16Dense: {} weights and {} biases", weights.size(), biases.size());
  Impl& m = *impl_;
  // out x in, rounded to nearest even (as autocast rounds), then seen as in x out through its strides.
  const at::Tensor w = at::cat(weights, 0).to(at::kBFloat16).contiguous();
  m.bias = at::cat(biases, 0).to(at::kFloat).contiguous().view({1, -1});
  m.out = w.size(0);
  m.in = w.size(1);
  RR_CHECK(m.bias.size(1) == m.out, Runtime, "Bf16Dense: {} bias values for {} outputs", m.bias.size(1),
           m.out);
  // The layout depends on the shapes and the CPU, not on the rows of the products (checked on avx512_bf16
  // from 1 to 100,000 rows); products of other rows are made for this layout.
  const memory::desc any({m.in, m.out}, memory::data_type::bf16, memory::format_tag::any);
  const memory::desc src({512, m.in}, memory::data_type::bf16, memory::format_tag::ab);
  const memory::desc dst({512, m.out}, memory::data_type::bf16, memory::format_tag::ab);
  m.packed_desc = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, any, dst), m.engine).weights_desc();
  m.packed = memory(m.packed_desc, m.engine);
  memory plain(memory::desc({m.in, m.out}, memory::data_type::bf16, memory::dims{1, m.in}), m.engine,
               w.data_ptr());
  dnnl::reorder(plain, m.packed).execute(m.stream, plain, m.packed);
  m.stream.wait();
}

Bf16Dense::~Bf16Dense() = default;
Bf16Dense::Bf16Dense(Bf16Dense&&) noexcept = default;
Bf16Dense& Bf16Dense::operator=(Bf16Dense&&) noexcept = default;

int64_t Bf16Dense::in_features() const {
  return impl_->in;
}
int64_t Bf16Dense::out_features() const {
  return impl_->out;
}

void Bf16Dense::forward(const at::Tensor& x, Epilogue epilogue, const at::Tensor& out) const {
  const Impl& m = *impl_;
  const int64_t rows = x.dim() == 2 ? x.size(0) : 0;
  RR_CHECK(x.scalar_type() == at::kBFloat16 && x.is_contiguous() && rows > 0 && x.size(1) == m.in, Runtime,
           "Bf16Dense: input must be rows x {} bf16, row-major", m.in);
  RR_CHECK(out.dim() == 2 && out.size(0) == rows && out.size(1) == m.out && out.is_contiguous() &&
               (out.scalar_type() == at::kFloat ||
                (out.scalar_type() == at::kBFloat16 && epilogue != Epilogue::Accumulate)),
           Runtime, "Bf16Dense: output must be {} x {} row-major, fp32 (or bf16 when not accumulating)", rows,
           m.out);
  const memory::data_type dst_type = onednn_type(out);
  const dnnl::matmul& product = m.product(rows, epilogue, dst_type);
  memory src({{rows, m.in}, memory::data_type::bf16, memory::format_tag::ab}, m.engine, x.data_ptr());
  memory dst({{rows, m.out}, dst_type, memory::format_tag::ab}, m.engine, out.data_ptr());
  memory bias({{1, m.out}, memory::data_type::f32, memory::format_tag::ab}, m.engine, m.bias.data_ptr());
  product.execute(
      m.stream,
      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m.packed}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
  m.stream.wait();
}

}  // namespace rr
