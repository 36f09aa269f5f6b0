#include "mpi/cli.h"

#include <cstdlib>
#include <iostream>

#include "common/error.h"
#include "common/log.h"
#include "common/threads.h"
#include "mpi/comm.h"

namespace rr::cli {

bool parse(const CommandSpec& spec, po::options_description options, const std::vector<std::string>& args,
           po::variables_map& vm, const po::positional_options_description* positional) {
  po::options_description common("Common options");
  common.add_options()("help,h", "show this help")(
      "threads", po::value<int>()->default_value(0),
      "torch and OpenMP threads per rank (0: cores / ranks on node, at most the CPUs the rank may run on)")(
      "log-level",
      po::value<std::string>()->default_value(std::getenv("RR_LOG_LEVEL") ? std::getenv("RR_LOG_LEVEL")
                                                                          : "info"),
      "trace, debug, info, warn, error, critical or off (default: $RR_LOG_LEVEL, else info)");
  po::options_description all;
  all.add(options).add(common);
  try {
    auto parser = po::command_line_parser(args).options(all);
    if (positional) parser.positional(*positional);
    const po::parsed_options parsed = parser.run();
    // Boost keeps words that belong to no option as positional ones and store() drops them silently:
    // "--set a=1 b=2" would lose b=2.
    if (!positional)
      for (const auto& o : parsed.options)
        if (o.string_key.empty() && !o.value.empty())
          RR_THROW(Usage,
                   "{}: unexpected argument '{}' (an option takes one value: repeat --set for each key)",
                   spec.name, o.value[0]);
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << "usage: routerretriever " << spec.name << " " << spec.synopsis << "\n\n"
                << spec.summary << "\n\n"
                << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    RR_THROW(Usage, "{}: {} (see routerretriever {} --help)", spec.name, e.what(), spec.name);
  }
  int rank = 0, ranks = 1;
  if (mpi::Environment::initialized()) {
    auto world = mpi::Comm::world();
    rank = world.rank();
    ranks = world.size();
  }
  setup_logging(vm["log-level"].as<std::string>(), rank, ranks);
  const auto node = mpi::Environment::node_placement();
  set_threads(vm["threads"].as<int>(), node.size, node.rank == 0);
  return true;
}

void add_experiment_options(po::options_description& options) {
  options.add_options()("config", po::value<std::string>(), "experiment config (JSON; see experiments/)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override one config key: --set expert_training.lr=5e-5 (repeatable)");
}

std::vector<std::string> overrides(const po::variables_map& vm) {
  return vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

Experiment load_experiment(const po::variables_map& vm) {
  return Experiment::load(required<std::string>(vm, "config"), overrides(vm));
}

}  // namespace rr::cli
