#include "mpi/stages/methods.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "h5data/schema.h"

namespace rr::stages {

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
  std::vector<Method> methods;
  for (const auto& info : router_registry()) {
    const bool single = info.name == "single";
    if (!wants(info.name) && !(single && needs_singles)) continue;
    RouterParams p{
        T, -1, exp.routing.tie_rule, exp.routing.dataset_router_instances, exp.routing.top_k_mix, exp.seed};
    if (!info.per_expert) {
      auto router = info.make(p);
      if ((router->uses_experts() && T == 0) || (info.name == "multitask" && !exp.train_multitask)) continue;
      methods.push_back({info.name, info.label, std::move(router), -1, true});
      continue;
    }
    for (int32_t e = 0; e < T; ++e) {
      p.expert = e;
      methods.push_back({info.name + "-" + exp.experts[e].name,
                         fmt::format(fmt::runtime(info.label), exp.experts[e].name), info.make(p), e,
                         wants(info.name)});
    }
  }
  return methods;
}

void write_router_state(h5::File& f, const std::string& method, const RouterState& state) {
  f.create_group(schema::router_state(method));
  for (const auto& [key, tensor] : state) {
    // HDF5 holds no 0 x 0 matrix: an empty state matrix is stored 0 x 1.
    const at::Tensor t = tensor.numel() == 0 && tensor.dim() == 2 ? tensor.reshape({0, 1}) : tensor;
    f.write(schema::router_state(method) + "/" + key, t.contiguous());
  }
}

RouterState read_router_state(const h5::File& f, const std::string& method) {
  const std::string group = schema::router_state(method);
  RR_CHECK(f.exists(group), Input,
           "{}: no fitted state for the router '{}' (run `pilot` again: it fits the routers)",
           f.path().string(), method);
  RouterState state;
  for (const auto& key : f.members(group)) state[key] = f.read(group + "/" + key);
  return state;
}

}  // namespace rr::stages
