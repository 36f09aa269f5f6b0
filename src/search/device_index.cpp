#include "search/device_index.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "common/vector_dtype.h"

namespace rr {

namespace {

// Order of hits by score, then tie key, both descending (ranks_before: trec_eval's order); strict, since a
// corpus's tie keys are distinct. s, t: n x m on the device; returns n x m column indices.
at::Tensor ranked_order(const at::Tensor& s, const at::Tensor& t) {
  const at::Tensor by_tie = std::get<1>(at::sort(t, /*stable=*/true, 1, /*descending=*/true));
  const at::Tensor by_score =
      std::get<1>(at::sort(s.gather(1, by_tie), /*stable=*/true, 1, /*descending=*/true));
  return by_tie.gather(1, by_score);
}

// The kk best columns of each row of s (qn x cn scores of one corpus block, tie: the block's cn tie keys),
// exact at the kk-th place: where scores equal to the kk-th one reach beyond it, that row is ranked in full
// by (score, tie key). Returns (scores, columns), qn x kk, unordered.
std::pair<at::Tensor, at::Tensor> block_topk(const at::Tensor& s, int64_t kk, const at::Tensor& tie) {
  auto [v, col] = at::topk(s, kk, 1, /*largest=*/true, /*sorted=*/false);
  if (kk == s.size(1)) return {v, col};
  const at::Tensor tied = (s >= std::get<0>(v.min(1, /*keepdim=*/true))).sum(1) > kk;
  if (!tied.any().item<bool>()) return {v, col};
  const at::Tensor rows = tied.nonzero().squeeze(1);
  const at::Tensor block_tie = tie.unsqueeze(0).expand({rows.size(0), tie.size(0)});
  const at::Tensor order = ranked_order(s.index_select(0, rows), block_tie).narrow(1, 0, kk);
  v.index_copy_(0, rows, s.index_select(0, rows).gather(1, order));
  col.index_copy_(0, rows, order);
  return {v, col};
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
    at::Tensor best_score, best_row, best_tie;  // qn x (hits so far), ranked
    for (int64_t c0 = 0; c0 < n; c0 += p.corpus_block) {
      const int64_t cn = std::min(p.corpus_block, n - c0);
      const at::Tensor scores = at::mm(q, corpus.narrow(0, c0, cn).to(at::kFloat).t());  // qn x cn
      auto [score, col] = block_topk(scores, std::min(p.k, cn), impl_->tie.narrow(0, c0, cn));
      at::Tensor row = col + c0, tie = at::take(impl_->tie, row);
      if (best_score.defined()) {
        score = at::cat({best_score, score}, 1);
        row = at::cat({best_row, row}, 1);
        tie = at::cat({best_tie, tie}, 1);
      }
      const at::Tensor keep = ranked_order(score, tie).narrow(1, 0, std::min(p.k, score.size(1)));
      best_score = score.gather(1, keep);
      best_row = row.gather(1, keep);
      best_tie = tie.gather(1, keep);
    }
    // Only k hits per query come back.
    const at::Tensor s = best_score.cpu().contiguous(), r = best_row.cpu().contiguous(),
                     t = best_tie.cpu().contiguous();
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
