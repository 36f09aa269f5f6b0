// What every stage program shares: the experiment, the communicator and the device. The stages' building
// blocks are by concern: datasets.h (query sets, corpus maps, hit ids), models.h (the base, query models,
// query embedding in blocks), corpus_index.h (a dataset's sharded index).
#pragma once

#include <c10/core/Device.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "mpi/comm.h"

namespace rr::stages {

struct Context {
  Experiment exp;
  mpi::Comm world;
  c10::Device device;  // set by run_stage for each stage: the CPU for one-task stages, else exp.device
  bool root() const { return world.is_root(); }
  std::string config_json() const { return exp.json.dump(); }
};

// The experiment of `config` with the overrides, its output directory created, and the world communicator.
Context make_context(const std::filesystem::path& config, const std::vector<std::string>& overrides);

}  // namespace rr::stages
