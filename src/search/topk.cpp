#include "search/topk.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"

namespace rr {

TopK::TopK(int64_t nq_, int64_t k_)
    : nq(nq_),
      k(k_),
      doc(static_cast<size_t>(nq_ * k_), -1),
      score(static_cast<size_t>(nq_ * k_), 0.f),
      tie(static_cast<size_t>(nq_ * k_), -1) {}

int64_t TopK::count(int64_t q) const {
  int64_t c = 0;
  while (c < k && doc[q * k + c] >= 0) ++c;
  return c;
}

TopK TopK::rows(int64_t lo, int64_t n) const {
  TopK out(n, k);
  const auto a = static_cast<std::ptrdiff_t>(lo * k), b = static_cast<std::ptrdiff_t>((lo + n) * k);
  std::copy(doc.begin() + a, doc.begin() + b, out.doc.begin());
  std::copy(score.begin() + a, score.begin() + b, out.score.begin());
  std::copy(tie.begin() + a, tie.begin() + b, out.tie.begin());
  return out;
}

TopK TopK::first(int64_t k2) const {
  TopK out(nq, k2);
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < k2; ++j) {
      out.doc[i * k2 + j] = doc[i * k + j];
      out.score[i * k2 + j] = score[i * k + j];
      out.tie[i * k2 + j] = tie[i * k + j];
    }
  return out;
}

std::vector<int64_t> tie_keys(const std::vector<std::string>& ids) {
  std::vector<int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  std::vector<int64_t> key(ids.size());
  for (size_t r = 0; r < order.size(); ++r) key[order[r]] = static_cast<int64_t>(r);
  return key;
}

TopK merge_topk(const std::vector<TopK>& parts, int64_t k) {
  RR_CHECK(!parts.empty(), Runtime, "merge_topk: no lists");
  int64_t nq = parts[0].nq;
  for (const auto& p : parts)
    RR_CHECK(p.nq == nq, Runtime, "merge_topk: lists for {} and {} queries", nq, p.nq);
  TopK out(nq, k);
  struct Hit {
    int64_t doc;
    float score;
    int64_t tie;
  };
  std::vector<Hit> hits;
  for (int64_t q = 0; q < nq; ++q) {
    hits.clear();
    for (const auto& p : parts)
      for (int64_t j = 0, n = p.count(q); j < n; ++j)
        hits.push_back({p.doc[q * p.k + j], p.score[q * p.k + j], p.tie[q * p.k + j]});
    int64_t take = std::min<int64_t>(k, static_cast<int64_t>(hits.size()));
    std::partial_sort(hits.begin(), hits.begin() + take, hits.end(), [](const Hit& a, const Hit& b) {
      return ranks_before(a.score, a.tie, b.score, b.tie);
    });
    for (int64_t j = 0; j < take; ++j) {
      out.doc[q * k + j] = hits[j].doc;
      out.score[q * k + j] = hits[j].score;
      out.tie[q * k + j] = hits[j].tie;
    }
  }
  return out;
}

}  // namespace rr
