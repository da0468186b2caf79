"""Wild cluster restricted (WCR) bootstrap for one regression coefficient.

With few clusters (fewer than ~30; the *Hope in stations* design has 7
stations) cluster-robust t-tests over-reject. The wild cluster bootstrap with
the null imposed (Cameron, Gelbach & Miller 2008; "WCR11" in MacKinnon,
Nielsen & Webb 2023) keeps close to nominal size down to a handful of
clusters. For ``H0: beta_k = r``:

1. fit the restricted model (``beta_k = r``): fitted values ``y_r``, residuals ``u_r``;
2. for each draw ``b``, multiply every cluster's residuals by one weight
   ``v_gb`` (Rademacher ±1, or Webb's six-point distribution when clusters are
   few: Rademacher has only ``2^G`` distinct draws), set ``y* = y_r + v u_r``,
   re-estimate ``beta_k*`` and its CRV1 standard error, ``t* = (beta_k* - r)/se*``;
3. p-value = share of ``|t*| >= |t|`` (symmetric test).

Draws are computed without re-running the regression (Roodman, MacKinnon,
Nielsen & Webb 2019, "Fast and wild", *Stata Journal* 19(1)): with
``a = e_k'(X'X)^-1 X'`` every bootstrap score is a linear function of the
weights, so each draw costs ``O(G^2)``. With Rademacher weights and
``2^G <= n_boot`` all sign patterns are enumerated (exact, no randomness).
Confidence intervals invert the test over ``r`` (bisection), with the same draws.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.did.fixed_effects import factorize, within
from evalkit.errors import ConfigError, EstimationError, FewClustersWarning
from evalkit.options import check_option, choices
from evalkit.results import TestResult

WeightType = Literal["webb", "rademacher"]
WEIGHT_TYPES = choices(WeightType)
#: Each draw holds G scores and the G x G cross terms: beyond this, use analytic CRV1.
MAX_CLUSTERS = 1000
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class WildBootstrapResult(TestResult):
    """Outcome of a wild cluster restricted bootstrap test (and CI) for one coefficient.

    ``statistic`` is the observed cluster-robust t of ``H0: coefficient = null``; its
    p-value comes from the bootstrap distribution (no degrees of freedom).
    """

    name: str = "coefficient"
    estimate: float = float("nan")
    conf_int: tuple[float, float] | None = None
    level: float = 0.0
    n_boot: int = 0
    weight_type: str = "webb"
    n_clusters: int = 0
    enumerated: bool = False
    method: str = "wild cluster restricted bootstrap"

    def __str__(self) -> str:
        ci = ("" if self.conf_int is None else
              f", {self.level:.0%} CI [{self.conf_int[0]:.4f}, {self.conf_int[1]:.4f}]")
        how = "all sign patterns" if self.enumerated else f"{self.n_boot} draws"
        return (f"Wild cluster bootstrap ({self.weight_type}, {how}, {self.n_clusters} clusters): "
                f"{self.name} = {self.estimate:.4f}, p = {self.pvalue:.4f}{ci}")


class _Design:
    """Per-cluster pieces of ``y = X b + u`` that make each bootstrap draw O(G^2).

    ``factors`` are the absorbed fixed effects (``y`` and ``X`` already
    within-transformed). A bootstrap sample must be within-transformed again;
    fixed effects nested in the clusters commute with the cluster weights, the
    others (period effects) add a linear term per cluster pair, computed once.
    """

    def __init__(self, y, X, clusters, column: int, factors=None) -> None:
        self.y = np.asarray(y, dtype=float)
        self.X = np.asarray(X, dtype=float)
        self.k = column
        self.codes, self.g = factorize(clusters)
        self.bread = np.linalg.inv(self.X.T @ self.X)
        self.a = self.X @ self.bread[:, column]  # beta_k = a'y
        self.others = [j for j in range(self.X.shape[1]) if j != column]
        # F_g = a_g' X_g (G x p): how a cluster's score reacts to the coefficients.
        self.F = self._by_cluster(self.a[:, None] * self.X)
        self.factors = factors or []

    def _by_cluster(self, values: np.ndarray) -> np.ndarray:
        values = values if values.ndim == 2 else values[:, None]
        return np.column_stack([np.bincount(self.codes, weights=values[:, j], minlength=self.g)
                                for j in range(values.shape[1])])

    def _fe_cross(self, r: float) -> np.ndarray:
        """FE cross terms at ``H0: beta_k = r``; restricted residuals are linear in ``r``."""
        if not self.factors:
            return 0.0
        if not hasattr(self, "_fe_parts"):
            Xo = self.X[:, self.others]

            def annihilate(z):
                return z - Xo @ np.linalg.lstsq(Xo, z, rcond=None)[0] if self.others else z

            self._fe_parts = (_fe_cross_terms(self, annihilate(self.y)),
                              _fe_cross_terms(self, annihilate(self.X[:, self.k])))
        at_zero, slope = self._fe_parts
        return at_zero - r * slope

    def t_draws(self, r: float, v: np.ndarray) -> tuple[float, np.ndarray]:
        """Observed t and bootstrap t-statistics (rows of ``v``) for ``H0: beta_k = r``."""
        X, y, k = self.X, self.y, self.k
        beta = self.bread @ (X.T @ y)
        scores = self._by_cluster(self.a * (y - X @ beta))[:, 0]
        t_obs = (beta[k] - r) / np.sqrt(np.sum(scores**2))
        # Restricted fit: y - r x_k on the other columns.
        target = y - r * X[:, k]
        Xo = X[:, self.others]
        coef_o = np.linalg.lstsq(Xo, target, rcond=None)[0] if self.others else np.zeros(0)
        fitted = Xo @ coef_o + r * X[:, k]
        resid = y - fitted
        beta_r = self.bread @ (X.T @ fitted)  # equals the restricted coefficients
        c = self._by_cluster(self.a * resid)[:, 0]  # a_g' u_g
        d = self._by_cluster(self.a * fitted)[:, 0]  # a_g' y_r,g
        Q = self._by_cluster(X * resid[:, None]) @ self.bread  # (G, p): (X'X)^-1 X_g' u_g
        base = d - self.F @ beta_r
        cross = Q @ self.F.T + self._fe_cross(r)  # (G, G): entry (h, g)
        beta_star = beta_r[k] + v @ c
        score_star = base[None, :] + v * c[None, :] - v @ cross
        se_star = np.sqrt(np.sum(score_star**2, axis=1))
        return float(t_obs), (beta_star - r) / se_star


def _fe_cross_terms(design: _Design, resid: np.ndarray, chunk: int = 16) -> np.ndarray:
    """Entry (h, g): a_g' [P_FE (u * 1{cluster h})]_g, P_FE the projection on the effects."""
    g = design.g
    out = np.zeros((g, g))
    if not design.factors:
        return out
    for start in range(0, g, chunk):
        hs = np.arange(start, min(start + chunk, g))
        z = np.where(design.codes[:, None] == hs[None, :], resid[:, None], 0.0)
        projected = z - within(z, design.factors)
        for j, h in enumerate(hs):
            out[h] = design._by_cluster(design.a * projected[:, j])[:, 0]
    return out


def _pvalue(t_obs: float, t_star: np.ndarray) -> float:
    """Share of ``|t*| >= |t|``; exact ties (the identity and sign-flipped draws of an
    enumeration) count, whatever the rounding of the fast formulas."""
    return float(np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-9)))


def _weights(g: int, n_boot: int, weight_type: str, rng) -> tuple[np.ndarray, bool]:
    if weight_type == "rademacher" and 2**g <= n_boot:
        return np.array(list(itertools.product([-1.0, 1.0], repeat=g))), True
    if weight_type == "rademacher":
        return rng.choice([-1.0, 1.0], size=(n_boot, g)), False
    return rng.choice(_WEBB, size=(n_boot, g)), False


def wild_cluster_bootstrap(y, X, clusters, column: int, *, factors=None,
                           name: str = "coefficient", null: float = 0.0, n_boot: int = 9999, weight_type: WeightType = "webb",
                           level: float | None = 0.95, seed=None) -> WildBootstrapResult:
    """WCR bootstrap p-value (and test-inversion CI) for ``beta[column]`` in ``y = X beta + u``.

    ``X`` must already contain the intercept and any within-transformation
    (absorbed fixed effects: pass the demeaned ``y`` and ``X`` and the effects'
    integer codes as ``factors``). The small-
    sample factor of CRV1 cancels in the bootstrap t-ratios.
    """
    check_option("weight_type", weight_type, WeightType)
    if int(n_boot) < 99:
        raise ConfigError(f"n_boot must be at least 99, got {n_boot!r}")
    n_clusters = int(np.unique(np.asarray(clusters)).size)
    if n_clusters > MAX_CLUSTERS:
        raise ConfigError(
            f"{n_clusters} clusters: the wild cluster bootstrap is meant for few clusters (it costs "
            f"O(n_boot x G^2)); with more than {MAX_CLUSTERS} the analytic CRV1 standard errors "
            "are reliable. Use the results' std_errors / conf_int()."
        )
    if factors is None:
        varies = np.asarray(X)[:, column] != 0
        treated = np.unique(np.asarray(clusters)[varies])
        if n_clusters > 2 and treated.size in (1, n_clusters - 1):
            warnings.warn(
                f"{name}: the tested regressor is non-zero in {treated.size} of {n_clusters} "
                "clusters. With a single treated (or a single untreated) cluster the wild "
                "cluster bootstrap is unreliable: its p-values can be far too small or too "
                "large (MacKinnon & Webb 2017). Report the design's limits; a randomisation "
                "test over which cluster is treated is the honest alternative.",
                FewClustersWarning, stacklevel=3)
    design = _Design(y, X, clusters, column, factors)
    v, enumerated = _weights(design.g, int(n_boot), weight_type, np.random.default_rng(seed))
    t_obs, t_star = design.t_draws(null, v)
    pvalue = _pvalue(t_obs, t_star)
    estimate = float((design.bread @ (design.X.T @ design.y))[column])
    ci = None
    if level is not None:
        ci = _invert(design, v, estimate, 1 - level)
    return WildBootstrapResult(statistic=t_obs, pvalue=pvalue, null=f"{name} = {null:g}",
                               name=name, estimate=estimate, conf_int=ci, level=level or 0.0,
                               n_boot=len(v), weight_type=weight_type, n_clusters=design.g,
                               enumerated=enumerated)


def _invert(design: _Design, v: np.ndarray, estimate: float, alpha: float):
    """Bounds where the bootstrap p-value crosses ``alpha`` (bisection on each side)."""

    def p_at(r):
        return _pvalue(*design.t_draws(r, v))

    X, y = design.X, design.y
    beta = design.bread @ (X.T @ y)
    scores = design._by_cluster(design.a * (y - X @ beta))[:, 0]
    step = float(np.sqrt(np.sum(scores**2))) or 1.0
    bounds = []
    for direction in (-1.0, 1.0):
        inner, outer = 0.0, 2 * step  # distances from the estimate: accepted / rejected
        while p_at(estimate + direction * outer) > alpha:
            inner, outer = outer, 2 * outer
            if outer > 1e6 * step:
                raise EstimationError(
                    "the wild bootstrap confidence interval is unbounded: with these clusters "
                    "the data cannot reject any value on one side. Report the p-value only."
                )
        while outer - inner > 1e-6 * step:
            mid = 0.5 * (inner + outer)
            if p_at(estimate + direction * mid) > alpha:
                inner = mid
            else:
                outer = mid
        bounds.append(estimate + direction * 0.5 * (inner + outer))
    return bounds[0], bounds[1]


class WildBootstrapMixin:
    """Adds :meth:`wild_cluster_bootstrap` to results fitted by least squares.

    The results object sets ``_design = (y, X, clusters, factors, names)``
    (after any within-transformation and weighting) when it is fitted.
    """

    _design: tuple | None = None

    def wild_cluster_bootstrap(self, param=None, *, null: float = 0.0, n_boot: int = 9999,
                               weight_type: str = "webb", level: float | None = 0.95,
                               seed=None) -> WildBootstrapResult:
        """Wild cluster restricted bootstrap test of ``param = null`` and its CI.

        Use it when there are few clusters (fewer than ~30). ``param`` defaults
        to the first estimate (the treatment effect). Webb weights by default;
        ``weight_type="rademacher"`` enumerates all ``2^G`` sign patterns when
        ``2^G <= n_boot``. See :mod:`evalkit.did.wild_bootstrap`.
        """
        if self._design is None:
            raise ConfigError(
                "this fit has no least-squares design to bootstrap (influence-function methods "
                "'or'/'ipw'/'dr'): refit with method='reg' or 'imputation'."
            )
        y, X, clusters, factors, names = self._design
        param = names[0] if param is None else param
        if param not in names:
            raise ConfigError(f"unknown parameter {param!r}; available: {list(names)}")
        return wild_cluster_bootstrap(y, X, clusters, list(names).index(param), factors=factors,
                                      name=str(param),
                                      null=null, n_boot=n_boot, weight_type=weight_type,
                                      level=level, seed=seed)
