// BM25 (Robertson; Lucene's idf) over BERT's basic tokenization: BEIR's lexical baseline row. Exactly:
//
//   score(q, d) = sum over the terms t of q, each occurrence  idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + K(d))
//   idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))           (Lucene's; never negative)
//   K(d)        = k1 * (1 - b + b * |d| / avgdl)
//
// N documents; df(t) documents containing t; tf(t,d) occurrences of t in d; |d| the number of terms of d
// (exact: Lucene stores it lossily in one byte); avgdl = sum |d| / N. Terms: BERT's basic tokens
// (lower-cased, NFD accents stripped, punctuation and CJK characters split off), those made only of
// punctuation dropped; no stemming, no stop words. A document is title + " " + text. Each term's contribution
// is computed in double and added to the document's float32 score in query-term order; documents no term
// matches are not ranked; ties in trec_eval's order (score desc, then doc id desc). Lucene >= 8 drops the
// constant (k1 + 1): same rankings. Tested against an independent Python implementation and Xapian
// (tests/reference/test_bm25_reference.py).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "search/topk.h"

namespace rr {

struct Bm25Params {
  double k1 = 0.9;  // Anserini / Pyserini defaults
  double b = 0.4;
};

// The whole corpus's statistics, for an index that holds one shard of it: document count, total length in
// terms, and the document frequency of each term that matters (those of the queries).
struct Bm25Corpus {
  int64_t documents = 0;
  double total_length = 0;
  std::unordered_map<std::string, int64_t> document_frequency;
};

class Bm25Index {
 public:
  // documents: title + " " + text of each corpus row; tie: the rows' tie keys (tie_keys(ids)); first_row: the
  // global row of documents[0] when the index holds a shard (hits report global rows).
  Bm25Index(const std::vector<std::string>& documents, std::vector<int64_t> tie, Bm25Params params = {},
            int64_t first_row = 0);
  ~Bm25Index();
  Bm25Index(Bm25Index&&) noexcept;
  // Top-k rows per query, in trec_eval order (score desc, then doc id desc). Parallel over queries.
  TopK search(const std::vector<std::string>& queries, int64_t k) const;
  int64_t documents() const;
  int64_t terms() const;

  // Sharding: this index's own statistics for `terms`, and the corpus-wide ones (their sums over the shards)
  // that search then uses, so that every document scores exactly as in one index of the whole corpus.
  Bm25Corpus statistics(const std::vector<std::string>& terms) const;
  void set_corpus(Bm25Corpus corpus);
  // The distinct terms of the queries, in first-seen order.
  static std::vector<std::string> query_terms(const std::vector<std::string>& queries);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
