// BM25 (Robertson; Lucene's idf) over BERT's basic tokenization (lower-cased, accents stripped, punctuation
// split off and dropped; no stemming, no stop words): BEIR's lexical baseline row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "search/topk.h"

namespace rr {

struct Bm25Params {
  double k1 = 0.9;  // Anserini / Pyserini defaults
  double b = 0.4;
};

class Bm25Index {
 public:
  // documents: title + " " + text of each corpus row; tie: the rows' tie keys (tie_keys(ids)).
  Bm25Index(const std::vector<std::string>& documents, std::vector<int64_t> tie, Bm25Params params = {});
  ~Bm25Index();
  Bm25Index(Bm25Index&&) noexcept;
  // Top-k rows per query, in trec_eval order (score desc, then doc id desc). Parallel over queries.
  TopK search(const std::vector<std::string>& queries, int64_t k) const;
  int64_t documents() const;
  int64_t terms() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rr
