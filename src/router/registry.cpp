#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include "common/error.h"
#include "router/router.h"

namespace rr {

// One line per router, in Table 1 row order: name, label, per expert, factory.
#define RR_ROUTERS(X)                                                                          \
  X("bm25", "BM25", false, make_bm25_router)                                                   \
  X("base", "Base encoder (no expert)", false, make_base_router)                               \
  X("single", "Single expert: {}", true, make_single_router)                                   \
  X("multitask", "Multi-task", false, make_multitask_router)                                   \
  X("random", "Random router (uniform over experts)", false, make_random_router)               \
  X("dataset", "DatasetRouter", false, make_dataset_router)                                    \
  X("expert-classifier", "ExpertClassifierRouter", false, make_expert_classifier_router)       \
  X("classification-head", "ClassificationHeadRouter", false, make_classification_head_router) \
  X("pilot-mean", "**RouterRetriever** (pilot mean)", false, make_pilot_mean_router)           \
  X("pilot-max", "RouterRetriever (pilot max, released code)", false, make_pilot_max_router)   \
  X("top-k-mix", "Top-k soft mixture", false, make_top_k_mix_router)                           \
  X("dataset-oracle", "DatasetOracle", false, make_dataset_oracle)                             \
  X("instance-oracle", "InstanceOracle", false, make_instance_oracle)

#define RR_DECLARE_FACTORY(name, label, per_expert, factory) \
  std::unique_ptr<Router> factory(const RouterParams&);
RR_ROUTERS(RR_DECLARE_FACTORY)

Routing Router::route(const QueryBlock&) const {
  RR_THROW(Runtime, "this router does not route dense queries");
}

std::vector<int32_t> Router::choose(const at::Tensor&) const {
  RR_THROW(Runtime, "this router does not choose among single experts");
}

Routing per_query_routing(std::vector<int32_t> expert) {
  Routing r;
  r.kind = Routing::Kind::PerQuery;
  r.expert = std::move(expert);
  return r;
}

RouterState pilot_state(const PilotLibrary& pilots) {
  return {{"emb", pilots.emb}, {"expert", at::tensor(pilots.expert, at::kInt)}};
}

PilotLibrary pilots_from_state(const RouterState& state) {
  PilotLibrary p;
  p.emb = state.at("emb");
  const at::Tensor e = state.at("expert").contiguous();
  p.expert.assign(e.data_ptr<int32_t>(), e.data_ptr<int32_t>() + e.numel());
  return p;
}

const std::vector<RouterInfo>& router_registry() {
#define RR_REGISTRY_ENTRY(name, label, per_expert, factory) RouterInfo{name, label, per_expert, factory},
  static const std::vector<RouterInfo> registry = {RR_ROUTERS(RR_REGISTRY_ENTRY)};
  return registry;
}

std::vector<std::string> router_names() {
  std::vector<std::string> names;
  for (const auto& r : router_registry()) names.push_back(r.name);
  return names;
}

const RouterInfo& router_info(std::string_view name) {
  for (const auto& r : router_registry())
    if (r.name == name) return r;
  RR_THROW(Usage, "unknown router '{}' (known: {})", name, fmt::join(router_names(), ", "));
}

}  // namespace rr
