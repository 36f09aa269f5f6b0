// RouterRetriever's router (DESIGN.md, "Routing"): the expert whose pilots are most similar to the query's
// base embedding, by the mean dot product over its pilots (the paper) or the max (the released code).
#include <ATen/ATen.h>

#include "router/router.h"

namespace rr {

namespace {

class PilotRouter final : public PilotBasedRouter {
 public:
  PilotRouter(int32_t experts, bool use_max) : experts_(experts), use_max_(use_max) {}
  Routing route(const QueryBlock& q) const override {
    return per_query_routing(argmax_rows(expert_similarity(q.base, pilots_, experts_, use_max_)));
  }

 private:
  int32_t experts_;
  bool use_max_;
};

}  // namespace

std::unique_ptr<Router> make_pilot_mean_router(const RouterParams& p) {
  return std::make_unique<PilotRouter>(p.num_experts, false);
}

std::unique_ptr<Router> make_pilot_max_router(const RouterParams& p) {
  return std::make_unique<PilotRouter>(p.num_experts, true);
}

}  // namespace rr
