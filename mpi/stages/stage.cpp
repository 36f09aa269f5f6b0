#include "mpi/stages/stage.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

#include "common/atomic_output.h"
#include "common/error.h"
#include "common/runtime_info.h"
#include "config/stage_list.h"
#include "h5data/h5_file.h"
#include "model/autocast.h"
#include "model/device.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/provenance.h"

namespace rr::stages {

#define RR_DECLARE_STAGE(id, name, command, klass, array) StageDefinition id##_stage();
RR_STAGES(RR_DECLARE_STAGE)
#undef RR_DECLARE_STAGE

const char* unit_kind_name(UnitKind kind) {
  switch (kind) {
    case UnitKind::Stage:
      return "the stage";
    case UnitKind::Dataset:
      return "one dataset's folder";
    case UnitKind::IndexBlock:
      return "one corpus block";
    case UnitKind::Checkpoint:
      return "a checkpoint";
    case UnitKind::Expert:
      return "one expert (its checkpoints)";
    case UnitKind::ScoreUnit:
      return "one (dataset, expert) column";
    case UnitKind::EvaluateUnit:
      return "one (dataset, method) result";
  }
  return "?";
}

const std::vector<Stage>& stage_table() {
  static const std::vector<Stage> stages = [] {
    const std::vector<StageDefinition> definitions = {
#define RR_STAGE_DEFINITION(id, name, command, klass, array) id##_stage(),
        RR_STAGES(RR_STAGE_DEFINITION)
#undef RR_STAGE_DEFINITION
    };
    std::vector<Stage> out;
    for (size_t i = 0; i < definitions.size(); ++i) out.push_back({stage_names()[i], definitions[i]});
    return out;
  }();
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

std::string stage_lines() {
  std::string out;
  for (const auto& s : stage_table())
    out += fmt::format("{}\t{}\t{}\t{}\t{}\n", s.name, s.command,
                       s.klass == StageClass::OneTask ? "one-task" : "ranks",
                       s.array == StageArray::None        ? "-"
                       : s.array == StageArray::PerExpert ? "per-expert"
                                                          : "per-expert+assemble",
                       s.summary);
  return out;
}

std::string stage_markdown() {
  std::string out =
      "| stage | command | class | array | reads | unit of commit | peak memory per rank |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& s : stage_table())
    out += fmt::format("| {} | `routerretriever {}` | {} | {} | {} | {} | {} |\n", s.name, s.command,
                       stage_class_name(s.klass), stage_array_name(s.array), s.inputs,
                       s.fingerprint ? unit_kind_name(s.unit) : "— (runs each time)", s.memory);
  return out;
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

namespace {

std::string env_or(const char* name, const char* otherwise) {
  const char* v = std::getenv(name);
  return v ? v : otherwise;
}

// Where this rank runs, for messages: "Slurm job 123 (rr-encode) on node n1".
std::string job_and_node() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string job = env_or("SLURM_JOB_ID", "");
  return fmt::format(
      "{} on node {}",
      job.empty() ? "not a Slurm job" : fmt::format("Slurm job {} ({})", job, env_or("SLURM_JOB_NAME", "?")),
      host);
}

// The device `stage` runs on, on every rank before it works (collective): a one-task stage on the CPU (it
// never initialises CUDA, so a CPU job of a GPU experiment runs anywhere); a P-rank stage on the experiment's
// device, and a rank that cannot use it fails the stage at once, naming the job, the node and the GPUs it
// saw.
void place_stage(Context& ctx, const Stage& stage) {
  if (stage.klass == StageClass::OneTask) {
    ctx.device = c10::Device(c10::kCPU);
    return;
  }
  mpi::collective_try(ctx.world, [&] {
    try {
      ctx.device = parse_device(ctx.exp.device, mpi::Environment::node_placement().rank);
    } catch (const Error& e) {
      RR_THROW(Usage,
               "{}: stage '{}' runs on device '{}' on every rank, and rank {} cannot use it: {} ({}, "
               "CUDA_VISIBLE_DEVICES={}). Nothing was done: give the job a GPU (Slurm: --gpus-per-task, the "
               "experiment's slurm section), or run with --set device=cpu",
               ctx.exp.file.string(), stage.name, ctx.exp.device, ctx.world.rank(), e.what(), job_and_node(),
               env_or("CUDA_VISIBLE_DEVICES", "unset"));
    }
  });
}

// What a stage ran with, recorded in /meta/<stage> beside its fingerprint: the device and the precision
// actually used (bf16 inference is refused where it is not fast; training falls back to fp32 there).
std::map<std::string, std::string> stage_facts(const Context& ctx) {
  const auto training = [&](bool bf16) { return bf16 && has_fast_bf16(ctx.device) ? "bf16" : "fp32"; };
  const auto& exp = ctx.exp;
  return {{"device", ctx.device.str()},
          {"precision", exp.evaluation.bf16 ? "bf16" : "fp32"},
          {"training_precision", nlohmann::json{{"base", training(exp.base.train && exp.base.training.bf16)},
                                                {"experts", training(exp.expert_training.bf16)},
                                                {"multitask", training(exp.multitask.bf16)}}
                                     .dump()}};
}

}  // namespace

void run_stage(Context& ctx, const Stage& stage, const StageOptions& options) {
  const Ledger ledger(ctx.exp);
  place_stage(ctx, stage);
  const std::string fp = stage.fingerprint ? stage.fingerprint(ctx.exp) : "";
  // Partial runs (one expert of an array) neither skip nor record the stage as a whole.
  const bool whole = options.expert.empty();
  // Before anything, up to date or not: says what changed since the last record, verifies expected checksums.
  const auto inputs = current_inputs(ctx, stage.name);
  if (whole && !options.force && ledger.stage_done(stage)) {
    if (ctx.root()) spdlog::info("{}: up to date (inputs unchanged since it last completed)", stage.name);
    return;
  }
  const StageMeter meter;
  stage.run(ctx, options);
  meter.report(ctx, stage.name);
  if (!whole || fp.empty()) return;
  auto after = list_inputs(ctx.exp);  // with the models this stage trained
  checksum_inputs(after, inputs, &ctx.world);
  const auto facts = stage_facts(ctx);
  const RunPlace place = run_place(ctx);
  ledger.record_stage(ctx, stage, fp, facts,
                      [&](h5::File& f) { write_provenance(f, ctx, stage.name, place, facts, after); });
}

}  // namespace rr::stages
