// routerretriever status: where an experiment stands, read from its output directory alone (one process, no
// MPI, safe while jobs run): per stage, done (its recorded fingerprint is the current one), or the units
// committed so far (index blocks, experts, score columns, evaluate units) and checkpoints. jobs/status.sh
// adds the Slurm side (the chain's jobs, states, times, the last error line of a failed job).
#include <fmt/format.h>

#include <iostream>

#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "h5data/schema.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"
#include "mpi/stages/fingerprints.h"
#include "mpi/stages/stage.h"
#include "mpi/stages/train_record.h"
#include "mpi/stages/unit_file.h"

namespace rr::commands {

namespace {

namespace fs = std::filesystem;

// Committed index blocks over every dataset: "d of n blocks" ("" when index.h5 is absent or busy).
std::string encode_progress(const Experiment& exp) {
  if (!fs::exists(exp.index_file())) return "";
  try {
    const auto f = h5::File::open(exp.index_file(), false);
    int64_t done = 0, total = 0;
    for (const auto& d : exp.datasets) {
      if (!f.exists(schema::index_blocks_done(d.name))) continue;
      const at::Tensor flags = f.read(schema::index_blocks_done(d.name));
      done += flags.sum().item<int64_t>();
      total += flags.numel();
    }
    return total ? fmt::format("{} of {} index blocks", done, total) : "";
  } catch (const Error&) {
    return "index.h5 busy or unreadable";
  }
}

size_t experts_trained(const Experiment& exp) {
  size_t done = 0;
  for (const auto& x : exp.experts)
    done += stages::recorded_fingerprint(x.adapter) == stages::expert_fingerprint(exp, x);
  return done;
}

// Whether a stage's output is complete: its recorded fingerprint is the current one; the experts' stage also
// when every expert is (a job array trains them one per task and records no stage as a whole).
bool stage_done(const Experiment& exp, const std::string& stage) {
  const std::string fp = stages::stage_fingerprint(exp, stage);
  if (!fp.empty() && h5::stage_fingerprint(exp.results_file(), stage) == fp) return true;
  return stage == "train-expert" && experts_trained(exp) == exp.experts.size();
}

int64_t units_in(const fs::path& dir) {
  int64_t n = 0;
  if (fs::is_directory(dir))
    for (const auto& e : fs::recursive_directory_iterator(dir))
      n += e.is_regular_file() && e.path().extension() == ".h5";
  return n;
}

std::string progress(const Experiment& exp, const std::string& stage) {
  const auto checkpoint = [&](const std::string& label) {
    return fs::exists(exp.output() / "checkpoints" / label) ? "checkpoint written, resumes from it" : "";
  };
  if (stage == "encode") return encode_progress(exp);
  if (stage == "train-base") return exp.base.train ? checkpoint("base") : "";
  if (stage == "train-multitask") return checkpoint("multitask");
  if (stage == "train-expert") {
    const size_t done = experts_trained(exp);
    return done ? fmt::format("{} of {} experts trained", done, exp.experts.size()) : "";
  }
  if (stage == "score") {  // one unit per (training dataset, expert), plus each dataset's base embeddings
    const int64_t done = units_in(exp.output() / "units" / "score");
    const auto total = exp.training_datasets().size() * (exp.experts.size() + 1);
    return done ? fmt::format("{} of {} score units", done, total) : "";
  }
  if (stage == "evaluate") {
    const int64_t done = units_in(exp.output() / "units" / "evaluate");
    return done ? fmt::format("{} (dataset, method) units committed", done) : "";
  }
  return "";
}

}  // namespace

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
  std::cout << fmt::format("{}: {}\n", exp.name, exp.output().string());
  for (const auto& s : stages::stage_table()) {
    const bool always = stages::stage_fingerprint(exp, s.name).empty();  // e.g. report
    const bool done = !always && stage_done(exp, s.name);
    const std::string more = done ? "" : always ? "(runs each time it is called)" : progress(exp, s.name);
    const char* state = done ? "done" : always ? "-" : more.empty() ? "not done" : "partial";
    std::cout << fmt::format("  {:<16} {:<8} {}\n", s.name, state, more);
  }
  return 0;
}

}  // namespace rr::commands
