"""Least squares with absorbed fixed effects and cluster-robust covariance.

The kernel behind :class:`~evalkit.did.twfe.TWFE` and
:class:`~evalkit.did.event_study.EventStudy`: the within (fixed-effects)
transformation by group means — exact in one step for one factor or a
balanced two-way panel, by alternating projections (Gaure 2013, the method
of R ``lfe`` / ``fixest``) otherwise — then OLS on the transformed data with
the CRV1 cluster-robust covariance.

CRV1 convention (Stata ``reghdfe``, R ``fixest``, ``pyfixest``)::

    V = G/(G-1) * (N-1)/(N-K) * (X'X)^-1 (sum_g X_g' u_g u_g' X_g) (X'X)^-1

with ``K`` the regressors plus the fixed-effect parameters *not nested* in
the clusters (fixed effects nested in a cluster — unit effects when
clustering by unit or by a zone containing the units — do not use up
cluster-level degrees of freedom, Cameron & Miller 2015, sec. IV.C).
Inference uses ``t(G-1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import EstimationError


def factorize(values) -> tuple[np.ndarray, int]:
    """Integer codes 0..n-1 of ``values`` and the number of levels."""
    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    return codes.astype(np.int64), len(uniques)


def _demean_one(x: np.ndarray, codes: np.ndarray, n: int, counts: np.ndarray) -> np.ndarray:
    # Column-major storage keeps each column contiguous for bincount (3x faster).
    out = np.empty(x.shape, order="F")
    for j in range(x.shape[1]):
        means = np.bincount(codes, weights=x[:, j], minlength=n) / counts
        out[:, j] = x[:, j] - means[codes]
    return out


def within(x: np.ndarray, factors: list[np.ndarray], *, tol: float = 1e-12,
           max_iter: int = 10_000) -> np.ndarray:
    """Residuals of the columns of ``x`` on the dummies of ``factors``.

    Parameters
    ----------
    x
        ``(n, k)`` array.
    factors
        Integer code arrays (0..levels-1), one per fixed effect.
    tol
        Convergence of alternating projections: largest absolute group mean
        left, relative to the scale of ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    x = np.asfortranarray(x)
    info = []
    for codes in factors:
        n = int(codes.max()) + 1 if len(codes) else 0
        info.append((codes, n, np.maximum(np.bincount(codes, minlength=n), 1)))
    if not info:
        return x.copy()
    if len(info) == 1:
        return _demean_one(x, *info[0])
    if len(info) == 2:
        (c1, n1, k1), (c2, n2, k2) = info
        if len(x) == n1 * n2 and (k1 == n2).all() and (k2 == n1).all():
            # Balanced two-way layout: x - row mean - column mean + grand mean is exact.
            once = _demean_one(x, c1, n1, k1)
            return _demean_one(once, c2, n2, k2)
    scale = max(float(np.abs(x).max()), 1.0)
    out = x.copy()
    for _ in range(max_iter):
        for codes, n, counts in info:
            out = _demean_one(out, codes, n, counts)
        residual_means = max(
            float(np.abs(np.bincount(codes, weights=out[:, j], minlength=n) / counts).max())
            for codes, n, counts in info for j in range(out.shape[1])
        )
        if residual_means < tol * scale:
            return out
    raise EstimationError(
        f"fixed-effects demeaning did not converge in {max_iter} iterations; the panel may be "
        "badly connected (units observed in one period only). Drop singleton units."
    )


def nested(factor: np.ndarray, clusters: np.ndarray) -> bool:
    """True when every level of ``factor`` lies within one cluster."""
    frame = pd.DataFrame({"f": factor, "c": clusters})
    return bool((frame.groupby("f", sort=False)["c"].nunique() <= 1).all())


@dataclass
class ClusteredOLS:
    """OLS estimates with CRV1 and CR0 cluster-robust covariances."""

    params: np.ndarray
    cov: np.ndarray
    cov_cr0: np.ndarray
    resid: np.ndarray
    n_obs: int
    n_clusters: int
    k: int
    """Degrees of freedom used by the model (regressors + non-nested effects)."""
    design: tuple
    """``(y, X, clusters, factors)`` as fitted (within-transformed; ``factors``
    the absorbed effects' codes), for the wild bootstrap."""

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def df_resid(self) -> int:
        """Degrees of freedom of t and F tests: ``G - 1``."""
        return self.n_clusters - 1


def clustered_ols(y: np.ndarray, X: np.ndarray, clusters: np.ndarray, *, extra_df: int = 0,
                  names: list[str] | None = None, factors: list | None = None) -> ClusteredOLS:
    """OLS of ``y`` on ``X`` (already within-transformed if effects are absorbed) with CRV1.

    ``extra_df`` is the number of absorbed fixed-effect parameters not nested
    in the clusters; it enters ``K`` of the small-sample factor.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    xtx = X.T @ X
    rank = np.linalg.matrix_rank(xtx)
    if rank < k:
        # Name the regressors that are linear combinations of the others.
        q, r = np.linalg.qr(X / np.maximum(np.linalg.norm(X, axis=0), 1e-300))
        weak = np.abs(np.diag(r)) < 1e-10
        culprits = [names[i] for i in np.flatnonzero(weak)] if names else list(np.flatnonzero(weak))
        raise EstimationError(
            f"the regressors are collinear (after absorbing the fixed effects): {culprits} "
            "add no information. Drop them, bin distant event times, or add a second "
            "reference period."
        )
    bread = np.linalg.inv(xtx)
    beta = bread @ (X.T @ y)
    resid = y - X @ beta
    codes, g = factorize(clusters)
    scores = np.column_stack([np.bincount(codes, weights=X[:, j] * resid, minlength=g)
                              for j in range(k)])
    meat = scores.T @ scores
    cov0 = bread @ meat @ bread
    k_total = k + extra_df
    if g < 2 or n - k_total <= 0:
        raise EstimationError(
            f"cannot compute cluster-robust standard errors with {g} cluster(s), {n} observations "
            f"and {k_total} parameters."
        )
    factor = g / (g - 1) * (n - 1) / (n - k_total)
    return ClusteredOLS(beta, cov0 * factor, cov0, resid, n, g, k_total,
                        (y, X, clusters, factors))


def twoway_fe_ols(y: np.ndarray, X: np.ndarray, units, periods, clusters, *,
                  names: list[str] | None = None) -> ClusteredOLS:
    """OLS of ``y`` on ``X`` with unit and period effects absorbed, CRV1 by ``clusters``.

    Unit effects nested in the clusters are left out of ``K``; period effects
    count ``T - 1`` parameters (one level is redundant with the unit effects).
    """
    unit_codes, n_units = factorize(units)
    time_codes, n_periods = factorize(periods)
    stacked = np.empty((len(y), X.shape[1] + 1), order="F")
    stacked[:, 0], stacked[:, 1:] = y, X
    demeaned = within(stacked, [unit_codes, time_codes])
    extra = (n_periods - 1) + (0 if nested(unit_codes, clusters) else n_units)
    return clustered_ols(demeaned[:, 0], demeaned[:, 1:], clusters, extra_df=extra, names=names,
                         factors=[unit_codes, time_codes])
