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
#include <array>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "common/error.h"
#include "common/vector_dtype.h"
#include "model/invariant_ops.h"
#include "search/bf16_corpus.h"

namespace rr {

namespace {

// A kept hit: 8 bytes (a query block's buffers are cold between corpus blocks: every byte appended is a cache
// miss); the tie key is looked up only on equal scores.
struct Hit {
  float score;
  int32_t row;  // row within this corpus (index into the tie keys)
};

// trec_eval's order (score descending, then tie key descending): a strict total order on a corpus's hits.
struct RanksBefore {
  const int64_t* tie;
  bool operator()(const Hit& a, const Hit& b) const {  // ranks_before(), the tie keys read only when needed
    if (a.score != b.score) return a.score > b.score;
    return tie[a.row] > tie[b.row];
  }
};

// The positions j' in [j, n) with row[j'] >= threshold, ascending, written to out until `room` (>= 16) are
// found or the row ends; returns their count and sets *next to the first position not examined. AVX-512
// compares 64 scores at a time (a large corpus's scores are mostly skipped here) and reads a last partial
// chunk through a mask; the portable loop one score at a time. One call gathers a block's hits: a call per
// hit cost k = 1000 searches as much as the hits themselves. Chosen once, when the program loads.
__attribute__((target("avx512f"))) inline __mmask16 at_least(const float* scores, __m512 threshold) {
  return _mm512_cmp_ps_mask(_mm512_loadu_ps(scores), threshold, _CMP_GE_OQ);
}

__attribute__((target("avx512f"))) int64_t collect_at_least_avx512(const float* row, int64_t j, int64_t n,
                                                                   float threshold, int32_t* out,
                                                                   int64_t room, int64_t* next) {
  const __m512 t = _mm512_set1_ps(threshold);
  int64_t count = 0;
  auto take = [&](uint32_t mask, int64_t at) {
    for (; mask != 0; mask &= mask - 1) out[count++] = static_cast<int32_t>(at + __builtin_ctz(mask));
  };
  while (j + 16 <= n && count + 16 <= room) {
    if (j + 64 <= n && (at_least(row + j, t) | at_least(row + j + 16, t) | at_least(row + j + 32, t) |
                        at_least(row + j + 48, t)) == 0) {
      j += 64;
      continue;
    }
    take(at_least(row + j, t), j);
    j += 16;
  }
  if (j < n && j + 16 > n && count + 16 <= room) {
    const __mmask16 lanes = static_cast<__mmask16>((1u << (n - j)) - 1);
    take(_mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, row + j), t, _CMP_GE_OQ), j);
    j = n;
  }
  *next = j;
  return count;
}

int64_t collect_at_least_portable(const float* row, int64_t j, int64_t n, float threshold, int32_t* out,
                                  int64_t room, int64_t* next) {
  int64_t count = 0;
  for (; j < n && count < room; ++j)
    if (row[j] >= threshold) out[count++] = static_cast<int32_t>(j);
  *next = j;
  return count;
}

using CollectAtLeast = int64_t (*)(const float*, int64_t, int64_t, float, int32_t*, int64_t, int64_t*);
const CollectAtLeast collect_at_least =
    __builtin_cpu_supports("avx512f") ? collect_at_least_avx512 : collect_at_least_portable;

// How many of values[0, n) are >= threshold.
__attribute__((target("avx512f"))) int64_t count_at_least_avx512(const float* values, int64_t n,
                                                                 float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  int64_t count = 0, j = 0;
  for (; j + 16 <= n; j += 16)
    count += __builtin_popcount(_mm512_cmp_ps_mask(_mm512_loadu_ps(values + j), t, _CMP_GE_OQ));
  for (; j < n; ++j) count += values[j] >= threshold;
  return count;
}

int64_t count_at_least_portable(const float* values, int64_t n, float threshold) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) count += values[j] >= threshold;
  return count;
}

using CountAtLeast = int64_t (*)(const float*, int64_t, float);
const CountAtLeast count_at_least =
    __builtin_cpu_supports("avx512f") ? count_at_least_avx512 : count_at_least_portable;

// out[g] = the largest of row[g + s x groups] for s in [0, 8) and of row[8 groups + g] (the last n mod 8
// scores join the first groups): the maxima of `groups` disjoint groups covering row[0, n), n >= 8 groups.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_max_ps (_mm512_undefined_ps)
__attribute__((target("avx512f"))) void group_maxima_avx512(const float* row, size_t n, size_t groups,
                                                            float* out) {
  size_t g = 0;
  for (; g + 16 <= groups; g += 16) {
    __m512 m = _mm512_loadu_ps(row + g);
    for (size_t s = 1; s < 8; ++s) m = _mm512_max_ps(m, _mm512_loadu_ps(row + s * groups + g));
    _mm512_storeu_ps(out + g, m);
  }
  for (; g < groups; ++g) {
    out[g] = row[g];
    for (size_t s = 1; s < 8; ++s) out[g] = std::max(out[g], row[s * groups + g]);
  }
  for (size_t j = 8 * groups; j < n; ++j) out[j - 8 * groups] = std::max(out[j - 8 * groups], row[j]);
}
#pragma GCC diagnostic pop

void group_maxima_portable(const float* row, size_t n, size_t groups, float* out) {
  std::copy(row, row + groups, out);
  for (size_t s = 1; s < 8; ++s)
    for (size_t g = 0; g < groups; ++g) out[g] = std::max(out[g], row[s * groups + g]);
  for (size_t j = 8 * groups; j < n; ++j) out[j - 8 * groups] = std::max(out[j - 8 * groups], row[j]);
}

using GroupMaxima = void (*)(const float*, size_t, size_t, float*);
const GroupMaxima group_maxima =
    __builtin_cpu_supports("avx512f") ? group_maxima_avx512 : group_maxima_portable;

// A score's key in trec_eval's order: ascending keys are descending scores; -0 and +0 share one (equal
// scores).
uint32_t order_key(float score) {
  uint32_t u;
  const float f = score + 0.0f;
  std::memcpy(&u, &f, sizeof u);
  // Negative: ~u; else u with the sign bit set (without a branch: mixed signs mispredicted half the time).
  const uint32_t negative = static_cast<uint32_t>(static_cast<int32_t>(u) >> 31);
  return ~(u ^ (negative | 0x80000000u));
}

// The score of a key (+0 for the key of -0 and +0).
float score_of(uint32_t key) {
  const uint32_t v = ~key;
  const uint32_t u = (v & 0x80000000u) ? (v & 0x7fffffffu) : ~v;
  float score;
  std::memcpy(&score, &u, sizeof score);
  return score;
}

// Sorts hits[0, n) best first (trec_eval's order). Lists of 64 and more by a stable radix sort on the score
// keys (four passes of 8 bits, ~4 n moves and no branch to mispredict: a comparison sort of a k = 1000 list
// took as long as the bf16 product of a small corpus), then runs of equal scores by tie key.
void sort_best_first(Hit* hits, size_t n, const RanksBefore& better) {
  if (n < 64) {
    std::sort(hits, hits + n, better);
    return;
  }
  thread_local std::vector<Hit> scratch;
  scratch.resize(n);
  Hit *from = hits, *to = scratch.data();
  for (int shift = 0; shift < 32; shift += 8) {  // an even number of passes: the list ends in hits
    uint32_t start[256] = {};
    for (size_t i = 0; i < n; ++i) ++start[(order_key(from[i].score) >> shift) & 255];
    uint32_t sum = 0;
    for (uint32_t& b : start) sum += std::exchange(b, sum);
    for (size_t i = 0; i < n; ++i) to[start[(order_key(from[i].score) >> shift) & 255]++] = from[i];
    std::swap(from, to);
  }
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && hits[j].score == hits[i].score) ++j;
    if (j - i > 1) std::sort(hits + i, hits + j, better);
    i = j;
  }
}

// The count-th smallest of keys[0, n) (0 < count <= n) and how many of the count smallest equal it, and the
// smallest key. Radix
// selection: the digits where the keys differ (those above the highest bit where the least and the greatest
// key differ are common), 8 or 11 bits per pass, each pass counting the keys that share the digits found so
// far and keeping only those for the next (no comparison to mispredict: nth_element on the hits cost as much
// as the bf16 product at k 1000).
struct KthKey {
  uint32_t key;
  size_t need;
  uint32_t least;
};

KthKey kth_smallest(const uint32_t* keys, size_t n, size_t count) {
  uint32_t least = ~0u, greatest = 0;
  for (size_t i = 0; i < n; ++i) {
    least = std::min(least, keys[i]);
    greatest = std::max(greatest, keys[i]);
  }
  int low_bits = std::bit_width(least ^ greatest);  // every key in[0, m) shares the bits above low_bits
  uint32_t prefix = low_bits >= 32 ? 0 : least >> low_bits << low_bits;
  size_t need = count;  // how many of in[0, m) are among the count smallest
  thread_local std::vector<uint32_t> rest;
  const uint32_t* in = keys;
  size_t m = n;
  while (low_bits > 0) {
    // 11-bit digits, 8-bit ones for a few keys (the counts are zeroed each pass).
    const int width = std::min(low_bits, m < 4096 ? 8 : 11), shift = low_bits - width;
    const uint32_t digit_mask = (1u << width) - 1;
    // Two interleaved counts: runs of keys with one digit do not wait on each other's increments.
    std::array<uint32_t, 2 * 2048> histogram;
    std::fill(histogram.begin(), histogram.begin() + 2 * (digit_mask + 1), 0u);
    for (size_t i = 0; i < m; ++i) ++histogram[2 * ((in[i] >> shift) & digit_mask) + (i & 1)];
    uint32_t digit = 0;
    while (histogram[2 * digit] + histogram[2 * digit + 1] < need)
      need -= histogram[2 * digit] + histogram[2 * digit + 1], ++digit;
    prefix |= digit << shift;
    low_bits = shift;
    if (low_bits == 0) break;
    rest.resize(std::max(rest.size(), m));
    size_t kept = 0;
    for (size_t i = 0; i < m; ++i) {  // in place when in is rest: kept <= i
      const uint32_t key = in[i];
      rest[kept] = key;
      kept += ((key >> shift) & digit_mask) == digit;
    }
    in = rest.data();
    m = kept;
  }
  return {prefix, need, least};
}

// Keys of the scores of n items (a scratch of the calling thread, valid until its next call).
template <typename ScoreOf>
const uint32_t* keys_of(size_t n, ScoreOf score) {
  thread_local std::vector<uint32_t> keys;
  keys.resize(n);
  for (size_t i = 0; i < n; ++i) keys[i] = order_key(score(i));
  return keys.data();
}

// The count-th best of scores[0, n) (0 < count <= n: at least count of them are >= it), and the best.
std::pair<float, float> kth_best(const float* scores, size_t n, size_t count) {
  const KthKey kth = kth_smallest(keys_of(n, [&](size_t i) { return scores[i]; }), n, count);
  return {score_of(kth.key), score_of(kth.least)};
}

// Moves the best `count` of hits[0, n) (0 < count < n) to hits[0, count), in no particular order, and returns
// the worst of them: the hits before the count-th best score, then the best by tie key of those equal to it
// (nth_element for a few hits).
Hit select_best(Hit* hits, size_t n, size_t count, const RanksBefore& better) {
  if (n < 64) {
    std::nth_element(hits, hits + count - 1, hits + n, better);
    return hits[count - 1];
  }
  const uint32_t* keys = keys_of(n, [&](size_t i) { return hits[i].score; });
  const auto [prefix, need, least] = kth_smallest(keys, n, count);
  thread_local std::vector<Hit> equal;
  equal.clear();
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (keys[i] < prefix)
      hits[kept++] = hits[i];
    else if (keys[i] == prefix)
      equal.push_back(hits[i]);
  }
  const auto worst = equal.begin() + static_cast<std::ptrdiff_t>(need - 1);
  std::nth_element(equal.begin(), worst, equal.end(), better);
  std::copy(equal.begin(), worst + 1, hits + kept);
  return *worst;
}

// Raises a query's floor between compactions: the hits appended since the floor was set, counted by score
// bucket above it (256 buckets from the floor to the best score then known, the best one open-ended). Once
// `kept` counted hits lie in bucket b and above, no kept hit is below bucket b's lowest score: the floor
// rises there. O(1) per hit (the level only rises); at k 1000 the floor of the last compaction alone let
// through twice the hits that the running top kept has.
class FloorCounter {
 public:
  // Counts from `floor` (every hit counted from now on is >= it); `best`: the best score known, >= floor.
  void reset(float floor, float best) {
    base_ = order_key(floor);
    shift_ = std::max(0, static_cast<int>(std::bit_width(base_ - std::min(base_, order_key(best)))) - 8);
    count_.fill(0);
    level_ = 0;
    at_or_above_ = 0;
  }

  // Counts a score >= the floor; the raised floor when `kept` counted scores now reach a higher one.
  std::optional<float> add(float score, size_t kept) {
    const uint32_t bucket = std::min<uint32_t>(255, (base_ - order_key(score)) >> shift_);
    ++count_[bucket];
    if (bucket < level_ || ++at_or_above_ - count_[level_] < kept) return std::nullopt;
    while (at_or_above_ - count_[level_] >= kept) at_or_above_ -= count_[level_++];
    // Every score counted in bucket level_ and above has a key <= base - (level_ << shift_).
    return score_of(base_ - (level_ << shift_));
  }

 private:
  uint32_t base_ = 0;  // the floor's key; bucket of key k: min(255, (base_ - k) >> shift_)
  int shift_ = 0;
  std::array<uint32_t, 256> count_{};
  uint32_t level_ = 0;      // the floor's bucket
  size_t at_or_above_ = 0;  // scores counted in buckets level_ and above
};

// One query's best `kept` hits so far. A floor that no kept hit falls below comes from the first block of
// kept rows or more (block_floor), or else once the buffer first fills (until then every hit is appended);
// the hits at the floor or above are appended, and when the buffer holds 4 kept, radix selection keeps the
// best kept and raises the floor to the worst of them. O(1) per hit: a heap pays a log(kept) sift through
// scattered slots per accepted hit, which at k = 1000 cost as much as the bf16 product itself. The set kept
// is the heap's (the order is strict).
class Candidates {
 public:
  explicit Candidates(int64_t kept) : kept_(static_cast<size_t>(kept)) {}

  // Folds the scores of corpus rows [first, first + n); `more`: blocks follow (a floor raised in this one
  // pays off in them: in a corpus of one block, counting cost 5% at k 10).
  void fold(const float* row, int64_t n, int64_t first, bool more, const RanksBefore& better) {
    const size_t capacity = 4 * kept_;
    if (!hits_) hits_.reset(new Hit[capacity]);
    more_ = more;
    if (!floor_ && n >= static_cast<int64_t>(kept_)) {
      const auto [floor, best] = block_floor(row, static_cast<size_t>(n));
      floor_ = floor;
      if (more) counter_.reset(floor, best);
    }
    int64_t j = 0;
    while (!floor_ && j < n) {  // until the buffer first fills: every hit, appended in bulk
      const int64_t take = std::min(n - j, static_cast<int64_t>(capacity - size_));
      for (int64_t i = j; i < j + take; ++i) hits_[size_++] = {row[i], static_cast<int32_t>(first + i)};
      j += take;
      if (size_ == capacity) compact(better);
    }
    if (j == n) return;
    // Then the scores at the floor or above, gathered a batch of positions at a time. Locals: a store to the
    // hits must not make the compiler reload the floor or the size.
    std::array<int32_t, 256> found;
    Hit* const hits = hits_.get();
    float floor = *floor_;
    size_t size = size_;
    while (j < n) {
      int64_t next = n;
      const int64_t count = collect_at_least(row, j, n, floor, found.data(), found.size(), &next);
      for (int64_t f = 0; f < count; ++f) {
        const Hit h{row[found[f]], static_cast<int32_t>(first + found[f])};
        // Below a floor raised in this batch, or equal to the worst kept hit and not ranking before it.
        if (h.score < floor || (h.score == floor && bounded_ && !better(h, worst_))) continue;
        hits[size++] = h;
        if (more)
          if (const std::optional<float> raised = counter_.add(h.score, kept_)) floor_ = floor = *raised;
        if (size == capacity) {
          size_ = size;
          compact(better);
          size = size_, floor = *floor_;
        }
      }
      j = next;
    }
    size_ = size;
  }

  // Keeps the best `count` hits (in no particular order).
  void keep_best(size_t count, const RanksBefore& better) {
    if (size_ <= count) return;
    worst_ = select_best(hits_.get(), size_, count, better);
    size_ = count;
    bounded_ = count == kept_;
  }

  // Keeps the best `count` hits, best first (the list is final: no more folds).
  void keep_sorted(size_t count, const RanksBefore& better) {
    sort_best_first(hits_.get(), size_, better);
    size_ = std::min(size_, count);
  }

  Hit* hits() { return hits_.get(); }
  size_t size() const { return size_; }

 private:
  // Keeps the best kept of a full buffer; their worst is the floor from now on (a raised floor is <= it), and
  // they are counted from it while blocks follow.
  void compact(const RanksBefore& better) {
    keep_best(kept_, better);
    floor_ = worst_.score;
    if (!more_) return;
    float best = worst_.score;
    for (size_t i = 0; i < size_; ++i) best = std::max(best, hits_[i].score);
    counter_.reset(worst_.score, best);
    for (size_t i = 0; i < size_; ++i) counter_.add(hits_[i].score, kept_);
  }

  // A floor one block of n >= kept scores proves (at least kept of them reach it, so the kept best overall
  // all do). With n >= 16 kept: a value that at least kept of the maxima of n / 8 disjoint groups of scores
  // reach (so kept scores do), raised by bisection until at most 1.25 kept + 2 maxima do (few groups hold two
  // of the best, so about as many scores do): one vector pass over the block, a few over its n / 8 maxima, no
  // branch to mispredict. Else the block's kept-th best (radix selection). A first block appended whole costs
  // a small corpus the buffer's compactions, a large one the writes and rereads of 4 kept hits per query (out
  // of cache by the next block). Returns the floor and the block's best score.
  std::pair<float, float> block_floor(const float* row, size_t n) const {
    if (n < 16 * kept_) return kth_best(row, n, kept_);
    const size_t groups = n / 8;
    thread_local std::vector<float> maxima;
    maxima.resize(groups);
    group_maxima(row, n, groups, maxima.data());
    float lo = maxima[0], hi = maxima[0];
    for (const float m : maxima) lo = m < lo ? m : lo, hi = m > hi ? m : hi;
    const auto reaching = [&](float t) {
      return static_cast<size_t>(count_at_least(maxima.data(), static_cast<int64_t>(groups), t));
    };
    const float best = hi;
    if (reaching(hi) >= kept_) return {hi, best};
    // reaching(lo) >= kept > reaching(hi)
    for (size_t at_lo = groups; at_lo > kept_ + kept_ / 4 + 2;) {
      const float mid = lo + (hi - lo) / 2;
      if (!(mid > lo && mid < hi)) break;  // lo and hi adjacent floats (or not finite)
      const size_t at_mid = reaching(mid);
      if (at_mid >= kept_)
        lo = mid, at_lo = at_mid;
      else
        hi = mid;
    }
    return {lo, best};
  }

  size_t kept_;
  std::unique_ptr<Hit[]> hits_;  // 4 kept, allocated at the first fold
  size_t size_ = 0;
  std::optional<float> floor_;  // no kept best scores below it, once known
  FloorCounter counter_;        // raises floor_ from the hits appended while more_
  bool more_ = false;           // blocks follow the one being folded
  Hit worst_{0.f, 0};
  bool bounded_ = false;  // the buffer has held kept hits: worst_ is the floor
};

// q . c with every product exact in double (24 + 24 significant bits fit in 53), summed in sixteen lanes in
// a fixed order (lanes j mod 16 < 8 in one chain, the others in a second; the chains' lanes added pairwise as
// below, then the tail) and rounded to float once: the correctly rounded inner product (up to double's own
// rounding, ~1e-16 relative), the same for any caller, thread count or block shape, and the same from every
// version below (a product is exact in double, so a fused multiply-add adds the same value). The queries come
// widened to double once per query block (each is rescored against ~k + margin rows).
float finish(const double* s, double tail) {
  return static_cast<float>(((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])) + tail);
}

double tail_of(const double* q, const float* c, int64_t j, int64_t d) {
  double tail = 0;
  for (; j < d; ++j) tail += q[j] * static_cast<double>(c[j]);
  return tail;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own _mm512_cvtps_pd (_mm512_undefined_pd)
__attribute__((target("avx512f"))) inline __m512d widened(const float* x) {
  return _mm512_cvtps_pd(_mm256_loadu_ps(x));
}

// Two inner products at once (four independent chains: one pair's chains wait on the adds' latency); a row
// shared by both (rows come in corpus order: most rows are kept by several queries) is widened once.
__attribute__((target("avx512f"))) void rescore_two_avx512(const double* qa, const float* ca,
                                                           const double* qb, const float* cb, int64_t d,
                                                           float* out) {
  __m512d even_a = _mm512_setzero_pd(), odd_a = _mm512_setzero_pd();
  __m512d even_b = _mm512_setzero_pd(), odd_b = _mm512_setzero_pd();
  int64_t j = 0;
  if (ca == cb) {
    for (; j + 16 <= d; j += 16) {
      const __m512d c0 = widened(ca + j), c1 = widened(ca + j + 8);
      even_a = _mm512_fmadd_pd(_mm512_loadu_pd(qa + j), c0, even_a);
      even_b = _mm512_fmadd_pd(_mm512_loadu_pd(qb + j), c0, even_b);
      odd_a = _mm512_fmadd_pd(_mm512_loadu_pd(qa + j + 8), c1, odd_a);
      odd_b = _mm512_fmadd_pd(_mm512_loadu_pd(qb + j + 8), c1, odd_b);
    }
  } else {
    for (; j + 16 <= d; j += 16) {
      even_a = _mm512_fmadd_pd(_mm512_loadu_pd(qa + j), widened(ca + j), even_a);
      even_b = _mm512_fmadd_pd(_mm512_loadu_pd(qb + j), widened(cb + j), even_b);
      odd_a = _mm512_fmadd_pd(_mm512_loadu_pd(qa + j + 8), widened(ca + j + 8), odd_a);
      odd_b = _mm512_fmadd_pd(_mm512_loadu_pd(qb + j + 8), widened(cb + j + 8), odd_b);
    }
  }
  alignas(64) double s[8];
  _mm512_store_pd(s, _mm512_add_pd(even_a, odd_a));
  out[0] = finish(s, tail_of(qa, ca, j, d));
  _mm512_store_pd(s, _mm512_add_pd(even_b, odd_b));
  out[1] = finish(s, tail_of(qb, cb, j, d));
}
#pragma GCC diagnostic pop

float rescore_portable(const double* q, const float* c, int64_t d) {
  double even[8] = {}, odd[8] = {};
  int64_t j = 0;
  for (; j + 16 <= d; j += 16)
    for (int l = 0; l < 8; ++l) {
      even[l] += q[j + l] * static_cast<double>(c[j + l]);
      odd[l] += q[j + 8 + l] * static_cast<double>(c[j + 8 + l]);
    }
  double s[8];
  for (int l = 0; l < 8; ++l) s[l] = even[l] + odd[l];
  return finish(s, tail_of(q, c, j, d));
}

void rescore_two_portable(const double* qa, const float* ca, const double* qb, const float* cb, int64_t d,
                          float* out) {
  out[0] = rescore_portable(qa, ca, d);
  out[1] = rescore_portable(qb, cb, d);
}

using RescoreTwo = void (*)(const double*, const float*, const double*, const float*, int64_t, float*);
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

// A shard of at most this many bytes stays in a server's last-level cache between query blocks.
constexpr int64_t kCachedShardBytes = int64_t{8} << 20;

// Replaces the bf16 scores of the candidates of queries [0, qn) by exact ones, then keeps each query's best
// k, best first. A larger shard's candidates go corpus row by corpus row: each row is read once for every
// query that kept it (rows in ascending order: a streaming read, where query by query it was k + margin
// scattered rows, 3 KB each at d 768, per query; 1.8x faster at 30 MB, k 1000, here). A cached shard's go
// query by query, the query's vector staying in L1 (~10% faster at 9 MB). The scores are the same either way.
void rescore_candidates(Candidates* queries_hits, int64_t qn, int64_t k, const float* queries,
                        const MatrixView& corpus, const RanksBefore& better) {
  const int64_t d = corpus.cols;
  size_t count = 0;
  for (int64_t i = 0; i < qn; ++i) count += queries_hits[i].size();
  std::vector<Candidate> items;
  items.reserve(count);
  for (int64_t i = 0; i < qn; ++i) {
    const Hit* hits = queries_hits[i].hits();
    for (size_t s = 0; s < queries_hits[i].size(); ++s)
      items.push_back({hits[s].row, static_cast<int32_t>(i), static_cast<int32_t>(s)});
  }
  if (corpus.rows * corpus.cols * static_cast<int64_t>(vector_type_size(corpus.type)) > kCachedShardBytes)
    sort_by_row(items, corpus.rows);
  std::vector<double> wide(static_cast<size_t>(qn * d));  // qn x d, the queries widened
  at::parallel_for(0, qn * d, 4096,
                   [&](int64_t lo, int64_t hi) { std::copy(queries + lo, queries + hi, wide.data() + lo); });
  // Pairs of candidates (the last one paired with itself when the count is odd).
  const int64_t n = static_cast<int64_t>(items.size());
  at::parallel_for(0, (n + 1) / 2, 128, [&](int64_t lo, int64_t hi) {
    std::vector<float> buffer_a(corpus.type == VectorType::Float32 ? 0 : static_cast<size_t>(d));
    std::vector<float> buffer_b(buffer_a.size());
    for (int64_t p = lo; p < hi; ++p) {
      const Candidate& a = items[2 * p];
      const Candidate& b = items[std::min(2 * p + 1, n - 1)];
      float scores[2];
      const float* ca = row_as_float(corpus, a.row, buffer_a.data());
      const float* cb = a.row == b.row ? ca : row_as_float(corpus, b.row, buffer_b.data());
      rescore_two(wide.data() + a.query * d, ca, wide.data() + b.query * d, cb, d, scores);
      queries_hits[a.query].hits()[a.slot].score = scores[0];
      queries_hits[b.query].hits()[b.slot].score = scores[1];
    }
  });
  at::parallel_for(0, qn, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) queries_hits[i].keep_sorted(static_cast<size_t>(k), better);
  });
}

// The packed corpus bf16 search reads: `packed`, checked to fit, or else the corpus packed here into `own`.
const Bf16Corpus* packed_corpus(const MatrixView& corpus, int64_t nq, const SearchParams& p,
                                const Bf16Corpus* packed, std::unique_ptr<Bf16Corpus>& own) {
  RR_CHECK(c10::Device(p.device).is_cpu(), Usage,
           "bf16 search runs on the CPU (oneDNN); on {} use precision \"fp32\"", p.device);
  if (!packed) {
    own = std::make_unique<Bf16Corpus>(corpus, p.corpus_block, std::min(p.query_block, nq));
    packed = own.get();
  }
  RR_CHECK(packed->rows() == corpus.rows && packed->corpus_block() == p.corpus_block &&
               packed->query_rows() >= std::min(p.query_block, nq),
           Runtime, "bf16 search: the packed corpus ({} rows, blocks of {}, {} query rows) does not fit",
           packed->rows(), packed->corpus_block(), packed->query_rows());
  return packed;
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
  RR_CHECK(corpus.rows <= std::numeric_limits<int32_t>::max(), Usage,
           "search: a shard of {} rows; one search takes at most 2^31 - 1 (shard the corpus over more ranks)",
           corpus.rows);
  TopK top(nq, p.k);
  if (nq == 0 || corpus.rows == 0) return top;
  const int64_t d = corpus.cols;
  const c10::Device device(p.device);
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  auto stored = at::TensorOptions().dtype(vector_dtype(corpus.type));
  const size_t elem = vector_type_size(corpus.type);
  const bool on_cpu = device.is_cpu();
  // Candidates kept per query while scanning: k, or k + margin for bf16 search.
  const int64_t kept = p.k + (!p.bf16 ? 0 : p.bf16_margin >= 0 ? p.bf16_margin : default_bf16_margin(p.k));
  std::unique_ptr<Bf16Corpus> own_packing;
  if (p.bf16) packed = packed_corpus(corpus, nq, p, packed, own_packing);
  const RanksBefore better{tie};
  const int64_t buffer_rows = p.bf16 ? packed->query_rows() : std::min(p.query_block, nq);
  at::Tensor buffer = at::empty({on_cpu ? buffer_rows * std::min(p.corpus_block, corpus.rows) : 0}, f32);
  for (int64_t q0 = 0; q0 < nq; q0 += p.query_block) {
    const int64_t qn = std::min(p.query_block, nq - q0);
    at::Tensor q = at::from_blob(const_cast<float*>(queries + q0 * d), {qn, d}, f32).to(device);
    // This block's candidates only: up to 4 kept hits (8 B) per query while scanning, k once written out.
    if (p.bf16) packed->set_queries(queries + q0 * d, qn);
    std::vector<Candidates> hits;
    hits.reserve(static_cast<size_t>(qn));
    for (int64_t i = 0; i < qn; ++i) hits.emplace_back(kept);
    for (int64_t c0 = 0; c0 < corpus.rows; c0 += p.corpus_block) {
      const int64_t cn = std::min(p.corpus_block, corpus.rows - c0);
      // qn x cn, row-major; on the CPU written into one buffer reused by every block (no page faults per
      // block).
      at::Tensor scores;
      const char* base = static_cast<const char*>(corpus.data) + static_cast<size_t>(c0 * d) * elem;
      if (p.bf16) {
        packed->scores(c0 / p.corpus_block, buffer.data_ptr<float>());
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
        for (int64_t i = lo; i < hi; ++i) hits[i].fold(s + i * cn, cn, c0, c0 + cn < corpus.rows, better);
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
        const Hit* h = hits[i].hits();
        const int64_t out = (q0 + i) * p.k;
        for (size_t j = 0; j < hits[i].size(); ++j) {
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
