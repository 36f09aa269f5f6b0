// The methods of Table 1 an experiment evaluates: each configured router (one per expert for the per-expert
// routers) under its results name. `pilot` fits the ones that learn and stores their states; `evaluate`
// loads those states and runs every method.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "h5data/h5_file.h"
#include "router/router.h"

namespace rr::stages {

// One row of Table 1: a router instance under its results name ("pilot-mean", "single-cisi").
struct Method {
  std::string name, label;
  std::unique_ptr<Router> router;
  int32_t expert = -1;   // a per-expert router's expert
  bool recorded = true;  // false: evaluated only because an oracle needs it
};

// In Table 1 order; the single experts are added (not recorded) when an oracle needs them.
std::vector<Method> make_methods(const Experiment& exp);

// Whether `m` is evaluated on `dataset` under evaluation.singles: a single expert on every dataset ("all"),
// on those it was trained on ("own") or on none; an oracle where at least one single runs; any other method
// everywhere.
bool runs_on(const Experiment& exp, const Method& m, const std::string& dataset);

// A fitted router's state under /router_states/<method> (written by pilot), and read back.
void write_router_state(h5::File& f, const std::string& method, const RouterState& state);
RouterState read_router_state(const h5::File& f, const std::string& method);

}  // namespace rr::stages
