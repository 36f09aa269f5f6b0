// rr's training arithmetic against plain PyTorch (tests/fixtures/training/make_training_fixtures.py):
// AdamW + Hugging Face's linear warm-up/decay + global-norm clipping through run_loop, and LoRA expert
// training steps (frozen BERT, masked mean pooling, InfoNCE against fixed document vectors) end to end.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "model/bert_encoder.h"
#include "model/lora.h"
#include "model/lora_expert.h"
#include "model/query_model.h"
#include "train/info_nce.h"
#include "train/train_loop.h"

namespace rr {
namespace {

const std::string kFixtures = std::string(RR_SOURCE_DIR) + "/tests/fixtures/training/";

const nlohmann::json& reference() {
  static const nlohmann::json ref = [] {
    std::ifstream in(kFixtures + "training_reference.json");
    return nlohmann::json::parse(in);
  }();
  return ref;
}

at::Tensor tensor(const nlohmann::json& values, std::vector<int64_t> shape) {
  return at::tensor(values.get<std::vector<double>>(), at::kDouble).reshape(shape).to(at::kFloat);
}

// A JSON list of rows as a B x T int64 tensor.
at::Tensor int_matrix(const nlohmann::json& rows) {
  std::vector<int64_t> v;
  for (const auto& row : rows)
    for (const auto& x : row) v.push_back(x.get<int64_t>());
  const auto n = static_cast<int64_t>(rows.size());
  return at::tensor(v, at::kLong).reshape({n, static_cast<int64_t>(v.size()) / n});
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

LoopSpec loop(const nlohmann::json& cfg) {
  LoopSpec s;
  s.label = "reference";
  s.steps = cfg["steps"].get<int64_t>();
  s.lr = cfg["lr"].get<double>();
  s.warmup_ratio =
      cfg["warmup"].get<double>() / static_cast<double>(s.steps);  // exact: warmup = ratio x steps
  s.grad_clip = cfg["clip"].get<double>();
  return s;
}

TEST(TrainingReference, AdamWScheduleAndClippingMatchTorch) {
  const auto& ref = reference()["adamw"];
  std::map<std::string, at::Tensor> params;
  std::vector<std::vector<int64_t>> shapes = ref["shapes"].get<std::vector<std::vector<int64_t>>>();
  for (size_t i = 0; i < shapes.size(); ++i)
    params["p" + std::to_string(i)] = tensor(ref["init"][i], shapes[i]);
  AdamW opt(params, {0.9, 0.999, 1e-8, ref["weight_decay"].get<double>()});
  run_loop(loop(ref), params, opt, Solo(), [&](int64_t s) {
    for (size_t i = 0; i < shapes.size(); ++i) {  // d/dp sum(p * g) = g: the fixture's gradient of step s
      auto& p = params["p" + std::to_string(i)];
      (p * tensor(ref["grads"][s][i], shapes[i])).sum().backward();
    }
    return 1.0;
  });
  for (size_t i = 0; i < shapes.size(); ++i)
    EXPECT_LT(max_abs_diff(params["p" + std::to_string(i)], tensor(ref["expected"][i], shapes[i])), 1e-6)
        << i;
}

TEST(TrainingReference, InfoNceLossAndGradientsMatchAutograd) {
  for (const auto& c : reference()["info_nce"]) {
    const int64_t n = c["rows"], d = c["dim"];
    at::Tensor q = tensor(c["q"], {n, d}).set_requires_grad(true);
    at::Tensor k = tensor(c["k"], {n, d}).set_requires_grad(true);
    const double loss = gathered_info_nce_backward(q, k, c["temperature"], c["normalize"], Solo());
    EXPECT_NEAR(loss, c["loss"].get<double>(), 1e-5 * std::max(1.0, std::abs(c["loss"].get<double>())));
    EXPECT_LT(max_abs_diff(q.grad(), tensor(c["grad_q"], {n, d})), 1e-5);
    EXPECT_LT(max_abs_diff(k.grad(), tensor(c["grad_k"], {n, d})), 1e-5);
  }
}

TEST(TrainingReference, LoraExpertStepsMatchPytorch) {
  const auto& ref = reference()["lora"];
  const BertEncoder base = BertEncoder::load(kFixtures + "tiny-bert");
  LoraExpert expert(base, LoraAdapter::load(kFixtures + "lora-start", base));
  const at::Tensor ids = int_matrix(ref["ids"]), mask = int_matrix(ref["mask"]);
  const int64_t B = ids.size(0);
  const at::Tensor docs = tensor(ref["docs"], {B, -1});
  auto params = expert.trainable();
  AdamW opt(params, {0.9, 0.999, 1e-8, ref["weight_decay"].get<double>()});
  std::vector<double> losses;
  run_loop(loop(ref), params, opt, Solo(), [&](int64_t) {
    at::Tensor loss = info_nce_share(expert.embed(ids, mask, ForwardMode{true, {}}), docs, 0, B,
                                     ref["temperature"].get<double>());
    loss.backward();
    losses.push_back(loss.item<double>());
    return losses.back();
  });
  const auto expected_losses = ref["losses"].get<std::vector<double>>();
  ASSERT_EQ(losses.size(), expected_losses.size());
  for (size_t s = 0; s < losses.size(); ++s) EXPECT_NEAR(losses[s], expected_losses[s], 1e-4) << "step " << s;
  for (const auto& [name, values] : ref["expected"].items()) {
    ASSERT_TRUE(params.count(name)) << name;
    EXPECT_LT(max_abs_diff(params[name], tensor(values, params[name].sizes().vec())), 1e-5) << name;
  }
}

}  // namespace
}  // namespace rr
