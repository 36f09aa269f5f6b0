#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "common/error.h"
#include "train/inverse_cloze.h"
#include "train/train_loop.h"

namespace rr {
namespace {

// One parameter and a step that reports `loss(step)` and a unit gradient.
struct Toy {
  std::map<std::string, at::Tensor> params{{"w", at::zeros({3})}};
  AdamW opt{params, {0.9, 0.999, 1e-8, 0.0}};
  TrainCurve run(const LoopSpec& spec, const std::function<double(int64_t)>& loss) {
    return run_loop(spec, params, opt, Solo(), [&](int64_t s) {
      (params["w"] * at::ones({3})).sum().backward();
      return loss(s);
    });
  }
};

LoopSpec spec(int64_t steps, double chance) {
  LoopSpec s;
  s.label = "toy";
  s.steps = steps;
  s.lr = 1e-3;
  s.chance_loss = chance;
  return s;
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A loss that never gets below chance fails with what was seen and what to change; one that does passes.
TEST(TrainLoop, LossNotBelowChanceFailsTraining) {
  const double chance = std::log(32.0);
  Toy stuck;
  const std::string m = message_of([&] { stuck.run(spec(40, chance), [](int64_t) { return 3.6; }); });
  EXPECT_NE(m.find("not below chance"), std::string::npos) << m;
  EXPECT_NE(m.find("normalize"), std::string::npos) << m;
  Toy learning;
  const TrainCurve c =
      learning.run(spec(40, chance), [](int64_t s) { return 6.0 - 0.1 * static_cast<double>(s); });
  EXPECT_EQ(c.steps_done, 40);
  Toy unchecked;  // chance_loss 0: no check (the experts: their dev selection keeps the base at worst)
  EXPECT_EQ(unchecked.run(spec(40, 0), [](int64_t) { return 9.0; }).steps_done, 40);
  Toy short_run;  // fewer than 10 steps: too few to judge
  EXPECT_EQ(short_run.run(spec(5, chance), [](int64_t) { return 9.0; }).steps_done, 5);
}

TEST(TrainLoop, NonFiniteLossStopsAtOnce) {
  Toy t;
  const std::string m = message_of([&] {
    t.run(spec(40, 0), [](int64_t s) { return s == 7 ? std::numeric_limits<double>::quiet_NaN() : 1.0; });
  });
  EXPECT_NE(m.find("at step 8"), std::string::npos) << m;
  EXPECT_NE(m.find("diverged"), std::string::npos) << m;
}

// Inverse cloze pairs: the query is one whole sentence, the positive the text around it without it.
TEST(InverseCloze, SentenceOutContextAround) {
  const int32_t dot = 1, ask = 2;  // sentence ends
  // sentences: [10 11 12 .] [20 21 22 23 ?] [30 31 .] [40 41 42 43] (the last without an end mark)
  const std::vector<int32_t> doc = {10, 11, 12, dot, 20, 21, 22, 23, ask, 30, 31, dot, 40, 41, 42, 43};
  std::mt19937_64 rng(5);
  std::set<std::vector<int32_t>> queries;
  for (int draw = 0; draw < 200; ++draw) {
    const auto pair = inverse_cloze_pair(doc, {dot, ask}, 4, 100, rng);
    ASSERT_TRUE(pair.has_value());
    queries.insert(pair->query);
    std::vector<int32_t> rest;  // the document less the query, in order
    const auto at = std::search(doc.begin(), doc.end(), pair->query.begin(), pair->query.end());
    ASSERT_NE(at, doc.end());
    rest.assign(doc.begin(), at);
    rest.insert(rest.end(), at + static_cast<int64_t>(pair->query.size()), doc.end());
    EXPECT_EQ(pair->positive, rest);
  }
  // Every sentence of at least 4 pieces is drawn; [30 31 .] is too short.
  const std::set<std::vector<int32_t>> expected = {
      {10, 11, 12, dot}, {20, 21, 22, 23, ask}, {40, 41, 42, 43}};
  EXPECT_EQ(queries, expected);

  // A narrow context is a window of the rest around where the sentence was.
  for (int draw = 0; draw < 50; ++draw) {
    const auto pair = inverse_cloze_pair(doc, {dot, ask}, 5, 4, rng);
    ASSERT_TRUE(pair.has_value());
    EXPECT_EQ(pair->query, (std::vector<int32_t>{20, 21, 22, 23, ask}));
    EXPECT_EQ(pair->positive, (std::vector<int32_t>{12, dot, 30, 31}));
  }
  EXPECT_FALSE(inverse_cloze_pair({10, 11, 12, 13, dot}, {dot}, 2, 100, rng));   // one sentence
  EXPECT_FALSE(inverse_cloze_pair(doc, {dot, ask}, 6, 100, rng));                // none long enough
  EXPECT_FALSE(inverse_cloze_pair({1, 2, 3, dot, 4, dot}, {dot}, 4, 100, rng));  // too little besides it
}

}  // namespace
}  // namespace rr
