#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <functional>

#include "common/threads.h"
#include "model/bert_encoder.h"
#include "model/invariant_ops.h"
#include "model/lora_expert.h"

namespace rr {
namespace {

// Runs f at 1, 2 and 3 threads (the thread count restored after) and returns the three results.
std::vector<std::vector<at::Tensor>> at_thread_counts(const std::function<std::vector<at::Tensor>()>& f) {
  const int before = at::get_num_threads();
  std::vector<std::vector<at::Tensor>> out;
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    out.push_back(f());
  }
  set_threads(before);
  return out;
}

void expect_bit_identical(const std::vector<std::vector<at::Tensor>>& runs) {
  for (size_t r = 1; r < runs.size(); ++r)
    for (size_t i = 0; i < runs[0].size(); ++i)
      EXPECT_TRUE(at::equal(runs[0][i], runs[r][i]))
          << "result " << i << " differs at " << r + 1 << " threads";
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = want.abs().max().item<double>() + 1e-30;
  EXPECT_LE((got - want).abs().max().item<double>() / scale, 2e-6) << what;
}

// Reductions of 1,000 and 450 (a BLAS blocks them differently when threaded), odd tile remainders, a
// column slice as output, and a single row.
TEST(InvariantOps, ProductsDoNotDependOnTheThreadCountAndEqualLibTorchs) {
  at::manual_seed(1);
  const std::vector<std::array<int64_t, 3>> shapes = {
      {300, 1000, 70}, {5, 450, 640}, {1, 33, 1}, {129, 200, 513}};
  for (const auto& [m, k, n] : shapes) {
    const at::Tensor a = at::randn({m, k}), b = at::randn({n, k}).t();  // b: k x n, column-major
    const auto runs = at_thread_counts([&] {
      at::Tensor into = at::zeros({m, n + 3});
      invariant_mm_out(into.narrow(1, 2, n), a, b);
      return std::vector<at::Tensor>{invariant_mm(a, b), into};
    });
    expect_bit_identical(runs);
    expect_close(runs[0][0], at::mm(a.to(at::kDouble), b.to(at::kDouble)).to(at::kFloat), "mm");
    EXPECT_TRUE(at::equal(runs[0][1].narrow(1, 2, n), runs[0][0]));
    EXPECT_EQ(runs[0][1].narrow(1, 0, 2).abs().sum().item<double>(), 0.0);  // nothing outside the slice
  }
}

// Attention's shapes: batched products of permuted views, forward and gradients; linear with a bias; layer
// norm; a long sum. Gradients equal LibTorch's autograd (to float rounding) and are bit-identical at 1, 2
// and 3 threads.
TEST(InvariantOps, GradientsDoNotDependOnTheThreadCount) {
  at::manual_seed(2);
  const at::Tensor x0 = at::randn({6, 75, 4, 16}).permute({0, 2, 1, 3});  // B x heads x T x d, a view
  const at::Tensor y0 = at::randn({6, 4, 75, 16}), h0 = at::randn({7, 450, 24}), w0 = at::randn({33, 24}),
                   b0 = at::randn({33}), g0 = at::randn({24}), beta0 = at::randn({24});
  const at::Tensor long0 = at::randn({1000003}, at::kDouble);
  auto grads = [&](bool invariant) {
    at::Tensor x = x0.clone().requires_grad_(true), y = y0.clone().requires_grad_(true),
               h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
               b = b0.clone().requires_grad_(true), g = g0.clone().requires_grad_(true),
               beta = beta0.clone().requires_grad_(true), l = long0.clone().requires_grad_(true);
    const at::Tensor scores =
        invariant ? invariant_matmul(x, y.transpose(-1, -2)) : at::matmul(x, y.transpose(-1, -2));
    const at::Tensor ctx =
        invariant ? invariant_matmul(scores.softmax(-1), y) : at::matmul(scores.softmax(-1), y);
    const at::Tensor lin = invariant ? invariant_linear(h, w, b) : at::linear(h, w, b);
    const at::Tensor norm =
        invariant ? invariant_layer_norm(h * 3, g, beta, 1e-12) : at::layer_norm(h * 3, {24}, g, beta, 1e-12);
    const at::Tensor total = invariant ? invariant_sum(l.sin()) : l.sin().sum();
    const at::Tensor loss =
        (ctx * ctx.cos()).sum() + (lin * lin.sin()).sum() + (norm * norm.cos()).sum() + total.to(at::kFloat);
    loss.backward();
    return std::vector<at::Tensor>{ctx,      lin,      norm,     total,    x.grad(),    y.grad(),
                                   h.grad(), w.grad(), b.grad(), g.grad(), beta.grad(), l.grad()};
  };
  const auto runs = at_thread_counts([&] { return grads(true); });
  expect_bit_identical(runs);
  const auto reference = grads(false);
  const char* names[] = {"ctx",    "linear", "layer norm", "sum",        "grad x",    "grad y",
                         "grad h", "grad w", "grad b",     "grad gamma", "grad beta", "grad long"};
  for (size_t i = 0; i < reference.size(); ++i) expect_close(runs[0][i], reference[i], names[i]);
}

// A BERT with a LoRA adapter: one training step's loss and adapter gradients, and inference embeddings of
// 150-token texts, bit-identical at 1, 2 and 3 threads.
TEST(InvariantOps, BertTrainingStepAndEncodingDoNotDependOnTheThreadCount) {
  BertConfig c;
  c.vocab_size = 300, c.hidden_size = 48, c.num_hidden_layers = 2, c.num_attention_heads = 4,
  c.intermediate_size = 200, c.max_position_embeddings = 160;
  const BertEncoder model = BertEncoder::random(c, 5);
  at::Generator gen = at::detail::createCPUGenerator(3);
  LoraAdapter adapter = LoraAdapter::create(model, LoraConfig{}, 9);
  for (auto& [m, ab] : adapter.modules) ab.second = at::randn(ab.second.sizes(), gen) * 0.2;  // B != 0
  LoraExpert expert(model, std::move(adapter));
  for (auto& [name, p] : expert.trainable()) p.requires_grad_(true);
  const at::Tensor ids = at::randint(1, 300, {24, 150}, gen);
  at::Tensor mask = at::ones({24, 150}, at::kLong);
  mask.narrow(1, 120, 30).narrow(0, 0, 12).zero_();
  const auto runs = at_thread_counts([&] {
    auto params = expert.trainable();
    for (auto& [name, p] : params) p.mutable_grad() = at::Tensor();
    const ForwardMode mode{true, make_generator(at::Device(at::kCPU), 11)};
    const at::Tensor e = expert.embed(ids, mask, mode);
    const at::Tensor loss = (e * e.roll(1, 0)).sum();
    loss.backward();
    std::vector<at::Tensor> out{loss.detach()};
    for (auto& [name, p] : params) out.push_back(p.grad().clone());
    at::NoGradGuard no_grad;
    out.push_back(model.embed(ids, mask));
    return out;
  });
  expect_bit_identical(runs);
  EXPECT_GT(runs[0].size(), 3u);
}

}  // namespace
}  // namespace rr
