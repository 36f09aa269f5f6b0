// BM25 (Robertson; Lucene's idf: the formula in bm25_formula.h) over BERT's basic tokenization: BEIR's
// lexical baseline row. |d| is the number of terms of d (exact: Lucene stores it lossily in one byte). Terms:
// BERT's basic tokens (lower-cased, NFD accents stripped, punctuation and CJK characters split off), those
// made only of punctuation dropped; no stemming, no stop words. A document is title + " " + text. Each term's
// contribution is computed in double and added to the document's float32 score in query-term order;
// documents no term matches are not ranked; ties in trec_eval's order (score desc, then doc id desc).
// Tested against an independent Python implementation and Xapian (tests/reference/test_bm25_reference.py).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "search/bm25_formula.h"
#include "search/index.h"

namespace rr {

class Bm25Index final : public Index {
 public:
  // documents: title + " " + text of each corpus row; tie: the rows' tie keys (tie_keys(ids)); first_row: the
  // global row of documents[0] when the index holds a shard (hits report global rows).
  Bm25Index(const std::vector<std::string>& documents, std::vector<int64_t> tie, Bm25Params params = {},
            int64_t first_row = 0);
  ~Bm25Index() override;
  Bm25Index(Bm25Index&&) noexcept;
  int64_t ntotal() const override;
  int64_t first_row() const override;
  // Top-k rows of each query's text, in trec_eval order (score desc, then doc id desc). Parallel over
  // queries.
  TopK search(const SearchQueries& queries, int64_t k) const override;
  int64_t memory_bytes() const override;
  bool lexical() const override { return true; }
  // Sharding: this shard's N, total length and the queries' terms' document frequencies, summed over the
  // shards, are what search then uses, so that every document scores exactly as in one index of the whole
  // corpus (sums of integers: exact in any order).
  void share_statistics(const SearchQueries& queries, const SumOverShards& sum) override;
  int64_t terms() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
