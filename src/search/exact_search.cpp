#include "search/exact_search.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>
#include <c10/util/Half.h>

#include <algorithm>

#include "common/error.h"

namespace rr {

namespace {

// A bounded heap of the k best hits of one query; the worst kept hit sits at the top.
class QueryHeap {
  // std heaps keep the "largest" on top; make the worst hit the largest.
  struct WorseLast {
    const QueryHeap* h;
    bool operator()(int64_t a, int64_t b) const {
      return ranks_before(h->score_[a], h->tie_[a], h->score_[b], h->tie_[b]);
    }
  };
  WorseLast worse_first() const { return WorseLast{this}; }

 public:
  QueryHeap(int64_t* doc, float* score, int64_t* tie, int64_t k) : doc_(doc), score_(score), tie_(tie), k_(k) {
    while (size_ < k_ && doc_[size_] >= 0) ++size_;
    slot_.resize(k_);
    for (int64_t i = 0; i < size_; ++i) slot_[i] = i;
    std::make_heap(slot_.begin(), slot_.begin() + size_, worse_first());
  }
  // Threshold test first: most candidates of a large corpus fail it.
  void offer(float s, int64_t d, int64_t t) {
    if (size_ < k_) {
      slot_[size_] = size_;
      doc_[size_] = d, score_[size_] = s, tie_[size_] = t;
      ++size_;
      std::push_heap(slot_.begin(), slot_.begin() + size_, worse_first());
      return;
    }
    int64_t w = slot_[0];
    if (!ranks_before(s, t, score_[w], tie_[w])) return;
    std::pop_heap(slot_.begin(), slot_.begin() + size_, worse_first());
    doc_[w] = d, score_[w] = s, tie_[w] = t;
    std::push_heap(slot_.begin(), slot_.begin() + size_, worse_first());
  }
  bool full() const { return size_ == k_; }
  float worst_score() const { return score_[slot_[0]]; }
  // Rewrites the slots in rank order (best first).
  void finish() {
    std::vector<int64_t> idx(slot_.begin(), slot_.begin() + size_);
    std::sort(idx.begin(), idx.end(),
              [&](int64_t a, int64_t b) { return ranks_before(score_[a], tie_[a], score_[b], tie_[b]); });
    std::vector<int64_t> d(size_), t(size_);
    std::vector<float> s(size_);
    for (int64_t i = 0; i < size_; ++i) d[i] = doc_[idx[i]], s[i] = score_[idx[i]], t[i] = tie_[idx[i]];
    std::copy(d.begin(), d.end(), doc_);
    std::copy(s.begin(), s.end(), score_);
    std::copy(t.begin(), t.end(), tie_);
  }

 private:
  int64_t* doc_;
  float* score_;
  int64_t* tie_;
  int64_t k_, size_ = 0;
  std::vector<int64_t> slot_;
};

}  // namespace

std::vector<uint16_t> to_float16(const float* data, int64_t n) {
  std::vector<uint16_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = c10::Half(data[i]).x;
  return out;
}

TopK exact_search(const float* queries, int64_t nq, const MatrixView& corpus, int64_t first_row, const int64_t* tie,
                  const SearchParams& p) {
  RR_CHECK(p.k > 0 && p.corpus_block > 0 && p.query_block > 0, Usage,
           "search: k ({}), corpus_block ({}) and query_block ({}) must be positive", p.k, p.corpus_block,
           p.query_block);
  TopK top(nq, p.k);
  if (nq == 0 || corpus.rows == 0) return top;
  const int64_t d = corpus.cols;
  const c10::Device device(p.device);
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  auto stored = at::TensorOptions().dtype(corpus.type == StorageType::Float16 ? at::kHalf : at::kFloat);
  const size_t elem = corpus.type == StorageType::Float16 ? 2 : 4;

  for (int64_t q0 = 0; q0 < nq; q0 += p.query_block) {
    const int64_t qn = std::min(p.query_block, nq - q0);
    at::Tensor q = at::from_blob(const_cast<float*>(queries + q0 * d), {qn, d}, f32).to(device);
    for (int64_t c0 = 0; c0 < corpus.rows; c0 += p.corpus_block) {
      const int64_t cn = std::min(p.corpus_block, corpus.rows - c0);
      const char* base = static_cast<const char*>(corpus.data) + static_cast<size_t>(c0 * d) * elem;
      at::Tensor c = at::from_blob(const_cast<char*>(base), {cn, d}, stored).to(device, at::kFloat);
      at::Tensor scores = at::mm(q, c.t()).to(at::kCPU).contiguous();  // qn x cn
      const float* s = scores.data_ptr<float>();
      at::parallel_for(0, qn, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const int64_t qi = q0 + i;
          QueryHeap heap(&top.doc[qi * p.k], &top.score[qi * p.k], &top.tie[qi * p.k], p.k);
          const float* row = s + i * cn;
          for (int64_t j = 0; j < cn; ++j) {
            if (heap.full() && row[j] < heap.worst_score()) continue;
            heap.offer(row[j], first_row + c0 + j, tie[c0 + j]);
          }
          heap.finish();
        }
      });
    }
  }
  return top;
}

}  // namespace rr
