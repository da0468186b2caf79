"""Conditional and hybrid moment-inequality tests behind HonestDiD confidence sets.

Andrews, Roth & Pakes (2023), "Inference for Linear Conditional Moment
Inequalities", as used by Rambachan & Roth (2023, sec. 3): a value ``theta``
of the target parameter is in the confidence set when the test of

``E[Y(theta)] - X delta <= 0``  for some nuisance ``delta``

does not reject. ``Y(theta) = A beta_hat - d - A Gamma^-1 e_1 theta`` stacks
the restrictions ``A delta <= d`` that define the set of allowed violations of
parallel trends. The statistic is ``eta = min_delta max_j (y_j - x_j'delta)/sd_j``
(a linear programme); its critical value conditions on the active constraints
(truncated normal, ARP sec. 3). Hybrids first run a size-``kappa`` test (the
least-favourable critical value ``"lf"``, or the fixed-length CI ``"flci"``) and
the conditional test at size ``(alpha - kappa) / (1 - kappa)``.

Numerical conventions (tolerances, the 10 fixed-point steps before bisection
for the dual truncation bounds, ``kappa = alpha / 10``, 1,000 least-favourable
draws) follow R ``HonestDiD`` so that confidence sets match it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np
from scipy import stats
from scipy.optimize import linprog

# Multipliers above this are "active" constraints (R HonestDiD's tol_lambda).
ACTIVE_TOL = 1e-6
DUAL_TOL = 1e-6
FIXED_POINT_STEPS = 10


@dataclass(frozen=True)
class Hybrid:
    """First-stage test of a hybrid: ``kind`` ``"lf"`` (critical value ``lf_cv``) or
    ``"flci"`` (rows ``vbar`` and bounds ``dbar`` of the fixed-length CI)."""

    kind: str
    kappa: float
    lf_cv: float | None = None
    flci_l: np.ndarray | None = None
    flci_halflength: float | None = None
    vbar: np.ndarray | None = None
    dbar: np.ndarray | None = None


def truncated_normal_quantile(p: float, lower: float, upper: float, mu: float = 0.0,
                              sd: float = 1.0) -> float:
    """Quantile ``p`` of ``N(mu, sd^2)`` truncated to ``[lower, upper]``."""
    if sd <= 0:
        return mu
    a, b = (lower - mu) / sd, (upper - mu) / sd
    if a >= b:
        return mu + a * sd
    if np.isneginf(a) and np.isposinf(b):
        return float(stats.norm.ppf(p) * sd + mu)
    return float(mu + stats.truncnorm.ppf(p, a, b) * sd)


def _truncation_bounds(gamma, sigma, A, d, y):
    """Range of ``gamma'y`` keeping ``A y <= d`` given the part of ``y`` independent of it."""
    c = sigma @ gamma / float(gamma @ sigma @ gamma)
    z = y - c * float(gamma @ y)
    ac = A @ c
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (d - A @ z) / ac
    lo = ratio[ac < 0].max() if (ac < 0).any() else -np.inf
    hi = ratio[ac > 0].min() if (ac > 0).any() else np.inf
    return float(lo), float(hi)


def test_no_nuisance(y, sigma, A, d, alpha: float, hybrid: Hybrid | None = None) -> bool:
    """Conditional (or hybrid) test of ``A E[y] <= d`` without nuisance parameters.

    Returns ``True`` when the test rejects. The statistic is the largest
    standardised moment; its critical value is the truncated-normal quantile
    given the event that this moment is the largest (ARP sec. 3, Lemma 2).
    """
    size = alpha
    extra_A = extra_d = None
    if hybrid is not None and hybrid.kind == "flci":
        extra_A = np.vstack([hybrid.flci_l, -hybrid.flci_l])
        extra_d = np.full(2, hybrid.flci_halflength)
        if np.max(extra_A @ y - extra_d) > 0:
            return True
        size = (alpha - hybrid.kappa) / (1 - hybrid.kappa)
    scale = np.sqrt(np.einsum("ij,jk,ik->i", A, sigma, A))
    A_t, d_t = A / scale[:, None], d / scale
    moments = A_t @ y - d_t
    j = int(np.argmax(moments))
    if hybrid is not None and hybrid.kind == "lf":
        if moments[j] > hybrid.lf_cv:
            return True
        size = (alpha - hybrid.kappa) / (1 - hybrid.kappa)
    gamma = A_t[j]
    A_bar = A_t - gamma[None, :]
    d_bar = d_t - d_t[j]
    if extra_A is not None:
        A_bar = np.vstack([A_bar, extra_A])
        d_bar = np.concatenate([d_bar, extra_d])
    lo, hi = _truncation_bounds(gamma, sigma, A_bar, d_bar, y)
    sd = float(np.sqrt(gamma @ sigma @ gamma))
    crit = max(0.0, truncated_normal_quantile(1 - size, lo, hi, mu=d_t[j], sd=sd))
    return bool(moments[j] + d_t[j] > crit)


def eta_lp(y, X, sd):
    """``min eta`` s.t. ``y - X delta <= eta sd``: value, argmin and the multipliers."""
    k = X.shape[1]
    res = linprog(np.r_[1.0, np.zeros(k)], A_ub=np.column_stack([-sd, -X]), b_ub=-y,
                  bounds=[(None, None)] * (k + 1), method="highs")
    if not res.success:
        return None
    return float(res.x[0]), res.x[1:], -res.ineqlin.marginals


def least_favorable_cv(X, sigma, kappa: float, draws: np.ndarray) -> float:
    """Size-``kappa`` least-favourable critical value of ``eta`` (ARP sec. 4.2).

    ``draws`` are ``N(0, sigma)`` vectors (rows). Without nuisance parameters
    (``X`` is ``None``) ``eta`` is the largest standardised draw.
    """
    sd = np.sqrt(np.diag(sigma))
    if X is None:
        return float(np.quantile((draws / sd).max(axis=1), 1 - kappa))
    vertices = _dual_vertices(X, sd)
    if vertices is not None:
        etas = (draws @ vertices).max(axis=1) if vertices.shape[1] else np.array([])
    else:
        etas = np.array([sol[0] for xi in draws if (sol := eta_lp(xi, X, sd)) is not None])
    if not len(etas):
        return np.inf
    return float(np.quantile(etas, 1 - kappa))


def _dual_vertices(X, sd, limit: int = 200_000):
    """Vertices of ``{lam >= 0: sd'lam = 1, X'lam = 0}`` as columns, or ``None`` if too many
    bases to enumerate.

    ``eta(y) = max_lam lam'y`` over this polytope (LP duality) does not depend on ``y``, so
    enumerating its vertices once turns the 1,000 least-favourable LPs into one product.
    """
    m, k = X.shape
    if comb(m, k + 1) > limit:
        return None
    W = np.column_stack([sd, X]).T  # (k+1, m)
    bases = np.array(list(combinations(range(m), k + 1)))
    blocks = W[:, bases].transpose(1, 0, 2)  # (nb, k+1, k+1)
    rhs = np.zeros(k + 1)
    rhs[0] = 1.0
    ok = np.abs(np.linalg.det(blocks)) > 1e-12
    lam = np.linalg.solve(blocks[ok], np.broadcast_to(rhs, (ok.sum(), k + 1))[..., None])[..., 0]
    feasible = (lam >= -1e-12).all(axis=1)
    V = np.zeros((m, int(feasible.sum())))
    cols = np.arange(V.shape[1])
    for j in range(k + 1):
        V[bases[ok][feasible][:, j], cols] = lam[feasible][:, j]
    return V


def normal_draws(sigma, n: int, seed) -> np.ndarray:
    """``n`` draws of ``N(0, sigma)`` (symmetric square root, so singular ``sigma`` works)."""
    vals, vecs = np.linalg.eigh(sigma)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    return np.random.default_rng(seed).standard_normal((n, len(sigma))) @ root.T


def _dual_max(s, gamma, sigma, W, c):
    """``max (s + sigma gamma c / gamma'sigma gamma)'lam`` s.t. ``W'lam = e_1``, ``lam >= 0``."""
    f = s + sigma @ gamma * (c / float(gamma @ sigma @ gamma))
    beq = np.zeros(W.shape[1])
    beq[0] = 1.0
    res = linprog(-f, A_eq=W.T, b_eq=beq, bounds=[(0, None)] * len(f), method="highs")
    if not res.success:
        return False, np.nan, np.zeros(len(f))
    return True, -res.fun, res.x


def _dual_bound(eta, s, gamma, sigma, W, start, direction):
    """One truncation bound of the dual approach (ARP appendix, Algorithm 1)."""
    b = sigma @ gamma / float(gamma @ sigma @ gamma)

    def solves(c):
        ok, value, lam = _dual_max(s, gamma, sigma, W, c)
        return ok and abs(c - value) <= DUAL_TOL, lam

    ok, lam = solves(start)
    if ok:
        return direction * np.inf
    mid = start
    for _ in range(FIXED_POINT_STEPS - 1):
        denom = 1.0 - float(lam @ b)
        value = float(lam @ s)
        value = 0.0 if abs(value) < np.finfo(float).eps ** 0.75 else value
        mid = value / denom if abs(denom) > 1e-15 else mid
        ok, lam = solves(mid)
        if ok:
            return mid
    inside, outside = eta, mid
    while abs(outside - inside) > DUAL_TOL:
        mid = (inside + outside) / 2
        if solves(mid)[0]:
            inside = mid
        else:
            outside = mid
    return mid


def test_nuisance(y, X, sigma, alpha: float, hybrid: Hybrid | None = None, *, rows=None,
                  y_full=None, sigma_full=None) -> bool:
    """Conditional (or hybrid) test of ``E[y] - X delta <= 0`` for some ``delta``.

    ``rows`` selects the moments used by the test (R's ``postPeriodMomentsOnly``);
    ``y_full``/``sigma_full`` are all moments, used by the FLCI hybrid.
    Returns ``True`` when the test rejects.
    """
    y_full = y if y_full is None else y_full
    sigma_full = sigma if sigma_full is None else sigma_full
    rows = np.arange(len(y)) if rows is None else np.asarray(rows)
    y, X, sigma = y[rows], X[rows], sigma[np.ix_(rows, rows)]
    sd = np.sqrt(np.diag(sigma))
    sol = eta_lp(y, X, sd)
    if sol is None:
        return False
    eta, _, lam = sol
    size = alpha
    if hybrid is not None:
        size = (alpha - hybrid.kappa) / (1 - hybrid.kappa)
        if hybrid.kind == "lf" and eta > hybrid.lf_cv:
            return True
        if hybrid.kind == "flci":
            first_stage = float(hybrid.vbar @ y_full)
            if np.max(np.r_[first_stage, -first_stage] - hybrid.dbar) > 0:
                return True
    k = X.shape[1]
    active = lam > ACTIVE_TOL
    X_b = X[active]
    full_rank = X_b.size > 0 and np.linalg.matrix_rank(X_b) == min(X_b.shape)
    if active.sum() != k + 1 or not full_rank:
        gamma = lam
        var = float(gamma @ sigma @ gamma)
        if abs(var) < np.finfo(float).eps:
            return eta > 0
        sd_b = np.sqrt(var)
        W = np.column_stack([sd, X])
        s = y - sigma @ gamma * (float(gamma @ y) / var)
        lo = _dual_bound(eta, s, gamma, sigma, W, min(-100.0, eta - 20 * sd_b), -1)
        hi = _dual_bound(eta, s, gamma, sigma, W, max(100.0, eta + 20 * sd_b), 1)
    else:
        basis = np.column_stack([sd[active], X_b])
        select = np.eye(len(y))[active]
        solved = np.linalg.solve(basis, select)
        gamma = solved[0]
        G = np.column_stack([sd[~active], X[~active]]) @ solved - np.eye(len(y))[~active]
        var = float(gamma @ sigma @ gamma)
        sd_b = np.sqrt(var)
        rho = G @ sigma @ gamma / var
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -(G @ y) / rho + float(gamma @ y)
        lo = bound[rho > 0].max() if (rho > 0).any() else -np.inf
        hi = bound[rho < 0].min() if (rho < 0).any() else np.inf
    if hybrid is not None and hybrid.kind == "lf":
        hi = min(hi, hybrid.lf_cv)
    elif hybrid is not None and hybrid.kind == "flci":
        gamma_full = np.zeros(len(y_full))
        gamma_full[rows] = gamma
        f_lo, f_hi = _truncation_bounds(gamma_full, sigma_full,
                                        np.vstack([hybrid.vbar, -hybrid.vbar]), hybrid.dbar,
                                        y_full)
        lo, hi = max(lo, f_lo), min(hi, f_hi)
    stat, z_lo, z_hi = eta / sd_b, lo / sd_b, hi / sd_b
    if not z_lo <= stat <= z_hi:
        return False
    return bool(stat > max(0.0, truncated_normal_quantile(1 - size, z_lo, z_hi)))
