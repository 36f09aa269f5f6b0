// routerretriever: the command-line entry point. Dispatches to a tool or a stage of the stage table, turns
// errors into exit statuses (kExitStatus) and initialises MPI only for the MPI programs (the stages).
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iomanip>
#include <iostream>
#include <memory>

#include "common/error.h"
#include "common/log.h"
#include "common/stop_request.h"
#include "common/version.h"
#include "data/source_format.h"
#include "mpi/comm.h"
#include "mpi/commands/commands.h"
#include "mpi/stages/stage.h"

namespace {

using Run = std::function<int(const rr::commands::Args&)>;

// common/error.h's kinds as exit statuses (README.md and docs/architecture.md quote this line; a test
// checks).
constexpr const char* kExitStatus =
    "exit status: 0 success, 2 bad usage or bad input (the message names the file, line and field), 75 "
    "stopped on request (work committed: rerun to resume), 1 anything else";

struct Command {
  std::string name;  // the command words
  std::string summary;
  Run run;
  bool mpi;  // an MPI program (initialises MPI; runs under mpirun/srun or as one rank)
};

std::vector<Command> commands() {
  std::vector<Command> out = {
      {"convert",
       fmt::format("a collection or training queries into a BEIR folder ({})",
                   fmt::join(rr::source_format_names(rr::FormatKind::Collection), ", ")) +
           fmt::format("; training queries: {}",
                       fmt::join(rr::source_format_names(rr::FormatKind::QueryPrefix), ", ")),
       rr::commands::convert, false},
      {"measure", "trec_eval-exact IR measures of a TREC run against TREC qrels", rr::commands::measure,
       false},
      {"bm25", "BM25 run of a BEIR folder (the evaluate stage's lexical baseline)", rr::commands::bm25,
       false},
      {"embed", "HF-identical embeddings of JSON-lines texts (base model + optional LoRA adapter)",
       rr::commands::embed, false},
      {"vocab", "learn a WordPiece vocabulary (BertTokenizer vocab.txt) from JSON-lines corpora",
       rr::commands::vocab, false},
      {"tokenize", "HF-identical BERT WordPiece ids of JSON-lines texts", rr::commands::tokenize, false},
      {"check", "pre-flight of an experiment: every input checked, the plan for P ranks", rr::commands::check,
       false},
      {"config", "print effective config values (for scripts)", rr::commands::config, false},
      {"status", "where an experiment stands: each stage done, or its units committed so far",
       rr::commands::status, false},
  };
  for (const auto& s : rr::stages::stage_table())
    out.push_back({s.command, "stage: " + s.summary,
                   [&s](const auto& args) { return rr::commands::stage(s, args); }, true});
  out.push_back({"pipeline", "all stages in order, skipping completed ones", rr::commands::pipeline, true});
  out.push_back(
      {"stages", "list the stages (for scripts such as jobs/submit.sh)", rr::commands::list_stages, false});
  return out;
}

void print_usage(std::ostream& out) {
  out << "usage: routerretriever <command> [options]   (routerretriever <command> --help, --version)\n\n"
         "RouterRetriever: routing over a mixture of expert embedding models.\n\ncommands:\n";
  for (const auto& c : commands()) out << "  " << std::left << std::setw(17) << c.name << c.summary << "\n";
  out << "\n" << kExitStatus << "\n";
}

// The command named by argv[1] (and argv[2] for two-word commands such as "train base"), and how many
// words it took.
std::pair<const Command*, int> find_command(const std::vector<Command>& all, int argc, char** argv) {
  for (const auto& c : all) {
    if (c.name == argv[1]) return {&c, 1};
    if (argc > 2 && c.name == std::string(argv[1]) + " " + argv[2]) return {&c, 2};
  }
  return {nullptr, 0};
}

}  // namespace

int main(int argc, char** argv) {
  rr::setup_logging("info");
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "routerretriever " << rr::version() << "\n";  // also recorded in results.h5 (/meta, version)
    return 0;
  }
  const auto all = commands();
  const auto [cmd, words] = find_command(all, argc, argv);
  if (!cmd) {
    std::string known;  // the commands that begin with this word ("train" -> "train base", ...)
    for (const auto& c : all)
      if (c.name.rfind(std::string(argv[1]) + " ", 0) == 0) known += (known.empty() ? "" : ", ") + c.name;
    if (known.empty())
      std::cerr << "routerretriever: unknown command '" << argv[1] << "'\n";
    else
      std::cerr << "routerretriever: '" << argv[1] << "' needs one more word: " << known << "\n";
    print_usage(std::cerr);
    return 2;
  }
  std::unique_ptr<rr::mpi::Environment> env;
  try {
    if (cmd->mpi) {
      env = std::make_unique<rr::mpi::Environment>(argc, argv);
      rr::install_stop_request_handler();  // after MPI's own signal set-up
    }
    rr::commands::Args args(argv + 1 + words, argv + argc);
    return cmd->run(args);
  } catch (const rr::Error& e) {
    // An agreed error is the same on every rank: said once.
    const bool say = !(env && e.agreed()) || rr::mpi::Comm::world().is_root();
    spdlog::log(say ? spdlog::level::err : spdlog::level::debug, "{}", e.what());
    spdlog::debug("raised at {}", e.source());
    // An error every rank agreed on (collective_try) ends every rank normally; any other stops the job.
    if (env && !e.agreed() && rr::mpi::Comm::world().size() > 1) rr::mpi::Comm::world().abort(e.exit_code());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    if (env && rr::mpi::Comm::world().size() > 1) rr::mpi::Comm::world().abort(1);
    return 1;
  }
}
