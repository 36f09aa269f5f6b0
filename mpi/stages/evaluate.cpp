// evaluate: every configured router (a row of Table 1) on every evaluated dataset's test queries, as a short
// pipeline of named steps: route -> embed -> search -> measure -> record.
//   route    the router's decision for the queries (from their base embeddings); routers that learn were
//            fitted by `pilot` (their states are in results.h5);
//   embed    the query vectors the routing asks for (one model for all, mixed-expert batches, or mixtures);
//   search   the dataset's sharded index (mpi/sharded_index.h): the base corpus index, or BM25 over the
//            texts for the lexical router; global top-k on rank 0;
//   measure  trec_eval's measures per query with BEIR's semantics (rank 0);
//   record   routing, stored hits and measures into results.h5.
// Routers that take their results from the single experts (the oracles) skip embed and search.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <sstream>

#include "common/error.h"
#include "common/fault_injection.h"
#include "eval/dense_eval.h"
#include "eval/trec_files.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/corpus_index.h"
#include "mpi/stages/datasets.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/methods.h"
#include "mpi/stages/models.h"
#include "mpi/stages/outcome.h"
#include "mpi/stages/plan.h"
#include "mpi/tensor_comm.h"
#include "router/router.h"

namespace rr::stages {

namespace {

// Routers fitted by `pilot` for other settings or inputs than the current ones would be evaluated under the
// new settings' labels: a usage error naming the settings that differ (or, when none does, the inputs).
void refuse_stale_routers(const Context& ctx, const h5::File& f) {
  const std::string meta = schema::stage_meta("pilot");
  const std::string file = ctx.exp.results_file().string();
  const std::string fitted =
      f.has_attr(meta, schema::kAttrFingerprint) ? f.attr_string(meta, schema::kAttrFingerprint) : "";
  if (fitted == find_stage("pilot").fingerprint(ctx.exp)) return;
  RR_CHECK(!fitted.empty(), Usage, "{}: the routers' fit was never recorded complete (run `pilot` first)",
           file);
  const auto then = nlohmann::json::parse(f.attr_string(meta, schema::kAttrConfig));
  const auto changed =
      config_differences(then, ctx.exp.json,
                         {"routing", "seed", "experts", "expert_training", "datasets", "base",
                          "evaluation.max_query_length", "evaluation.ignore_identical_ids"});
  RR_THROW(
      Usage,
      "{}: `pilot` fitted the routers for other {}; evaluating them now would label old routing with the "
      "new settings. Run `pilot` again (or the pipeline) first",
      file,
      changed.empty() ? std::string("inputs (an expert's files, or the training queries and their score "
                                    "columns, changed since)")
                      : fmt::format("settings: {}", fmt::join(changed, "; ")));
}

// route, step 0: the routers that learn were fitted by `pilot`; rank 0 reads their states (pilots, classifier
// weights: O(P x H + H x T), never the training queries) and sends them to every rank.
void load_routers(const Context& ctx, std::vector<Method>& methods) {
  bool any = false;
  for (const auto& m : methods) any = any || m.router->needs_training();
  if (!any) return;
  std::vector<RouterState> states(methods.size());
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    const auto f = h5::File::open(ctx.exp.results_file(), false);
    const std::string file = ctx.exp.results_file().string();
    RR_CHECK(f.exists(schema::kPilotEmb), Input, "{}: no pilots (run `pilot` first)", file);
    const auto built_for = f.attr_strings(schema::kPilots, schema::kAttrExperts);
    RR_CHECK(
        built_for == ctx.exp.expert_names(), Input,
        "{}: the pilots were built for experts [{}], the config has [{}] (run `score` and `pilot` again)",
        file, fmt::join(built_for, ", "), fmt::join(ctx.exp.expert_names(), ", "));
    refuse_stale_routers(ctx, f);
    for (size_t i = 0; i < methods.size(); ++i)
      if (methods[i].router->needs_training()) states[i] = read_router_state(f, methods[i].name);
  });
  for (size_t i = 0; i < methods.size(); ++i) {
    if (!methods[i].router->needs_training()) continue;
    mpi::bcast(ctx.world, states[i]);
    methods[i].router->set_state(states[i]);
  }
}

// A dataset's test queries (their vectors as each routing asks), and its index: this rank's shard of the
// dense index, and of BM25 once the lexical router asks for it.
struct TestSet {
  const DatasetConfig* config = nullptr;
  Dataset data;                  // the query sets (the corpus stays on disk behind `map`)
  std::optional<CorpusMap> map;  // ids and documents by row
  std::vector<std::string> qids, texts;
  std::optional<RoutedQueries> queries;
  std::optional<mpi::ShardedIndex> dense, lexical;
  int64_t size() const { return static_cast<int64_t>(qids.size()); }
};

// The method's run as a TREC file (evaluation.write_trec_runs, an export): each owner's lines gathered to
// rank 0, which writes them in trec_eval's order.
void write_run(const Context& ctx, const TestSet& t, const TrecRun& mine, const std::string& method) {
  std::string lines;
  for (const auto& [qid, docs] : mine)
    for (const auto& d : docs) lines += fmt::format("{}\t{}\t{:.9g}\n", qid, d.doc_id, d.score);
  std::vector<int64_t> counts;
  const std::vector<char> all =
      ctx.world.gatherv_bytes(lines.data(), static_cast<int64_t>(lines.size()), counts, false);
  if (!ctx.root()) return;
  TrecRun run;
  std::istringstream in(std::string(all.begin(), all.end()));
  for (std::string qid, doc, score;
       std::getline(in, qid, '\t') && std::getline(in, doc, '\t') && std::getline(in, score);)
    run[qid].push_back({doc, std::stod(score)});
  for (const auto& qid : t.qids) run[qid];  // a query without hits keeps its entry
  write_trec_run(ctx.exp.output() / "runs" / (t.config->name + "." + method + ".trec"), run, method);
}

// measure, where each query block's lists landed (its owner): the lists as a run with BEIR's semantics
// (identical ids dropped), trec_eval's measures per query, and the first stored hits in corpus rows; then
// rank 0 receives only those (per-query values and stored rows, in query order) and, when asked, the run's
// lines.
void measure_owned(const Context& ctx, const TestSet& t, const mpi::ShardedIndex::OwnedLists& owned,
                   Outcome& o) {
  const auto& ev = ctx.exp.evaluation;
  std::vector<std::string> qids;
  for (const int64_t r : owned.rows) qids.push_back(t.qids[static_cast<size_t>(r)]);
  HitIds hits = hit_ids(owned.top, *t.map);
  if (ev.ignore_identical_ids) hits.top = drop_identical_ids(hits.top, qids, hits.ids, ev.k);
  const TrecRun run = topk_to_run(hits.top, qids, hits.ids, ev.k, ev.ignore_identical_ids);
  const Evaluation e = evaluate_run(MeasureSet::beir(), run, t.data.test.qrels);
  std::map<std::string, size_t> row;
  for (size_t i = 0; i < e.query_ids.size(); ++i) row[e.query_ids[i]] = i;
  const auto M = static_cast<int64_t>(MeasureSet::beir().size()), n = static_cast<int64_t>(qids.size());
  const int64_t kept = std::min(ev.store_k, hits.top.k);
  const TopK stored = hits.with_corpus_rows().first(kept);
  at::Tensor per = at::empty({n, M}, at::kDouble), docs = at::empty({n, kept}, at::kLong),
             scores = at::empty({n, kept}, at::kFloat);
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(e.values[row.at(qids[static_cast<size_t>(i)])].begin(), M, per.data_ptr<double>() + i * M);
  std::copy(stored.doc.begin(), stored.doc.end(), docs.data_ptr<int64_t>());
  std::copy(stored.score.begin(), stored.score.end(), scores.data_ptr<float>());
  // The owners' rows are consecutive shares in rank order: stacked, they are the queries in order.
  per = mpi::gather_rows(ctx.world, per);
  docs = mpi::gather_rows(ctx.world, docs);
  scores = mpi::gather_rows(ctx.world, scores);
  if (ev.write_trec_runs) write_run(ctx, t, run, o.name);
  if (!ctx.root()) return;
  o.top = TopK(t.size(), kept);
  std::copy_n(docs.data_ptr<int64_t>(), docs.numel(), o.top.doc.begin());
  std::copy_n(scores.data_ptr<float>(), scores.numel(), o.top.score.begin());
  for (int64_t i = 0; i < t.size(); ++i)
    o.per_query.emplace_back(per.data_ptr<double>() + i * M, per.data_ptr<double>() + (i + 1) * M);
}

// The single experts run on a dataset (evaluation.singles): their outcomes and which expert each is.
struct Singles {
  std::vector<const Outcome*> outcomes;
  std::vector<int32_t> experts;
};

// The oracles: each query takes the results of the single expert the router chooses for it, among the
// singles that ran on the dataset (routing records the expert's index among all T).
Outcome from_singles(const Method& m, const Singles& singles, int64_t k) {
  const int ndcg10 = MeasureSet::beir().index_of("ndcg_cut_10");
  const auto& run = singles.outcomes;
  const int64_t Q = static_cast<int64_t>(run[0]->per_query.size()), T = static_cast<int64_t>(run.size());
  at::Tensor ndcg = at::empty({Q, T}, at::kDouble);
  for (int64_t e = 0; e < T; ++e)
    for (int64_t i = 0; i < Q; ++i) ndcg[i][e] = run[e]->per_query[i][ndcg10];
  for (const Outcome* s : run) k = std::min(k, s->top.k);  // singles read back from units hold store_k
  const std::vector<int32_t> chosen = m.router->choose(ndcg);
  Outcome o{m.name, {}, TopK(Q, k), {}, m.recorded};
  for (int64_t i = 0; i < Q; ++i) {
    const Outcome& s = *run[chosen[i]];
    o.routing.push_back(singles.experts[chosen[i]]);
    o.per_query.push_back(s.per_query[i]);
    for (int64_t j = 0; j < k; ++j) {
      o.top.doc[i * k + j] = s.top.doc[i * s.top.k + j];
      o.top.score[i * k + j] = s.top.score[i * s.top.k + j];
    }
  }
  return o;
}

// embed -> search: the index the router's results come from, with the queries it reads (their routed vectors,
// or their texts for BM25, whose sharded index is built on first use); each query block's lists land at its
// owner.
mpi::ShardedIndex::OwnedLists search(const Context& ctx, TestSet& t, const Method& m, const Routing& r,
                                     int64_t depth) {
  if (m.router->source() == RouterSource::Lexical) {
    if (!t.lexical) t.lexical = open_lexical_index(ctx, *t.dense, *t.map);
    return t.lexical->search_owned({nullptr, 0, t.texts.data(), t.size()}, depth);
  }
  const at::Tensor v = t.queries->embed(r).to(at::kCPU, at::kFloat).contiguous();
  return t.dense->search_owned({v.data_ptr<float>(), v.size(1), nullptr, v.size(0)}, depth);
}

// route -> embed -> search -> measure for one method on one dataset (from_singles for the oracles). The
// outcome's measures and stored hits are on rank 0.
Outcome run_method(const Context& ctx, TestSet& t, const Method& m, const Singles& singles) {
  const auto& ev = ctx.exp.evaluation;
  if (m.router->source() == RouterSource::FromSingles) return from_singles(m, singles, ev.k);
  const int64_t depth = ev.k + (ev.ignore_identical_ids ? 1 : 0);
  const Routing r = m.router->route(QueryBlock{t.queries->base(), t.qids.data()});
  Outcome o{m.name, r.expert, {}, {}, m.recorded};
  measure_owned(ctx, t, search(ctx, t, m, r, depth), o);
  return o;
}

TestSet load_test_set(const Context& ctx, const Base& base, const QueryModels& models,
                      const DatasetConfig& cfg) {
  TestSet t;
  t.config = &cfg;
  t.data.config = &cfg;
  load_query_sets(cfg, ctx.exp.seed, t.data);
  TokenIds tokens;
  for (const auto& q : t.data.test.queries) {
    t.qids.push_back(q.id);
    t.texts.push_back(q.text);
    tokens.push_back(base.tokenizer.encode(q.text, ctx.exp.evaluation.max_query_length));
  }
  if (t.qids.empty()) return t;
  t.map.emplace(open_corpus_map(ctx, cfg));
  t.dense.emplace(open_dense_index(ctx, cfg.name, *t.map));
  t.queries.emplace(ctx, base, models, std::move(tokens));
  return t;
}

void log_outcome(const TestSet& t, const Outcome& o) {
  double sum = 0;
  for (const auto& v : o.per_query) sum += v[MeasureSet::beir().index_of("ndcg_cut_10")];
  spdlog::info("evaluate {}: {:<20} nDCG@10 {:.4f}", t.config->name, o.name,
               sum / static_cast<double>(t.size()));
}

// Every method that runs on one dataset (runs_on), each (dataset, method) committed as a unit; units already
// done are kept (the single experts' read back when an oracle needs them).
void evaluate_dataset(const Context& ctx, const Base& base, const DatasetConfig& cfg,
                      const QueryModels& models, const std::vector<Method>& all_methods,
                      const std::string& fp, bool force) {
  std::vector<const Method*> methods;
  for (const auto& m : all_methods)
    if (runs_on(ctx.exp, m, cfg.name)) methods.push_back(&m);
  const Ledger ledger(ctx.exp);
  const auto unit = [&](const Method& m) { return ledger.unit("evaluate", cfg.name, m.name); };
  std::vector<char> done;
  for (const Method* m : methods)
    done.push_back(ledger.unit_done(ctx, unit(*m), schema::metrics(cfg.name, m->name), fp, -1, force));
  if (std::all_of(done.begin(), done.end(), [](char d) { return d != 0; })) {
    if (ctx.root()) spdlog::info("evaluate {}: up to date", cfg.name);
    return;
  }
  TestSet t = load_test_set(ctx, base, models, cfg);
  if (t.qids.empty()) {
    if (ctx.root()) spdlog::warn("evaluate: {} has no judged {} queries; skipped", cfg.name, cfg.test_split);
    return;
  }
  // The mixtures to come keep only the terms they need of each single expert's vectors (never all T of them).
  for (size_t i = 0; i < methods.size(); ++i)
    if (!done[i] && methods[i]->router->source() == RouterSource::Dense) {
      const Routing r = methods[i]->router->route(QueryBlock{t.queries->base(), t.qids.data()});
      if (r.kind == Routing::Kind::Mixture) t.queries->expect(r);
    }
  std::vector<Outcome> singles_kept;
  singles_kept.reserve(methods.size());  // `singles` points into it
  Singles singles;
  for (size_t i = 0; i < methods.size(); ++i) {
    const Method& m = *methods[i];
    Outcome o;
    if (done[i]) {
      if (ctx.root() && m.expert >= 0) o = read_outcome(unit(m), cfg.name, m.name, m.recorded);
    } else {
      o = run_method(ctx, t, m, singles);
      mpi::collective_try(ctx.world, [&] {
        if (!ctx.root()) return;
        if (m.recorded) log_outcome(t, o);
        commit_outcome(unit(m), ctx.exp, cfg, t.qids, o, fp);
      });
      fault_point("evaluate-unit");
      mpi::stop_point(ctx.world, "evaluate " + cfg.name + " " + m.name);
    }
    if (m.expert < 0) continue;
    // Kept for the oracles, which take a single's measures and stored hits: store_k of them, not k.
    o.top = o.top.first(std::min(o.top.k, ctx.exp.evaluation.store_k));
    singles.outcomes.push_back(&singles_kept.emplace_back(std::move(o)));
    singles.experts.push_back(m.expert);
  }
}

// record: results.h5's /routing, /runs and /metrics assembled from the recorded methods' units, and the
// router table (names in Table 1 order with their labels) that the report and the analysis tools read.
void record(const Context& ctx, const std::vector<Method>& methods) {
  const auto& exp = ctx.exp;
  const Ledger ledger(exp);
  h5::ResultsUpdate up(exp.results_file(), {"/routing", "/runs", "/metrics", "/routers"});
  auto& f = up.file();
  auto& runs = up.apart("runs", {"/runs"});
  std::vector<std::string> names, labels;
  for (const auto& m : methods)
    if (m.recorded) names.push_back(m.name), labels.push_back(m.label);
  f.write_strings(schema::kRouterNames, names);
  f.write_strings(schema::kRouterLabels, labels);
  for (const auto& cfg : exp.datasets)
    for (const auto& m : methods) {
      const auto path = ledger.unit("evaluate", cfg.name, m.name);
      // A unit of a method that no longer runs there (evaluation.singles changed) is not the current result.
      if (!cfg.evaluate || !m.recorded || !runs_on(exp, m, cfg.name) || !std::filesystem::exists(path))
        continue;
      const auto u = h5::File::open(path, false);
      f.copy_from(u, schema::query_ids(cfg.name, cfg.test_split));
      for (const auto& object : {schema::routing(cfg.name, m.name), schema::metrics(cfg.name, m.name)})
        f.copy_from(u, object);
      for (const auto& object : {schema::run_doc(cfg.name, m.name), schema::run_score(cfg.name, m.name)})
        runs.copy_from(u, object);
    }
  up.commit();
}

// What every dataset's results depend on: the routers' fit, the query models, the evaluation settings.
nlohmann::json evaluate_common(const Experiment& exp) {
  return {{"pilots", pilot_inputs_fingerprint(exp)},
          {"experts", expert_fingerprints(exp)},
          {"model_files", model_file_identities(exp)},
          {"multitask", exp.train_multitask ? multitask_fingerprint(exp) : "none"},
          {"evaluation", config_section(exp, "evaluation")}};
}

std::string evaluate_fingerprint(const Experiment& exp) {
  auto parts = evaluate_common(exp);
  parts["indexes"] = index_fingerprints(exp);
  parts["datasets"] = dataset_fingerprints(exp);
  return fingerprint_of(parts);
}

// One dataset's unit: the common part and its own index and queries, so that a change to one collection
// re-evaluates that collection only.
std::string evaluate_unit_fingerprint(const Experiment& exp, const DatasetConfig& d) {
  auto parts = evaluate_common(exp);
  parts["index"] = index_fingerprint(exp, d);
  parts["dataset"] = dataset_fingerprint(exp, d);
  return fingerprint_of(parts);
}

// The models (the experts held, the multi-task model); the shard and its tie keys and the search's score
// buffer; the test queries' vectors (base, one single expert at a time, the routed ones, the mixtures' k
// terms); every rank's top-(k+1) lists of its shard for all Q' queries (40 B a hit with what the allocator
// keeps over the methods) and the owner's measure step of its share; BM25 of the shard when the bm25 router
// runs; rank 0 also the stored hits and measures of the singles run on the dataset (the oracles take them).
// Measured at T = 100 (BENCHMARKS.md, "Scale benchmark at T = 100 experts").
double evaluate_peak(const PlanInputs& in) {
  const auto& ev = in.exp.evaluation;
  const double k = static_cast<double>(ev.k), store_k = static_cast<double>(ev.store_k);
  const double mix = static_cast<double>(in.exp.routing.top_k_mix);
  const std::vector<Method> methods = make_methods(in.exp);
  double most = 0;
  for (const auto& c : in.counts) {
    if (!c.evaluated) continue;
    const double Q = static_cast<double>(c.test), N = static_cast<double>(c.documents);
    double singles = 0;
    for (const auto& m : methods) singles += m.expert >= 0 && runs_on(in.exp, m, c.name);
    most = std::max(most, in.shard_bytes(c) + 8 * N / in.P + in.search_buffer_bytes(c) +
                              (3 + mix) * Q * in.d * 4 + Q * std::min(k + 1, N / in.P) * 40 +
                              Q / in.P * (k + 1) * (in.P > 1 ? 200 : 100) +
                              singles * Q * (store_k * 20 + 25 * 8 + 40) +
                              (in.has_router("bm25") ? 4 * PlanInputs::text_bytes(c) / in.P : 0));
  }
  const double multitask = !in.exp.train_multitask          ? 0
                           : in.exp.multitask.full_finetune ? in.model_bytes()
                                                            : in.adapter_bytes();
  return in.model_bytes() + in.loaded_experts() * in.adapter_bytes() + multitask + most;
}

void evaluate(Context& ctx, const StageOptions& options) {
  Ledger(ctx.exp).require_stage("encode", "evaluate");
  std::vector<Method> methods = make_methods(ctx.exp);
  load_routers(ctx, methods);
  const Base base = load_base(ctx);
  std::vector<const Router*> routers;
  for (const auto& m : methods) routers.push_back(m.router.get());
  const QueryModels models = load_query_models(ctx, base, routers);
  for (const auto& cfg : ctx.exp.datasets)
    if (cfg.evaluate)
      evaluate_dataset(ctx, base, cfg, models, methods, evaluate_unit_fingerprint(ctx.exp, cfg),
                       options.force);
  mpi::collective_try(ctx.world, [&] {
    if (ctx.root()) record(ctx, methods);
  });
}

}  // namespace

StageDefinition evaluate_stage() {
  return {"route, embed, search and measure every router and baseline on the test queries",
          evaluate_fingerprint,
          evaluate,
          UnitKind::EvaluateUnit,
          "index.h5, the experts and multi-task model, /router_states, the test queries",
          "M + E × A (+ the multi-task model) + N/P × (d × v + 8) + B × min(C, N/P) × 4 + (3 + top_k_mix) × "
          "Q' × d "
          "× 4 + Q' × min(k + 1, N/P) × 40 B + Q'/P × (k + 1) × 200 B + with bm25, BM25 of the shard ≈ 4 × "
          "text(N)/P; rank 0: the S singles run on the dataset, S × Q' × (store_k × 20 + 240) B",
          evaluate_peak};
}

}  // namespace rr::stages
