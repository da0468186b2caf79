"""Several outcomes, one evaluation: multiplicity-adjusted p-values.

* :func:`bh_adjust` — Benjamini & Hochberg (1995) false-discovery-rate adjusted p-values
  ``p_(i) * k / i`` made monotone from the largest down (same as R ``p.adjust(method="BH")``
  and statsmodels ``multipletests(method="fdr_bh")``).
* :func:`holm_adjust` — Holm (1979) step-down family-wise error rate (FWER) adjustment.
* :func:`romano_wolf` — Romano & Wolf (2005, 2016) step-down FWER adjustment from bootstrap
  draws of all estimates jointly, so it uses the correlation between outcomes (less
  conservative than Holm when outcomes are correlated). With ``t_j = |est_j / se_j|``
  sorted decreasingly, ``t_(1) >= ... >= t_(k)``, and centred bootstrap statistics
  ``t*_bj = |draw_bj / se_j|``::

      p_(s) = (1 + #{b : max_{j >= s} t*_b(j) >= t_(s)}) / (B + 1),
      then p_(s) = max(p_(s), p_(s-1))   (monotone step-down)

  as in Clarke, Romano & Wolf (2020, Stata ``rwolf``, with studentised statistics).
* :func:`adjust_outcomes` — all of them for a
  :class:`~evalkit.cohort.results.CohortEstimateResults` of several outcomes, using its
  multiplier-bootstrap draws (influence functions resampled jointly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import ConfigError, DataValidationError
from evalkit.options import renamed


def _pvalues(p) -> tuple[np.ndarray, pd.Index | None]:
    index = p.index if isinstance(p, pd.Series) else None
    arr = np.asarray(p, dtype=float).ravel()
    if arr.size == 0:
        raise DataValidationError("no p-values given.")
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        raise DataValidationError(
            f"p-values must lie in [0, 1]; found {arr[bad][:5].tolist()}. Drop missing "
            "estimates before adjusting."
        )
    return arr, index


def _wrap(values: np.ndarray, index, name: str):
    return pd.Series(values, index=index, name=name) if index is not None else values


def bh_adjust(pvalues):
    """Benjamini–Hochberg FDR-adjusted p-values (array or Series in, same out)."""
    p, index = _pvalues(pvalues)
    k = p.size
    order = np.argsort(p)[::-1]
    ranks = np.arange(k, 0, -1)
    adjusted = np.minimum.accumulate(p[order] * k / ranks)
    out = np.empty(k)
    out[order] = np.minimum(adjusted, 1.0)
    return _wrap(out, index, "p_bh")


def holm_adjust(pvalues):
    """Holm step-down FWER-adjusted p-values (array or Series in, same out)."""
    p, index = _pvalues(pvalues)
    k = p.size
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * (k - np.arange(k)))
    out = np.empty(k)
    out[order] = np.minimum(adjusted, 1.0)
    return _wrap(out, index, "p_holm")


def romano_wolf(estimates, std_errors, draws, *, null=0.0):
    """Romano–Wolf step-down adjusted p-values (two-sided, studentised).

    Parameters
    ----------
    estimates, std_errors
        The k estimates and their standard errors (arrays or Series with the same index).
    draws
        ``B x k`` bootstrap draws of ``estimate* - estimate`` (centred, i.e. draws of the
        estimation error under the null), e.g.
        :meth:`~evalkit.cohort.results.CohortEstimateResults.multiplier_draws`.
    null
        Value of the parameters under the null hypotheses.

    Returns
    -------
    ndarray or Series
        Adjusted p-values in the order of ``estimates``; they control the FWER.
    """
    index = estimates.index if isinstance(estimates, pd.Series) else None
    est = np.asarray(estimates, dtype=float).ravel()
    se = np.asarray(std_errors, dtype=float).ravel()
    boot = np.asarray(draws, dtype=float)
    if boot.ndim != 2 or boot.shape[1] != est.size or se.size != est.size:
        raise DataValidationError(
            f"draws must be B x k with k = {est.size} estimates (got {boot.shape}) and one "
            f"standard error per estimate (got {se.size})."
        )
    if not (np.isfinite(se).all() and (se > 0).all()):
        raise DataValidationError(f"standard errors must be finite and > 0, got {se.tolist()}.")
    if boot.shape[0] < 100:
        raise ConfigError(f"Romano–Wolf needs at least 100 bootstrap draws, got {boot.shape[0]}.")
    t = np.abs((est - null) / se)
    t_boot = np.abs(boot / se)
    order = np.argsort(-t, kind="stable")
    # Running maxima from the least significant hypothesis upwards: column s holds
    # max over the hypotheses ranked s..k of each draw.
    tail_max = np.maximum.accumulate(t_boot[:, order][:, ::-1], axis=1)[:, ::-1]
    exceed = (tail_max >= t[order][None, :]).sum(axis=0)
    p_sorted = np.maximum.accumulate((1 + exceed) / (boot.shape[0] + 1))
    out = np.empty(est.size)
    out[order] = p_sorted
    return _wrap(out, index, "p_romano_wolf")


@renamed(n_draws="n_boot")
def adjust_outcomes(results, *, n_boot: int = 1999, seed=None, level: float = 0.95,
                    kind: str = "rademacher") -> pd.DataFrame:
    """Unadjusted, Holm, Benjamini–Hochberg and Romano–Wolf p-values for several outcomes.

    Parameters
    ----------
    results
        :class:`~evalkit.cohort.results.CohortEstimateResults` with two or more outcomes
        and influence functions (every method except those without them).
    n_boot, seed, kind
        Multiplier bootstrap for Romano–Wolf (Rademacher or normal multipliers, per person
        or per cluster when the results were clustered).

    Returns
    -------
    DataFrame
        One row per outcome: estimate, std_error, p_value, p_holm, p_bh, p_romano_wolf.
    """
    if len(results.params) < 2:
        raise ConfigError("multiplicity adjustments need two or more outcomes.")
    frame = results.to_frame(level)[["estimate", "std_error", "p_value"]].copy()
    draws = results.multiplier_draws(n_boot=n_boot, seed=seed, kind=kind)
    frame["p_holm"] = holm_adjust(frame["p_value"])
    frame["p_bh"] = bh_adjust(frame["p_value"])
    frame["p_romano_wolf"] = romano_wolf(frame["estimate"], frame["std_error"],
                                         draws[frame.index])
    return frame
