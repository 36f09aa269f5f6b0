#include "eval/significance.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rr {
namespace {

// Reference values from scipy 1.10.1 (an independent implementation), made by:
//   x = np.mod(np.arange(n) * 0.37, 1); y = np.mod(np.arange(n) * 0.59 + 0.1, 1) * 0.9 + 0.05
//   scipy.stats.ttest_rel(x, y); scipy.special.betainc(a, b, x)
// tests/analysis/test_significance.py checks the Python twin against scipy live.
TEST(Significance, PairedTTestEqualsScipy) {
  const struct {
    int n;
    double t, p;
  } cases[] = {{5, -0.7462272146296766, 0.49699900431797184},
               {40, -0.23855776522879568, 0.8126976048706565},
               {1000, -0.42855015523611606, 0.6683430103995218},
               {7000, -1.517355223060695, 0.12922218659619525}};
  for (const auto& c : cases) {
    std::vector<double> x(c.n), y(c.n);
    for (int i = 0; i < c.n; ++i) {
      x[i] = std::fmod(i * 0.37, 1.0);
      y[i] = std::fmod(i * 0.59 + 0.1, 1.0) * 0.9 + 0.05;
    }
    const PairedTTest r = paired_t_test(x, y);
    EXPECT_NEAR(r.t, c.t, 1e-12) << c.n;
    EXPECT_NEAR(r.p, c.p, 1e-12) << c.n;
  }
}

TEST(Significance, IncompleteBetaEqualsScipy) {
  EXPECT_NEAR(incomplete_beta(0.5, 0.5, 0.3), 0.3690101195655454, 1e-14);
  EXPECT_NEAR(incomplete_beta(2.0, 0.5, 0.9), 0.5414697392755847, 1e-14);
  EXPECT_NEAR(incomplete_beta(499.5, 0.5, 0.999), 0.3175526601763405, 1e-13);
  EXPECT_NEAR(incomplete_beta(10.0, 3.0, 0.2), 4.526080000000003e-06, 1e-18);
  EXPECT_EQ(incomplete_beta(3, 4, 0), 0.0);
  EXPECT_EQ(incomplete_beta(3, 4, 1), 1.0);
}

TEST(Significance, DegenerateDifferencesAsScipy) {
  const PairedTTest same = paired_t_test({0.2, 0.4, 0.6}, {0.2, 0.4, 0.6});
  EXPECT_TRUE(std::isnan(same.t) && std::isnan(same.p));
  const PairedTTest shifted = paired_t_test({0.25, 0.25, 0.25}, {0.75, 0.75, 0.75});
  EXPECT_TRUE(std::isinf(shifted.t) && shifted.t < 0);
  EXPECT_EQ(shifted.p, 0.0);
  EXPECT_TRUE(std::isnan(paired_t_test({1.0}, {0.0}).p));
}

TEST(Significance, HolmByHand) {
  // sorted 0.005 (x4), 0.01 (x3), 0.03 (x2), 0.04 (x1, kept monotone)
  const auto out = holm({0.01, 0.04, 0.03, 0.005});
  EXPECT_NEAR(out[0], 0.03, 1e-15);
  EXPECT_NEAR(out[1], 0.06, 1e-15);
  EXPECT_NEAR(out[2], 0.06, 1e-15);
  EXPECT_NEAR(out[3], 0.02, 1e-15);
  const auto with_nan = holm({0.2, NAN, 0.6});
  EXPECT_NEAR(with_nan[0], 0.4, 1e-15);
  EXPECT_TRUE(std::isnan(with_nan[1]));
  EXPECT_NEAR(with_nan[2], 0.6, 1e-15);
}

}  // namespace
}  // namespace rr
