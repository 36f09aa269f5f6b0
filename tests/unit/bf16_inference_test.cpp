// precision bf16's packed inference (model/bf16_dense.h, model/bf16_attention.h, BertEncoder's packed
// layers) against references computed in double from the same bf16-rounded inputs. Skips where the CPU has
// no fast bf16 (those classes refuse to run there).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "model/autocast.h"
#include "model/bert_encoder.h"
#include "model/bf16_attention.h"
#include "model/bf16_dense.h"
#include "model/lora.h"

namespace rr {
namespace {

#define RR_REQUIRE_FAST_BF16()                                                                 \
  if (!has_fast_bf16(c10::Device(c10::kCPU)))                                                  \
  GTEST_SKIP() << "no AVX512_BF16/AMX-BF16 on this CPU: packed bf16 inference refuses to run " \
                  "here (Encoder.Bf16PrecisionIsCloseToFp32OrRefused checks the refusal)"

at::Tensor bf16_round(const at::Tensor& t) {
  return t.to(at::kBFloat16).to(at::kDouble);
}

// |got - want| within one bf16 rounding of want (2^-8 relative) plus `abs`.
void expect_bf16_close(const at::Tensor& got, const at::Tensor& want, double abs, const std::string& what) {
  const at::Tensor g = got.to(at::kDouble), w = want.to(at::kDouble);
  const at::Tensor excess = (g - w).abs() - (w.abs() * std::ldexp(1.0, -8) + abs);
  EXPECT_LE(excess.max().item<double>(), 0.0)
      << what << ": worst |got - want| " << (g - w).abs().max().item<double>();
}

TEST(Bf16Dense, EveryEpilogueMatchesTheProductOfTheRoundedInputs) {
  RR_REQUIRE_FAST_BF16();
  at::manual_seed(3);
  // Two Linears stacked (40 + 24 outputs), 48 inputs, 37 rows: odd sizes, not multiples of any block.
  const std::vector<at::Tensor> w = {at::randn({40, 48}), at::randn({24, 48})},
                                b = {at::randn({40}), at::randn({24})};
  const Bf16Dense dense(w, b);
  EXPECT_EQ(dense.in_features(), 48);
  EXPECT_EQ(dense.out_features(), 64);
  const at::Tensor x = at::randn({37, 48}).to(at::kBFloat16);
  // fp32 accumulation of exact bf16 products: error <= ~K 2^-24 sum |x w|; the scale below bounds it.
  const at::Tensor pre = at::linear(x.to(at::kDouble), bf16_round(at::cat(w)), at::cat(b).to(at::kDouble));
  const double sum_bound =
      1e-5 * at::linear(x.to(at::kDouble).abs(), bf16_round(at::cat(w)).abs()).max().item<double>();
  using E = Bf16Dense::Epilogue;
  const std::vector<std::pair<E, at::Tensor>> cases = {
      {E::None, pre},
      {E::GeluErf, at::gelu(pre)},
      {E::GeluTanh, at::gelu(pre, "tanh")},
      {E::Relu, at::relu(pre)},
  };
  for (const auto& [e, want] : cases) {
    for (auto type : {at::kBFloat16, at::kFloat}) {
      at::Tensor out = at::empty({37, 64}, at::TensorOptions().dtype(type));
      dense.forward(x, e, out);
      expect_bf16_close(
          out, want, type == at::kFloat ? sum_bound : sum_bound + 1e-30,
          "epilogue " + std::to_string(static_cast<int>(e)) + (type == at::kFloat ? " fp32" : " bf16"));
      if (type == at::kFloat) {
        EXPECT_LE((out.to(at::kDouble) - want).abs().max().item<double>(), sum_bound * 4);
      }
    }
  }
  // Accumulate: out += x W^T + b, in fp32 before any rounding.
  const at::Tensor residual = at::randn({37, 64});
  at::Tensor acc = residual.clone();
  dense.forward(x, E::Accumulate, acc);
  EXPECT_LE((acc.to(at::kDouble) - (residual.to(at::kDouble) + pre)).abs().max().item<double>(),
            sum_bound * 4);
  // One Bf16Dense serves any number of rows (the packed layout is chosen once), here with a long K that
  // oneDNN may split among threads while accumulating the residual.
  const at::Tensor ww = at::randn({24, 1024}), wb = at::randn({24});
  const Bf16Dense wide({ww}, {wb});
  for (int64_t rows : {1, 5, 31, 300, 7}) {
    const at::Tensor xw = at::randn({rows, 1024}).to(at::kBFloat16), start = at::randn({rows, 24});
    at::Tensor sum = start.clone();
    wide.forward(xw, E::Accumulate, sum);
    const at::Tensor want =
        start.to(at::kDouble) + at::linear(xw.to(at::kDouble), bf16_round(ww), wb.to(at::kDouble));
    const double bound =
        4e-5 * at::linear(xw.to(at::kDouble).abs(), bf16_round(ww).abs()).max().item<double>();
    EXPECT_LE((sum.to(at::kDouble) - want).abs().max().item<double>(), bound) << rows << " rows";
  }
  // Misuse is an error, not a wrong product.
  at::Tensor wrong = at::empty({37, 63});
  EXPECT_THROW(dense.forward(x, E::None, wrong), Error);
  at::Tensor bf16_acc = at::empty({37, 64}, at::TensorOptions().dtype(at::kBFloat16));
  EXPECT_THROW(dense.forward(x, E::Accumulate, bf16_acc), Error);
  EXPECT_THROW(dense.forward(x.to(at::kFloat), E::None, acc), Error);
}

TEST(Bf16Attention, MatchesSoftmaxAttentionWithPaddedKeysIgnored) {
  RR_REQUIRE_FAST_BF16();
  at::manual_seed(5);
  const int64_t B = 3, T = 7, heads = 2, width = 8, H = heads * width;
  const double scale = 1.0 / std::sqrt(static_cast<double>(width));
  at::Tensor qkv = at::randn({B * T, 3 * H}).to(at::kBFloat16);
  // Rows 0 and 2 padded after 5 and 1 tokens; row 1 full.
  const at::Tensor mask =
      at::tensor({1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, at::kFloat).view({B, T});
  const at::Tensor mask_bias = ((1.0 - mask) * std::numeric_limits<float>::lowest()).contiguous();
  // Padded keys' values are huge: any weight on them would show.
  at::Tensor v_part = qkv.narrow(1, 2 * H, H).view({B, T, H});
  v_part.masked_fill_((mask == 0).unsqueeze(-1).expand({B, T, H}), 1e4);
  const Bf16Attention attention(H, heads, scale);
  at::Tensor ctx = at::empty({B * T, H}, at::TensorOptions().dtype(at::kBFloat16));
  attention.forward(qkv, mask_bias, ctx);

  const at::Tensor d =
      qkv.to(at::kDouble).view({B, T, 3, heads, width}).permute({2, 0, 3, 1, 4});  // 3 B h T w
  const at::Tensor scores = at::matmul(d[0], d[1].transpose(-1, -2)) * scale +
                            ((1.0 - mask.to(at::kDouble)) * -1e300).view({B, 1, 1, T});
  const at::Tensor probs = bf16_round(at::softmax(scores, -1));  // rounded to bf16 as the product reads them
  const at::Tensor want = at::matmul(probs, d[2]).permute({0, 2, 1, 3}).reshape({B * T, H});
  // probs rounded from fp32 softmax vs from double: one bf16 ulp of each weight, times |v| <= ~5.
  expect_bf16_close(ctx, want, 0.05, "attention context");
  EXPECT_LT(ctx.to(at::kFloat).abs().max().item<float>(), 100.f);  // no weight on the 1e4 values
}

struct SmallModel {
  BertConfig config;
  BertEncoder model;
  at::Tensor ids, mask;
};

SmallModel small_model(const std::string& act, uint64_t seed) {
  BertConfig c;
  c.vocab_size = 60, c.hidden_size = 64, c.num_hidden_layers = 2, c.num_attention_heads = 4,
  c.intermediate_size = 96, c.max_position_embeddings = 40;
  c.hidden_act = act;
  BertEncoder model = BertEncoder::random(c, seed);
  at::Tensor ids = at::randint(5, 60, {5, 17}, at::kLong), mask = at::ones({5, 17}, at::kLong);
  mask[0].narrow(0, 9, 8).zero_();
  mask[3].narrow(0, 2, 15).zero_();
  ids.masked_fill_(mask == 0, 0);
  return {c, std::move(model), ids, mask};
}

// The packed path (no gradients) against autocast's op-by-op path (gradients on) and fp32: the same model,
// so both bf16 results sit within bf16 rounding of fp32, and of each other.
TEST(Bf16Encoder, PackedLayersAgreeWithAutocastAndFp32) {
  RR_REQUIRE_FAST_BF16();
  const c10::Device cpu(c10::kCPU);
  for (const std::string act : {"gelu", "gelu_new", "relu"}) {
    at::manual_seed(9);
    SmallModel s = small_model(act, 21);
    // Two experts with visible LoRA deltas, mixed over the rows (row 4: the base).
    std::vector<std::unique_ptr<LoraAdapter>> adapters;
    at::Generator gen = at::detail::createCPUGenerator(13);
    for (uint64_t e = 0; e < 2; ++e) {
      auto a = std::make_unique<LoraAdapter>(LoraAdapter::create(s.model, LoraConfig{}, 100 + e));
      for (auto& [m, ab] : a->modules) ab.second = at::randn(ab.second.sizes(), gen) * 0.2;
      adapters.push_back(std::move(a));
    }
    // Rows 0: the base, 1-2: expert 0, 3-4: expert 1 (a mixed batch's rows are sorted by expert).
    const DeltaBatch deltas =
        group_rows_by_delta({adapters[0].get(), adapters[1].get()}, {-1, 0, 0, 1, 1}).batch;
    for (const DeltaBatch* d : std::vector<const DeltaBatch*>{nullptr, &deltas}) {
      const std::string what = act + (d ? " with deltas" : "");
      at::Tensor fp32, autocast, packed;
      {
        at::NoGradGuard no_grad;
        fp32 = s.model.forward(s.ids, s.mask, d);
      }
      {
        Autocast ac(true, cpu);
        autocast = s.model.forward(s.ids, s.mask, d).detach();  // gradients on: op by op
        at::NoGradGuard no_grad;
        packed = s.model.forward(s.ids, s.mask, d);  // packed
      }
      ASSERT_EQ(packed.scalar_type(), at::kFloat);
      ASSERT_EQ(packed.sizes(), fp32.sizes());
      const at::Tensor attended = s.mask.to(at::kBool);
      const double packed_err = (packed - fp32).abs().index({attended}).max().item<double>();
      const double autocast_err =
          (autocast.to(at::kFloat) - fp32).abs().index({attended}).max().item<double>();
      std::printf("%s: max abs diff from fp32: packed %.3g, autocast %.3g\n", what.c_str(), packed_err,
                  autocast_err);
      EXPECT_GT(packed_err, 0.0) << what;  // bf16 did run
      EXPECT_LT(packed_err, 0.1) << what;
      EXPECT_LT(packed_err, 2 * autocast_err + 0.01) << what;
      EXPECT_LT((packed - autocast.to(at::kFloat)).abs().index({attended}).max().item<double>(), 0.1) << what;
      // Not the op-by-op path under another name: it rounds differently (scores, epilogues, residual).
      EXPECT_FALSE(at::equal(packed, autocast.to(at::kFloat))) << what;
    }
  }
}

// Shapes that batches of real texts produce: one token, one text, a fully padded row (uniform attention, as
// in HF), and the padded length changing from batch to batch on the same packed model.
TEST(Bf16Encoder, PackedLayersHandleEveryBatchShape) {
  RR_REQUIRE_FAST_BF16();
  SmallModel s = small_model("gelu", 6);
  at::manual_seed(2);
  for (const auto& [B, T] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 12}, {3, 2}, {4, 33}, {2, 5}}) {
    at::Tensor ids = at::randint(5, 60, {B, T}, at::kLong), mask = at::ones({B, T}, at::kLong);
    if (B > 2) mask[1].zero_();  // a row with no token at all
    at::NoGradGuard no_grad;
    const at::Tensor fp32 = s.model.forward(ids, mask);
    Autocast ac(true, c10::Device(c10::kCPU));
    const at::Tensor packed = s.model.forward(ids, mask);
    ASSERT_EQ(packed.sizes(), fp32.sizes());
    EXPECT_FALSE(packed.isnan().any().item<bool>()) << B << " x " << T;
    EXPECT_LT((packed - fp32).abs().max().item<double>(), 0.05) << B << " x " << T;
  }
}

// A weight updated in place (or replaced) is packed again: the packed path never reads stale weights.
TEST(Bf16Encoder, ChangedWeightsArePackedAgain) {
  RR_REQUIRE_FAST_BF16();
  SmallModel s = small_model("gelu", 4);
  Autocast ac(true, c10::Device(c10::kCPU));
  at::NoGradGuard no_grad;
  const at::Tensor before = s.model.forward(s.ids, s.mask);
  const std::string name = "encoder.layer.1.output.dense.weight";
  const at::Tensor original = s.model.params().at(name).clone();
  s.model.params().at(name).mul_(3);  // in place: the same storage, a new version
  const at::Tensor after = s.model.forward(s.ids, s.mask);
  EXPECT_GT((after - before).abs().max().item<double>(), 1e-2);
  const BertEncoder replaced = s.model.with_params({{name, original}});  // another tensor
  EXPECT_TRUE(at::equal(replaced.forward(s.ids, s.mask), before));
}

}  // namespace
}  // namespace rr
