// Command-line plumbing shared by every subcommand: Boost.Program_options with the common options
// (--help, --threads, --log-level), logging set-up with the rank, and the subcommand table.
#pragma once

#include <boost/program_options.hpp>

#include "common/error.h"
#include "config/experiment.h"

#include <string>
#include <vector>

namespace rr::cli {

namespace po = boost::program_options;

struct CommandSpec {
  std::string name;      // "measure", "convert smart", ...
  std::string synopsis;  // one line after "usage: routerretriever <name> "
  std::string summary;   // what it does, for --help
};

// Parses `args` against `options` plus the common options; on --help prints usage and returns false.
// Sets the thread count and installs the logger (with the MPI rank when MPI is initialised).
// Throws Usage on unknown options or bad values.
bool parse(const CommandSpec& spec, po::options_description options, const std::vector<std::string>& args,
           po::variables_map& vm, const po::positional_options_description* positional = nullptr);

// Reads a required option, throwing Usage (exit status 2) naming it when absent.
template <typename T>
T required(const po::variables_map& vm, const std::string& name) {
  RR_CHECK(vm.count(name), Usage, "the option '--{}' is required (see --help)", name);
  return vm[name].as<T>();
}

// --config EXP.json and --set key=value (repeatable): the options of every command that reads an experiment.
void add_experiment_options(po::options_description& options);
// The --set overrides given (empty when none).
std::vector<std::string> overrides(const po::variables_map& vm);
// The experiment of --config with the --set overrides applied.
Experiment load_experiment(const po::variables_map& vm);

}  // namespace rr::cli
