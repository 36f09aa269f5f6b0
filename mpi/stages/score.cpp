// score: per-instance scores — nDCG@10 of every training query of every training dataset under every
// expert (query by base + expert, documents by the base index). A (dataset, expert) column whose inputs are
// unchanged is kept: adding an expert scores only its own columns.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "eval/dense_eval.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/stage.h"

namespace rr::stages {

namespace {

struct Column {
  std::string fingerprint;
  at::Tensor values;  // Q float64
};

// Score columns of an earlier run, by path (rank 0; empty elsewhere or when forced).
std::map<std::string, Column> cached_columns(const Context& ctx, bool force) {
  std::map<std::string, Column> cache;
  if (!ctx.root() || force || !std::filesystem::exists(ctx.exp.results_file())) return cache;
  auto f = h5::File::open(ctx.exp.results_file(), false);
  for (const auto& ds : f.members("/score_columns"))
    for (const auto& x : f.members("/score_columns/" + ds)) {
      const std::string p = schema::score_column(ds, x);
      if (f.has_attr(p, schema::kAttrFingerprint))
        cache[p] = {f.attr_string(p, schema::kAttrFingerprint), f.read(p)};
    }
  return cache;
}

// One training dataset's scores: its training queries, their base embeddings and one column per expert.
struct DatasetScores {
  std::string dataset;
  std::vector<std::string> qids;
  at::Tensor base;              // Q x H
  std::vector<Column> columns;  // T (root)
};

// nDCG@10 of each training query (in qids order) under `expert`; on root, empty elsewhere.
at::Tensor score_column(const Context& ctx, const Base& base, const Dataset& d, const TokenIds& tokens,
                        const std::vector<std::string>& qids, const QueryModel& expert) {
  static const MeasureSet kNdcg10({"ndcg_cut.10"});
  const IndexShard shard = read_index_shard(ctx, d.config->name, static_cast<int64_t>(d.corpus.size()));
  const at::Tensor q = embed_queries(ctx, base.model, tokens, {&expert});
  const TopK top = search_index(ctx, q, shard, tie_keys(d.corpus_ids), 11);
  if (!ctx.root()) return {};
  const Evaluation ev = evaluate_run(
      kNdcg10, topk_to_run(top, qids, d.corpus_ids, 10, ctx.exp.evaluation.ignore_identical_ids), d.train.qrels);
  std::map<std::string, double> by_id;
  for (size_t i = 0; i < ev.query_ids.size(); ++i) by_id[ev.query_ids[i]] = ev.values[i][0];
  std::vector<double> column;
  for (const auto& qid : qids) column.push_back(by_id[qid]);
  return at::tensor(column, at::kDouble);
}

DatasetScores score_dataset(const Context& ctx, const Base& base, const std::string& name,
                            std::map<std::string, Column>& cache,
                            std::vector<std::unique_ptr<QueryModel>>& experts) {
  const auto& exp = ctx.exp;
  const auto& cfg = exp.dataset(name);
  const Dataset d = load_dataset(cfg, exp.seed);
  RR_CHECK(!d.train.empty(), Input, "{}", no_training_data_message(cfg));
  DatasetScores out{name, {}, {}, {}};
  TokenIds tokens;
  for (const auto& q : d.train.queries) {
    out.qids.push_back(q.id);
    tokens.push_back(base.tokenizer.encode(q.text, exp.evaluation.max_query_length));
  }
  out.base = embed_queries(ctx, base.model, tokens);
  for (size_t e = 0; e < exp.experts.size(); ++e) {
    const auto& x = exp.experts[e];
    const std::string fp = score_column_fingerprint(exp, x, cfg), path = schema::score_column(name, x.name);
    int cached = 0;
    if (ctx.root()) {
      auto it = cache.find(path);
      cached = it != cache.end() && it->second.fingerprint == fp &&
               it->second.values.numel() == static_cast<int64_t>(out.qids.size());
    }
    if (ctx.world.bcast_value(cached)) {
      out.columns.push_back(ctx.root() ? cache[path] : Column{});
      if (ctx.root()) spdlog::info("score {} x {}: cached", name, x.name);
      continue;
    }
    if (!experts[e]) experts[e] = load_query_model(x.adapter, base.model);
    Column c{fp, score_column(ctx, base, d, tokens, out.qids, *experts[e])};
    if (ctx.root())
      spdlog::info("score {} x {}: mean nDCG@10 {:.4f} over {} training queries", name, x.name,
                   c.values.mean().item<double>(), c.values.numel());
    out.columns.push_back(std::move(c));
  }
  return out;
}

void store_scores(const Context& ctx, const std::vector<DatasetScores>& outputs) {
  const auto& exp = ctx.exp;
  h5::ResultsUpdate up(exp.results_file(), {"/scores", "/score_columns", "/train_queries", schema::kExperts});
  auto& f = up.file();
  f.write_strings(schema::kExperts, exp.expert_names());
  for (const auto& o : outputs) {
    std::vector<at::Tensor> columns;
    for (size_t t = 0; t < o.columns.size(); ++t) {
      const std::string p = schema::score_column(o.dataset, exp.experts[t].name);
      f.write(p, o.columns[t].values);
      f.set_attr(p, schema::kAttrFingerprint, o.columns[t].fingerprint);
      columns.push_back(o.columns[t].values);
    }
    f.write(schema::scores(o.dataset), columns.empty()
                                           ? at::zeros({static_cast<int64_t>(o.qids.size()), 0}, at::kDouble)
                                           : at::stack(columns, 1));
    f.set_attr(schema::scores(o.dataset), schema::kAttrExperts, exp.expert_names());
    f.write_strings(schema::query_ids(o.dataset, exp.dataset(o.dataset).train_split), o.qids);
    f.write(schema::train_query_base(o.dataset), o.base);
  }
  up.commit();
}

}  // namespace

void score(Context& ctx, const StageOptions& options) {
  Base base = load_base(ctx);
  std::map<std::string, Column> cache = cached_columns(ctx, options.force);
  std::vector<std::unique_ptr<QueryModel>> experts(ctx.exp.experts.size());
  std::vector<DatasetScores> outputs;
  for (const auto& name : ctx.exp.training_datasets())
    outputs.push_back(score_dataset(ctx, base, name, cache, experts));
  mpi::collective_try(ctx.world, [&] {
    if (ctx.root()) store_scores(ctx, outputs);
  });
}

}  // namespace rr::stages
