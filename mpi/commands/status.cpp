// routerretriever status: where an experiment stands, read from its output directory alone (one process, no
// MPI, safe while jobs run): per stage, done (its recorded fingerprint is the current one), or the units
// committed so far (index blocks, experts, score columns, evaluate units) and checkpoints. jobs/status.sh
// adds the Slurm side (the chain's jobs, states, times, the last error line of a failed job).
#include <fmt/format.h>

#include <iostream>

#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "mpi/stages/ledger.h"
#include "mpi/stages/stage.h"

namespace rr::commands {

int status(const Args& args) {
  cli::po::options_description opt("status options");
  cli::add_experiment_options(opt);
  cli::po::variables_map vm;
  if (!cli::parse(
          {"status", "--config EXP.json [--set key=value]...",
           "Prints one line per stage: done, or the work committed so far (units, checkpoints), read\n"
           "from the output directory. Safe while the experiment runs; jobs/status.sh adds Slurm's view."},
          opt, args, vm))
    return 0;
  const Experiment exp = cli::load_experiment(vm);
  const stages::Ledger ledger(exp);
  std::cout << fmt::format("{}: {}\n", exp.name, exp.output().string());
  for (const auto& s : stages::stage_table()) {
    if (!s.fingerprint) {  // e.g. report
      std::cout << fmt::format("  {:<16} {:<8} {}\n", s.name, "-", "(runs each time it is called)");
      continue;
    }
    const auto [done, units] = ledger.progress(s);
    std::cout << fmt::format("  {:<16} {:<8} {}\n", s.name,
                             done            ? "done"
                             : units.empty() ? "not done"
                                             : "partial",
                             done ? "" : units);
  }
  return 0;
}

}  // namespace rr::commands
