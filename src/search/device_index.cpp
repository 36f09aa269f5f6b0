#include "search/device_index.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/vector_dtype.h"
#include "model/invariant_ops.h"

namespace rr {

namespace {

// One key per hit that orders like ranks_before (trec_eval's order): the score's bits as an order-preserving
// signed integer (negative floats' magnitude bits flipped; -0.0 made +0.0 first, as it equals it) times 2^32,
// plus the tie key (a rank among the corpus's ids: 0 <= t < 2^31). Keys are distinct, so a top-k of keys is
// exact at the k-th place whatever the ties, with no look at the data on the host. s: float, t: int64.
at::Tensor rank_keys(const at::Tensor& s, const at::Tensor& t) {
  const at::Tensor bits = (s + 0.0f).contiguous().view(at::kInt).to(at::kLong);
  const at::Tensor ordered = at::where(bits < 0, at::bitwise_xor(bits, 0x7FFFFFFF), bits);
  return ordered * (int64_t{1} << 32) + t;
}

}  // namespace

struct DeviceIndex::Impl {
  at::Tensor vectors;  // rows x d as stored, on the device
  at::Tensor tie;      // rows, int64, on the device
  int64_t first_row = 0;
  SearchParams params;
};

DeviceIndex::DeviceIndex(const at::Tensor& vectors, std::vector<int64_t> tie, int64_t first_row,
                         const SearchParams& params)
    : impl_(std::make_unique<Impl>()) {
  const c10::Device device(params.device);
  const int64_t rows = vectors.defined() ? vectors.size(0) : 0;
  RR_CHECK(static_cast<int64_t>(tie.size()) == rows, Runtime, "index: {} tie keys for {} rows", tie.size(),
           rows);
  impl_->first_row = first_row;
  impl_->params = params;
  if (rows == 0) {
    const int64_t d = vectors.defined() && vectors.dim() > 1 ? vectors.size(1) : 0;
    impl_->vectors = at::empty({0, d}, at::TensorOptions().dtype(at::kFloat).device(device));
    impl_->tie = at::empty({0}, at::TensorOptions().dtype(at::kLong).device(device));
    return;
  }
  // copy = true: on the CPU too the index owns its rows (never a view of the caller's memory).
  impl_->vectors = vectors.contiguous().to(device, /*non_blocking=*/false, /*copy=*/true);
  impl_->tie = at::from_blob(tie.data(), {rows}, at::kLong).to(device, /*non_blocking=*/false, /*copy=*/true);
}

DeviceIndex::~DeviceIndex() = default;

int64_t DeviceIndex::ntotal() const {
  return impl_->vectors.size(0);
}

int64_t DeviceIndex::first_row() const {
  return impl_->first_row;
}

int64_t DeviceIndex::memory_bytes() const {
  return impl_->vectors.numel() * impl_->vectors.element_size() + impl_->tie.numel() * 8;
}

TopK DeviceIndex::search(const SearchQueries& queries_in, int64_t k) const {
  SearchParams p = impl_->params;
  p.k = k;
  const float* queries = queries_in.vectors;
  const int64_t nq = queries_in.n, first_row = impl_->first_row;
  RR_CHECK(p.k > 0 && p.corpus_block > 0 && p.query_block > 0, Usage,
           "search: k ({}), corpus_block ({}) and query_block ({}) must be positive", p.k, p.corpus_block,
           p.query_block);
  TopK top(nq, p.k);
  const at::Tensor& corpus = impl_->vectors;
  const int64_t n = corpus.size(0), d = corpus.size(1);
  if (nq == 0 || n == 0) return top;
  for (int64_t q0 = 0; q0 < nq; q0 += p.query_block) {
    const int64_t qn = std::min(p.query_block, nq - q0);
    const at::Tensor q =
        at::from_blob(const_cast<float*>(queries + q0 * d), {qn, d}, at::kFloat).to(corpus.device());
    at::Tensor best_key, best_score, best_row;  // qn x (hits so far); ranked after the last block
    for (int64_t c0 = 0; c0 < n; c0 += p.corpus_block) {
      const int64_t cn = std::min(p.corpus_block, n - c0);
      const at::Tensor scores = invariant_mm(q, corpus.narrow(0, c0, cn).to(at::kFloat).t());  // qn x cn
      const at::Tensor keys = rank_keys(scores, impl_->tie.narrow(0, c0, cn).unsqueeze(0).expand({qn, cn}));
      auto [key, col] = at::topk(keys, std::min(p.k, cn), 1, /*largest=*/true, /*sorted=*/false);
      at::Tensor score = scores.gather(1, col), row = col + c0;
      if (best_key.defined()) {
        key = at::cat({best_key, key}, 1);
        score = at::cat({best_score, score}, 1);
        row = at::cat({best_row, row}, 1);
      }
      // The merge into the running top-k stays on the device: no transfer, no host decision per block.
      const at::Tensor keep =
          std::get<1>(at::topk(key, std::min(p.k, key.size(1)), 1, true, /*sorted=*/true));
      best_key = key.gather(1, keep);
      best_score = score.gather(1, keep);
      best_row = row.gather(1, keep);
    }
    const at::Tensor best_tie = at::take(impl_->tie, best_row);
    // Only k hits per query come back.
    const at::Tensor s = best_score.cpu().contiguous(), r = best_row.cpu().contiguous(),
                     t = best_tie.cpu().contiguous();  // one transfer per query block
    const int64_t kept = s.size(1);
    for (int64_t i = 0; i < qn; ++i)
      for (int64_t j = 0; j < kept; ++j) {
        const int64_t to = (q0 + i) * p.k + j, from = i * kept + j;
        top.doc[to] = first_row + r.data_ptr<int64_t>()[from];
        top.score[to] = s.data_ptr<float>()[from];
        top.tie[to] = t.data_ptr<int64_t>()[from];
      }
  }
  return top;
}

}  // namespace rr
