// DatasetRouter (the paper's baseline): the expert of the dataset of the nearest (dot product) labelled
// instance, from a seeded sample of up to N training queries per training dataset.
#include <ATen/ATen.h>

#include "common/error.h"
#include "common/stable_hash.h"
#include "model/invariant_ops.h"
#include "router/router.h"

namespace rr {

namespace {

// Rows of the n ids with the smallest seeded hashes (all when there are fewer), in row order.
std::vector<int64_t> seeded_sample(const std::vector<std::string>& ids, int64_t n, uint64_t seed) {
  std::vector<std::pair<uint64_t, int64_t>> order;
  for (size_t i = 0; i < ids.size(); ++i)
    order.push_back({stable_hash(ids[i], seed), static_cast<int64_t>(i)});
  std::sort(order.begin(), order.end());
  order.resize(std::min(order.size(), static_cast<size_t>(n)));
  std::vector<int64_t> rows;
  for (const auto& [h, row] : order) rows.push_back(row);
  std::sort(rows.begin(), rows.end());
  return rows;
}

class DatasetRouter final : public Router {
 public:
  DatasetRouter(int64_t per_dataset, uint64_t seed) : per_dataset_(per_dataset), seed_(seed) {}
  bool needs_training() const override { return true; }
  void fit(const RoutingTrainingSet& train) override {
    std::vector<at::Tensor> rows;
    std::vector<int32_t> labels;
    for (size_t d = 0; d < train.datasets.size(); ++d) {
      const auto sample = seeded_sample(train.query_ids[d], per_dataset_, seed_);
      rows.push_back(train.base[d].index_select(0, at::tensor(sample, at::kLong)));
      labels.insert(labels.end(), sample.size(), train.dataset_expert[d]);
    }
    instances_ = at::cat(rows).to(at::kFloat).contiguous();
    labels_ = at::tensor(labels, at::kInt);
  }
  RouterState state() const override { return {{"instances", instances_}, {"labels", labels_}}; }
  void set_state(const RouterState& s) override {
    instances_ = s.at("instances");
    labels_ = s.at("labels").contiguous();
  }
  Routing route(const QueryBlock& q) const override {
    RR_CHECK(instances_.size(0) == labels_.numel() && instances_.size(0) > 0, Runtime,
             "DatasetRouter: {} instances, {} labels", instances_.size(0), labels_.numel());
    const at::Tensor best = invariant_mm(q.base.to(at::kFloat), instances_.t()).argmax(1).contiguous();
    std::vector<int32_t> out;
    for (int64_t i = 0; i < best.size(0); ++i)
      out.push_back(labels_.data_ptr<int32_t>()[best.data_ptr<int64_t>()[i]]);
    return per_query_routing(std::move(out));
  }

 private:
  int64_t per_dataset_;
  uint64_t seed_;
  at::Tensor instances_, labels_;
};

}  // namespace

std::unique_ptr<Router> make_dataset_router(const RouterParams& p) {
  return std::make_unique<DatasetRouter>(p.dataset_instances, p.seed);
}

}  // namespace rr
