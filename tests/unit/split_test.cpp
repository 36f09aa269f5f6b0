#include <gtest/gtest.h>

#include "common/error.h"
#include "data/split.h"

namespace rr {
namespace {

TEST(Split, DeterministicPerIdAndSeedWithRequestedFractions) {
  SplitFractions f{0.6, 0.1};
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 20000; ++i) {
    std::string id = "q" + std::to_string(i);
    Split s = split_of(id, 42, f);
    EXPECT_EQ(s, split_of(id, 42, f));
    ++counts[static_cast<int>(s)];
  }
  EXPECT_NEAR(counts[0] / 20000.0, 0.6, 0.02);
  EXPECT_NEAR(counts[1] / 20000.0, 0.1, 0.02);
  int moved = 0;
  for (int i = 0; i < 1000; ++i)
    moved += split_of("q" + std::to_string(i), 42, f) != split_of("q" + std::to_string(i), 43, f);
  EXPECT_GT(moved, 100);  // another seed, another split
  EXPECT_EQ(stable_hash("abc", 1), stable_hash("abc", 1));
  EXPECT_NE(stable_hash("abc", 1), stable_hash("abd", 1));
}

TEST(Split, RejectsBadFractions) {
  EXPECT_THROW(split_of("a", 1, {0.8, 0.5}), Error);
}

}  // namespace
}  // namespace rr
