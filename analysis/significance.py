"""Paired significance tests on per-query measures, as IR papers report them (numpy only).

- ``paired_t_test(x, y)``: Student's paired t-test, two-sided (``scipy.stats.ttest_rel``'s t and p).
- ``randomization_test(x, y, permutations, seed)``: Fisher's randomization test on the mean difference,
  two-sided: each permutation swaps the two systems' values of a random subset of queries. With a seed it
  draws exactly what ``scipy.stats.permutation_test(..., permutation_type="samples", n_resamples=permutations,
  random_state=seed)`` draws, so the p-values are equal; when ``permutations`` is at least 2^n, every sign
  pattern is enumerated (an exact test), as scipy does.
- ``holm(pvalues)``: Holm's step-down correction (family-wise error) of a family of p-values.
- ``wins_ties_losses(x, y)``: per-query counts of x above, equal to and below y.
"""

import math

import numpy as np

# scipy's relative tolerance for null statistics that equal the observed one up to rounding.
_TIE_TOLERANCE = 1e-14
# Rows of resampled sign patterns drawn at once (bounds memory to BATCH x n x 2 doubles).
_BATCH = 1000


def _continued_fraction(a, b, x):
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta({a}, {b}, {x}) did not converge")


def _log_gamma_ratio(z, b):
    """lgamma(z + b) - lgamma(z) for z >= b > 0 without the cancellation of two large lgammas (Stirling)."""
    if z < 20:
        return math.lgamma(z + b) - math.lgamma(z)

    def series(v):  # lgamma(v) - ((v - 0.5) log v - v + log(2 pi) / 2)
        r = 1.0 / v
        r2 = r * r
        return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)))
    return (z - 0.5) * math.log1p(b / z) + b * math.log(z + b) - b + series(z + b) - series(z)


def betainc(a, b, x, y=None):
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1; y: 1 - x when the
    caller knows it more precisely than 1 - x rounds (x near 1)."""
    y = 1.0 - x if y is None else y
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    big, small = max(a, b), min(a, b)
    log_x = math.log1p(-y) if y < 0.5 else math.log(x)
    log_y = math.log1p(-x) if x < 0.5 else math.log(y)
    log_front = _log_gamma_ratio(big, small) - math.lgamma(small) + a * log_x + b * log_y
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, y) / b


def paired_t_test(x, y):
    """(t, two-sided p) of Student's paired t-test of x against y, as scipy.stats.ttest_rel: every difference
    equal gives (NaN, NaN) when it is 0, else (+-inf, 0)."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    n = d.size
    if n < 2:
        return math.nan, math.nan
    sd = float(np.std(d, ddof=1))
    mean = float(np.mean(d))
    if sd == 0.0:
        return (math.nan, math.nan) if mean == 0.0 else (math.copysign(math.inf, mean), 0.0)
    t = mean / (sd / math.sqrt(n))
    df = n - 1.0
    return t, min(1.0, betainc(df / 2.0, 0.5, df / (df + t * t), t * t / (df + t * t)))


def _mean_difference(x, y, axis):
    return np.mean(x - y, axis=axis)


def randomization_test(x, y, permutations=10000, seed=0):
    """Two-sided p-value of Fisher's randomization test of mean(x - y) (see the module's description)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.size
    observed = float(np.mean(x - y))
    gamma = max(_TIE_TOLERANCE, abs(_TIE_TOLERANCE * observed))
    d = x - y
    if n < 64 and permutations >= 2 ** n:  # every sign pattern once: exact
        signs = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1)
        null = (signs * d).mean(axis=1)
        total, adjustment = null.size, 0
        below, above = int(np.sum(null <= observed + gamma)), int(np.sum(null >= observed - gamma))
    else:
        # scipy's draw: uniforms of shape (permutations, n, 2) from RandomState(seed); a query's pair is
        # swapped when its first uniform exceeds its second (argsort puts the second first).
        rng = np.random.RandomState(seed)
        below = above = 0
        for start in range(0, permutations, _BATCH):
            rows = min(_BATCH, permutations - start)
            u = rng.random_sample(size=(rows, n, 2))
            swapped = u[:, :, 0] > u[:, :, 1]
            null = np.where(swapped, y - x, d).mean(axis=1)
            below += int(np.sum(null <= observed + gamma))
            above += int(np.sum(null >= observed - gamma))
        total, adjustment = permutations, 1
    p_below = (below + adjustment) / (total + adjustment)
    p_above = (above + adjustment) / (total + adjustment)
    return float(np.clip(min(p_below, p_above) * 2, 0.0, 1.0))


def holm(pvalues):
    """Holm-corrected p-values of a family, in the given order (NaN stays NaN and is not counted)."""
    p = np.asarray(pvalues, dtype=float)
    valid = np.flatnonzero(~np.isnan(p))
    out = np.full(p.shape, np.nan)
    m = valid.size
    running = 0.0
    for rank, i in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def wins_ties_losses(x, y):
    """Queries on which x is above, equal to and below y."""
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    return int(np.sum(d > 0)), int(np.sum(d == 0)), int(np.sum(d < 0))
