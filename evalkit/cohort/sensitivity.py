"""Sensitivity to unmeasured confounding: E-values and Rosenbaum bounds.

E-values (VanderWeele & Ding 2017, *Ann. Intern. Med.* 167:268; conventions of the R
``EValue`` package). The E-value of a risk ratio ``RR > 1`` is ``RR + sqrt(RR (RR - 1))``
(``RR < 1`` is inverted first): the minimum strength of association, on the risk-ratio
scale, that an unmeasured confounder would need with both treatment and outcome to move the
estimate to the null. For a confidence interval, the limit closer to the null is used, and
the E-value is 1 when the interval contains the null. Other measures are first converted
to (approximate) risk ratios (VanderWeele & Ding 2017, Table 2):

* odds ratio: ``RR ~ OR`` if the outcome is rare (< 15 %), else ``RR ~ sqrt(OR)``;
* hazard ratio: ``RR ~ HR`` if rare, else ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``;
* standardised mean difference ``d`` (Cohen's d, with standard error ``se``):
  ``RR ~ exp(0.91 d)``, limits ``exp(0.91 d -/+ 1.78 se)``.

A non-null ``true`` value gives the E-value for moving the estimate to ``true`` (ratio
``RR / true``).

Rosenbaum bounds (Rosenbaum 2002, *Observational Studies*, sec. 4.3; R ``rbounds::psens``):
for matched pairs with differences ``d_i`` (zeros dropped), ranks ``r_i`` of ``|d_i|``
(average ranks for ties) and Wilcoxon's signed-rank statistic ``T = sum r_i 1{d_i > 0}``,
a hidden bias of at most ``Gamma`` in the odds of treatment within pairs bounds the
one-sided (treated > control) p-value between those of ``T`` when each sign is positive
with probability ``p- = 1/(1+Gamma)`` (lower bound) and ``p+ = Gamma/(1+Gamma)`` (upper
bound). ``method="normal"`` uses ``E = p sum r_i``, ``Var = p (1-p) sum r_i^2`` (as
``psens``); ``method="exact"`` convolves the exact distribution of ``sum r_i B_i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import ConfigError, DataValidationError, EmptyDataError
from evalkit.options import check_level, check_option, renamed

MEASURES = ("RR", "OR", "HR", "SMD")
BoundsMethod = Literal["normal", "exact"]


def _evalue_of_ratio(rr: float, true: float = 1.0) -> float:
    """E-value for moving the risk ratio ``rr`` to ``true`` (both > 0)."""
    if rr < true:
        rr, true = 1 / rr, 1 / true
    ratio = rr / true
    return float(ratio + np.sqrt(ratio * (ratio - 1)))


def _to_rr(value: float, measure: str, rare: bool | None) -> float:
    if measure == "RR":
        return value
    if measure == "OR":
        return value if rare else float(np.sqrt(value))
    if measure == "HR":
        if rare:
            return value
        return float((1 - 0.5 ** np.sqrt(value)) / (1 - 0.5 ** np.sqrt(1 / value)))
    return float(np.exp(0.91 * value))  # SMD


@dataclass(frozen=True)
class EValue:
    """E-values of one estimate.

    ``rr``, ``rr_lower``, ``rr_upper`` are the estimate and CI limits on the (approximate)
    risk-ratio scale; ``point`` is the E-value of the estimate, ``ci`` that of the CI limit
    closer to ``true`` (1 when the interval contains it; NaN without an interval).
    """

    measure: str
    rr: float
    rr_lower: float
    rr_upper: float
    point: float
    ci: float
    true: float

    def to_series(self) -> pd.Series:
        return pd.Series(self.__dict__)


def evalue(estimate: float, lower: float | None = None, upper: float | None = None, *,
           measure: str = "RR", rare: bool | None = None, se: float | None = None,
           true: float | None = None) -> EValue:
    """E-value of an estimate and of its confidence interval.

    Parameters
    ----------
    estimate
        Risk, odds or hazard ratio (``measure`` "RR", "OR", "HR"), or a standardised mean
        difference (``measure="SMD"``: the effect divided by the outcome's SD).
    lower, upper
        Confidence limits on the same scale (ratio measures).
    measure
        ``"RR"``, ``"OR"``, ``"HR"`` or ``"SMD"``.
    rare
        For OR and HR: is the outcome rare (< 15 % at the end of follow-up)? Required.
    se
        For SMD: standard error of the standardised difference (gives the CI limits
        ``exp(0.91 d -/+ 1.78 se)``).
    true
        Value to move the estimate to (default: the null, 1 for ratios, 0 for SMD).

    Returns
    -------
    EValue
    """
    measure = check_option("measure", str(measure).upper(), MEASURES)
    if measure in ("OR", "HR") and rare is None:
        raise ConfigError(
            f"measure={measure!r} needs rare=True (outcome < 15 %: the ratio approximates the "
            "risk ratio) or rare=False (common outcome: square-root conversion)."
        )
    if measure == "SMD":
        if lower is not None or upper is not None:
            raise ConfigError("for measure='SMD' give se= rather than confidence limits.")
        true_rr = float(np.exp(0.91 * (0.0 if true is None else true)))
        rr = float(np.exp(0.91 * estimate))
        if se is not None:
            if not se > 0:
                raise DataValidationError(f"se must be > 0, got {se!r}.")
            lo, hi = np.exp(0.91 * estimate - 1.78 * se), np.exp(0.91 * estimate + 1.78 * se)
        else:
            lo = hi = np.nan
        true_value = 0.0 if true is None else float(true)
    else:
        for name, value in (("estimate", estimate), ("lower", lower), ("upper", upper)):
            if value is not None and not value > 0:
                raise DataValidationError(f"{name} must be a ratio > 0, got {value!r}.")
        if lower is not None and upper is not None and not lower <= estimate <= upper:
            raise DataValidationError(
                f"the interval [{lower}, {upper}] does not contain the estimate {estimate}."
            )
        rr = _to_rr(estimate, measure, rare)
        lo = _to_rr(lower, measure, rare) if lower is not None else np.nan
        hi = _to_rr(upper, measure, rare) if upper is not None else np.nan
        true_value = 1.0 if true is None else float(true)
        true_rr = _to_rr(true_value, measure, rare)
    point = _evalue_of_ratio(rr, true_rr)
    limit = lo if rr > true_rr else hi
    if np.isnan(limit):
        ci = np.nan
    elif (rr > true_rr and limit <= true_rr) or (rr < true_rr and limit >= true_rr) \
            or rr == true_rr:
        ci = 1.0
    else:
        ci = _evalue_of_ratio(limit, true_rr)
    return EValue(measure, rr, float(lo), float(hi), point, float(ci), true_value)


def evalues_for_results(results, outcome_sd: pd.Series | dict, level: float = 0.95
                        ) -> pd.DataFrame:
    """E-values of every effect in a cohort results object, as standardised differences.

    ``d = estimate / sd(outcome)`` and ``se_d = std_error / sd(outcome)``; pass the outcome
    SDs (e.g. in the comparison group) in ``outcome_sd``. Returns one row per outcome with
    ``smd``, ``rr``, ``evalue`` and ``evalue_ci``.
    """
    sd = pd.Series(outcome_sd, dtype=float).reindex(results.params.index)
    if sd.isna().any() or (sd <= 0).any():
        raise DataValidationError(
            f"outcome_sd must give a positive SD for every outcome; check "
            f"{list(sd[sd.isna() | (sd <= 0)].index)}."
        )
    rows = {}
    for name in results.params.index:
        d = results.params[name] / sd[name]
        ev = evalue(d, measure="SMD", se=results.std_errors[name] / sd[name])
        rows[name] = {"smd": d, "rr": ev.rr, "evalue": ev.point, "evalue_ci": ev.ci}
    return pd.DataFrame(rows).T


def _signed_ranks(treated, control) -> tuple[np.ndarray, float]:
    t = np.asarray(treated, dtype=float).ravel()
    if control is None:
        d = t
    else:
        c = np.asarray(control, dtype=float).ravel()
        if c.shape != t.shape:
            raise DataValidationError(
                f"treated and control outcomes must be paired: {t.size} vs {c.size} values."
            )
        d = t - c
    if not np.isfinite(d).all():
        raise DataValidationError("pair differences contain missing or infinite values; "
                                  "drop incomplete pairs first.")
    d = d[d != 0]
    if d.size == 0:
        raise EmptyDataError("every pair difference is zero: the signed-rank test is undefined.")
    ranks = stats.rankdata(np.abs(d))
    return ranks, float(ranks[d > 0].sum())


def _exact_upper_tail(ranks: np.ndarray, t_obs: float, p: float) -> float:
    """P(sum r_i B_i >= t_obs), B_i ~ Bernoulli(p) independent (dynamic programming)."""
    scaled = np.rint(2 * ranks).astype(np.int64)  # average ranks are multiples of 1/2
    dist = np.zeros(int(scaled.sum()) + 1)
    dist[0] = 1.0
    top = 0
    for r in scaled:
        new = dist[: top + r + 1] * 0.0
        new[: top + 1] += dist[: top + 1] * (1 - p)
        new[r: top + r + 1] += dist[: top + 1] * p
        top += r
        dist[: top + 1] = new
    return float(dist[int(np.rint(2 * t_obs)):].sum())


def rosenbaum_bounds(treated, control=None, gammas: Sequence[float] = (1, 1.5, 2, 2.5, 3, 4, 5,
                                                                       6), *,
                     method: BoundsMethod = "normal") -> pd.DataFrame:
    """Rosenbaum bounds on the one-sided Wilcoxon signed-rank p-value for matched pairs.

    Parameters
    ----------
    treated, control
        Outcomes of the treated and of their matched controls, pair by pair; or the pair
        differences (treated - control) in ``treated`` with ``control=None``.
    gammas
        Values of the sensitivity parameter Gamma >= 1.
    method
        ``"normal"`` (large-sample approximation, as R ``rbounds::psens``) or ``"exact"``
        (exact distribution; at most 2,000 non-zero pairs).

    Returns
    -------
    DataFrame
        Indexed by ``gamma``: ``p_lower`` and ``p_upper`` bounds of the p-value testing no
        effect against a positive effect, plus ``t_stat`` and ``n_pairs``.
    """
    gammas = np.asarray(list(gammas), dtype=float)
    if gammas.size == 0 or (gammas < 1).any() or not np.isfinite(gammas).all():
        raise ConfigError(f"gammas must be finite values >= 1, got {gammas.tolist()}.")
    check_option("method", method, BoundsMethod)
    ranks, t_obs = _signed_ranks(treated, control)
    if method == "exact" and ranks.size > 2000:
        raise ConfigError(f"method='exact' handles at most 2,000 pairs ({ranks.size} given); "
                          "use method='normal'.")
    rows = []
    for gamma in gammas:
        bounds = []
        for p in (1 / (1 + gamma), gamma / (1 + gamma)):
            if method == "normal":
                mean = p * ranks.sum()
                var = p * (1 - p) * (ranks**2).sum()
                bounds.append(float(stats.norm.sf((t_obs - mean) / np.sqrt(var))))
            else:
                bounds.append(_exact_upper_tail(ranks, t_obs, p))
        rows.append({"gamma": gamma, "p_lower": bounds[0], "p_upper": bounds[1],
                     "t_stat": t_obs, "n_pairs": ranks.size})
    return pd.DataFrame(rows).set_index("gamma")


@renamed(alpha=("level", lambda alpha: 1 - alpha))
def sensitivity_gamma(treated, control=None, *, level: float = 0.95,
                      method: BoundsMethod = "normal", gamma_max: float = 100.0) -> float:
    """Largest Gamma at which the upper-bound p-value is still <= ``1 - level``.

    ``level`` is the confidence level of the one-sided test (0.95: significance 5 %).

    Found by bisection (the upper bound increases with Gamma). Returns 1.0 when the
    unconfounded test itself is not significant, ``gamma_max`` when still significant there.
    """
    alpha = 1 - check_level(level)

    def upper(g):
        return float(rosenbaum_bounds(treated, control, [g], method=method)["p_upper"].iloc[0])

    if upper(1.0) > alpha:
        return 1.0
    if upper(gamma_max) <= alpha:
        return gamma_max
    lo, hi = 1.0, gamma_max
    while hi - lo > 1e-4 * lo:
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if upper(mid) <= alpha else (lo, mid)
    return float(lo)
