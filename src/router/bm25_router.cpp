// BEIR's lexical baseline: BM25 over the query and document texts (search/bm25.h), no dense model.
#include "router/router.h"

namespace rr {

namespace {

class Bm25Router final : public Router {
 public:
  RouterSource source() const override { return RouterSource::Lexical; }
  bool uses_experts() const override { return false; }
  Routing route(const QueryBlock& queries) const override {
    Routing r;
    r.expert.assign(static_cast<size_t>(queries.size()), -1);
    return r;
  }
};

}  // namespace

std::unique_ptr<Router> make_bm25_router(const RouterParams&) {
  return std::make_unique<Bm25Router>();
}

}  // namespace rr
