// score: per-instance scores — nDCG@10 of every training query of every training dataset under every
// expert (query by base + expert, documents by the base index) — and pilot: the pilot library from them.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/split.h"
#include "eval/dense_eval.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/stages.h"
#include "router/pilots.h"

namespace rr::stages {

namespace {

// Datasets some expert trains on, in configured order.
std::vector<std::string> training_datasets(const Experiment& exp) {
  std::vector<std::string> out;
  for (const auto& x : exp.experts)
    for (const auto& d : x.datasets)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  return out;
}

std::string column_fingerprint(const Context& ctx, const ExpertConfig& x, const DatasetConfig& d) {
  nlohmann::json j = {
      {"adapter", file_identity(std::filesystem::path(x.adapter) / "adapter_model.safetensors")},
      {"index", file_identity(ctx.exp.index_file())},
      {"qrels", file_identity(beir_qrels_path(d.path, d.train_split))},
      {"max_query_length", ctx.exp.evaluation.max_query_length}};
  return fingerprint(j.dump());
}

}  // namespace

void score(Context& ctx, bool force) {
  Base base = load_base(ctx);
  const auto& exp = ctx.exp;
  static const MeasureSet kNdcg10({"ndcg_cut.10"});
  // Cached columns from an earlier run (only an expert that is new or changed is scored again).
  std::map<std::string, std::pair<std::string, std::vector<double>>> cache;  // path -> (fingerprint, column)
  if (ctx.root() && !force && std::filesystem::exists(exp.results_file())) {
    auto f = h5::File::open(exp.results_file(), false);
    for (const auto& ds : f.members("/score_columns"))
      for (const auto& x : f.members("/score_columns/" + ds)) {
        const std::string p = schema::score_column(ds, x);
        if (f.has_attr(p, schema::kAttrFingerprint))
          cache[p] = {f.attr_string(p, schema::kAttrFingerprint), f.read_double(p)};
      }
  }
  std::vector<std::unique_ptr<LoraAdapter>> adapters(exp.experts.size());
  struct Output {
    std::string ds;
    std::vector<std::string> qids;
    at::Tensor base_emb;
    std::vector<std::vector<double>> columns;
    std::vector<std::string> fps;
  };
  std::vector<Output> outputs;
  for (const auto& name : training_datasets(exp)) {
    const auto& cfg = exp.dataset(name);
    Dataset d = load_dataset(cfg);
    auto judged = d.judged(d.train);
    RR_CHECK(!judged.empty(), Input, "score: dataset '{}' has no training queries ({} is empty or missing)",
             name, beir_qrels_path(cfg.path, cfg.train_split).string());
    Output out{name, {}, {}, {}, {}};
    TokenIds tokens;
    for (const auto* q : judged) {
      out.qids.push_back(q->id);
      tokens.push_back(base.tokenizer.encode(q->text, exp.evaluation.max_query_length));
    }
    out.base_emb = embed_queries(ctx, base.model, tokens, {}, {});
    IndexShard shard = read_index_shard(ctx, name, static_cast<int64_t>(d.corpus.size()));
    const std::vector<int64_t> tie = tie_keys(d.corpus_ids);
    for (size_t e = 0; e < exp.experts.size(); ++e) {
      const auto& x = exp.experts[e];
      const std::string fp = column_fingerprint(ctx, x, cfg);
      int cached = 0;
      if (ctx.root()) {
        auto it = cache.find(schema::score_column(name, x.name));
        cached = it != cache.end() && it->second.first == fp && it->second.second.size() == judged.size();
      }
      cached = ctx.world.bcast_value(cached);
      if (cached) {
        out.columns.push_back(ctx.root() ? cache[schema::score_column(name, x.name)].second
                                         : std::vector<double>());
        out.fps.push_back(fp);
        if (ctx.root()) spdlog::info("score {} x {}: cached", name, x.name);
        continue;
      }
      if (!adapters[e]) adapters[e] = std::make_unique<LoraAdapter>(LoraAdapter::load(x.adapter, base.model));
      at::Tensor q = embed_queries(ctx, base.model, tokens, {adapters[e].get()}, {});
      TopK top = search_index(ctx, q, shard, tie, 11);
      std::vector<double> column;
      if (ctx.root()) {
        Evaluation ev = evaluate_run(
            kNdcg10, topk_to_run(top, out.qids, d.corpus_ids, 10, exp.evaluation.ignore_identical_ids),
            d.train);
        std::map<std::string, double> by_id;
        for (size_t i = 0; i < ev.query_ids.size(); ++i) by_id[ev.query_ids[i]] = ev.values[i][0];
        for (const auto& qid : out.qids) column.push_back(by_id[qid]);
        double mean = 0;
        for (double v : column) mean += v;
        spdlog::info("score {} x {}: mean nDCG@10 {:.4f} over {} training queries", name, x.name,
                     mean / column.size(), column.size());
      }
      out.columns.push_back(std::move(column));
      out.fps.push_back(fp);
    }
    outputs.push_back(std::move(out));
  }
  if (ctx.root()) {
    h5::ResultsUpdate up(exp.results_file(),
                         {"/scores", "/score_columns", "/train_queries", schema::kExperts});
    auto& f = up.file();
    f.write_strings(schema::kExperts, exp.expert_names());
    for (const auto& o : outputs) {
      const int64_t Q = static_cast<int64_t>(o.qids.size()), T = static_cast<int64_t>(o.columns.size());
      std::vector<double> matrix(static_cast<size_t>(Q * T));
      for (int64_t t = 0; t < T; ++t) {
        const std::string p = schema::score_column(o.ds, exp.experts[t].name);
        f.write_double(p, o.columns[t]);
        f.set_attr(p, schema::kAttrFingerprint, o.fps[t]);
        for (int64_t q = 0; q < Q; ++q) matrix[q * T + t] = o.columns[t][q];
      }
      f.write_double(schema::scores(o.ds), matrix, T);
      f.set_attr(schema::scores(o.ds), schema::kAttrExperts, exp.expert_names());
      f.write_strings(schema::query_ids(o.ds, exp.dataset(o.ds).train_split), o.qids);
      at::Tensor b = o.base_emb.contiguous();
      f.write_float(schema::train_query_base(o.ds),
                    std::vector<float>(b.data_ptr<float>(), b.data_ptr<float>() + b.numel()), b.size(1));
    }
    h5::write_stage_meta(f, "score", ctx.config_json(), ctx.world.size(), static_cast<int64_t>(exp.seed), "");
    up.commit();
  }
  ctx.world.barrier();
}

void pilot(Context& ctx, bool) {
  const auto& exp = ctx.exp;
  if (ctx.root()) {
    auto names = training_datasets(exp);
    std::vector<at::Tensor> base;
    std::vector<std::vector<int32_t>> labels;
    {
      auto f = h5::File::open(exp.results_file(), false);
      RR_CHECK(f.exists(schema::kExperts), Input, "{}: no scores yet (run `score` first)",
               exp.results_file().string());
      RR_CHECK(f.read_strings(schema::kExperts) == exp.expert_names(), Input,
               "{}: the scores are for other experts (run `score` again)", exp.results_file().string());
      for (const auto& ds : names) {
        auto [Q, T] = f.shape(schema::scores(ds));
        auto s = f.read_double(schema::scores(ds));
        at::Tensor scores = at::from_blob(s.data(), {Q, T}, at::kDouble).clone();
        labels.push_back(
            best_experts(scores, exp.routing.tie_rule == "skip" ? TieRule::Skip : TieRule::First));
        auto [n, h] = f.shape(schema::train_query_base(ds));
        auto e = f.read_float(schema::train_query_base(ds));
        base.push_back(at::from_blob(e.data(), {n, h}, at::kFloat).clone());
      }
    }
    PilotLibrary lib = build_pilots(base, labels, exp.routing.pilots_per_group, exp.seed);
    h5::ResultsUpdate up(exp.results_file(), {schema::kPilots});
    auto& f = up.file();
    at::Tensor emb = lib.emb.contiguous();
    f.write_float(schema::kPilotEmb,
                  std::vector<float>(emb.data_ptr<float>(), emb.data_ptr<float>() + emb.numel()),
                  std::max<int64_t>(1, emb.size(1)));
    f.write_int32(schema::kPilotExpert, lib.expert);
    f.write_int32(schema::kPilotDataset, lib.dataset);
    f.write_int64(schema::kPilotCount, lib.count);
    f.set_attr(schema::kPilots, schema::kAttrExperts, exp.expert_names());
    f.set_attr(schema::kPilots, "datasets", names);
    h5::write_stage_meta(f, "pilot", ctx.config_json(), ctx.world.size(), static_cast<int64_t>(exp.seed), "");
    up.commit();
    spdlog::info("pilot: {} pilots for {} experts from {} training datasets", lib.expert.size(),
                 exp.experts.size(), names.size());
  }
  ctx.world.barrier();
}

}  // namespace rr::stages
