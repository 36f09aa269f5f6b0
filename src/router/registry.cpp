#include <ATen/ATen.h>

#include "common/error.h"
#include "router/router.h"
#include "router/router_list.h"

namespace rr {

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
#undef RR_REGISTRY_ENTRY
  return registry;
}

const RouterInfo& router_info(std::string_view name) {
  const auto& registry = router_registry();
  return registry[static_cast<size_t>(&router_name(name) - router_table().data())];
}

}  // namespace rr
