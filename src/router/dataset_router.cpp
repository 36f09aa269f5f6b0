// DatasetRouter (the paper's baseline): the expert of the dataset of the nearest (dot product) labelled
// instance, from up to N training queries per training dataset.
#include <ATen/ATen.h>

#include "common/error.h"
#include "router/router.h"

namespace rr {

namespace {

class DatasetRouter final : public Router {
 public:
  explicit DatasetRouter(int64_t per_dataset) : per_dataset_(per_dataset) {}
  bool needs_training() const override { return true; }
  void fit(const RoutingTrainingSet& train) override {
    std::vector<at::Tensor> rows;
    std::vector<int32_t> labels;
    for (size_t d = 0; d < train.datasets.size(); ++d) {
      const int64_t n = std::min<int64_t>(per_dataset_, train.base[d].size(0));
      rows.push_back(train.base[d].slice(0, 0, n));
      labels.insert(labels.end(), static_cast<size_t>(n), train.dataset_expert[d]);
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
    const at::Tensor best = at::matmul(q.base.to(at::kFloat), instances_.t()).argmax(1).contiguous();
    std::vector<int32_t> out;
    for (int64_t i = 0; i < best.size(0); ++i)
      out.push_back(labels_.data_ptr<int32_t>()[best.data_ptr<int64_t>()[i]]);
    return per_query_routing(std::move(out));
  }

 private:
  int64_t per_dataset_;
  at::Tensor instances_, labels_;
};

}  // namespace

std::unique_ptr<Router> make_dataset_router(const RouterParams& p) {
  return std::make_unique<DatasetRouter>(p.dataset_instances);
}

}  // namespace rr
