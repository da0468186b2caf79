"""Optimal fixed-length confidence interval (FLCI) under smoothness restrictions.

Rambachan & Roth (2023, sec. 4.1), after Armstrong & Kolesár (2018): among
affine estimators ``theta_hat = v'beta_pre + l'beta_post`` of ``theta = l'tau``,
choose ``v`` to minimise the half-length

``chi(v) = cv_alpha(b(v) / s(v)) * s(v)``,

where ``s(v)`` is the standard deviation of ``theta_hat``, ``b(v)`` its worst-case
bias over ``Delta^SD(M) = {delta: |second differences of (delta_pre, 0, delta_post)| <= M}``
and ``cv_alpha(t)`` the ``1 - alpha`` quantile of ``|N(t, 1)|``. By linear-programming
duality ``b(v) = M min ||mu||_1`` over ``mu`` with ``D'mu = (v, l)`` (``D`` the
second-difference matrix), so the estimator is parametrised by ``mu`` with
``D_post'mu = l`` and ``v = D_pre'mu`` (this forces ``theta_hat`` to be unbiased
under linear trends, otherwise the bias is unbounded). For each standard deviation
bound ``h`` the smallest bias is a convex programme; the half-length is then
minimised over ``h`` between the minimum-variance estimator and the
minimum-bias one (all weight on the last pre-period).

R ``HonestDiD`` approximates ``cv_alpha`` from 10^6 simulated draws and stops its
search for ``h`` at 1 % of the range; here the folded-normal quantile is exact
and ``h`` is optimised to ``1e-9`` relative precision, so intervals agree with R
to about 1e-3 of their length, not to machine precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class FLCI:
    """Optimal FLCI: ``weights`` on ``(beta_pre, beta_post)``, ``estimate`` and ``half_length``."""

    weights: np.ndarray
    estimate: float
    half_length: float

    @property
    def lower(self) -> float:
        return self.estimate - self.half_length

    @property
    def upper(self) -> float:
        return self.estimate + self.half_length


def folded_normal_quantile(p: float, mu: float) -> float:
    """``p`` quantile of ``|N(mu, 1)|``: solves ``Phi(c - mu) - Phi(-c - mu) = p``."""
    mu = abs(float(mu))
    if mu > 40:
        return mu + stats.norm.ppf(p)
    return optimize.brentq(lambda c: stats.norm.cdf(c - mu) - stats.norm.cdf(-c - mu) - p,
                           0.0, mu + 10.0, xtol=1e-14, rtol=1e-15)


def second_differences(n_pre: int, n_post: int) -> np.ndarray:
    """Rows ``delta_{t+1} - 2 delta_t + delta_{t-1}`` over ``(delta_pre, delta_0=0, delta_post)``,
    with the column of ``delta_0`` removed."""
    total = n_pre + n_post
    D = np.zeros((total - 1, total + 1))
    for r in range(total - 1):
        D[r, r:r + 3] = (1.0, -2.0, 1.0)
    return np.delete(D, n_pre, axis=1)


class _Problem:
    """The FLCI programme in the ``mu`` parametrisation, on a standardised scale."""

    def __init__(self, sigma, n_pre, n_post, l_vec):
        self.scale = float(np.sqrt(np.mean(np.diag(sigma))))
        sigma = sigma / self.scale ** 2
        D = second_differences(n_pre, n_post)
        self.D_pre, self.D_post = D[:, :n_pre], D[:, n_pre:]
        self.l_vec = l_vec
        pre, post = slice(0, n_pre), slice(n_pre, n_pre + n_post)
        # var(mu) = mu'Q mu + 2 mu'q + r with v = D_pre' mu
        self.Q = self.D_pre @ sigma[pre, pre] @ self.D_pre.T
        self.q = self.D_pre @ sigma[pre, post] @ l_vec
        self.r = float(l_vec @ sigma[post, post] @ l_vec)
        self.m = D.shape[0]

    def variance(self, mu):
        return float(mu @ self.Q @ mu + 2 * mu @ self.q + self.r)

    def min_variance(self):
        """Equality-constrained least variance (closed form KKT system)."""
        m, k = self.m, self.D_post.shape[1]
        kkt = np.block([[2 * self.Q, self.D_post], [self.D_post.T, np.zeros((k, k))]])
        rhs = np.r_[-2 * self.q, self.l_vec]
        mu = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:m]
        return mu

    def min_bias_mu(self):
        """``mu`` of the estimator putting all pre-period weight on ``beta_{-1}``."""
        target = float(np.arange(1, len(self.l_vec) + 1) @ self.l_vec)
        v = np.zeros(self.D_pre.shape[1])
        v[-1] = target
        D_t = np.vstack([self.D_pre.T, self.D_post.T])
        return np.linalg.lstsq(D_t, np.r_[v, self.l_vec], rcond=None)[0]

    def least_bias(self, h, start):
        """``min ||mu||_1`` s.t. ``D_post'mu = l`` and ``var(mu) <= h^2`` (variables ``mu, u``)."""
        m = self.m
        cons = [
            {"type": "eq", "fun": lambda x: self.D_post.T @ x[:m] - self.l_vec,
             "jac": lambda x: np.hstack([self.D_post.T, np.zeros((self.D_post.shape[1], m))])},
            {"type": "ineq", "fun": lambda x: np.r_[x[m:] - x[:m], x[m:] + x[:m]],
             "jac": lambda x: np.block([[-np.eye(m), np.eye(m)], [np.eye(m), np.eye(m)]])},
            {"type": "ineq", "fun": lambda x: h ** 2 - self.variance(x[:m]),
             "jac": lambda x: np.r_[-2 * (self.Q @ x[:m] + self.q), np.zeros(m)]},
        ]
        x0 = np.r_[start, np.abs(start)]
        res = optimize.minimize(lambda x: x[m:].sum(), x0, jac=lambda x: np.r_[np.zeros(m), np.ones(m)],
                                constraints=cons, method="SLSQP",
                                options={"ftol": 1e-12, "maxiter": 500})
        mu = res.x[:m]
        return float(np.abs(mu).sum()), mu


def optimal_flci(beta, sigma, n_pre: int, n_post: int, l_vec, M: float, alpha: float) -> FLCI:
    """Optimal FLCI for ``l'tau`` under ``Delta^SD(M)`` (see module docstring)."""
    beta, sigma, l_vec = (np.asarray(beta, float), np.asarray(sigma, float),
                          np.asarray(l_vec, float))
    prob = _Problem(sigma, n_pre, n_post, l_vec)
    mu_var = prob.min_variance()
    mu_bias = prob.min_bias_mu()
    h_lo, h_hi = np.sqrt(max(prob.variance(mu_var), 0.0)), np.sqrt(max(prob.variance(mu_bias), 0.0))
    m_std = M / prob.scale  # M in the units of the standardised coefficients
    cache: dict[float, tuple[float, np.ndarray]] = {}

    def half_length(h):
        if h not in cache:
            # Start from the segment between the two extreme estimators.
            t = 0.0 if h_hi <= h_lo else np.clip((h - h_lo) / (h_hi - h_lo), 0, 1)
            bias, mu = prob.least_bias(h, (1 - t) * mu_var + t * mu_bias)
            sd = np.sqrt(max(prob.variance(mu), 1e-300))
            cache[h] = (folded_normal_quantile(1 - alpha, m_std * bias / sd) * sd, mu)
        return cache[h][0]

    if M == 0 or h_hi <= h_lo * (1 + 1e-9):
        mu = mu_var
        sd = np.sqrt(prob.variance(mu))
        half = folded_normal_quantile(1 - alpha, m_std * np.abs(mu).sum() / sd) * sd
    else:
        res = optimize.minimize_scalar(half_length, bounds=(h_lo, h_hi), method="bounded",
                                       options={"xatol": 1e-9 * h_hi})
        candidates = [res.x, h_lo, h_hi]
        best = min(candidates, key=half_length)
        half, mu = cache[best]
    weights = np.r_[prob.D_pre.T @ mu, l_vec]
    return FLCI(weights, float(weights @ beta), float(half * prob.scale))
