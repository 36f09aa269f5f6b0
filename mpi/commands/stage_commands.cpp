// The stage subcommands (`routerretriever prepare|train base|...|report --config EXP.json`), `pipeline` and
// `stages`, all driven by the stage table (mpi/stages/stage.h); array stages take --expert.
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "common/error.h"
#include "common/runtime_info.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "mpi/stages/run_lock.h"
#include "mpi/stages/stage.h"

namespace rr::commands {

namespace {

struct StageArgs {
  std::string config;
  std::vector<std::string> overrides;
  stages::StageOptions options;
  bool break_lock = false;
};

// Parses the options every stage takes; returns false after --help.
bool parse_stage_args(const std::string& command, const std::string& summary, const Args& args,
                      bool takes_expert, StageArgs& out) {
  cli::po::options_description opt(command + " options");
  cli::add_experiment_options(opt);
  opt.add_options()("force", cli::po::bool_switch(), "redo the work even when its outputs are complete")(
      "break-lock", cli::po::bool_switch(),
      "take <output_dir>/rr.lock even though another run holds it (that run must be gone)");
  if (takes_expert)
    opt.add_options()(
        "expert", cli::po::value<std::string>()->default_value(""),
        "only this expert (train expert: train it; score: its score columns, as one task of a job "
        "array, leaving results.h5 to a plain `score`); default: all");
  cli::po::variables_map vm;
  const std::string synopsis =
      std::string("--config EXP.json [--set key=value]... [--force] [--break-lock]") +
      (takes_expert ? " [--expert NAME]" : "");
  if (!cli::parse(
          {command, synopsis,
           summary +
               "\nRun it as one process or under mpirun / srun; the results do not depend on the rank "
               "count.\nComplete work (same inputs as when it was recorded) is skipped unless --force. One "
               "run at\n"
               "a time writes an output folder (<output_dir>/rr.lock; array tasks with --expert take none)."},
          opt, args, vm))
    return false;
  out.config = cli::required<std::string>(vm, "config");
  out.overrides = cli::overrides(vm);
  out.options.force = vm["force"].as<bool>();
  out.break_lock = vm["break-lock"].as<bool>();
  if (takes_expert) out.options.expert = vm["expert"].as<std::string>();
  return true;
}

}  // namespace

int stage(const stages::Stage& s, const Args& args) {
  StageArgs a;
  if (!parse_stage_args(s.command, s.summary, args, s.array != StageArray::None, a)) return 0;
  log_runtime(mpi::Comm::world().is_root());
  stages::Context ctx = stages::make_context(a.config, a.overrides);
  std::optional<stages::RunLock> lock;  // array tasks run at once by design: each writes only its own units
  if (a.options.expert.empty()) lock.emplace(ctx, s.command + " --config " + a.config, a.break_lock);
  stages::run_stage(ctx, s, a.options);
  return 0;
}

int pipeline(const Args& args) {
  std::string summary =
      "Every stage in order, each skipping work whose outputs are complete (a killed pipeline "
      "resumes):\n ";
  for (const auto& s : stages::stage_table()) summary += " " + s.name;
  StageArgs a;
  if (!parse_stage_args("pipeline", summary, args, false, a)) return 0;
  log_runtime(mpi::Comm::world().is_root());
  stages::Context ctx = stages::make_context(a.config, a.overrides);
  const stages::RunLock lock(ctx, "pipeline --config " + a.config, a.break_lock);
  for (const auto& s : stages::stage_table()) {
    const auto t0 = std::chrono::steady_clock::now();
    if (ctx.root()) spdlog::info("pipeline: == {} ==", s.name);
    stages::run_stage(ctx, s, a.options);
    if (ctx.root())
      spdlog::info("pipeline: {} took {:.1f} s", s.name,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 0;
}

int list_stages(const Args& args) {
  cli::po::options_description opt("stages options");
  opt.add_options()("markdown", cli::po::bool_switch(),
                    "the stage table of docs/architecture.md instead (class, array, inputs, unit of commit, "
                    "peak memory per rank)");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"stages", "[--markdown]",
           "Lists the stages in pipeline order, one per line, tab-separated: name, command, class\n"
           "(one-task | ranks), array (- | per-expert | per-expert+assemble), summary. jobs/submit.sh\n"
           "reads it."},
          opt, args, vm))
    return 0;
  std::cout << (vm["markdown"].as<bool>() ? stages::stage_markdown() : stages::stage_lines());
  return 0;
}

}  // namespace rr::commands
