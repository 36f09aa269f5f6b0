// pilot: the pilot-embedding library from the per-instance scores (DESIGN.md, "Pilot library"): per training
// dataset each query's best expert (routing.tie_rule), then the centroid (or k-means centroids) of the base
// embeddings of each non-empty (dataset, expert) group. Prints the share of tied queries per dataset.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/stages/stage.h"
#include "router/pilot_library.h"

namespace rr::stages {

namespace {

void build_and_store(const Context& ctx) {
  const auto& exp = ctx.exp;
  const auto names = exp.training_datasets();
  std::vector<at::Tensor> base;
  std::vector<std::vector<int32_t>> labels;
  {
    auto f = h5::File::open(exp.results_file(), false);
    RR_CHECK(f.exists(schema::kExperts), Input, "{}: no scores yet (run `score` first)",
             exp.results_file().string());
    RR_CHECK(f.read_strings(schema::kExperts) == exp.expert_names(), Input,
             "{}: the scores are for other experts (run `score` again)", exp.results_file().string());
    for (const auto& ds : names) {
      const at::Tensor scores = f.read(schema::scores(ds));
      labels.push_back(best_experts(scores, exp.routing.tie_rule));
      base.push_back(f.read(schema::train_query_base(ds)));
      spdlog::info("pilot: {}: {:.1f}% of {} training queries tie between experts (rule: {})", ds,
                   100 * tied_share(scores), scores.size(0),
                   exp.routing.tie_rule == TieRule::First ? "first expert" : "skipped");
    }
  }
  const PilotLibrary lib = build_pilots(base, labels, exp.routing.pilots_per_group, exp.seed);
  h5::ResultsUpdate up(exp.results_file(), {schema::kPilots});
  auto& f = up.file();
  f.write(schema::kPilotEmb, lib.emb.size(1) > 0 ? lib.emb : lib.emb.reshape({0, 1}));
  f.write(schema::kPilotExpert, at::tensor(lib.expert, at::kInt));
  f.write(schema::kPilotDataset, at::tensor(lib.dataset, at::kInt));
  f.write(schema::kPilotCount, at::tensor(lib.count, at::kLong));
  f.set_attr(schema::kPilots, schema::kAttrExperts, exp.expert_names());
  f.set_attr(schema::kPilots, "datasets", names);
  up.commit();
  spdlog::info("pilot: {} pilots for {} experts from {} training datasets", lib.expert.size(),
               exp.experts.size(), names.size());
}

}  // namespace

void pilot(Context& ctx, const StageOptions&) {
  mpi::collective_try(ctx.world, [&] {
    if (ctx.root()) build_and_store(ctx);
  });
}

}  // namespace rr::stages
