#include "train/inverse_cloze.h"

#include <algorithm>

namespace rr {

std::optional<InverseClozePair> inverse_cloze_pair(const std::vector<int32_t>& doc,
                                                   const std::vector<int32_t>& sentence_ends,
                                                   int64_t min_sentence, int64_t max_context,
                                                   std::mt19937_64& rng) {
  const auto n = static_cast<int64_t>(doc.size());
  std::vector<std::pair<int64_t, int64_t>> sentences;  // [begin, end)
  for (int64_t begin = 0, i = 0; i < n; ++i) {
    const bool ends = std::find(sentence_ends.begin(), sentence_ends.end(), doc[i]) != sentence_ends.end();
    if (ends || i + 1 == n) sentences.emplace_back(begin, i + 1), begin = i + 1;
  }
  if (sentences.size() < 2) return std::nullopt;
  std::vector<std::pair<int64_t, int64_t>> usable;
  for (const auto& s : sentences)
    if (s.second - s.first >= min_sentence && n - (s.second - s.first) >= min_sentence) usable.push_back(s);
  if (usable.empty()) return std::nullopt;
  const auto [begin, end] = usable[std::uniform_int_distribution<size_t>(0, usable.size() - 1)(rng)];
  InverseClozePair pair;
  pair.query.assign(doc.begin() + begin, doc.begin() + end);
  std::vector<int32_t> rest(doc.begin(), doc.begin() + begin);
  rest.insert(rest.end(), doc.begin() + end, doc.end());
  const int64_t width = std::min<int64_t>(max_context, static_cast<int64_t>(rest.size()));
  const int64_t from = std::clamp<int64_t>(begin - width / 2, 0, static_cast<int64_t>(rest.size()) - width);
  pair.positive.assign(rest.begin() + from, rest.begin() + from + width);
  return pair;
}

}  // namespace rr
