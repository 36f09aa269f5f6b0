#include "mpi/stages/stage.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/runtime_info.h"
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
      {"pilot", "pilot",
       "build the pilot-embedding library from the per-instance scores and fit the routers (/pilots, "
       "/router_states)",
       pilot},
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

namespace {

// What a stage cost each rank: wall time, peak resident memory and MPI payload traffic. Rank 0 logs the
// spread and writes <output_dir>/resources/<stage>.json (per-rank arrays; bench/scale_bench.py reads them).
class StageMeter {
 public:
  StageMeter() : start_(std::chrono::steady_clock::now()), traffic_(mpi::traffic()) { reset_peak_rss(); }
  void report(const Context& ctx, const std::string& stage) const {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const mpi::Traffic now = mpi::traffic();
    const std::vector<int64_t> mine{peak_rss_bytes(), now.sent - traffic_.sent,
                                    now.received - traffic_.received};
    const std::vector<int64_t> all = ctx.world.gatherv(mine);
    const double slowest = ctx.world.bcast_value(wall);  // rank 0's wall time: every stage ends collectively
    if (!ctx.root()) return;
    nlohmann::json j{{"stage", stage}, {"ranks", ctx.world.size()}, {"wall_s", slowest}};
    for (size_t r = 0; r < all.size(); r += 3) {
      j["peak_rss_bytes"].push_back(all[r]);
      j["sent_bytes"].push_back(all[r + 1]);
      j["received_bytes"].push_back(all[r + 2]);
    }
    std::vector<int64_t> peaks = j["peak_rss_bytes"].get<std::vector<int64_t>>();
    std::sort(peaks.begin(), peaks.end());
    spdlog::info(
        "{}: {:.1f} s; peak RSS per rank: rank 0 {:.0f} MB, median {:.0f} MB, max {:.0f} MB; "
        "rank 0 sent {:.1f} MB, received {:.1f} MB",
        stage, slowest, all[0] / 1e6, peaks[peaks.size() / 2] / 1e6, peaks.back() / 1e6, all[1] / 1e6,
        all[2] / 1e6);
    try {
      AtomicFile f(ctx.exp.output() / "resources" / (stage + ".json"));
      f.stream() << j.dump() << "\n";
      f.commit();
    } catch (const Error& e) {
      spdlog::warn("{}: resource summary not written: {}", stage, e.what());
    }
  }

 private:
  std::chrono::steady_clock::time_point start_;
  mpi::Traffic traffic_;
};

}  // namespace

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
  const StageMeter meter;
  stage.run(ctx, options);
  meter.report(ctx, stage.name);
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
