#include "eval/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace rr {
namespace {

// The continued fraction of I_x(a, b) (converges fast for x < (a + 1) / (a + b + 2)).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-16;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  auto guard = [](double v) { return std::abs(v) > kTiny ? v : kTiny; };
  double c = 1, d = 1 / guard(1 - qab * x / qap), h = d;
  for (int m = 1; m < 10000; ++m) {
    const double m2 = 2.0 * m;
    for (const double numerator :
         {m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))}) {
      d = 1 / guard(1 + numerator * d);
      c = guard(1 + numerator / c);
      h *= d * c;
    }
    if (std::abs(d * c - 1) < kEps) return h;
  }
  RR_THROW(Runtime, "incomplete beta({}, {}, {}) did not converge", a, b, x);
}

// lgamma(z + b) - lgamma(z) for z >= b > 0 without the cancellation of two large lgammas (whose rounding,
// ~1e-16 x lgamma(z), would reach 1e-12 for the t-test of a few thousand queries): Stirling's series.
double log_gamma_ratio(double z, double b) {
  if (z < 20) return std::lgamma(z + b) - std::lgamma(z);
  auto series = [](double v) {  // lgamma(v) - ((v - 0.5) log v - v + log(2 pi) / 2)
    const double r = 1 / v, r2 = r * r;
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)));
  };
  return (z - 0.5) * std::log1p(b / z) + b * std::log(z + b) - b + series(z + b) - series(z);
}

}  // namespace

double incomplete_beta(double a, double b, double x, double y) {
  if (y < 0) y = 1 - x;
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const double big = std::max(a, b), small = std::min(a, b);
  // log x and log(1 - x) from whichever of x and y is far from 1 (both exact inputs, no 1 - x rounding).
  const double log_x = y < 0.5 ? std::log1p(-y) : std::log(x), log_y = x < 0.5 ? std::log1p(-x) : std::log(y);
  const double log_front = log_gamma_ratio(big, small) - std::lgamma(small) + a * log_x + b * log_y;
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_fraction(b, a, y) / b;
}

PairedTTest paired_t_test(const std::vector<double>& x, const std::vector<double>& y) {
  RR_CHECK(x.size() == y.size(), Runtime, "paired t-test: {} and {} values", x.size(), y.size());
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const size_t n = x.size();
  if (n < 2) return {kNaN, kNaN};
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = x[i] - y[i];
  const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (const double v : d) ss += (v - mean) * (v - mean);
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  if (sd == 0) return mean == 0 ? PairedTTest{kNaN, kNaN} : PairedTTest{std::copysign(INFINITY, mean), 0.0};
  const double t = mean / (sd / std::sqrt(static_cast<double>(n)));
  const double df = static_cast<double>(n - 1);
  return {t, std::min(1.0, incomplete_beta(df / 2, 0.5, df / (df + t * t), t * t / (df + t * t)))};
}

std::vector<double> holm(const std::vector<double>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.size(), std::numeric_limits<double>::quiet_NaN());
  double running = 0;
  const double m = static_cast<double>(order.size());
  for (size_t rank = 0; rank < order.size(); ++rank) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(rank)) * p[order[rank]]));
    out[order[rank]] = running;
  }
  return out;
}

}  // namespace rr
