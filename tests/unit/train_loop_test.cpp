#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "common/error.h"
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

}  // namespace
}  // namespace rr
