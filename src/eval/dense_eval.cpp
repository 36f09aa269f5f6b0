#include "eval/dense_eval.h"

#include "common/error.h"

namespace rr {

TrecRun topk_to_run(const TopK& top, const std::vector<std::string>& query_ids,
                    const std::vector<std::string>& doc_ids, int64_t k, bool ignore_identical_ids) {
  RR_CHECK(static_cast<int64_t>(query_ids.size()) == top.nq, Runtime, "{} query ids for {} result lists",
           query_ids.size(), top.nq);
  TrecRun run;
  for (int64_t q = 0; q < top.nq; ++q) {
    auto& docs = run[query_ids[q]];
    for (int64_t j = 0, n = top.count(q); j < n && static_cast<int64_t>(docs.size()) < k; ++j) {
      const std::string& id = doc_ids[top.doc[q * top.k + j]];
      if (ignore_identical_ids && id == query_ids[q]) continue;
      docs.push_back({id, static_cast<double>(top.score[q * top.k + j])});
    }
  }
  return run;
}

TopK drop_identical_ids(const TopK& top, const std::vector<std::string>& query_ids,
                        const std::vector<std::string>& doc_ids, int64_t k) {
  TopK out(top.nq, k);
  for (int64_t q = 0; q < top.nq; ++q) {
    int64_t kept = 0;
    for (int64_t j = 0, n = top.count(q); j < n && kept < k; ++j) {
      const int64_t doc = top.doc[q * top.k + j];
      if (doc_ids[doc] == query_ids[q]) continue;
      out.doc[q * k + kept] = doc;
      out.score[q * k + kept] = top.score[q * top.k + j];
      out.tie[q * k + kept] = top.tie[q * top.k + j];
      ++kept;
    }
  }
  return out;
}

Evaluation evaluate_dense(const at::Tensor& queries, const std::vector<std::string>& query_ids,
                          const Index& index, const std::vector<std::string>& doc_ids, const Judgments& qrels,
                          const MeasureSet& measures, int64_t k, bool ignore_identical_ids) {
  const at::Tensor q = queries.to(at::kCPU, at::kFloat).contiguous();
  const TopK top =
      index.search({q.data_ptr<float>(), q.size(1), nullptr, q.size(0)}, k + (ignore_identical_ids ? 1 : 0));
  return evaluate_run(measures, topk_to_run(top, query_ids, doc_ids, k, ignore_identical_ids), qrels);
}

}  // namespace rr
