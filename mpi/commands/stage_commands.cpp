// The stage subcommands: routerretriever prepare|train|encode|score|pilot|evaluate|report|pipeline --config
// EXP.json
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/runtime_info.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "mpi/stages/stages.h"

namespace rr::commands {

namespace {

struct StageArgs {
  std::string config;
  std::vector<std::string> overrides;
  bool force = false;
  std::string what;  // train: base|expert|multitask; expert: name
  std::string expert;
};

bool parse_stage(const std::string& name, const std::string& summary, const Args& args, StageArgs& out,
                 bool takes_kind = false) {
  cli::po::options_description opt(name + " options");
  opt.add_options()("config", cli::po::value<std::string>(), "experiment config (JSON; see experiments/)")(
      "set", cli::po::value<std::vector<std::string>>()->composing(),
      "override one config key: --set expert_training.lr=5e-5 (repeatable)")(
      "force", cli::po::bool_switch(), "redo the work even when its outputs are complete");
  if (takes_kind)
    opt.add_options()("what", cli::po::value<std::string>(), "base, expert or multitask")(
        "expert", cli::po::value<std::string>()->default_value(""),
        "train only this expert (default: all, placed on ranks)");
  cli::po::positional_options_description pos;
  if (takes_kind) pos.add("what", 1);
  cli::po::variables_map vm;
  if (!cli::parse({name,
                   takes_kind ? "base|expert|multitask --config EXP.json [--expert NAME] [--set k=v]..."
                              : "--config EXP.json [--set key=value]... [--force]",
                   summary + "\nRun it as one process or under mpirun / srun; the results do not depend on "
                             "the rank count."},
                  opt, args, vm, takes_kind ? &pos : nullptr))
    return false;
  out.config = cli::required<std::string>(vm, "config");
  if (vm.count("set")) out.overrides = vm["set"].as<std::vector<std::string>>();
  out.force = vm["force"].as<bool>();
  if (takes_kind) {
    out.what = cli::required<std::string>(vm, "what");
    out.expert = vm["expert"].as<std::string>();
  }
  return true;
}

template <typename Fn>
int run_stage(const std::string& name, const std::string& summary, const Args& args, Fn&& fn,
              bool takes_kind = false) {
  StageArgs a;
  if (!parse_stage(name, summary, args, a, takes_kind)) return 0;
  log_runtime();
  stages::Context ctx = stages::make_context(a.config, a.overrides, 0);
  fn(ctx, a);
  return 0;
}

}  // namespace

int prepare(const Args& args) {
  return run_stage("prepare",
                   "Makes each dataset's BEIR folder and splits its judged queries (train/dev/test).", args,
                   [](auto& ctx, auto& a) { stages::prepare(ctx, a.force); });
}

int train(const Args& args) {
  return run_stage(
      "train",
      "Trains rr's base encoder from scratch, the experts (LoRA, query side) or the multi-task model.", args,
      [](auto& ctx, auto& a) {
        if (a.what == "base")
          stages::train_base_model(ctx, a.force);
        else if (a.what == "expert")
          stages::train_experts(ctx, a.expert, a.force);
        else if (a.what == "multitask")
          stages::train_multitask(ctx, a.force);
        else
          RR_THROW(Usage, "train: expected base, expert or multitask, got '{}'", a.what);
      },
      true);
}

int encode(const Args& args) {
  return run_stage("encode",
                   "Encodes every corpus once with the base model into the sharded index (index.h5).", args,
                   [](auto& ctx, auto& a) { stages::encode(ctx, a.force); });
}

int score(const Args& args) {
  return run_stage("score", "Per-instance nDCG@10 of every training query under every expert (/scores).",
                   args, [](auto& ctx, auto& a) { stages::score(ctx, a.force); });
}

int pilot(const Args& args) {
  return run_stage("pilot", "Builds the pilot-embedding library from the per-instance scores (/pilots).",
                   args, [](auto& ctx, auto& a) { stages::pilot(ctx, a.force); });
}

int evaluate(const Args& args) {
  return run_stage("evaluate",
                   "Routes, embeds, searches and measures every router and baseline on the test queries.",
                   args, [](auto& ctx, auto& a) { stages::evaluate(ctx, a.force); });
}

int report(const Args& args) {
  return run_stage("report", "Prints the Table 1 layout (nDCG@10 x 100) and routing counts from results.h5.",
                   args, [](auto& ctx, auto&) { stages::report(ctx); });
}

int pipeline(const Args& args) {
  return run_stage(
      "pipeline",
      "prepare -> train base -> encode -> train expert -> train multitask -> score -> pilot -> evaluate -> "
      "report,\neach stage skipping work whose outputs are complete (a killed pipeline resumes).",
      args, [](auto& ctx, auto& a) { stages::pipeline(ctx, a.force); });
}

}  // namespace rr::commands
