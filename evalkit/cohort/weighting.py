"""Inverse probability weighting with normalised (Hájek) weights.

With a fitted score ``e``, survey weights ``s`` and treatment ``d``:

* ATE: ``a_i = s_i d_i / e_i`` (treated) and ``s_i (1-d_i) / (1-e_i)`` (comparison);
* ATT: ``a_i = s_i d_i`` (treated) and ``s_i (1-d_i) e_i / (1-e_i)`` (comparison);

each group's weights are normalised to sum to one (Hájek 1971; Stata ``teffects ipw``,
statsmodels ``TreatmentEffect.ipw``), and ``tau = sum_T a y / sum_T a - sum_C a y / sum_C a``.

The influence function adds to ``a_i (y_i - mu_g) / sum_g a`` the effect of estimating the
logit coefficients ``gamma``: ``G_g' psi_gamma,i`` with ``G_g = sum_g (da/dgamma) (y - mu_g) /
sum_g a`` (Lunceford & Davidian 2004), so SEs equal the stacked-GMM ones of statsmodels.

Weights are checked: negative or all-zero survey weights are refused upstream; a group whose
Kish effective sample size ``(sum a)^2 / sum a^2`` falls below 10 % of its size, or where one
person carries more than 10 % of the group's weight, triggers an
:class:`ExtremeWeightsWarning` reporting the effective sample size.
"""

from __future__ import annotations

import warnings

import numpy as np

from evalkit.cohort.propensity import LogitFit
from evalkit.cohort.results import EffectEstimate
from evalkit.errors import EvalkitWarning

#: A group's effective sample size below this share of its size is reported as extreme.
ESS_SHARE_WARN = 0.10
#: One person carrying more than this share of a group's weight is reported as extreme.
MAX_WEIGHT_SHARE_WARN = 0.10


class ExtremeWeightsWarning(EvalkitWarning):
    """Weights so unequal that few persons drive the estimate (small effective sample)."""


def kish_ess(w: np.ndarray) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2``."""
    total = w.sum()
    return float(total * total / np.dot(w, w)) if total > 0 else 0.0


def check_weights(w: np.ndarray, group_label, what: str) -> float:
    """Return the Kish ESS of ``w`` and warn when it signals extreme weights."""
    positive = w[w > 0]
    ess = kish_ess(positive)
    n = len(positive)
    share = positive.max() / positive.sum() if n else 0.0
    if n >= 20 and (ess < ESS_SHARE_WARN * n or share > MAX_WEIGHT_SHARE_WARN):
        warnings.warn(
            f"extreme {what} weights in group {group_label!r}: effective sample size "
            f"{ess:.1f} of {n} persons (largest weight = {share:.1%} of the group total). "
            "Estimates rest on few persons; inspect overlap (PropensityScore(...).fit().plot()) "
            "and consider trim='crump'.",
            ExtremeWeightsWarning,
            stacklevel=4,
        )
    return ess


def ipw_weights(d, s, ps, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised weights ``a`` and their derivative factor ``da/d(logit) / a`` per person."""
    t = d == 1
    if estimand == "ATE":
        a = np.where(t, s / ps, s / (1 - ps))
        # d(1/e)/d eta = -(1-e)/e ; d(1/(1-e))/d eta = e/(1-e)
        da = np.where(t, -(1 - ps), ps)
    else:
        a = np.where(t, s, s * ps / (1 - ps))
        da = np.where(t, 0.0, 1.0)
    return a, da


def ipw(y, d, s, logit: LogitFit, estimand: str, labels=("treated", "comparison")
        ) -> EffectEstimate:
    """Hájek IPW estimate of the ATE or ATT with an influence function that accounts for
    the estimated propensity score."""
    t = d == 1
    a, da = ipw_weights(d, s, logit.ps, estimand)
    a1, a0 = a[t].sum(), a[~t].sum()
    mu1 = np.dot(a[t], y[t]) / a1
    mu0 = np.dot(a[~t], y[~t]) / a0
    centred = np.where(t, y - mu1, y - mu0)
    base = np.where(t, a * centred / a1, -a * centred / a0)
    # derivative of mu_1 - mu_0 with respect to the logit coefficients
    g = a * da * centred
    grad = logit.design[t].T @ g[t] / a1 - logit.design[~t].T @ g[~t] / a0
    psi = base + logit.influence @ grad
    ess1 = check_weights(a[t], labels[0], "treated")
    ess0 = check_weights(a[~t], labels[1], "comparison")
    return EffectEstimate(mu1 - mu0, psi, mu1, mu0, ess1, ess0,
                          details={"weights": a})
