"""Outcome-model estimators: difference in means and regression adjustment.

Notation: ``d`` treatment indicator, ``s`` survey weights, ``S = sum s``, ``S1 = sum s d``.

* Difference in means (randomised cohorts): ``tau = ybar_1 - ybar_0`` (weighted means);
  the same number is the ATT and the ATE; HC2 (Welch / Neyman) standard error.
* Regression adjustment (Stata ``teffects ra``, statsmodels ``TreatmentEffect.ra``): one
  (weighted) least-squares fit ``m_g(x) = [1, x] beta_g`` per group ``g``, then
  ``ATE = sum s (m_1 - m_0) / S`` and ``ATT = sum s d (m_1 - m_0) / S1``.
* Pooled regression with centred interactions (Lin 2013), :func:`pooled_regression_adjustment`:
  same point estimate, Lin's HC2 standard error conditional on the covariate means.

Influence functions include the estimation of ``beta_g``
(``beta_g - beta ≈ A_g^-1 sum s 1[d=g] x e``, ``A_g = sum s 1[d=g] x x'``), so the
variance is the stacked M-estimation sandwich that statsmodels obtains by GMM.
"""

from __future__ import annotations

import numpy as np

from evalkit.cohort.propensity import with_intercept
from evalkit.cohort.results import EffectEstimate
from evalkit.data.validation import show_values
from evalkit.errors import EstimationError


def difference_in_means(y: np.ndarray, d: np.ndarray, s: np.ndarray, *, hc2: bool = True
                        ) -> EffectEstimate:
    """Weighted difference in group means with its influence function.

    ``psi_i = s_i d_i (y_i - ybar_1)/S1 - s_i (1-d_i)(y_i - ybar_0)/S0`` gives
    ``sum psi^2``, the HC0 variance. With ``hc2`` (default) each term is divided by
    ``sqrt(1 - h_i)``, ``h_i = s_i / S_g`` the leverage of person ``i`` in the weighted
    regression of ``y`` on a group dummy, so ``sum psi^2`` is the HC2 variance (MacKinnon &
    White 1985); unweighted it is the Welch / Neyman unequal-variance variance
    ``s_1^2/n_1 + s_0^2/n_0`` (``n - 1`` denominators), the conservative variance of a
    randomised experiment (Imbens & Rubin 2015, ch. 6; R ``estimatr::difference_in_means``).
    Cluster-robust variances use the HC0 terms (Liang-Zeger, as Stata's ``vce(cluster)``).
    """
    t = d == 1
    s1, s0 = s[t].sum(), s[~t].sum()
    y1 = np.dot(s[t], y[t]) / s1
    y0 = np.dot(s[~t], y[~t]) / s0
    psi = np.where(t, s * (y - y1) / s1, -s * (y - y0) / s0)
    if hc2:
        leverage = np.where(t, s / s1, s / s0)
        psi = psi / np.sqrt(np.clip(1.0 - leverage, np.finfo(float).tiny, None))
    return EffectEstimate(y1 - y0, psi, y1, y0)


def weighted_ls(design: np.ndarray, y: np.ndarray, w: np.ndarray, names, group: str):
    """Weighted least squares ``argmin sum w (y - design b)^2``; returns ``(b, A^-1)`` with
    ``A = design' W design``."""
    constant = np.flatnonzero(np.ptp(design[w > 0, 1:], axis=0) == 0) if len(design) else []
    if len(constant):
        raise EstimationError(
            f"the outcome regression in group {group!r} cannot be fitted: covariate(s) "
            f"{show_values([names[j] for j in constant])} are constant within that group. Drop "
            "them, or adjust for them by matching/weighting only.")
    a = design.T @ (design * w[:, None])
    # judge collinearity on the correlation scale, so covariates in dollars or squared
    # ages are not mistaken for collinear ones
    scale = np.sqrt(np.diag(a))
    if not np.all(scale > 0):
        raise EstimationError(
            f"the outcome regression in group {group!r} has a covariate that is 0 for every "
            f"person of that group (among {show_values(names)}); drop it.")
    scaled = a / np.outer(scale, scale)
    if np.linalg.cond(scaled) > 1e12:
        raise EstimationError(
            f"the outcome regression in group {group!r} is singular: collinear covariates "
            f"among {show_values(names)}, a covariate constant within the group, or fewer "
            "persons than covariates in that group.")
    a_inv = np.linalg.inv(scaled) / np.outer(scale, scale)
    beta = a_inv @ (design.T @ (w * y))
    return beta, a_inv


class OutcomeModels:
    """Per-group weighted least-squares outcome models ``m_0`` and ``m_1`` on ``[1, x]``.

    ``treated_model=False`` skips ``m_1`` (ATT estimators only need ``m_0``: with an
    intercept, treated residuals sum to zero, so ``sum_T s (m_1 - m_0) = sum_T s (y - m_0)``).
    """

    def __init__(self, y, d, x, s, names, labels=("treated", "comparison"),
                 treated_model: bool = True):
        self.design = with_intercept(x)
        t = d == 1
        self.beta0, self.a0_inv = weighted_ls(self.design[~t], y[~t], s[~t], names, labels[1])
        self.m0 = self.design @ self.beta0
        if treated_model:
            self.beta1, self.a1_inv = weighted_ls(self.design[t], y[t], s[t], names, labels[0])
            self.m1 = self.design @ self.beta1
        else:
            self.beta1 = self.a1_inv = None
            self.m1 = np.where(t, y, np.nan)
        self.resid = np.where(t, y - self.m1, y - self.m0)
        self.t = t
        self.s = s

    def beta_influence(self, direction0: np.ndarray, direction1: np.ndarray | None
                       ) -> np.ndarray:
        """``direction1' (beta1_hat - beta1) + direction0' (beta0_hat - beta0)`` linearised
        per person: ``s e x' A_g^-1 direction_g`` within group g (no ``m_1`` term when
        ``direction1`` is None)."""
        lin0 = self.design @ (self.a0_inv @ direction0)
        lin1 = 0.0 if direction1 is None else self.design @ (self.a1_inv @ direction1)
        return self.s * self.resid * np.where(self.t, lin1, lin0)


def regression_adjustment(y, d, x, s, estimand: str, names, labels=("treated", "comparison")
                          ) -> EffectEstimate:
    """Regression-adjustment ATE/ATT (see module docstring)."""
    if estimand == "ATE":
        models = OutcomeModels(y, d, x, s, names, labels)
        total = s.sum()
        y1 = np.dot(s, models.m1) / total
        y0 = np.dot(s, models.m0) / total
        xbar = models.design.T @ s / total
        psi = s * (models.m1 - models.m0 - y1 + y0) / total
        psi += models.beta_influence(-xbar, xbar)
    else:
        models = OutcomeModels(y, d, x, s, names, labels, treated_model=False)
        target = s * d
        total = target.sum()
        y1 = np.dot(target, y) / total
        y0 = np.dot(target, models.m0) / total
        xbar = models.design.T @ target / total
        psi = target * (y - models.m0 - y1 + y0) / total
        psi += models.beta_influence(-xbar, None)
    return EffectEstimate(y1 - y0, psi, y1, y0)


def pooled_regression_adjustment(y, d, x, s, estimand: str, names, *, hc2: bool = True
                                 ) -> EffectEstimate:
    """Regression adjustment by one pooled regression with centred interactions (Lin 2013).

    The (weighted) least-squares fit of ``y`` on ``[1, d, x - xbar, d (x - xbar)]`` with
    ``xbar`` the covariate means of the target population (everyone for the ATE, the treated
    for the ATT) has the effect as the coefficient of ``d`` (Lin 2013, *Ann. Appl. Stat.*
    7:295-318; R ``estimatr::lm_lin``). The point estimate equals the per-group regression
    adjustment (:func:`regression_adjustment`); the standard error is Lin's: HC2 of the
    pooled regression (``hc2=False``: HC0, used for cluster-robust variances), which treats
    ``xbar`` as fixed -- it omits the sampling variance of the covariate means, which the
    ``"ra"`` method includes. ``y0`` is the intercept (predicted comparison mean at
    ``xbar``), ``y1 = y0 + tau``.
    """
    target = s * d if estimand == "ATT" else s
    xbar = target @ x / target.sum()
    xc = x - xbar
    design = np.column_stack([np.ones(len(y)), d, xc, d[:, None] * xc])
    design_names = ["group", *names, *(f"group x {n}" for n in names)]
    beta, a_inv = weighted_ls(design, y, s, design_names, "pooled")
    resid = y - design @ beta
    row = design @ a_inv[:, 1]  # (A^-1 x_i)[d]
    psi = s * resid * row
    if hc2:
        leverage = s * np.einsum("ij,ij->i", design @ a_inv, design)
        psi = psi / np.sqrt(np.clip(1.0 - leverage, np.finfo(float).tiny, None))
    return EffectEstimate(beta[1], psi, beta[0] + beta[1], beta[0])
