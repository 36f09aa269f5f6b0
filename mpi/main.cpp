// routerretriever: the command-line entry point. Dispatches to a subcommand, turns errors into exit
// statuses (0 success, 2 bad usage or input, 1 anything else) and initialises MPI only for the
// subcommands that are MPI programs.
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <optional>

#include "common/error.h"
#include "common/log.h"
#include "mpi/comm.h"
#include "mpi/commands/commands.h"

namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const rr::commands::Args&);
  bool mpi;  // an MPI program (initialises MPI; runs under mpirun/srun or as one rank)
};

const Subcommand kSubcommands[] = {
    {"convert", "convert a collection (SMART, ...) into a BEIR folder", rr::commands::convert, false},
    {"measure", "trec_eval-exact IR measures of a TREC run against TREC qrels", rr::commands::measure, false},
    {"embed", "HF-identical embeddings of JSON-lines texts (base model + optional LoRA adapter)",
     rr::commands::embed, false},
    {"prepare", "stage: make the BEIR folders and train/dev/test splits", rr::commands::prepare, true},
    {"train", "stage: train the base encoder, the experts or the multi-task model", rr::commands::train,
     true},
    {"encode", "stage: encode every corpus with the base into the sharded index", rr::commands::encode, true},
    {"score", "stage: per-instance scores of training queries under every expert", rr::commands::score, true},
    {"pilot", "stage: the pilot-embedding library", rr::commands::pilot, true},
    {"evaluate", "stage: route, search and measure every router and baseline", rr::commands::evaluate, true},
    {"report", "stage: the Table 1 layout from the results file", rr::commands::report, true},
    {"pipeline", "all stages in order, skipping completed ones", rr::commands::pipeline, true},
    {"vocab", "learn a WordPiece vocabulary (BertTokenizer vocab.txt) from JSON-lines corpora",
     rr::commands::vocab, false},
    {"tokenize", "HF-identical BERT WordPiece ids of JSON-lines texts", rr::commands::tokenize, false},
};

void print_usage(std::ostream& out) {
  out << "usage: routerretriever <command> [options]   (routerretriever <command> --help)\n\n"
         "RouterRetriever: routing over a mixture of expert embedding models.\n\ncommands:\n";
  for (const auto& s : kSubcommands)
    out << "  " << s.name << std::string(12 - std::strlen(s.name), ' ') << s.summary << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  rr::setup_logging("info");
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const Subcommand* cmd = nullptr;
  for (const auto& s : kSubcommands)
    if (!std::strcmp(argv[1], s.name)) cmd = &s;
  if (!cmd) {
    std::cerr << "routerretriever: unknown command '" << argv[1] << "'\n";
    print_usage(std::cerr);
    return 2;
  }
  std::unique_ptr<rr::mpi::Environment> env;
  try {
    if (cmd->mpi) env = std::make_unique<rr::mpi::Environment>(argc, argv);
    rr::commands::Args args(argv + 2, argv + argc);
    return cmd->run(args);
  } catch (const rr::Error& e) {
    spdlog::error("{}", e.what());
    spdlog::debug("raised at {}", e.source());
    if (env && rr::mpi::Comm::world().size() > 1) rr::mpi::Comm::world().abort(e.exit_code());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    if (env && rr::mpi::Comm::world().size() > 1) rr::mpi::Comm::world().abort(1);
    return 1;
  }
}
