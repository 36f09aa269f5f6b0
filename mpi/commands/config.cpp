// routerretriever config --get KEY: effective values of an experiment config (after --set overrides, with
// defaults filled in and paths made absolute), so that scripts need not re-implement the config's rules.
#include <fmt/ranges.h>

#include <iostream>

#include "common/error.h"
#include "config/experiment.h"
#include "mpi/cli.h"
#include "mpi/commands/commands.h"

namespace rr::commands {

namespace {

// A derived value, or the raw JSON at the dotted path ("expert_training.lr").
std::string value_of(const Experiment& exp, const std::string& key) {
  const auto names = [](const auto& items) {
    std::vector<std::string> out;
    for (const auto& i : items) out.push_back(i.name);
    return fmt::format("{}", fmt::join(out, " "));
  };
  if (key == "name") return exp.name;
  if (key == "seed") return std::to_string(exp.seed);
  if (key == "device") return exp.device;
  if (key == "output_dir") return exp.output().string();
  if (key == "results_file") return exp.results_file().string();
  if (key == "index_file") return exp.index_file().string();
  if (key == "base.path") return exp.base_path().string();
  if (key == "experts") return names(exp.experts);
  if (key == "datasets") return names(exp.datasets);
  if (key == "routers") return fmt::format("{}", fmt::join(exp.routing.routers, " "));
  if (key == "slurm.requeue_limit") return std::to_string(exp.slurm.requeue_limit);
  const nlohmann::json* node = &exp.json;
  for (size_t start = 0;;) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (node->is_array() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) &&
        std::stoul(part) < node->size())
      node = &(*node)[std::stoul(part)];
    else if (node->is_object() && node->contains(part))
      node = &(*node)[part];
    else
      RR_THROW(Usage,
               "config: no key '{}' in {} (derived keys: name, seed, device, output_dir, results_file, "
               "index_file, base.path, experts, datasets, routers, slurm.requeue_limit)",
               key, exp.file.string());
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return node->is_string() ? node->get<std::string>() : node->dump();
}

}  // namespace

int config(const Args& args) {
  cli::po::options_description opt("config options");
  cli::add_experiment_options(opt);
  opt.add_options()("get", cli::po::value<std::vector<std::string>>()->composing(),
                    "print this key's value (repeatable)")(
      "slurm", cli::po::value<std::vector<std::string>>()->composing(),
      "print the sbatch options of this job: a stage name or score-assemble (repeatable)");
  cli::po::variables_map vm;
  if (!cli::parse(
          {"config", "--config EXP.json (--get KEY | --slurm JOB)... [--set key=value]...",
           "Prints one line per --get: the effective value (lists space-separated, objects as JSON);\n"
           "one line per --slurm: the sbatch options of that job from the \"slurm\" section."},
          opt, args, vm))
    return 0;
  const Experiment exp = cli::load_experiment(vm);
  RR_CHECK(vm.count("get") || vm.count("slurm"), Usage, "config: give at least one --get KEY or --slurm JOB");
  if (vm.count("get"))
    for (const auto& key : vm["get"].as<std::vector<std::string>>()) std::cout << value_of(exp, key) << "\n";
  if (vm.count("slurm"))
    for (const auto& job : vm["slurm"].as<std::vector<std::string>>())
      std::cout << sbatch_options(exp.slurm, job) << "\n";
  return 0;
}

}  // namespace rr::commands
