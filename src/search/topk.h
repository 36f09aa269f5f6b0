// Top-k lists of exact inner-product search, in trec_eval's order: score descending, then document id
// descending. Ties are broken by a per-document integer "tie key" that orders like the document id
// (see tie_keys()), so selection at the k-th place agrees with trec_eval even on equal scores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rr {

// nq lists of up to k hits, row-major nq x k; unused slots have doc = -1 and come last.
struct TopK {
  int64_t nq = 0, k = 0;
  std::vector<int64_t> doc;  // global row of the document in the corpus
  std::vector<float> score;
  std::vector<int64_t> tie;  // the document's tie key

  TopK() = default;
  TopK(int64_t nq, int64_t k);
  // Number of filled slots of query q.
  int64_t count(int64_t q) const;
  // The lists of queries [lo, lo + n).
  TopK rows(int64_t lo, int64_t n) const;
  // The first k2 <= k hits of every list.
  TopK first(int64_t k2) const;
};

// For each document its rank among all ids in byte order (strcmp): equal scores prefer the larger key.
std::vector<int64_t> tie_keys(const std::vector<std::string>& ids);

// True when hit (sa, ta) ranks before (sb, tb).
inline bool ranks_before(float sa, int64_t ta, float sb, int64_t tb) {
  return sa > sb || (sa == sb && ta > tb);
}

// Merges lists for the same queries (e.g. one per corpus shard) into the global top-k; exact, ties included.
TopK merge_topk(const std::vector<TopK>& parts, int64_t k);

}  // namespace rr
