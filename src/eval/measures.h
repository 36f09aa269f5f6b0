// IR measures with trec_eval 9.0.8's exact definitions (the code pytrec_eval compiles, and so BEIR uses):
//  - a query's retrieved documents are ordered by score descending, ties by document id descending (strcmp);
//    the run's rank column is ignored;
//  - relevant means rel >= 1; judgments below 0 are "unjudged in pool" and add nothing;
//  - nDCG gain = rel (rel <= 0 adds nothing), discount 1/log2(rank + 1), ideal DCG over every judged
//    document of the query (cut at k for ndcg_cut);
//  - P_k divides by k even when fewer were retrieved; recall_k and map(_cut) divide by the number of
//    relevant documents (0 when there are none);
//  - averages are over the queries present in both the run and the qrels.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rr {

// One retrieved document of a query.
struct ScoredDoc {
  std::string doc_id;
  double score = 0.0;
};

// The measures to compute, in trec_eval's output order (map, recip_rank, P, recall, ndcg, ndcg_cut, map_cut).
class MeasureSet {
 public:
  // Specs as trec_eval's -m takes them: "map", "recip_rank", "ndcg", "P", "P.5,10", "recall.100",
  // "ndcg_cut.1,3,10", "map_cut.10". Without cutoffs, trec_eval's defaults (5,10,15,20,30,100,200,500,1000).
  // Throws Usage on an unknown measure or a non-positive cutoff.
  explicit MeasureSet(const std::vector<std::string>& specs);
  // BEIR's evaluation set: ndcg_cut, map_cut, recall, P at 1,3,5,10,100,1000 and recip_rank.
  static MeasureSet beir();

  // Output names in order, e.g. "map", "P_10", "ndcg_cut_10".
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  // Index of a name, or -1.
  int index_of(const std::string& name) const;
  // The largest cutoff any measure needs (0 if some measure needs the whole list).
  size_t depth_needed() const;

  // Values of every measure for one query. `ranked` need not be sorted; judged: doc id -> relevance.
  // Throws Input when a document appears twice in `ranked` (trec_eval refuses such runs).
  std::vector<double> evaluate(std::vector<ScoredDoc> ranked, const std::map<std::string, int>& judged) const;

 private:
  enum class Kind { Map, RecipRank, P, Recall, Ndcg, NdcgCut, MapCut };
  struct Measure {
    Kind kind;
    std::vector<long> cutoffs;  // empty for the single-valued measures
  };
  std::vector<Measure> measures_;
  std::vector<std::string> names_;
};

// Sorts in trec_eval's order: score descending, then doc id descending.
void sort_trec_order(std::vector<ScoredDoc>& docs);

// BEIR's ignore_identical_ids: drops hits whose doc id equals the query id.
void drop_identical_id(std::vector<ScoredDoc>& docs, const std::string& query_id);

// Per-query values and their means, for the queries in both run and qrels (qid order).
struct Evaluation {
  std::vector<std::string> query_ids;
  std::vector<std::vector<double>> values;  // query x measure
  std::vector<double> mean;                 // per measure
};

using TrecRun = std::map<std::string, std::vector<ScoredDoc>>;
using Judgments = std::map<std::string, std::map<std::string, int>>;

Evaluation evaluate_run(const MeasureSet& measures, const TrecRun& run, const Judgments& qrels);

}  // namespace rr
