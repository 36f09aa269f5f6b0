#include "search/bm25.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "text/bert_tokenizer.h"
#include "text/unicode_props.h"
#include "text/utf8.h"

namespace rr {

namespace {

// Terms: basic tokens that contain at least one non-punctuation character.
std::vector<std::string> terms_of(const std::string& text) {
  std::vector<std::string> out;
  for (auto& w : basic_tokenize(text)) {
    bool has_word_char = false;
    for (size_t i = 0; i < w.size() && !has_word_char;)
      has_word_char = !unicode::is_bert_punctuation(next_code_point(w, i));
    if (has_word_char) out.push_back(std::move(w));
  }
  return out;
}

// The whole corpus's statistics, for an index that holds one shard of it: document count, total length in
// terms, and the document frequency of each query term.
struct Bm25Corpus {
  int64_t documents = 0;
  double total_length = 0;
  std::unordered_map<std::string, int64_t> document_frequency;
};

// The distinct terms of the queries, in first-seen order.
std::vector<std::string> query_terms(const SearchQueries& queries) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (int64_t i = 0; i < queries.n; ++i)
    for (auto& t : terms_of(queries.texts[i]))
      if (seen.insert(t).second) out.push_back(std::move(t));
  return out;
}

}  // namespace

struct Bm25Index::Impl {
  Bm25Params params;
  std::unordered_map<std::string, int32_t> term_id;
  std::vector<std::vector<std::pair<int32_t, float>>> postings;  // term -> (doc, tf)
  std::vector<float> doc_len;
  std::vector<int64_t> tie;
  int64_t first_row = 0;
  double total_len = 0;
  std::optional<Bm25Corpus> corpus;  // the whole corpus's statistics when this is a shard
};

Bm25Index::Bm25Index(const std::vector<std::string>& documents, std::vector<int64_t> tie, Bm25Params params,
                     int64_t first_row)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.params = params;
  m.first_row = first_row;
  m.tie = std::move(tie);
  RR_CHECK(m.tie.size() == documents.size(), Runtime, "bm25: {} tie keys for {} documents", m.tie.size(),
           documents.size());
  std::vector<std::vector<std::string>> tokens(documents.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t d = 0; d < documents.size(); ++d) tokens[d] = terms_of(documents[d]);
  m.doc_len.resize(documents.size());
  double total = 0;
  for (size_t d = 0; d < documents.size(); ++d) {
    std::unordered_map<int32_t, float> tf;
    for (const auto& t : tokens[d]) {
      auto [it, inserted] = m.term_id.emplace(t, static_cast<int32_t>(m.postings.size()));
      if (inserted) m.postings.emplace_back();
      tf[it->second] += 1;
    }
    std::vector<std::pair<int32_t, float>> sorted(tf.begin(), tf.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [term, f] : sorted) m.postings[term].push_back({static_cast<int32_t>(d), f});
    m.doc_len[d] = static_cast<float>(tokens[d].size());
    total += static_cast<double>(tokens[d].size());
  }
  m.total_len = total;
}

void Bm25Index::share_statistics(const SearchQueries& queries, const SumOverShards& sum) {
  const std::vector<std::string> terms = query_terms(queries);
  std::vector<double> counts{static_cast<double>(ntotal()), impl_->total_len};
  for (const auto& t : terms) {
    const auto it = impl_->term_id.find(t);
    counts.push_back(it == impl_->term_id.end() ? 0.0
                                                : static_cast<double>(impl_->postings[it->second].size()));
  }
  sum(counts);  // integers (lengths included) below 2^53: exact in any order
  Bm25Corpus corpus{static_cast<int64_t>(counts[0]), counts[1], {}};
  for (size_t i = 0; i < terms.size(); ++i)
    corpus.document_frequency[terms[i]] = static_cast<int64_t>(counts[i + 2]);
  impl_->corpus = std::move(corpus);
}

Bm25Index::~Bm25Index() = default;
Bm25Index::Bm25Index(Bm25Index&&) noexcept = default;
int64_t Bm25Index::ntotal() const {
  return static_cast<int64_t>(impl_->doc_len.size());
}
int64_t Bm25Index::first_row() const {
  return impl_->first_row;
}
int64_t Bm25Index::memory_bytes() const {
  const auto& m = *impl_;
  int64_t bytes = ntotal() * (4 + 8);  // lengths and tie keys
  for (const auto& p : m.postings) bytes += static_cast<int64_t>(p.capacity() * sizeof(p[0]) + sizeof(p));
  for (const auto& [term, id] : m.term_id) bytes += static_cast<int64_t>(term.capacity() + 64);
  return bytes;
}
int64_t Bm25Index::terms() const {
  return static_cast<int64_t>(impl_->postings.size());
}

TopK Bm25Index::search(const SearchQueries& queries, int64_t k) const {
  const auto& m = *impl_;
  const int64_t nq = queries.n, n = ntotal();
  // Corpus-wide N, mean length and document frequencies (this index's own when it holds the whole corpus).
  const double corpus_n = static_cast<double>(m.corpus ? m.corpus->documents : n);
  const double total = m.corpus ? m.corpus->total_length : m.total_len;
  const double avg_len = corpus_n > 0 ? total / corpus_n : 0;
  if (m.corpus)  // checked here: the loop below runs in parallel and must not throw
    for (const auto& t : query_terms(queries))
      RR_CHECK(m.corpus->document_frequency.count(t), Runtime, "bm25: no corpus-wide frequency of '{}'", t);
  const auto frequency = [&](const std::string& term, size_t local) {
    return m.corpus ? static_cast<double>(m.corpus->document_frequency.at(term)) : static_cast<double>(local);
  };
  TopK top(nq, k);
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t q = 0; q < nq; ++q) {
    std::vector<float> score(static_cast<size_t>(n), 0.f);
    std::vector<int32_t> touched;
    for (const auto& t : terms_of(queries.texts[q])) {
      auto it = m.term_id.find(t);
      if (it == m.term_id.end()) continue;
      const auto& post = m.postings[it->second];
      const double df = frequency(t, post.size());
      const double idf = bm25_idf(corpus_n, df);
      for (const auto& [d, tf] : post) {
        const double norm = bm25_length_norm(m.params, m.doc_len[d], avg_len);
        if (score[d] == 0.f) touched.push_back(d);
        score[d] += static_cast<float>(bm25_term(m.params, idf, tf, norm));
      }
    }
    std::sort(touched.begin(), touched.end(),
              [&](int32_t a, int32_t b) { return ranks_before(score[a], m.tie[a], score[b], m.tie[b]); });
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(touched.size())); ++j) {
      top.doc[q * k + j] = m.first_row + touched[j];
      top.score[q * k + j] = score[touched[j]];
      top.tie[q * k + j] = m.tie[touched[j]];
    }
  }
  return top;
}

}  // namespace rr
