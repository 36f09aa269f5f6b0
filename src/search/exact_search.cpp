#include "search/exact_search.h"

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

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

// trec_eval's order (score descending, then tie key descending): a strict total order on a corpus's hits.
struct RanksBefore {
  const int64_t* tie;
  bool operator()(const Hit& a, const Hit& b) const {  // ranks_before(), the tie keys read only when needed
    if (a.score != b.score) return a.score > b.score;
    return tie[a.row] > tie[b.row];
  }
};

// The first j' in [j, n) with row[j'] >= threshold (n if none): AVX-512 compares 64 scores at a time into
// masks; the portable loop one at a time. Chosen once, when the program loads.
__attribute__((target("avx512f"))) int64_t first_at_least_avx512(const float* row, int64_t j, int64_t n,
                                                                 float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  for (; j + 64 <= n; j += 64) {
    const __mmask16 m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + j), t, _CMP_GE_OQ);
    const __mmask16 m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + j + 16), t, _CMP_GE_OQ);
    const __mmask16 m2 = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + j + 32), t, _CMP_GE_OQ);
    const __mmask16 m3 = _mm512_cmp_ps_mask(_mm512_loadu_ps(row + j + 48), t, _CMP_GE_OQ);
    if ((m0 | m1 | m2 | m3) != 0) break;
  }
  for (; j < n; ++j)
    if (row[j] >= threshold) return j;
  return n;
}

int64_t first_at_least_portable(const float* row, int64_t j, int64_t n, float threshold) {
  for (; j < n; ++j)
    if (row[j] >= threshold) return j;
  return n;
}

using FirstAtLeast = int64_t (*)(const float*, int64_t, int64_t, float);
const FirstAtLeast first_at_least =
    __builtin_cpu_supports("avx512f") ? first_at_least_avx512 : first_at_least_portable;

// How many of row[0, n) are >= threshold.
__attribute__((target("avx512f"))) int64_t count_at_least_avx512(const float* row, int64_t n,
                                                                 float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  int64_t count = 0, j = 0;
  for (; j + 16 <= n; j += 16)
    count += __builtin_popcount(_mm512_cmp_ps_mask(_mm512_loadu_ps(row + j), t, _CMP_GE_OQ));
  for (; j < n; ++j) count += row[j] >= threshold;
  return count;
}

int64_t count_at_least_portable(const float* row, int64_t n, float threshold) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) count += row[j] >= threshold;
  return count;
}

using CountAtLeast = int64_t (*)(const float*, int64_t, float);
const CountAtLeast count_at_least =
    __builtin_cpu_supports("avx512f") ? count_at_least_avx512 : count_at_least_portable;

// Sorts hits best first (trec_eval's order). Lists of 256 and more by a stable radix sort on the score's bits
// (four passes of 8 bits, ~4 n moves and no branch to mispredict: a comparison sort of a k = 1000 list took
// as long as the bf16 product of a small corpus), then runs of equal scores by tie key.
void sort_best_first(std::vector<Hit>& hits, const RanksBefore& better) {
  const size_t n = hits.size();
  if (n < 256) {
    std::sort(hits.begin(), hits.end(), better);
    return;
  }
  // Descending score <-> ascending key; -0 and +0 share a key (they are equal scores).
  auto key = [](float score) {
    uint32_t u;
    const float f = score + 0.0f;
    std::memcpy(&u, &f, sizeof u);
    return ~((u & 0x80000000u) ? ~u : (u | 0x80000000u));
  };
  thread_local std::vector<Hit> scratch;
  scratch.resize(n);
  for (int shift = 0; shift < 32; shift += 8) {
    uint32_t start[256] = {};
    for (const Hit& h : hits) ++start[(key(h.score) >> shift) & 255];
    uint32_t sum = 0;
    for (uint32_t& b : start) sum += std::exchange(b, sum);
    for (const Hit& h : hits) scratch[start[(key(h.score) >> shift) & 255]++] = h;
    hits.swap(scratch);
  }
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && hits[j].score == hits[i].score) ++j;
    if (j - i > 1)
      std::sort(hits.begin() + static_cast<std::ptrdiff_t>(i), hits.begin() + static_cast<std::ptrdiff_t>(j),
                better);
    i = j;
  }
}

// One query's best `kept` hits so far. Hits that rank before the threshold are appended (in bulk until the
// buffer first fills); when the buffer holds 4 kept, nth_element keeps the best kept and raises the
// threshold to the worst of them. Amortized O(1) per hit: a heap pays a log(kept) sift through scattered
// slots per accepted hit, which at k = 1000 cost as much as the bf16 product itself. The set kept is the
// heap's (the order is strict).
class Candidates {
 public:
  explicit Candidates(int64_t kept) : kept_(static_cast<size_t>(kept)) {}

  // Folds the scores of corpus rows [first, first + n).
  void fold(const float* row, int64_t n, int64_t first, const RanksBefore& better) {
    if (hits_.capacity() == 0) hits_.reserve(4 * kept_);
    // Scores below the floor cannot be among the kept best: the worst kept hit's once the buffer has held
    // kept, before that one this block alone proves (block_floor), if any.
    std::optional<float> floor = bounded_ ? std::optional<float>(worst_.score) : block_floor(row, n);
    int64_t j = 0;
    while (!floor && j < n) {  // until the buffer first fills: every hit, appended in bulk
      const int64_t take = std::min(n - j, static_cast<int64_t>(4 * kept_ - hits_.size()));
      for (int64_t i = j; i < j + take; ++i) hits_.push_back({row[i], first + i});
      j += take;
      if (hits_.size() == 4 * kept_) keep_best(kept_, better), floor = worst_.score;
    }
    for (; j < n; ++j) {
      j = first_at_least(row, j, n, *floor);  // most scores of a large corpus are skipped here
      if (j == n) break;
      const Hit h{row[j], first + j};
      if (bounded_ && !better(h, worst_)) continue;
      hits_.push_back(h);
      if (hits_.size() == 4 * kept_) keep_best(kept_, better), floor = std::max(*floor, worst_.score);
    }
  }

  // Keeps the best `count` hits (in no particular order).
  void keep_best(size_t count, const RanksBefore& better) {
    if (hits_.size() <= count) return;
    std::nth_element(hits_.begin(), hits_.begin() + static_cast<std::ptrdiff_t>(count - 1), hits_.end(),
                     better);
    hits_.resize(count);
    worst_ = hits_.back();
    bounded_ = count == kept_;
  }

  // Keeps the best `count` hits, best first (the list is final: no more folds).
  void keep_sorted(size_t count, const RanksBefore& better) {
    sort_best_first(hits_, better);
    if (hits_.size() > count) hits_.resize(count);
  }

  std::vector<Hit>& hits() { return hits_; }

 private:
  // A floor one block proves on its own: t, the r-th best of every 8th score (r = 1.25 kept / 8 + 2, so that
  // about 1.25 kept scores reach it), when at least kept of the block's scores are >= t (the kept best
  // overall then all are). Spares a small corpus's first block the buffer's compactions (at k 100 of 3,000
  // rows they cost more than the product). None for blocks of fewer than 8 kept rows.
  std::optional<float> block_floor(const float* row, int64_t n) const {
    constexpr int64_t kStride = 8;
    if (n < kStride * static_cast<int64_t>(kept_)) return std::nullopt;
    thread_local std::vector<float> sample;
    sample.clear();
    for (int64_t j = 0; j < n; j += kStride) sample.push_back(row[j]);
    const size_t r = std::min(sample.size(), kept_ * 5 / (4 * kStride) + 2);
    std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(r - 1), sample.end(),
                     std::greater<float>());
    const float t = sample[r - 1];
    if (count_at_least(row, n, t) < static_cast<int64_t>(kept_)) return std::nullopt;
    return t;
  }

  size_t kept_;
  std::vector<Hit> hits_;
  Hit worst_{0.f, 0};
  bool bounded_ = false;  // the buffer has held kept hits: worst_ is the threshold
};

// q . c with every product exact in double (24 + 24 significant bits fit in 53), summed in sixteen lanes in
// a fixed order (lanes j mod 16 < 8 in one chain, the others in a second; the chains' lanes added pairwise as
// below, then the tail) and rounded to float once: the correctly rounded inner product (up to double's own
// rounding, ~1e-16 relative), the same for any caller, thread count or block shape, and the same from every
// version below (a product is exact in double, so a fused multiply-add adds the same value).
float finish(const double* s, double tail) {
  return static_cast<float>(((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])) + tail);
}

double tail_of(const float* q, const float* c, int64_t j, int64_t d) {
  double tail = 0;
  for (; j < d; ++j) tail += static_cast<double>(q[j]) * static_cast<double>(c[j]);
  return tail;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_cvtps_pd (_mm512_undefined_pd)
__attribute__((target("avx512f"))) inline __m512d widened(const float* x) {
  return _mm512_cvtps_pd(_mm256_loadu_ps(x));
}

// Two inner products at once (four independent chains: one pair's chains wait on the adds' latency).
__attribute__((target("avx512f"))) void rescore_two_avx512(const float* qa, const float* ca, const float* qb,
                                                           const float* cb, int64_t d, float* out) {
  __m512d even_a = _mm512_setzero_pd(), odd_a = _mm512_setzero_pd();
  __m512d even_b = _mm512_setzero_pd(), odd_b = _mm512_setzero_pd();
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    even_a = _mm512_fmadd_pd(widened(qa + j), widened(ca + j), even_a);
    even_b = _mm512_fmadd_pd(widened(qb + j), widened(cb + j), even_b);
    odd_a = _mm512_fmadd_pd(widened(qa + j + 8), widened(ca + j + 8), odd_a);
    odd_b = _mm512_fmadd_pd(widened(qb + j + 8), widened(cb + j + 8), odd_b);
  }
  alignas(64) double s[8];
  _mm512_store_pd(s, _mm512_add_pd(even_a, odd_a));
  out[0] = finish(s, tail_of(qa, ca, j, d));
  _mm512_store_pd(s, _mm512_add_pd(even_b, odd_b));
  out[1] = finish(s, tail_of(qb, cb, j, d));
}
#pragma GCC diagnostic pop

float rescore_portable(const float* q, const float* c, int64_t d) {
  double even[8] = {}, odd[8] = {};
  int64_t j = 0;
  for (; j + 16 <= d; j += 16)
    for (int l = 0; l < 8; ++l) {
      even[l] += static_cast<double>(q[j + l]) * static_cast<double>(c[j + l]);
      odd[l] += static_cast<double>(q[j + 8 + l]) * static_cast<double>(c[j + 8 + l]);
    }
  double s[8];
  for (int l = 0; l < 8; ++l) s[l] = even[l] + odd[l];
  return finish(s, tail_of(q, c, j, d));
}

void rescore_two_portable(const float* qa, const float* ca, const float* qb, const float* cb, int64_t d,
                          float* out) {
  out[0] = rescore_portable(qa, ca, d);
  out[1] = rescore_portable(qb, cb, d);
}

using RescoreTwo = void (*)(const float*, const float*, const float*, const float*, int64_t, float*);
const RescoreTwo rescore_two = __builtin_cpu_supports("avx512f") ? rescore_two_avx512 : rescore_two_portable;

// Corpus row `row` as float32: the stored row itself, or widened into `buffer` (d floats).
const float* row_as_float(const MatrixView& corpus, int64_t row, float* buffer) {
  const int64_t d = corpus.cols;
  switch (corpus.type) {
    case VectorType::Float16: {
      const c10::Half* c = static_cast<const c10::Half*>(corpus.data) + row * d;
      std::copy(c, c + d, buffer);
      return buffer;
    }
    case VectorType::BFloat16: {
      const c10::BFloat16* c = static_cast<const c10::BFloat16*>(corpus.data) + row * d;
      std::copy(c, c + d, buffer);
      return buffer;
    }
    case VectorType::Float32:
      break;
  }
  return static_cast<const float*>(corpus.data) + row * d;
}

// One candidate to rescore: query `query`'s hit number `slot`, on corpus row `row`.
struct Candidate {
  int64_t row;
  int32_t query, slot;
};

// Sorts by row with a stable LSD radix sort: passes of at most 16 bits covering the bits of `rows` (one pass,
// 2^12 buckets, for 3,000 rows; two of 10 bits for a million).
void sort_by_row(std::vector<Candidate>& items, int64_t rows) {
  int bits = 1;
  while (bits < 63 && (int64_t{1} << bits) < rows) ++bits;
  const int passes = (bits + 15) / 16, width = (bits + passes - 1) / passes;
  const int64_t mask = (int64_t{1} << width) - 1;
  std::vector<Candidate> scratch(items.size());
  std::vector<size_t> start(static_cast<size_t>(mask + 1));
  for (int shift = 0; shift < passes * width; shift += width) {
    std::fill(start.begin(), start.end(), 0);
    for (const Candidate& r : items) ++start[static_cast<size_t>((r.row >> shift) & mask)];
    size_t sum = 0;
    for (size_t& s : start) sum += std::exchange(s, sum);
    for (const Candidate& r : items) scratch[start[static_cast<size_t>((r.row >> shift) & mask)]++] = r;
    items.swap(scratch);
  }
}

// Replaces the bf16 scores of the candidates of queries [0, qn) by exact ones, corpus row by corpus row: each
// row is read (and widened) once for every query that kept it (rows in ascending order: a streaming read,
// where query by query it was k + margin scattered rows, 3 KB each at d 768, per query), then keeps each
// query's best k, best first.
void rescore_candidates(Candidates* queries_hits, int64_t qn, int64_t k, const float* queries,
                        const MatrixView& corpus, const RanksBefore& better) {
  const int64_t d = corpus.cols;
  size_t count = 0;
  for (int64_t i = 0; i < qn; ++i) count += queries_hits[i].hits().size();
  std::vector<Candidate> items;
  items.reserve(count);
  for (int64_t i = 0; i < qn; ++i) {
    const std::vector<Hit>& hits = queries_hits[i].hits();
    for (size_t s = 0; s < hits.size(); ++s)
      items.push_back({hits[s].row, static_cast<int32_t>(i), static_cast<int32_t>(s)});
  }
  sort_by_row(items, corpus.rows);
  // Pairs of candidates (the last one paired with itself when the count is odd).
  const int64_t n = static_cast<int64_t>(items.size());
  at::parallel_for(0, (n + 1) / 2, 128, [&](int64_t lo, int64_t hi) {
    std::vector<float> buffer_a(corpus.type == VectorType::Float32 ? 0 : static_cast<size_t>(d));
    std::vector<float> buffer_b(buffer_a.size());
    for (int64_t p = lo; p < hi; ++p) {
      const Candidate& a = items[2 * p];
      const Candidate& b = items[std::min(2 * p + 1, n - 1)];
      float scores[2];
      rescore_two(queries + a.query * d, row_as_float(corpus, a.row, buffer_a.data()), queries + b.query * d,
                  row_as_float(corpus, b.row, buffer_b.data()), d, scores);
      queries_hits[a.query].hits()[a.slot].score = scores[0];
      queries_hits[b.query].hits()[b.slot].score = scores[1];
    }
  });
  at::parallel_for(0, qn, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) queries_hits[i].keep_sorted(static_cast<size_t>(k), better);
  });
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
  const RanksBefore better{tie};
  const int64_t buffer_rows = p.bf16 ? packed->query_rows() : std::min(p.query_block, nq);
  at::Tensor buffer = at::empty({on_cpu ? buffer_rows * std::min(p.corpus_block, corpus.rows) : 0}, f32);
  for (int64_t q0 = 0; q0 < nq; q0 += p.query_block) {
    const int64_t qn = std::min(p.query_block, nq - q0);
    at::Tensor q = at::from_blob(const_cast<float*>(queries + q0 * d), {qn, d}, f32).to(device);
    // This block's candidates only: up to 4 kept hits (16 B) per query while scanning, k once written out.
    std::vector<Candidates> hits(static_cast<size_t>(qn), Candidates(kept));
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
        for (int64_t i = lo; i < hi; ++i) hits[i].fold(s + i * cn, cn, c0, better);
      });
    }
    if (p.bf16) {
      at::parallel_for(0, qn, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) hits[i].keep_best(static_cast<size_t>(kept), better);
      });
      rescore_candidates(hits.data(), qn, p.k, queries + q0 * d, corpus, better);
    }
    at::parallel_for(0, qn, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        if (!p.bf16) hits[i].keep_sorted(static_cast<size_t>(p.k), better);  // bf16: when rescored
        const std::vector<Hit>& h = hits[i].hits();
        const int64_t out = (q0 + i) * p.k;
        for (size_t j = 0; j < h.size(); ++j) {
          top.doc[out + static_cast<int64_t>(j)] = first_row + h[j].row;
          top.score[out + static_cast<int64_t>(j)] = h[j].score;
          top.tie[out + static_cast<int64_t>(j)] = tie[h[j].row];
        }
      }
    });
  }
  return top;
}

}  // namespace rr
