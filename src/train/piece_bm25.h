// BM25 over token ids (a vocabulary's pieces) instead of words: search/bm25_formula.h with BEIR's k1 0.9
// and b 0.4, for labelling the base's lexical pairs (which whole document BM25 ranks first for a span).
// Memory: one posting (document, term frequency) per distinct piece of each document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "search/bm25_formula.h"

namespace rr {

class PieceBm25 {
 public:
  // docs: each document's pieces (no [CLS]/[SEP]).
  explicit PieceBm25(const std::vector<std::vector<int32_t>>& docs);
  // The document with the highest score for `query` (each occurrence of a piece counts, as in bm25.h; ties:
  // the lowest index); -1 when no piece of the query occurs in any document.
  int64_t best(const std::vector<int32_t>& query) const;

 private:
  static constexpr Bm25Params kParams{0.9, 0.4};
  size_t documents_;
  std::vector<double> norm_;                                        // K(d) per document
  std::vector<std::vector<std::pair<int64_t, int32_t>>> postings_;  // per piece: (document, tf)
};

}  // namespace rr
