"""Change of indicators between periods.

For every indicator disaggregated by period, and every combination of its
other dimensions, the difference between consecutive periods (and between the
last and the first) with a confidence interval:

* proportions: Newcombe's hybrid score interval (Newcombe 1998, method 10;
  equal to statsmodels' ``confint_proportions_2indep(method="newcomb")``);
* rates: Wald interval on the difference of two Poisson rates,
  ``sqrt(x1/e1² + x0/e0²)``;
* means: Welch's t interval (equal to ``scipy.stats.ttest_ind(equal_var=False)``);
* survey-weighted indicators (any kind): normal interval on the difference of
  the two linearised estimates, ``sqrt(se1² + se0²)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import EstimationError
from evalkit.indicators.cells import ALL
from evalkit.indicators.definition import Indicator
from evalkit.indicators.intervals import linearised_ratio, newcombe_difference_interval


def period_differences(cells: dict, dimensions: dict, indicators: dict, period: str,
                       level: float) -> pd.DataFrame:
    """Differences between periods for every indicator disaggregated by ``period``.

    Parameters
    ----------
    cells, dimensions, indicators
        Per indicator name: the cell statistics, the dimension names and the
        :class:`Indicator` (as held by ``IndicatorResults``).
    period
        Dimension holding the periods (ordered numerically when numbers).
    level
        Confidence level.
    """
    rows = []
    for name, frame in cells.items():
        if period not in dimensions[name]:
            continue
        ind = indicators[name]
        others = [d for d in dimensions[name] if d != period]
        sub = frame[frame[period] != ALL]
        periods = _ordered(sub[period].unique())
        if len(periods) < 2:
            continue
        groups = sub.groupby(others, sort=False) if others else [((), sub)]
        pairs = list(zip(periods[:-1], periods[1:], strict=True))
        if len(periods) > 2:
            pairs.append((periods[0], periods[-1]))
        for key, g in groups:
            g = g.set_index(period)
            key = key if isinstance(key, tuple) else (key,)
            for p0, p1 in pairs:
                if p0 not in g.index or p1 not in g.index:
                    continue
                diff, lo, hi = _difference(ind, g.loc[p1], g.loc[p0], level)
                rows.append({"indicator": name, **dict(zip(others, key, strict=True)),
                             "from": p0, "to": p1, "difference": diff,
                             "ci_lower": lo, "ci_upper": hi, "level": level})
    if not rows:
        raise EstimationError(
            f"no indicator is disaggregated by {period!r} with at least two periods"
        )
    return pd.DataFrame(rows)


def _ordered(values) -> list:
    values = list(values)
    numeric = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    order = sorted(range(len(values)), key=lambda i: (np.isnan(numeric[i]), numeric[i]
                                                       if not np.isnan(numeric[i]) else 0,
                                                       str(values[i])))
    return [values[i] for i in order]


def _difference(ind: Indicator, c1: pd.Series, c0: pd.Series, level: float):
    n1, n0 = float(c1["n"]), float(c0["n"])
    if not np.isnan(c1["sw"]):
        cols = ("swx", "swd", "sxx", "sxd", "sdd")
        r1, se1 = linearised_ratio(*(c1[c] for c in cols), n1)
        r0, se0 = linearised_ratio(*(c0[c] for c in cols), n0)
        scale = ind.per if ind.kind != "mean" else 1.0
        half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(se1**2 + se0**2)
        diff = float(r1 - r0)
        return scale * diff, scale * float(diff - half), scale * float(diff + half)
    if ind.kind == "proportion":
        x1, x0 = float(c1["sum_num"]), float(c0["sum_num"])
        lo, hi = newcombe_difference_interval(x1, n1, x0, n0, level)
        return ind.per * (x1 / n1 - x0 / n0), ind.per * float(lo), ind.per * float(hi)
    if ind.kind == "rate":
        x1, x0 = float(c1["sum_num"]), float(c0["sum_num"])
        e1, e0 = float(c1["sum_den"]), float(c0["sum_den"])
        diff = x1 / e1 - x0 / e0
        se = np.sqrt(x1 / e1**2 + x0 / e0**2)
        z = stats.norm.ppf(0.5 + level / 2)
        return ind.per * diff, ind.per * (diff - z * se), ind.per * (diff + z * se)
    v1 = float(c1["m2_num"]) / (n1 - 1) / n1
    v0 = float(c0["m2_num"]) / (n0 - 1) / n0
    diff = float(c1["mean_num"]) - float(c0["mean_num"])
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    q = stats.t.ppf(0.5 + level / 2, df)
    return diff, diff - q * np.sqrt(v1 + v0), diff + q * np.sqrt(v1 + v0)
