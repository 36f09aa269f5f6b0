// evaluate: for each evaluation dataset and router — route each test query (base embedding vs pilots, or a
// baseline's rule), embed it with its expert (mixed-expert batches), search every shard, merge the global
// top-k on rank 0, and measure per query with BEIR's semantics. Routing decisions, runs and measures go to
// results.h5 (and TREC run files on request).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fault_injection.h"
#include "data/split.h"
#include "eval/dense_eval.h"
#include "eval/trec_files.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/stages.h"
#include "router/pilots.h"
#include "search/bm25.h"

namespace rr::stages {

namespace {

// What routing needs from the training side, read from results.h5 on every rank.
struct RoutingInputs {
  PilotLibrary pilots;
  std::vector<std::string> train_datasets;
  std::vector<at::Tensor> train_base;        // per training dataset: Q_d x H
  std::vector<std::vector<int32_t>> best;    // per training dataset: best expert (tie rule), -1 skipped
  std::vector<std::vector<int32_t>> unique;  // per training dataset: best expert when unique, else -1
};

RoutingInputs read_routing_inputs(const Context& ctx) {
  RoutingInputs in;
  std::vector<char> blob;
  // Rank 0 reads; the few numbers are broadcast as one buffer.
  std::string json;
  if (ctx.root()) {
    auto f = h5::File::open(ctx.exp.results_file(), false);
    RR_CHECK(f.exists(schema::kPilotEmb), Input, "{}: no pilots (run `pilot` first)",
             ctx.exp.results_file().string());
    nlohmann::json j;
    auto [P, H] = f.shape(schema::kPilotEmb);
    j["pilot_shape"] = {P, H};
    j["pilot_emb"] = f.read_float(schema::kPilotEmb);
    j["pilot_expert"] = f.read_int32(schema::kPilotExpert);
    j["pilot_dataset"] = f.read_int32(schema::kPilotDataset);
    j["pilot_count"] = f.read_int64(schema::kPilotCount);
    j["datasets"] = f.attr_strings(schema::kPilots, "datasets");
    for (const auto& ds : j["datasets"]) {
      const std::string name = ds.get<std::string>();
      auto [Q, T] = f.shape(schema::scores(name));
      auto [n, h] = f.shape(schema::train_query_base(name));
      j["scores"][name] = {{"shape", {Q, T}}, {"values", f.read_double(schema::scores(name))}};
      j["base"][name] = {{"shape", {n, h}}, {"values", f.read_float(schema::train_query_base(name))}};
    }
    json = j.dump();
  }
  auto j = nlohmann::json::parse(ctx.world.bcast_string(json));
  auto shape = j["pilot_shape"].get<std::vector<int64_t>>();
  auto emb = j["pilot_emb"].get<std::vector<float>>();
  in.pilots.emb = at::from_blob(emb.data(), {shape[0], shape[1]}, at::kFloat).clone();
  in.pilots.expert = j["pilot_expert"].get<std::vector<int32_t>>();
  in.pilots.dataset = j["pilot_dataset"].get<std::vector<int32_t>>();
  in.pilots.count = j["pilot_count"].get<std::vector<int64_t>>();
  in.train_datasets = j["datasets"].get<std::vector<std::string>>();
  const TieRule rule = ctx.exp.routing.tie_rule == "skip" ? TieRule::Skip : TieRule::First;
  for (const auto& name : in.train_datasets) {
    auto ss = j["scores"][name]["shape"].get<std::vector<int64_t>>();
    auto sv = j["scores"][name]["values"].get<std::vector<double>>();
    at::Tensor scores = at::from_blob(sv.data(), {ss[0], ss[1]}, at::kDouble).clone();
    in.best.push_back(best_experts(scores, rule));
    in.unique.push_back(best_experts(scores, TieRule::Skip));
    auto bs = j["base"][name]["shape"].get<std::vector<int64_t>>();
    auto bv = j["base"][name]["values"].get<std::vector<float>>();
    in.train_base.push_back(at::from_blob(bv.data(), {bs[0], bs[1]}, at::kFloat).clone());
  }
  return in;
}

// The expert trained on `dataset` (the first one listing it), or -1.
int32_t expert_of_dataset(const Experiment& exp, const std::string& dataset) {
  for (size_t e = 0; e < exp.experts.size(); ++e)
    for (const auto& d : exp.experts[e].datasets)
      if (d == dataset) return static_cast<int32_t>(e);
  return -1;
}

struct RouterResult {
  std::string name;
  std::vector<int32_t> routing;                // per query (-1: base / not applicable)
  at::Tensor queries;                          // Q x H embeddings searched (undefined: derived, no search)
  std::vector<std::vector<double>> per_query;  // filled on root
  TopK top;                                    // root
};

}  // namespace

void evaluate(Context& ctx, bool) {
  const auto& exp = ctx.exp;
  const auto& routers = exp.routing.routers;
  auto wants = [&](const std::string& r) {
    return std::find(routers.begin(), routers.end(), r) != routers.end();
  };
  Base base = load_base(ctx);
  const bool routing = wants("pilot-mean") || wants("pilot-max") || wants("dataset") ||
                       wants("expert-classifier") || wants("classification-head") || wants("top-k-mix");
  const bool need_experts = routing || wants("single") || wants("dataset-oracle") || wants("instance-oracle");
  RoutingInputs inputs = routing ? read_routing_inputs(ctx) : RoutingInputs{};
  const int T = need_experts ? static_cast<int>(exp.experts.size()) : 0;
  std::vector<LoraAdapter> experts;
  if (need_experts)
    for (const auto& x : exp.experts) experts.push_back(LoraAdapter::load(x.adapter, base.model));
  std::vector<const LoraAdapter*> expert_ptrs;
  for (const auto& a : experts) expert_ptrs.push_back(&a);
  std::optional<LoraAdapter> multitask_adapter;
  std::optional<BertEncoder> multitask_full;
  if (wants("multitask") && exp.train_multitask) {
    if (std::filesystem::exists(exp.multitask_path() / "adapter_config.json"))
      multitask_adapter.emplace(LoraAdapter::load(exp.multitask_path(), base.model));
    else {
      multitask_full.emplace(BertEncoder::load(exp.multitask_path()));
      multitask_full->to(ctx.device);
    }
  }
  // Labelled instances for DatasetRouter: up to N training queries per training dataset.
  at::Tensor instances, train_x;
  std::vector<int32_t> instance_labels, train_best, train_unique;
  if (routing) {
    std::vector<at::Tensor> rows;
    for (size_t d = 0; d < inputs.train_datasets.size(); ++d) {
      const int64_t n = std::min<int64_t>(exp.routing.dataset_router_instances, inputs.train_base[d].size(0));
      rows.push_back(inputs.train_base[d].slice(0, 0, n));
      instance_labels.insert(instance_labels.end(), static_cast<size_t>(n),
                             expert_of_dataset(exp, inputs.train_datasets[d]));
    }
    instances = at::cat(rows);
    train_x = at::cat(inputs.train_base);
    for (size_t d = 0; d < inputs.best.size(); ++d) {
      train_best.insert(train_best.end(), inputs.best[d].begin(), inputs.best[d].end());
      train_unique.insert(train_unique.end(), inputs.unique[d].begin(), inputs.unique[d].end());
    }
  }
  const MeasureSet measures = MeasureSet::beir();
  const int ndcg10 = measures.index_of("ndcg_cut_10");
  const int64_t k = exp.evaluation.k;

  struct DatasetOutput {
    std::string name;
    std::vector<std::string> qids;
    std::vector<RouterResult> results;
  };
  std::vector<DatasetOutput> outputs;
  for (const auto& cfg : exp.datasets) {
    if (!cfg.evaluate) continue;
    Dataset d = load_dataset(cfg);
    const Qrels& qrels = d.test;
    auto judged = d.judged(qrels);
    if (judged.empty()) {
      if (ctx.root())
        spdlog::warn("evaluate: {} has no judged {} queries; skipped", cfg.name, cfg.test_split);
      continue;
    }
    DatasetOutput out{cfg.name, {}, {}};
    TokenIds tokens;
    std::vector<std::string> texts;
    for (const auto* q : judged) {
      out.qids.push_back(q->id);
      texts.push_back(q->text);
      tokens.push_back(base.tokenizer.encode(q->text, exp.evaluation.max_query_length));
    }
    const int64_t Q = static_cast<int64_t>(tokens.size());
    IndexShard shard = read_index_shard(ctx, cfg.name, static_cast<int64_t>(d.corpus.size()));
    const std::vector<int64_t> tie = tie_keys(d.corpus_ids);
    at::Tensor qbase = embed_queries(ctx, base.model, tokens, {}, {});
    std::vector<at::Tensor> single(static_cast<size_t>(T));
    for (int e = 0; e < T; ++e) single[e] = embed_queries(ctx, base.model, tokens, {expert_ptrs[e]}, {});
    auto all = [&](int32_t e) { return std::vector<int32_t>(static_cast<size_t>(Q), e); };
    auto routed = [&](const std::string& name, std::vector<int32_t> route) {
      at::Tensor q = embed_queries(ctx, base.model, tokens, expert_ptrs, route);
      out.results.push_back({name, std::move(route), q, {}, {}});
    };
    if (wants("base")) out.results.push_back({"base", all(-1), qbase, {}, {}});
    if (wants("single") || wants("dataset-oracle") || wants("instance-oracle"))
      for (int e = 0; e < T; ++e)
        out.results.push_back({"single-" + exp.experts[e].name, all(e), single[e], {}, {}});
    if (multitask_adapter)
      out.results.push_back(
          {"multitask", all(-1), embed_queries(ctx, base.model, tokens, {&*multitask_adapter}, {}), {}, {}});
    if (multitask_full)
      out.results.push_back(
          {"multitask", all(-1), embed_queries(ctx, *multitask_full, tokens, {}, {}), {}, {}});
    at::Tensor sim_mean = routing ? expert_similarity(qbase, inputs.pilots, T, false) : at::Tensor();
    if (wants("pilot-mean")) routed("pilot-mean", argmax_rows(sim_mean));
    if (wants("pilot-max"))
      routed("pilot-max", argmax_rows(expert_similarity(qbase, inputs.pilots, T, true)));
    if (wants("dataset")) routed("dataset", nearest_instance(qbase, instances, instance_labels));
    if (wants("expert-classifier"))
      routed("expert-classifier",
             argmax_rows(train_and_score_classifier(train_x, train_unique, T, qbase, true, exp.seed)));
    if (wants("classification-head"))
      routed("classification-head",
             argmax_rows(train_and_score_classifier(train_x, train_best, T, qbase, false, exp.seed)));
    if (wants("top-k-mix")) {
      // Linear fusion of dot products is a dot product with the weighted sum of the experts' query vectors.
      Mixture mix = top_k_mixture(sim_mean, exp.routing.top_k_mix);
      at::Tensor q = at::zeros_like(qbase);
      for (int64_t i = 0; i < Q; ++i)
        for (size_t j = 0; j < mix.experts[i].size(); ++j)
          q[i] += single[mix.experts[i][j]][i] * mix.weights[i][j];
      std::vector<int32_t> first;
      for (const auto& ex : mix.experts) first.push_back(ex.empty() ? -1 : ex[0]);
      out.results.push_back({"top-k-mix", first, q, {}, {}});
    }
    // Search and measure every router that has query vectors.
    for (auto& r : out.results) {
      r.top = search_index(ctx, r.queries, shard, tie, k + (exp.evaluation.ignore_identical_ids ? 1 : 0));
      if (!ctx.root()) continue;
      TrecRun run = topk_to_run(r.top, out.qids, d.corpus_ids, k, exp.evaluation.ignore_identical_ids);
      Evaluation ev = evaluate_run(measures, run, qrels);
      std::map<std::string, size_t> row;
      for (size_t i = 0; i < ev.query_ids.size(); ++i) row[ev.query_ids[i]] = i;
      for (const auto& qid : out.qids) r.per_query.push_back(ev.values[row.at(qid)]);
      if (exp.evaluation.write_trec_runs)
        write_trec_run(exp.output() / "runs" / (cfg.name + "." + r.name + ".trec"), run, r.name);
    }
    if (ctx.root()) {
      // Oracles from the single experts' per-query results.
      std::vector<const RouterResult*> singles;
      for (int e = 0; e < T; ++e)
        for (const auto& r : out.results)
          if (r.name == "single-" + exp.experts[e].name) singles.push_back(&r);
      auto copy_from = [&](const std::string& name, const std::vector<int32_t>& choice) {
        RouterResult r{name, choice, {}, {}, TopK(Q, k)};
        for (int64_t i = 0; i < Q; ++i) {
          const RouterResult& s = *singles[choice[i]];
          r.per_query.push_back(s.per_query[i]);
          for (int64_t j = 0; j < k; ++j) {
            r.top.doc[i * k + j] = s.top.doc[i * s.top.k + j];
            r.top.score[i * k + j] = s.top.score[i * s.top.k + j];
          }
        }
        out.results.push_back(std::move(r));
      };
      if (T > 0 && wants("dataset-oracle")) {
        int best = 0;
        double best_mean = -1;
        for (int e = 0; e < T; ++e) {
          double m = 0;
          for (const auto& v : singles[e]->per_query) m += v[ndcg10];
          if (m > best_mean + 1e-12) best_mean = m, best = e;
        }
        copy_from("dataset-oracle", all(best));
      }
      if (T > 0 && wants("instance-oracle")) {
        std::vector<int32_t> choice;
        for (int64_t i = 0; i < Q; ++i) {
          int best = 0;
          for (int e = 1; e < T; ++e)
            if (singles[e]->per_query[i][ndcg10] > singles[best]->per_query[i][ndcg10]) best = e;
          choice.push_back(best);
        }
        copy_from("instance-oracle", choice);
      }
      if (!wants("single"))
        std::erase_if(out.results, [](const RouterResult& r) { return r.name.rfind("single-", 0) == 0; });
      if (wants("bm25")) {
        std::vector<std::string> docs;
        for (const auto& doc : d.corpus) docs.push_back(doc.encoder_text());
        Bm25Index bm25(docs, tie, {exp.evaluation.bm25_k1, exp.evaluation.bm25_b});
        RouterResult r{"bm25", all(-1), {}, {}, bm25.search(texts, k + 1)};
        TrecRun run = topk_to_run(r.top, out.qids, d.corpus_ids, k, exp.evaluation.ignore_identical_ids);
        Evaluation ev = evaluate_run(measures, run, qrels);
        std::map<std::string, size_t> row;
        for (size_t i = 0; i < ev.query_ids.size(); ++i) row[ev.query_ids[i]] = i;
        for (const auto& qid : out.qids) r.per_query.push_back(ev.values[row.at(qid)]);
        if (exp.evaluation.write_trec_runs)
          write_trec_run(exp.output() / "runs" / (cfg.name + ".bm25.trec"), run, "bm25");
        out.results.push_back(std::move(r));
      }
      for (const auto& r : out.results) {
        double m = 0;
        for (const auto& v : r.per_query) m += v[ndcg10];
        spdlog::info("evaluate {}: {:<20} nDCG@10 {:.4f}", cfg.name, r.name, m / static_cast<double>(Q));
      }
    }
    outputs.push_back(std::move(out));
    fault_point("evaluate-dataset");
  }
  if (ctx.root()) {
    h5::ResultsUpdate up(exp.results_file(), {"/routing", "/runs", "/metrics"});
    auto& f = up.file();
    const int64_t store_k = exp.evaluation.store_k;
    for (const auto& o : outputs) {
      f.write_strings(schema::query_ids(o.name, exp.dataset(o.name).test_split), o.qids);
      const int64_t Q = static_cast<int64_t>(o.qids.size());
      for (const auto& r : o.results) {
        f.write_int32(schema::routing(o.name, r.name), r.routing);
        std::vector<int64_t> docs(static_cast<size_t>(Q * store_k), -1);
        std::vector<float> scores(static_cast<size_t>(Q * store_k), 0.f);
        for (int64_t i = 0; i < Q; ++i)
          for (int64_t j = 0; j < std::min(store_k, r.top.k); ++j) {
            docs[i * store_k + j] = r.top.doc[i * r.top.k + j];
            scores[i * store_k + j] = r.top.score[i * r.top.k + j];
          }
        f.write_int64(schema::run_doc(o.name, r.name), docs, store_k);
        f.write_float(schema::run_score(o.name, r.name), scores, store_k);
        std::vector<double> per, mean(measures.size(), 0.0);
        for (const auto& v : r.per_query) {
          per.insert(per.end(), v.begin(), v.end());
          for (size_t m = 0; m < v.size(); ++m) mean[m] += v[m] / static_cast<double>(Q);
        }
        f.write_double(schema::metrics_per_query(o.name, r.name), per, static_cast<int64_t>(measures.size()));
        f.write_double(schema::metrics_mean(o.name, r.name), mean);
        f.set_attr(schema::metrics(o.name, r.name), schema::kAttrMeasures, measures.names());
      }
    }
    h5::write_stage_meta(f, "evaluate", ctx.config_json(), ctx.world.size(), static_cast<int64_t>(exp.seed),
                         "");
    up.commit();
  }
  ctx.world.barrier();
}

}  // namespace rr::stages
