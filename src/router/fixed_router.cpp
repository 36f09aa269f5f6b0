// Routers without a decision: the base encoder alone, one single expert, and the multi-task model.
#include "router/router.h"

namespace rr {

namespace {

class FixedRouter final : public Router {
 public:
  FixedRouter(ModelChoice model, int32_t recorded) : model_(model), recorded_(recorded) {}
  bool uses_experts() const override { return model_.kind == ModelChoice::Kind::Expert; }
  bool uses_multitask() const override { return model_.kind == ModelChoice::Kind::Multitask; }
  Routing route(const QueryBlock& queries) const override {
    Routing r;
    r.kind = Routing::Kind::Fixed;
    r.model = model_;
    r.expert.assign(static_cast<size_t>(queries.size()), recorded_);
    return r;
  }

 private:
  ModelChoice model_;
  int32_t recorded_;
};

}  // namespace

std::unique_ptr<Router> make_base_router(const RouterParams&) {
  return std::make_unique<FixedRouter>(ModelChoice{}, -1);
}

std::unique_ptr<Router> make_single_router(const RouterParams& p) {
  return std::make_unique<FixedRouter>(ModelChoice{ModelChoice::Kind::Expert, p.expert}, p.expert);
}

// The multi-task model is no expert: its routing is recorded as -1 (not applicable).
std::unique_ptr<Router> make_multitask_router(const RouterParams&) {
  return std::make_unique<FixedRouter>(ModelChoice{ModelChoice::Kind::Multitask, -1}, -1);
}

}  // namespace rr
