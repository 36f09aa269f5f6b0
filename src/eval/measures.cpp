#include "eval/measures.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/error.h"

namespace rr {

namespace {

const std::vector<long> kTrecDefaultCutoffs = {5, 10, 15, 20, 30, 100, 200, 500, 1000};
constexpr int kNonPool = -1;   // retrieved, not in the qrels
constexpr int kUnjudged = -2;  // retrieved, judged with rel < 0

// Relevance of the retrieved documents in rank order, and the judged documents' level counts.
struct QueryRels {
  std::vector<int> ranked;
  std::vector<long> levels;  // levels[r] = judged documents with rel r >= 0
  long num_rel = 0;
};

QueryRels form_rels(std::vector<ScoredDoc>& docs, const std::map<std::string, int>& judged) {
  sort_trec_order(docs);
  QueryRels q;
  q.ranked.reserve(docs.size());
  for (const auto& d : docs) {
    auto it = judged.find(d.doc_id);
    q.ranked.push_back(it == judged.end() ? kNonPool : it->second < 0 ? kUnjudged : it->second);
  }
  int max_rel = 0;
  for (const auto& [doc, rel] : judged) max_rel = std::max(max_rel, rel);
  q.levels.assign(max_rel + 1, 0);
  for (const auto& [doc, rel] : judged)
    if (rel >= 0) ++q.levels[rel];
  for (size_t r = 1; r < q.levels.size(); ++r) q.num_rel += q.levels[r];
  return q;
}

// Ideal DCG over the first `cutoff` positions (cutoff < 0: all), gains = levels, best first.
double ideal_dcg(const QueryRels& q, long cutoff) {
  double idcg = 0.0;
  long i = 0;
  for (long lvl = static_cast<long>(q.levels.size()) - 1; lvl >= 1; --lvl)
    for (long c = 0; c < q.levels[lvl]; ++c, ++i) {
      if (cutoff >= 0 && i >= cutoff) return idcg;
      idcg += static_cast<double>(lvl) / std::log2(static_cast<double>(i + 2));
    }
  return idcg;
}

double dcg(const QueryRels& q, long cutoff) {
  double sum = 0.0;
  long n = static_cast<long>(q.ranked.size());
  if (cutoff >= 0) n = std::min(n, cutoff);
  for (long i = 0; i < n; ++i)
    if (q.ranked[i] > 0) sum += static_cast<double>(q.ranked[i]) / std::log2(static_cast<double>(i + 2));
  return sum;
}

double ndcg(const QueryRels& q, long cutoff) {
  double ideal = ideal_dcg(q, cutoff), d = dcg(q, cutoff);
  return ideal > 0.0 ? d / ideal : d;
}

double average_precision(const QueryRels& q, long cutoff) {
  if (q.num_rel == 0) return 0.0;
  long n = static_cast<long>(q.ranked.size());
  if (cutoff >= 0) n = std::min(n, cutoff);
  double sum = 0.0;
  long rel_so_far = 0;
  for (long i = 0; i < n; ++i)
    if (q.ranked[i] >= 1) sum += static_cast<double>(++rel_so_far) / static_cast<double>(i + 1);
  return sum / static_cast<double>(q.num_rel);
}

long relevant_in_top(const QueryRels& q, long k) {
  long n = std::min(static_cast<long>(q.ranked.size()), k), c = 0;
  for (long i = 0; i < n; ++i) c += q.ranked[i] >= 1;
  return c;
}

std::vector<long> parse_cutoffs(const std::string& spec, const std::string& list) {
  std::vector<long> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    long v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    RR_CHECK(ec == std::errc() && p == item.data() + item.size() && v > 0, Usage,
             "-m {}: cutoff '{}' is not a positive integer", spec, item);
    RR_CHECK(std::find(out.begin(), out.end(), v) == out.end(), Usage, "-m {}: cutoff {} given twice", spec,
             v);
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void sort_trec_order(std::vector<ScoredDoc>& docs) {
  std::sort(docs.begin(), docs.end(), [](const ScoredDoc& a, const ScoredDoc& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.doc_id > b.doc_id;  // std::string compares bytes as unsigned, like strcmp
  });
}

void drop_identical_id(std::vector<ScoredDoc>& docs, const std::string& query_id) {
  std::erase_if(docs, [&](const ScoredDoc& d) { return d.doc_id == query_id; });
}

MeasureSet::MeasureSet(const std::vector<std::string>& specs) {
  static const std::vector<std::pair<std::string, Kind>> kOrder = {
      {"map", Kind::Map},       {"recip_rank", Kind::RecipRank},
      {"P", Kind::P},           {"recall", Kind::Recall},
      {"ndcg", Kind::Ndcg},     {"ndcg_cut", Kind::NdcgCut},
      {"map_cut", Kind::MapCut}};
  std::map<Kind, std::vector<long>> wanted;
  for (const auto& spec : specs) {
    size_t dot = spec.find('.');
    std::string base = spec.substr(0, dot);
    auto it = std::find_if(kOrder.begin(), kOrder.end(), [&](const auto& e) { return e.first == base; });
    RR_CHECK(it != kOrder.end(), Usage,
             "-m {}: unknown measure (known: map, recip_rank, P, recall, ndcg, ndcg_cut, map_cut)", spec);
    bool has_cutoffs = it->second == Kind::P || it->second == Kind::Recall || it->second == Kind::NdcgCut ||
                       it->second == Kind::MapCut;
    RR_CHECK(has_cutoffs || dot == std::string::npos, Usage, "-m {}: {} takes no parameters", spec, base);
    auto& cut = wanted[it->second];
    if (has_cutoffs) {
      auto more = dot == std::string::npos ? kTrecDefaultCutoffs : parse_cutoffs(spec, spec.substr(dot + 1));
      for (long c : more)
        if (std::find(cut.begin(), cut.end(), c) == cut.end()) cut.push_back(c);
      std::sort(cut.begin(), cut.end());
    }
  }
  RR_CHECK(!wanted.empty(), Usage, "no measures requested");
  for (const auto& [name, kind] : kOrder) {
    auto it = wanted.find(kind);
    if (it == wanted.end()) continue;
    measures_.push_back({kind, it->second});
    if (it->second.empty()) names_.push_back(name);
    for (long c : it->second) names_.push_back(name + "_" + std::to_string(c));
  }
}

MeasureSet MeasureSet::beir() {
  return MeasureSet({"ndcg_cut.1,3,5,10,100,1000", "map_cut.1,3,5,10,100,1000", "recall.1,3,5,10,100,1000",
                     "P.1,3,5,10,100,1000", "recip_rank"});
}

int MeasureSet::index_of(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  return it == names_.end() ? -1 : static_cast<int>(it - names_.begin());
}

size_t MeasureSet::depth_needed() const {
  size_t depth = 1;
  for (const auto& m : measures_) {
    if (m.cutoffs.empty()) return 0;
    depth = std::max(depth, static_cast<size_t>(m.cutoffs.back()));
  }
  return depth;
}

std::vector<double> MeasureSet::evaluate(std::vector<ScoredDoc> ranked,
                                         const std::map<std::string, int>& judged) const {
  {
    std::vector<const std::string*> ids;
    ids.reserve(ranked.size());
    for (const auto& d : ranked) ids.push_back(&d.doc_id);
    std::sort(ids.begin(), ids.end(), [](const auto* a, const auto* b) { return *a < *b; });
    for (size_t i = 1; i < ids.size(); ++i)
      RR_CHECK(*ids[i] != *ids[i - 1], Input, "document '{}' retrieved twice for one query", *ids[i]);
  }
  QueryRels q = form_rels(ranked, judged);
  std::vector<double> out;
  out.reserve(names_.size());
  for (const auto& m : measures_) {
    switch (m.kind) {
      case Kind::Map:
        out.push_back(average_precision(q, -1));
        break;
      case Kind::RecipRank: {
        double rr = 0.0;
        for (size_t i = 0; i < q.ranked.size(); ++i)
          if (q.ranked[i] >= 1) {
            rr = 1.0 / static_cast<double>(i + 1);
            break;
          }
        out.push_back(rr);
        break;
      }
      case Kind::Ndcg:
        out.push_back(ndcg(q, -1));
        break;
      case Kind::P:
        for (long k : m.cutoffs)
          out.push_back(static_cast<double>(relevant_in_top(q, k)) / static_cast<double>(k));
        break;
      case Kind::Recall:
        for (long k : m.cutoffs)
          out.push_back(
              q.num_rel ? static_cast<double>(relevant_in_top(q, k)) / static_cast<double>(q.num_rel) : 0.0);
        break;
      case Kind::NdcgCut:
        for (long k : m.cutoffs) out.push_back(ndcg(q, k));
        break;
      case Kind::MapCut:
        for (long k : m.cutoffs) out.push_back(average_precision(q, k));
        break;
    }
  }
  return out;
}

Evaluation evaluate_run(const MeasureSet& measures, const TrecRun& run, const Judgments& qrels) {
  Evaluation ev;
  ev.mean.assign(measures.size(), 0.0);
  for (const auto& [qid, docs] : run) {
    auto judged = qrels.find(qid);
    if (judged == qrels.end()) continue;
    std::vector<double> v;
    try {
      v = measures.evaluate(docs, judged->second);
    } catch (const Error& e) {
      RR_THROW(Input, "query '{}': {}", qid, e.what());
    }
    for (size_t m = 0; m < v.size(); ++m) ev.mean[m] += v[m];
    ev.query_ids.push_back(qid);
    ev.values.push_back(std::move(v));
  }
  if (!ev.query_ids.empty())
    for (auto& m : ev.mean) m /= static_cast<double>(ev.query_ids.size());
  return ev;
}

}  // namespace rr
