// The paper's classifier baselines on standardised base embeddings of the training queries, labelled with
// each query's best expert:
//   ExpertClassifierRouter   one sigmoid per expert (one-vs-rest, positives up-weighted by negatives /
//                            positives), trained on the queries whose best expert is unique;
//   ClassificationHeadRouter a softmax over experts with class-balanced weights.
// Both train on the queries whose best expert is unique (the paper's instances; tied ones carry no label).
// Both: full-batch Adam (model/adamw.h without decoupled decay; lr 1e-2, 300 steps) on cross-entropy +
// 1e-3 * ||W||^2, W drawn from the seed.
#include <ATen/ATen.h>

#include "common/error.h"
#include "model/adamw.h"
#include "model/invariant_ops.h"
#include "router/router.h"

namespace rr {

namespace {

struct LinearClassifier {
  at::Tensor W, b, mean, std;  // H x C, C, H, H
};

// The labelled rows of the datasets' base embeddings (Q_d x H each; labels: one per row of every dataset, in
// order, -1 left out) gathered into one standardised kept x H buffer: the training set is copied once, and
// standardised in place.
LinearClassifier fit_classifier(const std::vector<at::Tensor>& base, const std::vector<int32_t>& labels,
                                int classes, bool one_vs_rest, uint64_t seed) {
  std::vector<int64_t> y;
  for (const int32_t label : labels)
    if (label >= 0) y.push_back(label);
  int64_t rows = 0;
  for (const auto& b : base) rows += b.size(0);
  RR_CHECK(rows == static_cast<int64_t>(labels.size()), Runtime,
           "classifier router: {} embeddings, {} labels", rows, labels.size());
  const int64_t H = base.empty() ? 0 : base[0].size(1);
  if (y.empty()) return {at::zeros({H, classes}), at::zeros({classes}), at::zeros({H}), at::ones({H})};
  at::Tensor x = at::empty({static_cast<int64_t>(y.size()), H});
  int64_t first_label = 0, row = 0;
  for (const auto& b : base) {
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < b.size(0); ++i)
      if (labels[first_label + i] >= 0) keep.push_back(i);
    first_label += b.size(0);
    auto out = x.narrow(0, row, static_cast<int64_t>(keep.size()));
    at::index_select_out(out, b.to(at::kFloat), 0, at::tensor(keep, at::kLong));
    row += static_cast<int64_t>(keep.size());
  }
  LinearClassifier c{{}, {}, x.mean(0), x.std(0).clamp_min(1e-6)};
  x.sub_(c.mean).div_(c.std);
  const at::Tensor target = at::tensor(y, at::kLong);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  at::Tensor W = (at::randn({H, classes}, gen) * 0.01).set_requires_grad(true);
  at::Tensor b = at::zeros({classes}).set_requires_grad(true);
  // Class-balanced weights: each class counts as much as every other, however rare.
  const at::Tensor counts = at::bincount(target, {}, classes).to(at::kFloat).clamp_min(1);
  const at::Tensor cw = counts.sum() / (counts * static_cast<double>(classes));
  // Adam (the project's AdamW, no decoupled decay: the L2 term is in the loss, as in scikit-learn).
  AdamW adam({{"W", W}, {"b", b}}, AdamWParams{.weight_decay = 0.0});
  const double lr = 1e-2, wd = 1e-3;
  for (int step = 1; step <= 300; ++step) {
    const at::Tensor logits = invariant_matmul(x, W) + b;
    at::Tensor loss;
    if (one_vs_rest) {
      const at::Tensor onehot = at::one_hot(target, classes).to(at::kFloat);
      const at::Tensor pos_weight =
          (onehot.size(0) - onehot.sum(0)).clamp_min(1) / onehot.sum(0).clamp_min(1);
      loss = invariant_sum(
                 at::binary_cross_entropy_with_logits(logits, onehot, {}, pos_weight, at::Reduction::None)) /
             static_cast<double>(onehot.numel());
    } else {
      loss = at::cross_entropy_loss(logits, target, cw);
    }
    loss = loss + wd * invariant_sum(W.pow(2));
    adam.zero_grad();
    loss.backward();
    adam.step(lr);
  }
  c.W = W.detach();
  c.b = b.detach();
  return c;
}

class ClassifierRouter final : public Router {
 public:
  ClassifierRouter(const RouterParams& p, bool one_vs_rest)
      : classes_(p.num_experts), one_vs_rest_(one_vs_rest), seed_(p.seed) {}
  bool needs_training() const override { return true; }
  void fit(const RoutingTrainingSet& train) override {
    std::vector<int32_t> labels;
    for (const auto& s : train.scores) {
      auto best = best_experts(s, TieRule::Skip);
      labels.insert(labels.end(), best.begin(), best.end());
    }
    c_ = fit_classifier(train.base, labels, classes_, one_vs_rest_, seed_);
  }
  RouterState state() const override {
    return {{"W", c_.W}, {"b", c_.b}, {"mean", c_.mean}, {"std", c_.std}};
  }
  void set_state(const RouterState& s) override { c_ = {s.at("W"), s.at("b"), s.at("mean"), s.at("std")}; }
  Routing route(const QueryBlock& q) const override {
    at::NoGradGuard ng;
    const at::Tensor logits = invariant_mm((q.base.to(at::kFloat) - c_.mean) / c_.std, c_.W) + c_.b;
    return per_query_routing(argmax_rows(one_vs_rest_ ? at::sigmoid(logits) : at::softmax(logits, 1)));
  }

 private:
  int32_t classes_;
  bool one_vs_rest_;
  uint64_t seed_;
  LinearClassifier c_;
};

}  // namespace

std::unique_ptr<Router> make_expert_classifier_router(const RouterParams& p) {
  return std::make_unique<ClassifierRouter>(p, true);
}

std::unique_ptr<Router> make_classification_head_router(const RouterParams& p) {
  return std::make_unique<ClassifierRouter>(p, false);
}

}  // namespace rr
