// Beyond the paper: a soft mixture of the k experts most similar by pilot mean, weighted by the softmax of
// those similarities. Linear fusion of dot-product scores is one dot product with the weighted sum of the
// experts' query vectors, so the mixture searches once.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "router/router.h"

namespace rr {

namespace {

class TopKMixRouter final : public PilotBasedRouter {
 public:
  TopKMixRouter(int32_t experts, int64_t k) : experts_(experts), k_(k) {}
  Routing route(const QueryBlock& q) const override {
    const at::Tensor s = expert_similarity(q.base, pilots_, experts_, false).contiguous();
    const auto a = s.accessor<float, 2>();
    Routing r;
    r.kind = Routing::Kind::Mixture;
    for (int64_t i = 0; i < s.size(0); ++i) {
      std::vector<std::pair<float, int32_t>> v;
      for (int32_t t = 0; t < experts_; ++t)
        if (a[i][t] > -std::numeric_limits<float>::infinity()) v.push_back({a[i][t], t});
      std::stable_sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.first > y.first; });
      v.resize(std::min<size_t>(v.size(), static_cast<size_t>(k_)));
      std::vector<int32_t> ex;
      std::vector<float> w;
      float mx = v.empty() ? 0.f : v[0].first, z = 0;
      for (auto& [sim, e] : v) z += std::exp(sim - mx);
      for (auto& [sim, e] : v) ex.push_back(e), w.push_back(std::exp(sim - mx) / z);
      r.expert.push_back(ex.empty() ? -1 : ex[0]);
      r.mix_experts.push_back(std::move(ex));
      r.mix_weights.push_back(std::move(w));
    }
    return r;
  }

 private:
  int32_t experts_;
  int64_t k_;
};

}  // namespace

std::unique_ptr<Router> make_top_k_mix_router(const RouterParams& p) {
  return std::make_unique<TopKMixRouter>(p.num_experts, p.top_k);
}

}  // namespace rr
