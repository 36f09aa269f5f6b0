#include "search/bf16_corpus.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/Device.h>

#include <omp.h>
#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "common/error.h"
#include "common/vector_dtype.h"
#include "model/autocast.h"

namespace rr {

namespace {

using dnnl::memory;
using Dims = memory::dims;

}  // namespace

struct Bf16Corpus::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  mutable dnnl::stream stream{engine};
  int64_t rows = 0, d = 0, block = 0, query_rows = 0;
  // oneDNN splits a product among the threads it sees when the product is created: products are remade
  // when the thread count changes (e.g. a bench going from 1 to 2 threads ran at 1 thread's speed).
  int threads = 0;
  // One matmul per block width (full blocks and the last one), with the packed weights layout it chose.
  struct Product {
    dnnl::matmul matmul;
    memory::desc src, weights, dst;
  };
  std::map<int64_t, Product> products;
  std::vector<memory> packed;  // per block: d x cn bf16 in the product's layout
  at::Tensor queries;          // query_rows x d bf16, the rounded queries of the current product

  const Product& product(int64_t cn) {
    if (threads != omp_get_max_threads()) {
      threads = omp_get_max_threads();
      products.clear();
    }
    auto it = products.find(cn);
    if (it != products.end()) return it->second;
    const memory::desc src({query_rows, d}, memory::data_type::bf16, memory::format_tag::ab);
    const memory::desc any({d, cn}, memory::data_type::bf16, memory::format_tag::any);
    const memory::desc dst({query_rows, cn}, memory::data_type::f32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, any, dst), engine);
    // Blocks already packed must not need another layout with the new thread count.
    for (size_t b = 0; b < packed.size(); ++b) {
      RR_CHECK(std::min(block, rows - static_cast<int64_t>(b) * block) != cn ||
                   packed[b].get_desc() == pd.weights_desc(),
               Runtime,
               "bf16 search: oneDNN wants another weights layout at {} threads: pack the corpus again",
               threads);
    }
    return products.emplace(cn, Product{dnnl::matmul(pd), src, pd.weights_desc(), dst}).first->second;
  }
};

Bf16Corpus::Bf16Corpus(const MatrixView& corpus, int64_t corpus_block, int64_t query_rows)
    : impl_(std::make_unique<Impl>()) {
  RR_CHECK(has_fast_bf16(c10::Device(c10::kCPU)), Usage,
           "bf16 search needs a CPU that multiplies bfloat16 natively (AVX512_BF16 or AMX-BF16); this one "
           "does not, and emulating it is slower than fp32: set evaluation.precision to \"fp32\"");
  RR_CHECK(corpus_block > 0 && query_rows > 0, Usage, "bf16 search: corpus_block ({}) and query rows ({})",
           corpus_block, query_rows);
  Impl& m = *impl_;
  m.rows = corpus.rows;
  m.d = corpus.cols;
  m.block = corpus_block;
  m.query_rows = query_rows;
  m.queries = at::empty({query_rows, m.d}, at::TensorOptions().dtype(at::kBFloat16));
  const auto stored = at::TensorOptions().dtype(vector_dtype(corpus.type));
  const size_t elem = vector_type_size(corpus.type);
  for (int64_t c0 = 0; c0 < m.rows; c0 += corpus_block) {
    const int64_t cn = std::min(corpus_block, m.rows - c0);
    const char* base = static_cast<const char*>(corpus.data) + static_cast<size_t>(c0 * m.d) * elem;
    // Rounded to nearest even (at::Tensor::to), then reordered: d x cn seen through the row-major cn x d.
    at::Tensor rounded = at::from_blob(const_cast<char*>(base), {cn, m.d}, stored).to(at::kBFloat16);
    memory plain(memory::desc({m.d, cn}, memory::data_type::bf16, Dims{1, m.d}), m.engine,
                 rounded.data_ptr());
    memory packed(m.product(cn).weights, m.engine);
    dnnl::reorder(plain, packed).execute(m.stream, plain, packed);
    m.stream.wait();
    m.packed.push_back(std::move(packed));
  }
}

Bf16Corpus::~Bf16Corpus() = default;

int64_t Bf16Corpus::rows() const {
  return impl_->rows;
}
int64_t Bf16Corpus::corpus_block() const {
  return impl_->block;
}
int64_t Bf16Corpus::query_rows() const {
  return impl_->query_rows;
}

void Bf16Corpus::set_queries(const float* q, int64_t qn) const {
  Impl& m = *impl_;
  RR_CHECK(qn > 0 && qn <= m.query_rows, Runtime, "bf16 search: {} queries for {} rows", qn, m.query_rows);
  m.queries.narrow(0, 0, qn).copy_(
      at::from_blob(const_cast<float*>(q), {qn, m.d}, at::TensorOptions().dtype(at::kFloat)));
}

void Bf16Corpus::scores(int64_t block, float* out) const {
  Impl& m = *impl_;
  RR_CHECK(block >= 0 && block < static_cast<int64_t>(m.packed.size()), Runtime,
           "bf16 search: block {} of {}", block, m.packed.size());
  const int64_t cn = std::min(m.block, m.rows - block * m.block);
  const Impl::Product& p = m.product(cn);
  memory src(p.src, m.engine, m.queries.data_ptr());
  memory dst(p.dst, m.engine, out);
  p.matmul.execute(
      m.stream,
      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m.packed[static_cast<size_t>(block)]}, {DNNL_ARG_DST, dst}});
  m.stream.wait();
}

}  // namespace rr
