"""Two-period DiD with covariates: outcome regression, IPW and doubly robust.

Implements the estimators of Sant'Anna & Zhao (2020), "Doubly robust
difference-in-differences estimators", *Journal of Econometrics* 219(1),
for panel data and for repeated cross-sections, together with their
influence functions. The formulas follow the R package ``DRDID`` (the
building block of R ``did``):

============  ==========================  ==========================
``method``    panel                       repeated cross-sections
============  ==========================  ==========================
``"or"``      ``reg_did_panel``           ``reg_did_rc``
``"ipw"``     ``std_ipw_did_panel``       ``std_ipw_did_rc``
              (normalised / Hájek IPW)    (normalised / Hájek IPW)
``"dr"``      ``drdid_panel``             ``drdid_rc`` (locally
              (traditional DR)            efficient DR, eq. 3.4)
============  ==========================  ==========================

The influence function ``psi`` is scaled so that
``att_hat - att ≈ mean(psi)``; hence ``Var(att_hat) ≈ mean(psi**2) / n``.
Without covariates (intercept only) the three methods coincide with the
unconditional 2x2 DiD, in point estimate and influence function.

Propensity scores come from a weighted logit fitted by Newton-Raphson /
IRLS; outcome regressions are weighted least squares on the comparison
group. As in ``DRDID``, scores are capped at ``1 - 1e-6`` and comparison
units with a score above ``trim_level`` get weight zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit

from evalkit.errors import DataValidationError, EstimationError, OverlapError
from evalkit.options import check_option, choices, renamed

Method = Literal["or", "ipw", "dr"]
METHODS = choices(Method)

#: R ``did`` refuses a cell when a preliminary propensity score reaches this value.
OVERLAP_LIMIT = 0.999


class CollinearCovariatesError(EstimationError):
    """A regression design is singular; ``positions`` are the constant covariates (0-based)."""

    def __init__(self, message: str, positions: list[int]):
        super().__init__(message)
        self.positions = positions


@dataclass(frozen=True)
class TwoPeriodDiD:
    """A two-period DiD estimate with its influence function.

    Attributes
    ----------
    att
        The average treatment effect on the treated.
    influence
        One value per observation (unit for panels, row for repeated
        cross-sections), with ``att - att_true ≈ mean(influence)``.
    method
        ``"or"``, ``"ipw"`` or ``"dr"``.
    """

    att: float
    influence: np.ndarray
    method: str

    @property
    def n(self) -> int:
        return len(self.influence)

    @property
    def std_error(self) -> float:
        """``sd(influence) / sqrt(n)``, the analytic SE reported by R ``DRDID``."""
        return float(np.std(self.influence, ddof=1) / np.sqrt(self.n))


@renamed(weights="weights_array")
def drdid_panel(
    y_post,
    y_pre,
    treated,
    covariates=None,
    weights_array=None,
    *,
    method: Method = "dr",
    trim_level: float = 0.995,
) -> TwoPeriodDiD:
    """Two-period panel DiD (Sant'Anna & Zhao 2020), with influence function.

    Parameters
    ----------
    y_post, y_pre
        Outcome of each unit in the post and the pre period (length n).
    treated
        1 for units of the treated group, 0 for comparison units.
    covariates
        ``(n, k)`` array of pre-treatment covariates, or ``None`` (intercept
        only). An intercept is added unless the first column is all ones.
    weights
        Sampling weights (normalised to mean one internally), or ``None``.
    method
        ``"or"`` (outcome regression, Heckman et al. 1997), ``"ipw"``
        (normalised IPW, Abadie 2005) or ``"dr"`` (doubly robust).
    trim_level
        Comparison units with propensity score above this get weight zero.

    Returns
    -------
    TwoPeriodDiD

    Notes
    -----
    With ``ΔY = y_post - y_pre``, ``p(X)`` the propensity score and
    ``m(X) = E[ΔY | X, D=0]`` (linear), the DR estimator is

    ``ATT = E_n[w1 (ΔY - m(X))] / E_n[w1] - E_n[w0 (ΔY - m(X))] / E_n[w0]``,
    ``w1 = D``, ``w0 = p(X)(1-D)/(1-p(X))``.

    OR uses ``w0`` = ``D`` applied to ``m(X)``; IPW sets ``m = 0``.
    """
    method = _check_method(method)
    d, w = _treatment_and_weights(treated, weights_array)
    y_post, y_pre = np.asarray(y_post, dtype=float), np.asarray(y_pre, dtype=float)
    X = _design(covariates, len(d))
    _check_lengths(len(d), y_post=y_post, y_pre=y_pre, X=X, w=w)
    dy = y_post - y_pre
    if method == "or":
        beta, alr_or = _wls(X, dy, w * (1 - d), "comparison")
        m = X @ beta
        w1 = w * d
        eta1 = np.sum(w1 * dy) / np.sum(w1)
        eta0 = np.sum(w1 * m) / np.sum(w1)
        inf_treat = w1 * (dy - eta1) / w1.mean()
        m1 = _moment(X, w1)
        inf_cont = (w1 * (m - eta0) + alr_or(m1)) / w1.mean()
        return TwoPeriodDiD(eta1 - eta0, inf_treat - inf_cont, method)

    ps, alr_ps = _propensity(X, d, w)
    keep = np.where(d == 1, True, ps < trim_level)
    w1 = keep * w * d
    w0 = keep * w * ps * (1 - d) / (1 - ps)
    _check_mass(w1, w0)
    if method == "ipw":
        resid = dy
        alr_or = None
    else:
        beta, alr_or = _wls(X, dy, w * (1 - d), "comparison")
        resid = dy - X @ beta
    eta1 = np.sum(w1 * resid) / np.sum(w1)
    eta0 = np.sum(w0 * resid) / np.sum(w0)
    inf_treat = w1 * (resid - eta1)
    inf_cont = w0 * (resid - eta0)
    inf_cont = inf_cont + alr_ps(_moment(X, w0 * (resid - eta0)))
    if alr_or is not None:
        inf_treat = inf_treat - alr_or(_moment(X, w1))
        inf_cont = inf_cont - alr_or(_moment(X, w0))
    influence = inf_treat / w1.mean() - inf_cont / w0.mean()
    return TwoPeriodDiD(eta1 - eta0, influence, method)


@renamed(weights="weights_array")
def drdid_rcs(
    y,
    post,
    treated,
    covariates=None,
    weights_array=None,
    *,
    method: Method = "dr",
    trim_level: float = 0.995,
) -> TwoPeriodDiD:
    """Two-period DiD on repeated cross-sections (Sant'Anna & Zhao 2020).

    Parameters
    ----------
    y
        Outcome of each observation (length n, pre and post rows stacked).
    post
        1 for observations of the post period, 0 for the pre period.
    treated
        1 for observations of the treated group, 0 for the comparison group.
    covariates, weights, method, trim_level
        As in :func:`drdid_panel`.

    Returns
    -------
    TwoPeriodDiD
        The influence function has one value per observation.

    Notes
    -----
    ``"dr"`` is the locally efficient DR estimator (eq. 3.4 of the paper,
    R ``DRDID::drdid_rc``): it fits outcome regressions for both groups in
    both periods. ``"or"`` fits the comparison group's regressions only.
    """
    method = _check_method(method)
    d, w = _treatment_and_weights(treated, weights_array)
    y = np.asarray(y, dtype=float)
    post = np.asarray(post, dtype=float)
    if not ((post == 0) | (post == 1)).all():
        raise DataValidationError("post must be 0/1 (1 = post period).")
    X = _design(covariates, len(d))
    _check_lengths(len(d), y=y, post=post, X=X, w=w)
    pre = 1 - post
    fits = {}
    if method in ("or", "dr"):
        for name, mask in (("c0", (1 - d) * pre), ("c1", (1 - d) * post)):
            fits[name] = _wls(X, y, w * mask, "comparison")
    if method == "or":
        (b0, alr0), (b1, alr1) = fits["c0"], fits["c1"]
        m0, m1 = X @ b0, X @ b1
        w_t0, w_t1, w_c = w * d * pre, w * d * post, w * d
        eta_t0 = np.sum(w_t0 * y) / np.sum(w_t0)
        eta_t1 = np.sum(w_t1 * y) / np.sum(w_t1)
        eta_c = np.sum(w_c * (m1 - m0)) / np.sum(w_c)
        inf_treat = w_t1 * (y - eta_t1) / w_t1.mean() - w_t0 * (y - eta_t0) / w_t0.mean()
        mom = _moment(X, w_c)
        inf_cont = (w_c * (m1 - m0 - eta_c) + alr1(mom) - alr0(mom)) / w_c.mean()
        return TwoPeriodDiD((eta_t1 - eta_t0) - eta_c, inf_treat - inf_cont, method)

    ps, alr_ps = _propensity(X, d, w)
    keep = np.where(d == 1, True, ps < trim_level)
    odds = ps * (1 - d) / (1 - ps)
    w_t0, w_t1 = keep * w * d * pre, keep * w * d * post
    w_c0, w_c1 = keep * w * odds * pre, keep * w * odds * post
    for wt in (w_t0, w_t1):
        _check_mass(wt, w_c0 + w_c1)
    _check_mass(w_t0 + w_t1, w_c0)
    _check_mass(w_t0 + w_t1, w_c1)

    if method == "ipw":
        resid = y
    else:
        (b0, alr0), (b1, alr1) = fits["c0"], fits["c1"]
        m_c0, m_c1 = X @ b0, X @ b1
        resid = y - (post * m_c1 + pre * m_c0)

    def part(wt):
        """Normalised mean of ``resid`` under ``wt`` and its plain IF term."""
        mean_w = wt.mean()
        est = np.mean(wt * resid) / mean_w
        return est, (wt * resid - wt * est) / mean_w

    a_t0, i_t0 = part(w_t0)
    a_t1, i_t1 = part(w_t1)
    a_c0, i_c0 = part(w_c0)
    a_c1, i_c1 = part(w_c1)
    m2_pre = _moment(X, w_c0 * (resid - a_c0)) / w_c0.mean()
    m2_post = _moment(X, w_c1 * (resid - a_c1)) / w_c1.mean()
    inf_ps = alr_ps(m2_post - m2_pre)
    if method == "ipw":
        att = (a_t1 - a_t0) - (a_c1 - a_c0)
        influence = (i_t1 - i_t0) - (i_c1 - i_c0 + inf_ps)
        return TwoPeriodDiD(att, influence, method)

    # Estimation effect of the comparison-group regressions on each component.
    def or_effect(wt, mask):
        return -_moment(X, wt * mask) / wt.mean()

    inf_treat = (i_t1 - i_t0) + alr1(or_effect(w_t1, post)) - alr0(or_effect(w_t0, pre))
    inf_cont = (i_c1 - i_c0) + inf_ps + alr1(or_effect(w_c1, post)) - alr0(or_effect(w_c0, pre))

    # Local-efficiency terms: treated-group regressions in both periods.
    (bt0, alr_t0) = _wls(X, y, w * d * pre, "treated")
    (bt1, alr_t1) = _wls(X, y, w * d * post, "treated")
    gap_post = X @ bt1 - m_c1
    gap_pre = X @ bt0 - m_c0
    w_d = keep * w * d
    w_d1 = keep * w * d * post
    w_d0 = keep * w * d * pre

    def eff(wt, gap):
        est = np.mean(wt * gap) / wt.mean()
        return est, (wt * gap - wt * est) / wt.mean()

    a_d1, i_d1 = eff(w_d, gap_post)
    a_dt1, i_dt1 = eff(w_d1, gap_post)
    a_d0, i_d0 = eff(w_d, gap_pre)
    a_dt0, i_dt0 = eff(w_d0, gap_pre)
    att = (a_t1 - a_t0) - (a_c1 - a_c0) + (a_d1 - a_dt1) - (a_d0 - a_dt0)
    inf_eff = (i_d1 - i_dt1) - (i_d0 - i_dt0)
    mom_post = _moment(X, w_d / w_d.mean() - w_d1 / w_d1.mean())
    mom_pre = _moment(X, w_d / w_d.mean() - w_d0 / w_d0.mean())
    inf_or = (alr_t1(mom_post) - alr1(mom_post)) - (alr_t0(mom_pre) - alr0(mom_pre))
    influence = inf_treat - inf_cont + inf_eff + inf_or
    return TwoPeriodDiD(att, influence, method)


# --------------------------------------------------------------------------- helpers


def _check_method(method: str) -> str:
    return check_option("method", method, Method)


def _treatment_and_weights(treated, weights):
    d = np.asarray(treated, dtype=float)
    if not ((d == 0) | (d == 1)).all():
        raise DataValidationError("treated must be 0/1 (1 = treated group).")
    if d.sum() == 0 or d.sum() == len(d):
        raise EstimationError(
            "A two-period DiD needs both treated and comparison observations; "
            f"got {int(d.sum())} treated out of {len(d)}."
        )
    if weights is None:
        w = np.ones_like(d)
    else:
        w = np.asarray(weights, dtype=float)
        if (w < 0).any() or not np.isfinite(w).all() or w.mean() <= 0:
            raise DataValidationError("weights must be finite, non-negative, with a positive mean.")
        w = w / w.mean()
    return d, w


def _design(covariates, n: int) -> np.ndarray:
    if covariates is None:
        return np.ones((n, 1))
    X = np.asarray(covariates, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[1] and np.all(X[:, 0] == 1):
        return X
    return np.column_stack([np.ones(len(X)), X])


def _moment(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``mean(v[:, None] * X, axis=0)`` without the n x k temporary."""
    return X.T @ v / len(v)


def _check_lengths(n: int, **arrays) -> None:
    bad = {k: len(v) for k, v in arrays.items() if len(v) != n}
    if bad:
        raise DataValidationError(f"All inputs must have length {n} (= len(treated)); got {bad}.")


def _check_mass(w1, w0) -> None:
    if w1.sum() <= 0 or w0.sum() <= 0:
        raise EstimationError(
            "No weight left in the treated or the comparison group after "
            "trimming propensity scores above trim_level."
        )


def _wls(X, y, w, who: str):
    """Weighted least squares of ``y`` on ``X`` with weights ``w`` (zeros excluded).

    Returns the coefficients and a function ``alr(m)`` giving, for a moment
    vector ``m``, the asymptotic linear representation term
    ``w e X (X'WX/n)^{-1} m`` (one value per observation).
    """
    n = len(y)
    rows = np.flatnonzero(w)  # the regression's own observations (a subgroup)
    Xs, ws = X[rows], w[rows]
    XtW = Xs.T * ws
    xtx = XtW @ Xs
    _check_rank(xtx, Xs, ws, who, "outcome regression")
    beta = np.linalg.solve(xtx, XtW @ y[rows])
    resid_w = ws * (y[rows] - Xs @ beta)
    inv = np.linalg.inv(xtx / n)

    def alr(m):
        out = np.zeros(n)
        out[rows] = resid_w * (Xs @ (inv @ m))
        return out

    return beta, alr


def _propensity(X, d, w, max_iter: int = 50):
    """Weighted logit of ``d`` on ``X`` (Newton-Raphson); scores and ALR term.

    Starts from the intercept-only fit and stops once the Newton decrement of
    the last step is below ``1e-14 * sum(w)``: the remaining error is then of
    the order of the step squared, i.e. machine precision, tighter than R
    ``glm``'s deviance criterion (1e-8).
    """
    n, k = X.shape
    p_bar = np.average(d, weights=w)
    beta = np.zeros(k)
    beta[0] = np.log(p_bar / (1 - p_bar))
    eta = X @ beta
    w_sum = w.sum()
    for iteration in range(max_iter):
        mu = expit(eta)
        hess = (X.T * (w * mu * (1 - mu))) @ X
        if iteration == 0:
            _check_rank(hess, X, w, "all", "propensity score")
        grad = X.T @ (w * (d - mu))
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break  # separation: scores hit 0/1, reported below
        beta += step
        eta = X @ beta
        if grad @ step < 1e-14 * w_sum:
            break
    ps = expit(eta)
    if ps.max() >= OVERLAP_LIMIT or not np.isfinite(ps).all():
        raise OverlapError(
            f"Propensity scores reach {np.nanmax(ps):.4f} (limit {OVERLAP_LIMIT}): the covariates "
            "almost perfectly separate treated from comparison units, so IPW/DR weights "
            "explode. Use fewer or coarser covariates, method='or', or another "
            "comparison group."
        )
    ps = np.minimum(ps, 1 - 1e-6)
    info = (X.T * (w * ps * (1 - ps))) @ X
    hess = np.linalg.inv(info) * n
    score_w = w * (d - ps)

    def alr(m):
        return score_w * (X @ (hess @ m))

    return ps, alr


def _check_rank(xtx, X, w, who: str, what: str) -> None:
    """Raise EstimationError naming covariates that are constant or collinear."""
    scale = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
    corr = xtx / np.outer(scale, scale)
    if np.linalg.cond(corr) < 1e12 and np.all(np.diag(xtx) > 0):
        return
    used = w > 0
    constant = [
        j - 1 for j in range(1, X.shape[1])
        if used.any() and np.ptp(X[used, j]) == 0
    ]
    detail = (
        f"the covariate(s) at position(s) {constant} are constant among the {who} observations"
        if constant else "covariates are collinear (or there are fewer observations than covariates)"
    )
    raise CollinearCovariatesError(
        f"The {what} cannot be fitted: {detail} (n = {int(used.sum())}). "
        "Drop or recode those covariates.",
        constant,
    )
