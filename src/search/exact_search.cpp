#include "search/exact_search.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "common/vector_dtype.h"
#include "model/invariant_ops.h"
#include "search/bf16_corpus.h"

namespace rr {

namespace {

// A kept hit: 16 bytes, so a heap of k = 1000 stays in L1; the tie key is looked up only on equal scores.
struct Hit {
  float score;
  int64_t row;  // row within this corpus (index into the tie keys)
};

// Heap order: the worst kept hit on top (std heaps keep the "largest" first).
struct RanksBefore {
  const int64_t* tie;
  bool operator()(const Hit& a, const Hit& b) const {  // ranks_before(), the tie keys read only when needed
    if (a.score != b.score) return a.score > b.score;
    return tie[a.row] > tie[b.row];
  }
};

// Replaces the worst hit (the top) by h and restores the heap with one sift-down (std::pop_heap followed by
// std::push_heap would sift twice).
void replace_top(std::vector<Hit>& heap, const Hit& h, const RanksBefore& better) {
  const size_t n = heap.size();
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && better(heap[child], heap[child + 1])) ++child;  // the worse of the two children
    if (!better(h, heap[child])) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = h;
}

// Folds the scores of one query against corpus rows [first, first + n) into its bounded heap (size <= k,
// worst on top).
void fold_block(std::vector<Hit>& heap, int64_t k, const float* row, int64_t n, int64_t first,
                const RanksBefore& better) {
  int64_t j = 0;
  if (static_cast<int64_t>(heap.size()) < k) {
    for (; j < n && static_cast<int64_t>(heap.size()) < k; ++j) heap.push_back({row[j], first + j});
    std::make_heap(heap.begin(), heap.end(), better);
  }
  float worst = heap.empty() ? 0.f : heap.front().score;
  for (; j < n; ++j) {
    // Most candidates of a large corpus fail this test; equal scores go to the tie key.
    if (row[j] < worst) continue;
    const Hit h{row[j], first + j};
    if (!better(h, heap.front())) continue;
    replace_top(heap, h, better);
    worst = heap.front().score;
  }
}

// q . c with every product exact in double (24 + 24 significant bits fit in 53), summed in sixteen lanes in
// a fixed order and rounded to float once: the correctly rounded inner product (up to double's own rounding,
// ~1e-16 relative), the same for any caller, thread count or block shape. Cloned for AVX-512 and AVX2 (the
// base build targets x86-64 without them), chosen when the program loads.
typedef float Floats8 __attribute__((vector_size(32)));
typedef double Doubles8 __attribute__((vector_size(64)));

__attribute__((target_clones("avx512f", "avx2", "default"))) float rescore(const float* q, const float* c,
                                                                           int64_t d) {
  Doubles8 even = {}, odd = {};  // two chains: double adds have a 4-cycle latency
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    Floats8 q0, c0, q1, c1;
    std::memcpy(&q0, q + j, sizeof q0);
    std::memcpy(&c0, c + j, sizeof c0);
    std::memcpy(&q1, q + j + 8, sizeof q1);
    std::memcpy(&c1, c + j + 8, sizeof c1);
    even += __builtin_convertvector(q0, Doubles8) * __builtin_convertvector(c0, Doubles8);
    odd += __builtin_convertvector(q1, Doubles8) * __builtin_convertvector(c1, Doubles8);
  }
  double tail = 0;
  for (; j < d; ++j) tail += static_cast<double>(q[j]) * static_cast<double>(c[j]);
  const Doubles8 s = even + odd;
  return static_cast<float>(((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])) + tail);
}

// Replaces the bf16 scores of one query's candidates by exact ones and keeps the best k (a heap again).
void rescore_candidates(std::vector<Hit>& heap, int64_t k, const float* q, const MatrixView& corpus,
                        const RanksBefore& better) {
  const int64_t d = corpus.cols;
  const size_t row_bytes = static_cast<size_t>(d) * vector_type_size(corpus.type);
  std::vector<float> widened(corpus.type != VectorType::Float32 ? static_cast<size_t>(d) : 0);
  constexpr size_t kAhead = 4;  // rows prefetched ahead: candidates are scattered over the shard (DRAM)
  for (size_t i = 0; i < heap.size(); ++i) {
    if (i + kAhead < heap.size()) {
      const char* next = static_cast<const char*>(corpus.data) + heap[i + kAhead].row * row_bytes;
      for (size_t line = 0; line < row_bytes; line += 64) __builtin_prefetch(next + line);
    }
    Hit& h = heap[i];
    const float* c = static_cast<const float*>(corpus.data) + h.row * d;
    if (corpus.type == VectorType::Float16) {
      const c10::Half* half = static_cast<const c10::Half*>(corpus.data) + h.row * d;
      std::copy(half, half + d, widened.begin());
      c = widened.data();
    } else if (corpus.type == VectorType::BFloat16) {
      const c10::BFloat16* bf = static_cast<const c10::BFloat16*>(corpus.data) + h.row * d;
      std::copy(bf, bf + d, widened.begin());
      c = widened.data();
    }
    h.score = rescore(q, c, d);
  }
  std::sort(heap.begin(), heap.end(), better);
  if (static_cast<int64_t>(heap.size()) > k) heap.resize(static_cast<size_t>(k));
  std::make_heap(heap.begin(), heap.end(), better);
}

}  // namespace

int64_t default_bf16_margin(int64_t k) {
  return std::max<int64_t>(8, k / 8);
}

TopK exact_search(const float* queries, int64_t nq, const MatrixView& corpus, int64_t first_row,
                  const int64_t* tie, const SearchParams& p, const Bf16Corpus* packed) {
  RR_CHECK(p.k > 0 && p.corpus_block > 0 && p.query_block > 0, Usage,
           "search: k ({}), corpus_block ({}) and query_block ({}) must be positive", p.k, p.corpus_block,
           p.query_block);
  TopK top(nq, p.k);
  if (nq == 0 || corpus.rows == 0) return top;
  const int64_t d = corpus.cols;
  const c10::Device device(p.device);
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  auto stored = at::TensorOptions().dtype(vector_dtype(corpus.type));
  const size_t elem = vector_type_size(corpus.type);
  const bool on_cpu = device.is_cpu();
  // Candidates kept per query while scanning: k, or k + margin for bf16 search.
  int64_t kept = p.k;
  std::unique_ptr<Bf16Corpus> own_packing;
  if (p.bf16) {
    RR_CHECK(on_cpu, Usage, "bf16 search runs on the CPU (oneDNN); on {} use precision \"fp32\"", p.device);
    kept = p.k + (p.bf16_margin >= 0 ? p.bf16_margin : default_bf16_margin(p.k));
    if (!packed) {
      own_packing = std::make_unique<Bf16Corpus>(corpus, p.corpus_block, std::min(p.query_block, nq));
      packed = own_packing.get();
    }
    RR_CHECK(packed->rows() == corpus.rows && packed->corpus_block() == p.corpus_block &&
                 packed->query_rows() >= std::min(p.query_block, nq),
             Runtime, "bf16 search: the packed corpus ({} rows, blocks of {}, {} query rows) does not fit",
             packed->rows(), packed->corpus_block(), packed->query_rows());
  }
  std::vector<std::vector<Hit>> heaps(static_cast<size_t>(nq));
  for (auto& h : heaps) h.reserve(static_cast<size_t>(std::min<int64_t>(kept, corpus.rows)));

  const RanksBefore better{tie};
  const int64_t buffer_rows = p.bf16 ? packed->query_rows() : std::min(p.query_block, nq);
  at::Tensor buffer = at::empty({on_cpu ? buffer_rows * std::min(p.corpus_block, corpus.rows) : 0}, f32);
  for (int64_t q0 = 0; q0 < nq; q0 += p.query_block) {
    const int64_t qn = std::min(p.query_block, nq - q0);
    at::Tensor q = at::from_blob(const_cast<float*>(queries + q0 * d), {qn, d}, f32).to(device);
    for (int64_t c0 = 0; c0 < corpus.rows; c0 += p.corpus_block) {
      const int64_t cn = std::min(p.corpus_block, corpus.rows - c0);
      // qn x cn, row-major; on the CPU written into one buffer reused by every block (no page faults per
      // block).
      at::Tensor scores;
      const char* base = static_cast<const char*>(corpus.data) + static_cast<size_t>(c0 * d) * elem;
      if (p.bf16) {
        packed->scores(queries + q0 * d, qn, c0 / p.corpus_block, buffer.data_ptr<float>());
        scores = buffer.narrow(0, 0, qn * cn).view({qn, cn});
      } else if (on_cpu) {
        at::Tensor c = at::from_blob(const_cast<char*>(base), {cn, d}, stored).to(at::kFloat);
        scores = buffer.narrow(0, 0, qn * cn).view({qn, cn});
        invariant_mm_out(scores, q, c.t());
      } else {
        at::Tensor c = at::from_blob(const_cast<char*>(base), {cn, d}, stored).to(device, at::kFloat);
        scores = invariant_mm(q, c.t()).to(at::kCPU).contiguous();
      }
      const float* s = scores.data_ptr<float>();
      at::parallel_for(0, qn, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) fold_block(heaps[q0 + i], kept, s + i * cn, cn, c0, better);
      });
    }
    if (p.bf16) {
      at::parallel_for(0, qn, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          rescore_candidates(heaps[q0 + i], p.k, queries + (q0 + i) * d, corpus, better);
      });
    }
  }
  at::parallel_for(0, nq, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      auto& h = heaps[i];
      std::sort_heap(h.begin(), h.end(), better);  // best first
      for (size_t j = 0; j < h.size(); ++j) {
        top.doc[i * p.k + static_cast<int64_t>(j)] = first_row + h[j].row;
        top.score[i * p.k + static_cast<int64_t>(j)] = h[j].score;
        top.tie[i * p.k + static_cast<int64_t>(j)] = tie[h[j].row];
      }
    }
  });
  return top;
}

}  // namespace rr
