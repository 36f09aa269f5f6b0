// pilot: the pilot-embedding library from the per-instance scores (DESIGN.md, "Pilot library"): per training
// dataset each query's best expert (routing.tie_rule), then the centroid (or k-means centroids) of the base
// embeddings of each non-empty (dataset, expert) group. Prints the share of tied queries per dataset.
// It also fits every configured router that learns (classifiers, the dataset router, the pilot-based ones)
// on this routing training set and stores their states, so that evaluate, which runs on every rank, never
// holds the training queries: a rank-0 stage (one task), like prepare.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/methods.h"
#include "mpi/stages/plan.h"
#include "mpi/stages/stage.h"
#include "router/pilot_library.h"

namespace rr::stages {

namespace {

// The routing training set (rank 0): every training dataset's base embeddings, scores and query ids.
RoutingTrainingSet read_training_set(const Experiment& exp) {
  const auto f = h5::File::open(exp.results_file(), false);
  RR_CHECK(f.exists(schema::kExperts), Input, "{}: no scores yet (run `score` first)",
           exp.results_file().string());
  RR_CHECK(f.read_strings(schema::kExperts) == exp.expert_names(), Input,
           "{}: the scores are for other experts (run `score` again)", exp.results_file().string());
  RoutingTrainingSet t;
  t.num_experts = static_cast<int32_t>(exp.experts.size());
  t.datasets = exp.training_datasets();
  for (const auto& ds : t.datasets) {
    t.query_ids.push_back(f.read_strings(schema::query_ids(ds, exp.dataset(ds).train_split)));
    t.scores.push_back(f.read_matrix(schema::scores(ds)));  // Q x T (stored [Q] when T = 1)
    t.base.push_back(f.read(schema::train_query_base(ds)));
    t.dataset_expert.push_back(exp.expert_of(ds));
  }
  return t;
}

void build_and_store(const Context& ctx) {
  const auto& exp = ctx.exp;
  const auto& names = exp.training_datasets();
  RoutingTrainingSet train = read_training_set(exp);
  std::vector<std::vector<int32_t>> labels;
  for (size_t d = 0; d < names.size(); ++d) {
    const at::Tensor& scores = train.scores[d];
    labels.push_back(best_experts(scores, exp.routing.tie_rule));
    spdlog::info("pilot: {}: {:.1f}% of {} training queries tie between experts (rule: {})", names[d],
                 100 * tied_share(scores), scores.size(0),
                 exp.routing.tie_rule == TieRule::First ? "first expert" : "skipped");
  }
  const PilotLibrary lib = build_pilots(train.base, labels, exp.routing.pilots_per_group, exp.seed);
  h5::ResultsUpdate up(exp.results_file(), {schema::kPilots, schema::kRouterStates});
  auto& f = up.file();
  // The embeddings as written and as the routers learn from them (evaluate used to read them back): HDF5
  // holds no 0 x 0 matrix, so an empty library is 0 x 1.
  const at::Tensor emb = lib.emb.size(1) > 0 ? lib.emb : lib.emb.reshape({0, 1});
  f.write(schema::kPilotEmb, emb);
  f.write(schema::kPilotExpert, at::tensor(lib.expert, at::kInt));
  f.write(schema::kPilotDataset, at::tensor(lib.dataset, at::kInt));
  f.write(schema::kPilotCount, at::tensor(lib.count, at::kLong));
  f.set_attr(schema::kPilots, schema::kAttrExperts, exp.expert_names());
  f.set_attr(schema::kPilots, "datasets", names);
  train.pilots.emb = emb;
  train.pilots.expert = lib.expert;
  std::vector<std::string> fitted;
  f.create_group(schema::kRouterStates);
  for (auto& m : make_methods(exp)) {
    if (!m.router->needs_training()) continue;
    m.router->fit(train);
    write_router_state(f, m.name, m.router->state());
    fitted.push_back(m.name);
  }
  up.commit();
  spdlog::info("pilot: {} pilots for {} experts from {} training datasets; fitted routers: {}",
               lib.expert.size(), exp.experts.size(), names.size(),
               fitted.empty() ? "none" : fmt::format("{}", fmt::join(fitted, ", ")));
}

void pilot(Context& ctx, const StageOptions&) {
  Ledger(ctx.exp).require_stage("score", "pilot");
  mpi::collective_try(ctx.world, [&] {
    if (ctx.root()) build_and_store(ctx);
  });
}

// It also stores the fitted routers (since 2026-12-02): a results file from before reruns pilot once, while
// evaluate's fingerprint (the same inputs) is unchanged.
std::string pilot_fingerprint(const Experiment& exp) {
  return fingerprint_of({{"pilots", pilot_inputs_fingerprint(exp)}, {"router_states", true}});
}

// One rank: every training dataset's base embeddings, scores and query ids, and the classifier routers'
// standardised copy of the labelled rows.
double pilot_peak(const PlanInputs& in) {
  double sum = 0, largest = 0, labelled = 0;
  for (const auto& c : in.counts)
    if (c.has_expert) {
      sum += static_cast<double>(c.train);
      largest = std::max(largest, static_cast<double>(c.train));
      // The classifiers' labelled rows: counted from /scores when score has run, else bounded by Q.
      labelled += static_cast<double>(c.labelled >= 0 ? c.labelled : c.train);
    }
  const bool classifier = in.has_router("expert-classifier") || in.has_router("classification-head");
  return sum * (in.d * 4 + in.T() * 8 + 50) + largest * in.T() * 8 +
         (classifier ? labelled * (in.d * 4 + 40 * in.T()) : 0);
}

}  // namespace

StageDefinition pilot_stage() {
  return {
      "build the pilot-embedding library from the per-instance scores and fit the routers (/pilots, "
      "/router_states)",
      pilot_fingerprint,
      pilot,
      UnitKind::Stage,
      "/scores and /train_queries of results.h5",
      "rank 0: ΣQ × (d × 4 + T × 8 + 50) over the training datasets + max Q × T × 8 + with a classifier "
      "router U × (d × 4 + 40 B × T) (U: the labelled rows, counted from /scores once scored, else ΣQ) + the "
      "pilots",
      pilot_peak};
}

}  // namespace rr::stages
