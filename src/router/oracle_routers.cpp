// The paper's upper bounds, from the single experts' per-query results on the test queries themselves:
// DatasetOracle (the best expert on average over the dataset) and InstanceOracle (the best per query).
#include <ATen/ATen.h>

#include "router/router.h"

namespace rr {

namespace {

class DatasetOracle final : public Router {
 public:
  RouterSource source() const override { return RouterSource::FromSingles; }
  std::vector<int32_t> choose(const at::Tensor& ndcg) const override {
    const auto a = ndcg.accessor<double, 2>();
    int32_t best = 0;
    double best_sum = -1;
    for (int32_t e = 0; e < ndcg.size(1); ++e) {
      double sum = 0;
      for (int64_t q = 0; q < ndcg.size(0); ++q) sum += a[q][e];
      if (sum > best_sum + 1e-12) best_sum = sum, best = e;
    }
    return std::vector<int32_t>(static_cast<size_t>(ndcg.size(0)), best);
  }
};

class InstanceOracle final : public Router {
 public:
  RouterSource source() const override { return RouterSource::FromSingles; }
  std::vector<int32_t> choose(const at::Tensor& ndcg) const override {
    const auto a = ndcg.accessor<double, 2>();
    std::vector<int32_t> out;
    for (int64_t q = 0; q < ndcg.size(0); ++q) {
      int32_t best = 0;
      for (int32_t e = 1; e < ndcg.size(1); ++e)
        if (a[q][e] > a[q][best]) best = e;
      out.push_back(best);
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Router> make_dataset_oracle(const RouterParams&) {
  return std::make_unique<DatasetOracle>();
}

std::unique_ptr<Router> make_instance_oracle(const RouterParams&) {
  return std::make_unique<InstanceOracle>();
}

}  // namespace rr
