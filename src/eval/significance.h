// Paired significance tests on per-query measures, as IR papers report them (the report's marks; the Python
// twin is analysis/significance.py, which `rr_analysis.py compare` uses and which is tested against scipy).
#pragma once

#include <vector>

namespace rr {

// The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1 (continued fraction, modified
// Lentz; ~1e-15). y: 1 - x when the caller knows it more precisely than 1 - x rounds (x near 1); < 0: 1 - x.
double incomplete_beta(double a, double b, double x, double y = -1);

struct PairedTTest {
  double t = 0;  // mean(x - y) / (sd(x - y) / sqrt(n)), sd with n - 1
  double p = 1;  // two-sided
};

// Student's paired t-test of x against y (same length), as scipy.stats.ttest_rel: every difference equal
// gives NaN, NaN when it is 0 and +-inf, 0 otherwise; fewer than two pairs give NaN, NaN.
PairedTTest paired_t_test(const std::vector<double>& x, const std::vector<double>& y);

// Holm's step-down correction of a family of p-values, in the given order (NaN stays NaN, not counted).
std::vector<double> holm(const std::vector<double>& p);

}  // namespace rr
