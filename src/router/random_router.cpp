// A lower bound the paper's tables lack: each query goes to an expert drawn uniformly, as a seeded hash of
// its id (the same query always gets the same expert, whatever the block or rank).
#include "common/stable_hash.h"
#include "router/router.h"

namespace rr {

namespace {

class RandomRouter final : public Router {
 public:
  RandomRouter(int32_t experts, uint64_t seed) : experts_(experts), seed_(seed) {}
  Routing route(const QueryBlock& q) const override {
    std::vector<int32_t> out;
    for (int64_t i = 0; i < q.size(); ++i)
      out.push_back(experts_ > 0
                        ? static_cast<int32_t>(stable_hash(q.ids[i], seed_) % static_cast<uint64_t>(experts_))
                        : -1);
    return per_query_routing(std::move(out));
  }

 private:
  int32_t experts_;
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<Router> make_random_router(const RouterParams& p) {
  return std::make_unique<RandomRouter>(p.num_experts, p.seed);
}

}  // namespace rr
