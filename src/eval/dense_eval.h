// BEIR's dense evaluation: exact top-(k+1) by dot product, hits whose id equals the query id dropped
// (ignore_identical_ids), the first k kept, then trec_eval's measures.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "eval/measures.h"
#include "search/index.h"

namespace rr {

// The hits of `top` as a TREC run (query id -> documents), identical ids dropped when asked, at most k each.
TrecRun topk_to_run(const TopK& top, const std::vector<std::string>& query_ids,
                    const std::vector<std::string>& doc_ids, int64_t k, bool ignore_identical_ids);

// The lists without the hits whose document id equals the query id, cut to k (BEIR's ignore_identical_ids
// applied to the stored results, so that they give the reported measures).
TopK drop_identical_ids(const TopK& top, const std::vector<std::string>& query_ids,
                        const std::vector<std::string>& doc_ids, int64_t k);

// queries: nq x d float32 (CPU). Searches `index` (whose rows' ids are doc_ids) for k (+1 when ignoring
// identical ids) and measures.
Evaluation evaluate_dense(const at::Tensor& queries, const std::vector<std::string>& query_ids,
                          const Index& index, const std::vector<std::string>& doc_ids, const Judgments& qrels,
                          const MeasureSet& measures, int64_t k, bool ignore_identical_ids);

}  // namespace rr
