#include "mpi/stages/stage.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "h5data/results_update.h"
#include "mpi/stages/fingerprints.h"

namespace rr::stages {

const std::vector<Stage>& stage_table() {
  static const std::vector<Stage> stages = {
      {"prepare", "prepare", "make each dataset's BEIR folder and split its judged queries (train/dev/test)",
       prepare},
      {"train-base", "train base", "train rr's own base encoder from scratch (when base.train is set)",
       train_base},
      {"encode", "encode", "encode every corpus once with the base into the sharded index (index.h5)",
       encode},
      {"train-expert", "train expert", "train one LoRA expert per domain on the query side (placed on ranks)",
       train_experts},
      {"train-multitask", "train multitask", "train the multi-task baseline on every expert's data",
       train_multitask},
      {"score", "score", "per-instance nDCG@10 of every training query under every expert (/scores)", score},
      {"pilot", "pilot", "build the pilot-embedding library from the per-instance scores (/pilots)", pilot},
      {"evaluate", "evaluate",
       "route, embed, search and measure every router and baseline on the test queries", evaluate},
      {"report", "report", "print the Table 1 layout (nDCG@10 x 100) and routing counts from results.h5",
       report},
  };
  return stages;
}

const Stage& find_stage(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& s : stage_table()) {
    if (s.name == name) return s;
    names.push_back(s.name);
  }
  RR_THROW(Usage, "unknown stage '{}' (stages: {})", name, fmt::join(names, ", "));
}

void run_stage(Context& ctx, const Stage& stage, const StageOptions& options) {
  const std::string fp = stage_fingerprint(ctx.exp, stage.name);
  // Partial runs (one expert of an array) neither skip nor record the stage as a whole.
  const bool whole = options.expert.empty();
  const bool complete = whole && !fp.empty() && !options.force &&
                        h5::stage_fingerprint(ctx.exp.results_file(), stage.name) == fp;
  if (complete) {
    if (ctx.root()) spdlog::info("{}: up to date (inputs unchanged since it last completed)", stage.name);
    return;
  }
  stage.run(ctx, options);
  if (!whole || fp.empty()) return;
  mpi::collective_try(ctx.world, [&] {
    if (!ctx.root()) return;
    h5::ResultsUpdate up(ctx.exp.results_file(), {});
    h5::write_stage_meta(up.file(), stage.name, ctx.config_json(), ctx.world.size(),
                         static_cast<int64_t>(ctx.exp.seed), fp);
    up.commit();
  });
}

}  // namespace rr::stages
