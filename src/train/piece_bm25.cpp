#include "train/piece_bm25.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace rr {

PieceBm25::PieceBm25(const std::vector<std::vector<int32_t>>& docs) : documents_(docs.size()) {
  double total = 0;
  for (const auto& d : docs) total += static_cast<double>(d.size());
  const double avgdl = std::max(1.0, total / std::max<double>(1.0, static_cast<double>(docs.size())));
  norm_.resize(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    norm_[i] = bm25_length_norm(kParams, static_cast<double>(docs[i].size()), avgdl);
    std::map<int32_t, int32_t> tf;
    for (int32_t t : docs[i])
      if (t >= 0) ++tf[t];
    for (const auto& [piece, n] : tf) {
      if (static_cast<size_t>(piece) >= postings_.size()) postings_.resize(static_cast<size_t>(piece) + 1);
      postings_[piece].push_back({static_cast<int64_t>(i), n});
    }
  }
}

int64_t PieceBm25::best(const std::vector<int32_t>& query) const {
  std::unordered_map<int64_t, double> score;
  const double n = static_cast<double>(documents_);
  for (int32_t t : query) {
    if (t < 0 || static_cast<size_t>(t) >= postings_.size() || postings_[t].empty()) continue;
    const double df = static_cast<double>(postings_[t].size());
    const double idf = bm25_idf(n, df);
    for (const auto& [doc, tf] : postings_[t]) score[doc] += bm25_term(kParams, idf, tf, norm_[doc]);
  }
  int64_t top = -1;
  double top_score = 0;
  for (const auto& [doc, v] : score)
    if (top < 0 || v > top_score || (v == top_score && doc < top)) top = doc, top_score = v;
  return top;
}

}  // namespace rr
