"""Confidence intervals for monitoring indicators.

* proportions: Wilson score interval (Wilson 1927; Newcombe 1998, method 3),
  equal to ``statsmodels.stats.proportion.proportion_confint(method="wilson")``;
* rates: exact Poisson interval on the event count (Garwood 1936) divided by
  the exposure, equal to ``statsmodels.stats.rates.confint_poisson(method="exact-c")``;
* means: Student t interval ``mean ± t_{n-1} s / sqrt(n)``;
* difference of two independent proportions: Newcombe's hybrid score
  interval (Newcombe 1998, method 10), equal to statsmodels'
  ``confint_proportions_2indep(method="newcomb")``;
* survey-weighted indicators: the ratio ``sum(w·x) / sum(w·d)`` with its
  linearised (Taylor) standard error, equal to the HC1 standard error of a
  weighted least-squares regression of ``x/d`` on a constant with weights
  ``w·d`` (statsmodels ``WLS(...).fit(cov_type="HC1")``).
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


def linearised_ratio(swx, swd, sxx, sxd, sdd, n):
    """Weighted ratio ``R = sum(w x) / sum(w d)`` and its linearised standard error.

    ``Var(R) = n / (n - 1) * sum(w^2 (x - R d)^2) / sum(w d)^2``, expanded as
    ``sxx - 2 R sxd + R^2 sdd`` with ``sxx = sum(w^2 x^2)``, ``sxd = sum(w^2 x d)``,
    ``sdd = sum(w^2 d^2)`` so that it can be computed for any margin from
    additive cell sums. Weights are treated as probability weights of a
    single-stage, with-replacement design (no strata, no clusters).
    """
    swx, swd, sxx, sxd, sdd, n = (np.asarray(a, dtype=float) for a in (swx, swd, sxx, sxd, sdd, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = swx / swd
        scale = sxx + ratio**2 * sdd
        resid = sxx - 2 * ratio * sxd + ratio**2 * sdd
        # The expansion cancels: below 1e-10 of its terms the residual is rounding noise (a
        # cell whose values are all equal), so it is set to 0. The price: cells whose values
        # vary by less than about 1e-5 of their level get a zero standard error.
        resid = np.where(resid <= 1e-10 * scale, 0.0, resid)
        se = np.sqrt(n / (n - 1) * resid) / swd
    return ratio, np.where(n >= 2, se, np.nan)


def weighted_wilson_interval(p, se, level: float = 0.95):
    """Wilson interval for a weighted proportion using the effective sample size.

    ``n_eff = p (1 - p) / se^2`` (Korn & Graubard 1998) with ``se`` the
    linearised standard error (with equal weights ``n_eff = n - 1``, so the
    interval is the unweighted Wilson interval on one observation less). NaN
    where ``p`` is 0 or 1 (``n_eff`` undefined).
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = p * (1 - p) / se**2
    ok = np.isfinite(n_eff) & (n_eff > 0)
    lo, hi = wilson_interval(np.where(ok, p * n_eff, np.nan), np.where(ok, n_eff, np.nan), level)
    return lo, hi
