"""Entropy balancing (Hainmueller 2012, *Political Analysis* 20:25-46).

Comparison weights ``w_j`` closest to the base (survey) weights ``q_j`` in Kullback–Leibler
divergence, ``min sum w log(w/q)``, subject to exact balance of the covariate means on the
target: ``sum_C w x = sum_T s x / S1`` (ATT). The dual is the smooth convex problem
``min_lambda log sum_C q exp(lambda' (x - m))`` (``m`` the target means), solved by Newton's
method; then ``w_j = q_j exp(lambda' (x_j - m)) / sum``. For the ATE both groups are weighted
to the whole sample's means (WeightIt's ``method = "ebal"``, ``estimand = "ATE"``).

The effect is the difference of weighted outcome means. Its influence function is that of the
stacked estimating equations (target means, ``lambda``, outcome means); with
``beta_g = (sum_g a u u')^-1 sum_g a u (y - mu_g)``, ``u = x - m``, it reduces to

* ATT: ``psi_i = d s (y - mu_1 - beta_0'u)/S1 - (1-d) a (y - mu_0 - beta_0'u)/A0``;
* ATE: ``psi_i = sum_g +-[1(d=g) a (y - mu_g - beta_g'u)/A_g + beta_g' s u / S]``,

the doubly robust form that makes entropy balancing consistent when either the outcome is
linear in ``x`` or the selection is logit-linear (Zhao & Percival 2017).

Checked against the R package entbal's published output on NSW vs CPS-1 (ATT 1392.2, control
ESS 116.46) and an independent solution of the dual (tests).
"""

from __future__ import annotations

import numpy as np

from evalkit.cohort.results import EffectEstimate
from evalkit.cohort.weighting import check_weights
from evalkit.data.validation import show_values
from evalkit.errors import OverlapError

#: Balance is reached when every weighted mean is within this many SDs of its target.
TOLERANCE = 1e-11
#: Accepted when rounding stops Newton's line search (still far below 1e-8 relative).
ROUNDING_TOLERANCE = 1e-9


def entropy_weights(x: np.ndarray, q: np.ndarray, target: np.ndarray, names,
                    maxiter: int = 200) -> np.ndarray:
    """Weights ``w`` (summing to 1) of the rows of ``x`` with ``w @ x = target``, closest to
    ``q`` in Kullback–Leibler divergence.

    Raises
    ------
    OverlapError
        No such weights exist (a target mean outside the range of ``x``, or a covariate that
        needs extreme weights): the dual objective then decreases without bound.
    """
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    u = (x - target) / sd  # standardised: one tolerance for dollars and dummies
    lam = np.zeros(x.shape[1])
    log_q = np.log(q)

    def objective(b):
        eta = log_q + u @ b
        top = eta.max()
        return top + np.log(np.exp(eta - top).sum()), eta

    value, eta = objective(lam)
    for _ in range(maxiter):
        w = np.exp(eta - eta.max())
        w /= w.sum()
        grad = w @ u
        if np.max(np.abs(grad)) < TOLERANCE:
            return w
        centred = u - grad
        hessian = centred.T @ (centred * w[:, None])
        try:
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            break  # weights concentrated on too few persons: no solution
        t = 1.0
        while t > 1e-12:
            new_value, new_eta = objective(lam - t * step)
            # Armijo, with room for rounding once the decrease is below double precision
            if new_value <= value - 1e-4 * t * grad @ step + 1e-14 * abs(value):
                break
            t /= 2
        else:
            if np.max(np.abs(grad)) < ROUNDING_TOLERANCE:
                return w
            break
        lam, value, eta = lam - t * step, new_value, new_eta
    gap = np.abs(w @ u)
    worst = [names[j] for j in np.argsort(-gap)[:3] if gap[j] > 1e-6]
    raise OverlapError(
        "entropy balancing has no solution: no positive weights of the comparison group "
        "reproduce the target means of "
        f"{show_values(worst or list(names)[:3])} (a target mean at or beyond the comparison "
        "group's range, or covariates whose joint means cannot be matched). Drop or coarsen "
        "these covariates, trim the sample (trim='crump'), or use a weighting method that "
        "does not impose exact balance.")


def _group(y, x, s, rows, target, names):
    """Weights of one group's rows, their outcome mean and the linearisation ``beta``."""
    w = entropy_weights(x[rows], s[rows], target, names)
    a = np.zeros(len(y))
    a[rows] = w * s[rows].sum()  # same scale as the survey weights
    mu = np.dot(w, y[rows])
    u = x[rows] - target
    total = a[rows].sum()
    hessian = u.T @ (u * a[rows][:, None])
    beta = np.linalg.lstsq(hessian, u.T @ (a[rows] * (y[rows] - mu)), rcond=None)[0]
    resid = np.zeros(len(y))
    resid[rows] = y[rows] - mu - u @ beta
    return a, mu, beta, a * resid / total


def entropy_balancing(y, d, x, s, estimand: str, names, labels=("treated", "comparison")
                      ) -> EffectEstimate:
    """Entropy-balancing ATT or ATE with its influence function (see module docstring)."""
    t = d == 1
    treated, control = np.flatnonzero(t), np.flatnonzero(~t)
    if estimand == "ATT":
        target = s[t] @ x[t] / s[t].sum()
        a0, mu0, beta0, part0 = _group(y, x, s, control, target, names)
        s1 = s[t].sum()
        mu1 = np.dot(s[t], y[t]) / s1
        u = x - target
        psi = np.where(t, s * (y - mu1 - u @ beta0) / s1, 0.0) - part0
        a = np.where(t, s, a0)
    else:
        target = s @ x / s.sum()
        a1, mu1, beta1, part1 = _group(y, x, s, treated, target, names)
        a0, mu0, beta0, part0 = _group(y, x, s, control, target, names)
        u = x - target
        psi = part1 - part0 + s * (u @ (beta1 - beta0)) / s.sum()
        a = np.where(t, a1, a0)
    ess1 = check_weights(a[t], labels[0], "treated")
    ess0 = check_weights(a[~t], labels[1], "comparison")
    return EffectEstimate(mu1 - mu0, psi, mu1, mu0, ess1, ess0, details={"weights": a})
