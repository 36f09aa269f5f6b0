#include "mpi/stages/methods.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "h5data/schema.h"

namespace rr::stages {

namespace {

constexpr const char* kShape = "shape";

bool single_runs_on(const Experiment& exp, int32_t expert, const std::string& dataset) {
  const std::string& singles = exp.evaluation.singles;
  if (singles == "own") {
    const auto& own = exp.experts[static_cast<size_t>(expert)].datasets;
    return std::find(own.begin(), own.end(), dataset) != own.end();
  }
  return singles == "all";
}

}  // namespace

std::vector<Method> make_methods(const Experiment& exp) {
  const auto& wanted = exp.routing.routers;
  const auto wants = [&](const std::string& n) {
    return std::find(wanted.begin(), wanted.end(), n) != wanted.end();
  };
  bool needs_singles = false;
  for (const auto& n : wanted)
    needs_singles =
        needs_singles || router_info(n).make(RouterParams{})->source() == RouterSource::FromSingles;
  const auto T = static_cast<int32_t>(exp.experts.size());
  const RouterParams params{.num_experts = T,
                            .tie_rule = exp.routing.tie_rule,
                            .dataset_instances = exp.routing.dataset_router_instances,
                            .top_k = exp.routing.top_k_mix,
                            .seed = exp.seed};
  std::vector<Method> methods;
  for (const auto& info : router_registry()) {
    // The per-expert routers (the single experts) also run, unrecorded, for the oracles that choose among
    // them.
    if (!wants(info.name) && !(info.per_expert && needs_singles)) continue;
    if (!info.per_expert) {
      auto router = info.make(params);
      const bool needs_models = router->uses_experts() || router->uses_multitask();
      if ((needs_models && T == 0) || (router->uses_multitask() && !exp.train_multitask)) continue;
      methods.push_back({info.name, info.label, std::move(router), -1, true});
      continue;
    }
    for (int32_t e = 0; e < T; ++e) {
      RouterParams p = params;
      p.expert = e;
      methods.push_back({info.name + "-" + exp.experts[e].name,
                         fmt::format(fmt::runtime(info.label), exp.experts[e].name), info.make(p), e,
                         wants(info.name)});
    }
  }
  return methods;
}

bool runs_on(const Experiment& exp, const Method& m, const std::string& dataset) {
  if (m.expert >= 0) return single_runs_on(exp, m.expert, dataset);
  if (m.router->source() != RouterSource::FromSingles) return true;
  for (size_t e = 0; e < exp.experts.size(); ++e)
    if (single_runs_on(exp, static_cast<int32_t>(e), dataset)) return true;
  return false;
}

// Each tensor is stored flat with its shape as an attribute: File::write keeps matrices of 1 or 2 dimensions
// and an n x 1 one as 1-D, and a router's H x 1 weights (one expert) must come back H x 1.
void write_router_state(h5::File& f, const std::string& method, const RouterState& state) {
  f.create_group(schema::router_state(method));
  for (const auto& [key, tensor] : state) {
    const std::string object = schema::router_state(method) + "/" + key;
    f.write(object, tensor.contiguous().reshape({-1}));
    std::vector<std::string> shape;
    for (const int64_t size : tensor.sizes()) shape.push_back(std::to_string(size));
    f.set_attr(object, kShape, shape);
  }
}

RouterState read_router_state(const h5::File& f, const std::string& method) {
  const std::string group = schema::router_state(method);
  RR_CHECK(f.exists(group), Input,
           "{}: no fitted state for the router '{}' (run `pilot` again: it fits the routers)",
           f.path().string(), method);
  RouterState state;
  for (const auto& key : f.members(group)) {
    const std::string object = group + "/" + key;
    std::vector<int64_t> shape;
    try {
      for (const auto& size : f.attr_strings(object, kShape)) shape.push_back(std::stoll(size));
    } catch (const std::logic_error&) {
      RR_THROW(Input, "{} {}: the attribute '{}' is not a list of sizes", f.path().string(), object, kShape);
    }
    const at::Tensor flat = f.read(object);
    RR_CHECK(flat.numel() == c10::multiply_integers(shape), Input, "{} {}: {} values for the shape [{}]",
             f.path().string(), object, flat.numel(), fmt::join(shape, ", "));
    state[key] = flat.reshape(shape);
  }
  return state;
}

}  // namespace rr::stages
