"""Augmented inverse probability weighting (doubly robust) with influence-function SEs.

Outcome models ``m_g(x)`` are per-group weighted least squares on ``[1, x]``
(:class:`~evalkit.cohort.regression.OutcomeModels`), the score ``e(x)`` a logit.

* ATE (Robins, Rotnitzky & Zhao 1994; the form of Stata ``teffects aipw`` and statsmodels
  ``TreatmentEffect.aipw``):
  ``mu_1 = sum s [m_1 + d (y - m_1)/e] / S``, ``mu_0 = sum s [m_0 + (1-d)(y - m_0)/(1-e)] / S``.
* ATT (the doubly robust ATT with normalised weights of Sant'Anna & Zhao 2020, eq. 3.1 with
  no pre-period -- R ``DRDID::drdid_panel`` with ``y0 = 0``):
  ``tau = sum s d (y - m_0) / S1 - sum w0 (y - m_0) / sum w0``, ``w0 = s (1-d) e/(1-e)``.

The influence functions add the linearised effect of estimating the outcome-model and
logit coefficients, so standard errors are the stacked M-estimation sandwich (equal to the
GMM standard errors of statsmodels / Stata for the ATE, and to DRDID's for the ATT).
"""

from __future__ import annotations

import numpy as np

from evalkit.cohort.propensity import LogitFit
from evalkit.cohort.regression import OutcomeModels
from evalkit.cohort.results import EffectEstimate
from evalkit.cohort.weighting import check_weights


def aipw(y, d, x, s, logit: LogitFit, estimand: str, names,
         labels=("treated", "comparison")) -> EffectEstimate:
    """Doubly robust ATE or ATT (see module docstring)."""
    models = OutcomeModels(y, d, x, s, names, labels, treated_model=estimand == "ATE")
    t = d == 1
    e = logit.ps
    design = models.design
    if estimand == "ATE":
        total = s.sum()
        inv1 = np.where(t, 1.0 / e, 0.0)
        inv0 = np.where(t, 0.0, 1.0 / (1.0 - e))
        r1 = np.where(t, y - models.m1, 0.0)
        r0 = np.where(t, 0.0, y - models.m0)
        phi1 = models.m1 + inv1 * r1
        phi0 = models.m0 + inv0 * r0
        mu1 = np.dot(s, phi1) / total
        mu0 = np.dot(s, phi0) / total
        psi = s * (phi1 - mu1 - (phi0 - mu0)) / total
        dir1 = design.T @ (s * (1.0 - inv1)) / total
        dir0 = -(design.T @ (s * (1.0 - inv0))) / total
        psi += models.beta_influence(dir0, dir1)
        # d(1/e)/d eta = -(1-e)/e ; d(1/(1-e))/d eta = e/(1-e)
        grad = (design.T @ (s * r1 * inv1 * -(1.0 - e))
                - design.T @ (s * r0 * inv0 * e)) / total
        psi += logit.influence @ grad
        w1, w0 = s[t] / e[t], s[~t] / (1.0 - e[~t])
    else:
        w_t = s * d
        s1 = w_t.sum()
        w_c = np.where(t, 0.0, s * e / (1.0 - e))
        n0w = w_c.sum()
        r0 = y - models.m0
        part_a = np.dot(w_t, r0) / s1
        part_b = np.dot(w_c, r0) / n0w
        mu1 = np.dot(w_t, y) / s1
        mu0 = mu1 - (part_a - part_b)
        psi = w_t * (r0 - part_a) / s1 - w_c * (r0 - part_b) / n0w
        xbar1 = design.T @ w_t / s1
        xbar0 = design.T @ w_c / n0w
        psi += models.beta_influence(-xbar1 + xbar0, None)
        grad = -(design.T @ (w_c * (r0 - part_b))) / n0w
        psi += logit.influence @ grad
        w1, w0 = w_t[t], w_c[~t]
    ess1 = check_weights(w1, labels[0], "treated")
    ess0 = check_weights(w0, labels[1], "comparison")
    return EffectEstimate(mu1 - mu0, psi, mu1, mu0, ess1, ess0)
