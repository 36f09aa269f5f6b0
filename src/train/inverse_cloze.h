// Inverse cloze pairs (Lee et al. 2019, ICT): one sentence of a document as the query, the document's text
// around it with that sentence removed as the positive. The pair asks the encoder to recognise a passage from
// a sentence that is not in it: the pieces they share are the context's words, not a copy of the query.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace rr {

struct InverseClozePair {
  std::vector<int32_t> query;     // the sentence's pieces (its end mark included)
  std::vector<int32_t> positive;  // at most max_context pieces of the rest, centred where the sentence was
};

// doc: a document's pieces (no [CLS]/[SEP]); sentence_ends: the pieces that end a sentence ('.', '?', '!').
// A sentence runs up to and including an end piece (the last one up to the document's end). Picks uniformly
// one sentence of at least min_sentence pieces; nullopt when the document has fewer than two sentences, none
// long enough, or less than min_sentence pieces besides it.
std::optional<InverseClozePair> inverse_cloze_pair(const std::vector<int32_t>& doc,
                                                   const std::vector<int32_t>& sentence_ends,
                                                   int64_t min_sentence, int64_t max_context,
                                                   std::mt19937_64& rng);

}  // namespace rr
