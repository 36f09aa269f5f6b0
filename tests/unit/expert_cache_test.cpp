#include "model/expert_cache.h"

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <random>

#include "common/error.h"
#include "model/lora_expert.h"
#include "tests/test_support.h"

namespace rr {
namespace {

BertEncoder tiny_base() {
  BertConfig c;
  c.vocab_size = 50, c.hidden_size = 16, c.num_hidden_layers = 1, c.num_attention_heads = 2,
  c.intermediate_size = 20;
  return BertEncoder::random(c, 3);
}

// A stand-in model for the cache's bookkeeping: which expert it is.
struct Tagged final : QueryModel {
  explicit Tagged(int32_t e) : expert(e) {}
  int32_t expert;
  at::Tensor embed(const at::Tensor&, const at::Tensor&, const ForwardMode&) const override { return {}; }
  BertEncoder inference_encoder() const override { RR_THROW(Runtime, "not used"); }
  const LinearDelta* delta() const override { return nullptr; }
  std::map<std::string, at::Tensor> trainable() override { return {}; }
  void save(const std::filesystem::path&) const override {}
  int64_t weight_bytes() const override { return 100; }
};

// Least recently used goes first; a handle outlives its eviction; an expert dropped is loaded again.
TEST(ExpertCache, DropsTheLeastRecentlyUsed) {
  std::vector<int32_t> loaded;
  ExpertCache cache(5, 2, [&](int32_t e) {
    loaded.push_back(e);
    return std::make_unique<Tagged>(e);
  });
  const auto zero = cache.get(0);
  cache.get(1);
  cache.get(0);  // 1 is now the least recently used
  cache.get(2);  // drops 1
  EXPECT_EQ(cache.held(), 2u);
  EXPECT_EQ(cache.held_bytes(), 200);
  cache.get(0);  // still held
  EXPECT_EQ(loaded, (std::vector<int32_t>{0, 1, 2}));
  cache.get(1);  // loaded again, dropping 2
  cache.get(3);  // drops 0; the handle `zero` keeps it alive
  EXPECT_EQ(loaded, (std::vector<int32_t>{0, 1, 2, 1, 3}));
  EXPECT_EQ(dynamic_cast<const Tagged&>(*zero).expert, 0);
  EXPECT_EQ(cache.loads(), 5);
  EXPECT_THROW(cache.get(5), Error);
  EXPECT_THROW(ExpertCache(3, 0, [](int32_t e) { return std::make_unique<Tagged>(e); }), Error);
}

// 1,000 PEFT adapters on disk, 2,000 queries routed over them (and the base) in blocks of 64: at most 64
// adapters held at any time (64 x one adapter's bytes), every expert loaded when first named, and the
// embeddings bit-identical to mixed batches with all 1,000 adapters in memory.
TEST(ExpertCache, ThousandAdaptersRouteUnderTheMemoryBound) {
  c10::InferenceMode guard;
  const BertEncoder base = tiny_base();
  test::TempDir dir;
  constexpr int32_t kExperts = 1000;
  constexpr size_t kCapacity = 64;
  at::Generator gen = at::detail::createCPUGenerator(9);
  std::vector<std::unique_ptr<QueryModel>> all;
  for (int32_t e = 0; e < kExperts; ++e) {
    LoraAdapter a = LoraAdapter::create(base, LoraConfig{}, 500 + static_cast<uint64_t>(e));
    for (auto& [m, ab] : a.modules) ab.second = at::randn(ab.second.sizes(), gen) * 0.2;
    a.save(dir / std::to_string(e));
    all.push_back(std::make_unique<LoraExpert>(base, std::move(a)));
  }
  const int64_t adapter_bytes = all[0]->weight_bytes();
  ExpertCache cache(kExperts, kCapacity,
                    [&](int32_t e) { return load_query_model(dir / std::to_string(e), base); });
  std::mt19937 rng(4);
  TokenIds ids;
  std::vector<int32_t> choice;
  for (int i = 0; i < 2000; ++i) {
    std::vector<int32_t> t = {2};
    for (uint32_t j = 0; j < 3 + rng() % 9; ++j) t.push_back(5 + static_cast<int32_t>(rng() % 45));
    t.push_back(3);
    ids.push_back(t);
    choice.push_back(i % 17 == 0 ? -1 : static_cast<int32_t>(rng() % kExperts));
  }
  std::vector<const QueryModel*> eager;
  for (const auto& m : all) eager.push_back(m.get());
  const EncodeParams p;
  size_t most_held = 0;
  int64_t most_bytes = 0;
  for (size_t lo = 0; lo < ids.size(); lo += 64) {
    const size_t hi = std::min(ids.size(), lo + 64);
    const TokenIds block(ids.begin() + static_cast<std::ptrdiff_t>(lo),
                         ids.begin() + static_cast<std::ptrdiff_t>(hi));
    const std::vector<int32_t> rows(choice.begin() + static_cast<std::ptrdiff_t>(lo),
                                    choice.begin() + static_cast<std::ptrdiff_t>(hi));
    const at::Tensor lazy = encode_routed(base, block, p, cache, rows);
    most_held = std::max(most_held, cache.held());
    most_bytes = std::max(most_bytes, cache.held_bytes());
    ASSERT_TRUE(at::equal(lazy, encode_ids(base, block, p, eager, rows))) << "block at " << lo;
  }
  EXPECT_LE(most_held, kCapacity);
  EXPECT_EQ(most_held, kCapacity);  // the bound was reached, and held
  EXPECT_LE(most_bytes, static_cast<int64_t>(kCapacity) * adapter_bytes);
  std::vector<char> named(kExperts, 0);
  for (const int32_t e : choice)
    if (e >= 0) named[static_cast<size_t>(e)] = 1;
  EXPECT_GE(cache.loads(), std::count(named.begin(), named.end(), 1));  // each named expert loaded
  EXPECT_LT(cache.loads(), static_cast<int64_t>(choice.size()));        // ...not once per query
}

}  // namespace
}  // namespace rr
