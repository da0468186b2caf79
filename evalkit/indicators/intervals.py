"""Confidence intervals for monitoring indicators.

* proportions: Wilson score interval (Wilson 1927; Newcombe 1998, method 3),
  equal to ``statsmodels.stats.proportion.proportion_confint(method="wilson")``;
* rates: exact Poisson interval on the event count (Garwood 1936) divided by
  the exposure, equal to ``statsmodels.stats.rates.confint_poisson(method="exact-c")``;
* means: Student t interval ``mean ± t_{n-1} s / sqrt(n)``;
* difference of two independent proportions: Newcombe's hybrid score
  interval (Newcombe 1998, method 10), equal to statsmodels'
  ``confint_proportions_2indep(method="newcomb")``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(stats.norm.ppf(0.5 + level / 2))


def wilson_interval(successes, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``successes / n``.

    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``; NaN where ``n == 0``.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def poisson_rate_interval(count, exposure, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate ``count / exposure``.

    ``[chi2_{a/2}(2x) / 2, chi2_{1-a/2}(2x + 2) / 2] / exposure``, lower bound 0
    when ``x == 0``; NaN where exposure is not positive.
    """
    x = np.asarray(count, dtype=float)
    e = np.asarray(exposure, dtype=float)
    alpha = 1 - level
    _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(x > 0, stats.chi2.ppf(alpha / 2, 2 * x) / 2, 0.0) / e
        upper = stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2 / e
    bad = ~(e > 0)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def t_interval(mean, sd, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Student t interval for a mean; NaN below 2 observations."""
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    n = np.asarray(n, dtype=float)
    _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = stats.t.ppf(0.5 + level / 2, n - 1)
        half = q * sd / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean - half, mean + half


def newcombe_difference_interval(x1, n1, x0, n0, level: float = 0.95):
    """Newcombe's hybrid score interval for ``x1/n1 - x0/n0`` (independent samples)."""
    p1 = np.asarray(x1, dtype=float) / np.asarray(n1, dtype=float)
    p0 = np.asarray(x0, dtype=float) / np.asarray(n0, dtype=float)
    l1, u1 = wilson_interval(x1, n1, level)
    l0, u0 = wilson_interval(x0, n0, level)
    d = p1 - p0
    lower = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return lower, upper
