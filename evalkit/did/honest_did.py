"""Sensitivity of event-study conclusions to violations of parallel trends (HonestDiD).

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", Review
of Economic Studies 90(5). The event-study coefficients are
``beta = tau + delta`` (effects plus the difference in trends); parallel trends
says ``delta_post = 0``. HonestDiD only assumes ``delta`` lies in a set
``Delta`` informed by the pre-period coefficients and gives confidence sets for
``theta = l'tau_post`` that are valid for every ``delta`` in it:

* ``restriction="relative_magnitudes"`` (``Delta^RM(Mbar)``): each post-period
  change of ``delta`` is at most ``Mbar`` times the largest pre-period change;
  ``Mbar = 1`` allows post-period violations as large as the worst pre-period one.
* ``restriction="smoothness"`` (``Delta^SD(M)``): the slope of ``delta`` changes
  by at most ``M`` per period; ``M = 0`` allows exactly linear trends.

Methods: ``"flci"`` (optimal fixed-length CI, smoothness only, see
:mod:`evalkit.did.honest_flci`), ``"conditional"`` (Andrews–Roth–Pakes
conditional test), ``"c-f"`` (conditional/FLCI hybrid, smoothness only) and
``"c-lf"`` (conditional/least-favourable hybrid), see :mod:`evalkit.did.honest_arp`.
Defaults as R ``HonestDiD``: ``"flci"`` for smoothness, ``"c-lf"`` for relative
magnitudes; conditional sets are the smallest and largest accepted values of a
1,000-point grid (so their ends are exact to a grid step).

Inputs: an :class:`~evalkit.did.event_study.EventStudyResults` (reference period
-1, consecutive event times), a Callaway–Sant'Anna dynamic aggregation
(:class:`~evalkit.did.cs_results.AggregatedResults`; covariance from the influence
functions; with ``base_period="varying"`` the pre-period coefficients are
period-to-period changes and are cumulated into levels relative to ``e = -1``,
which R ``HonestDiD`` does not do), or coefficients and their covariance through
:meth:`HonestDiD.from_coefficients`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linprog

from evalkit.did.honest_arp import (
    Hybrid,
    least_favorable_cv,
    normal_draws,
    test_no_nuisance,
    test_nuisance,
)
from evalkit.did.honest_flci import optimal_flci, second_differences
from evalkit.errors import ConfigError, EstimationError, EvalkitWarning
from evalkit.options import OptionError

Restriction = Literal["relative_magnitudes", "smoothness"]
Method = Literal["flci", "conditional", "c-f", "c-lf"]
Search = Literal["bisection", "grid"]

METHODS = {"relative_magnitudes": ("c-lf", "conditional"),
           "smoothness": ("flci", "conditional", "c-f", "c-lf")}
LF_DRAWS = 1000


# --- restriction sets A delta <= d -------------------------------------------------------

def smoothness_constraints(n_pre: int, n_post: int, M: float):
    """``|second differences of delta| <= M`` as ``A delta <= d``."""
    D = second_differences(n_pre, n_post)
    return np.vstack([D, -D]), np.full(2 * len(D), float(M))


def relative_magnitude_constraints(n_pre: int, n_post: int, Mbar: float, s: int,
                                   positive: bool):
    """``Delta^RM`` given that the largest pre-period change is at ``s`` with sign ``positive``:
    every pre-period change is at most ``delta_s - delta_{s-1}``, every post-period change at
    most ``Mbar`` times it (in absolute value); ``d = 0``."""
    total = n_pre + n_post
    diff = np.zeros((total, total + 1))
    for r in range(total):
        diff[r, r:r + 2] = (-1.0, 1.0)
    ref = np.zeros(total + 1)
    ref[n_pre + s - 1:n_pre + s + 1] = (-1.0, 1.0)
    if not positive:
        ref = -ref
    bound = np.vstack([np.tile(ref, (n_pre, 1)), np.tile(Mbar * ref, (n_post, 1))])
    A = np.vstack([diff - bound, -diff - bound])
    A = A[(A ** 2).sum(axis=1) > 1e-10]
    A = np.delete(A, n_pre, axis=1)
    return A, np.zeros(len(A))


def _post_rows(A, n_pre):
    return np.flatnonzero((A[:, n_pre:] != 0).any(axis=1))


def _identified_bounds(A, d, l_vec, n_pre, n_post):
    """Range of ``-l'delta_post`` over ``A delta <= d`` with ``delta_pre = 0`` (R's grid centre)."""
    f = np.r_[np.zeros(n_pre), l_vec]
    eq = np.hstack([np.eye(n_pre), np.zeros((n_pre, n_post))])
    kw = dict(A_ub=A, b_ub=d, A_eq=eq, b_eq=np.zeros(n_pre),
              bounds=[(None, None)] * (n_pre + n_post), method="highs")
    smallest, largest = linprog(f, **kw), linprog(-f, **kw)
    # -max and -min of l'delta_post (R's id.lb, id.ub at beta = 0)
    return ((largest.fun if largest.success else 0.0),
            (-smallest.fun if smallest.success else 0.0))


def _gamma(l_vec):
    """Invertible matrix with first row ``l'`` completed by unit vectors."""
    pivot = int(np.flatnonzero(l_vec)[0])
    rows = [l_vec] + [np.eye(len(l_vec))[j] for j in range(len(l_vec)) if j != pivot]
    return np.vstack(rows)


# --- confidence sets on a grid -------------------------------------------------------------

def _accepted_range(accepts, grid, search: Search):
    """Smallest and largest accepted grid values. ``"bisection"`` tests a coarse grid and
    bisects towards each end (exact when the accepted set is an interval); ``"grid"`` tests
    every point, as R does."""
    n = len(grid)
    if search == "grid":
        ok = np.array([accepts(t) for t in grid])
    else:
        ok = np.full(n, -1)
        step = max(1, n // 40)
        coarse = np.unique(np.r_[np.arange(0, n, step), n - 1])
        for i in coarse:
            ok[i] = accepts(grid[i])
        hits = coarse[ok[coarse] == 1]
        if len(hits) == 0:
            ok = np.array([accepts(t) if ok[i] < 0 else ok[i] for i, t in enumerate(grid)])
        else:
            for end, outward in ((hits[0], -1), (hits[-1], 1)):
                inside, outside = end, end + outward * step
                outside = min(max(outside, -1), n)
                while abs(outside - inside) > 1:
                    mid = (inside + outside) // 2
                    ok[mid] = accepts(grid[mid])
                    if ok[mid] == 1:
                        inside = mid
                    else:
                        outside = mid
            ok = np.where(ok < 0, 0, ok)
            ok[hits[0]:hits[-1] + 1] = np.maximum(ok[hits[0]:hits[-1] + 1], 1)
    accepted = np.flatnonzero(ok == 1)
    if len(accepted) == 0:
        return np.nan, np.nan, False
    open_end = accepted[0] == 0 or accepted[-1] == n - 1
    return float(grid[accepted[0]]), float(grid[accepted[-1]]), bool(open_end)


class _Grid:
    """Tests of ``theta`` for one restriction set (``A``, ``d``) and method."""

    def __init__(self, beta, sigma, n_pre, n_post, l_vec, A, d, alpha, method, seed,
                 restrict_rm_single=False):
        self.beta, self.sigma, self.alpha = beta, sigma, alpha
        self.n_pre, self.n_post, self.l_vec = n_pre, n_post, l_vec
        kappa = alpha / 10
        self.hybrid = None
        self.flci = None
        if n_post == 1:
            if restrict_rm_single:
                keep = A[:, -1] != 0
                A, d = A[keep], d[keep]
            self.A, self.d = A, d
            if method == "c-lf":
                sig_a = A @ sigma @ A.T
                cv = least_favorable_cv(None, sig_a, kappa, normal_draws(sig_a, LF_DRAWS, seed))
                self.hybrid = Hybrid("lf", kappa, lf_cv=cv)
            elif method == "c-f":
                self.flci = optimal_flci(beta, sigma, n_pre, n_post, l_vec, float(d[0]), kappa)
                self.hybrid = Hybrid("flci", kappa, flci_l=self.flci.weights,
                                     flci_halflength=self.flci.half_length)
            return
        self.A, self.d = A, d
        self.rows = _post_rows(A, n_pre)
        ag = A[:, n_pre:] @ np.linalg.inv(_gamma(l_vec))
        self.a_theta, self.X = ag[:, 0], ag[:, 1:]
        self.Y = A @ beta - d
        self.sigma_y = A @ sigma @ A.T
        if method == "c-lf":
            sig_r = self.sigma_y[np.ix_(self.rows, self.rows)]
            cv = least_favorable_cv(self.X[self.rows], sig_r, kappa,
                                    normal_draws(sig_r, LF_DRAWS, seed))
            self.hybrid = Hybrid("lf", kappa, lf_cv=cv)
        elif method == "c-f":
            self.flci = optimal_flci(beta, sigma, n_pre, n_post, l_vec, float(d[0]), kappa)
            vbar = np.linalg.lstsq(A.T, self.flci.weights, rcond=None)[0]
            self.hybrid = Hybrid("flci", kappa, flci_l=self.flci.weights,
                                 flci_halflength=self.flci.half_length, vbar=vbar)

    def accepts(self, theta) -> int:
        if self.n_post == 1:
            y = self.beta.copy()
            y[self.n_pre] -= theta
            return int(not test_no_nuisance(y, self.sigma, self.A, self.d, self.alpha,
                                             self.hybrid))
        y = self.Y - self.a_theta * theta
        hybrid = self.hybrid
        if hybrid is not None and hybrid.kind == "flci":
            vd = float(hybrid.vbar @ self.d)
            slope = 1 - float(hybrid.vbar @ self.a_theta)
            hl = hybrid.flci_halflength
            hybrid = Hybrid("flci", hybrid.kappa, flci_l=hybrid.flci_l, flci_halflength=hl,
                            vbar=hybrid.vbar,
                            dbar=np.array([hl - vd + slope * theta, hl + vd - slope * theta]))
        return int(not test_nuisance(y, self.X, self.sigma_y, self.alpha, hybrid,
                                     rows=self.rows))


def original_ci(beta, sigma, n_pre, l_vec, level):
    """Confidence interval for ``l'beta_post`` assuming parallel trends exactly."""
    post = slice(n_pre, len(beta))
    est = float(l_vec @ beta[post])
    se = float(np.sqrt(l_vec @ sigma[post, post] @ l_vec))
    z = stats.norm.ppf(0.5 + level / 2)
    return est, se, est - z * se, est + z * se


def robust_ci(beta, sigma, n_pre, n_post, l_vec, *, restriction: Restriction, m: float,
              method: Method, level: float, n_grid: int = 1000, search: Search = "bisection",
              seed=0, grid_bounds=None):
    """Robust confidence set ``(lower, upper)`` for ``l'tau`` under one value of ``M``/``Mbar``.

    ``grid_bounds`` overrides R's default grid; returns ``(lower, upper, open_end)``.
    """
    alpha = 1 - level
    sd_theta = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    if restriction == "smoothness":
        A, d = smoothness_constraints(n_pre, n_post, m)
        if method == "flci":
            flci = optimal_flci(beta, sigma, n_pre, n_post, l_vec, m, alpha)
            return flci.lower, flci.upper, False
        grid_maker = _Grid(beta, sigma, n_pre, n_post, l_vec, A, d, alpha, method, seed)
        if grid_bounds is None:
            if method == "c-f":
                f = grid_maker.flci
                grid_bounds = (f.lower, f.upper)
            else:
                lo, hi = _identified_bounds(A, d, l_vec, n_pre, n_post)
                grid_bounds = (lo - 20 * sd_theta, hi + 20 * sd_theta)
        grid = np.linspace(*grid_bounds, n_grid)
        lo, hi, open_end = _accepted_range(grid_maker.accepts, grid, search)
        return lo, hi, open_end and method != "c-f"
    grids = []
    for s in range(-(n_pre - 1), 1):
        for positive in (True, False):
            A, d = relative_magnitude_constraints(n_pre, n_post, m, s, positive)
            grids.append(_LazyGrid(beta, sigma, n_pre, n_post, l_vec, A, d, alpha, method, seed))
    if grid_bounds is None:
        grid_bounds = (-20 * sd_theta, 20 * sd_theta)
    grid = np.linspace(*grid_bounds, n_grid)
    return _accepted_range(lambda t: int(any(g.accepts(t) for g in grids)), grid, search)


class _LazyGrid:
    """A relative-magnitudes ``_Grid`` built (least-favourable draws included) on first use."""

    def __init__(self, *args):
        self.args = args
        self.grid = None

    def accepts(self, theta):
        if self.grid is None:
            self.grid = _Grid(*self.args, restrict_rm_single=True)
        return self.grid.accepts(theta)


# --- public API ----------------------------------------------------------------------------

class HonestDiDResults:
    """Robust confidence sets over a range of ``M`` (smoothness) or ``Mbar`` (relative magnitudes).

    Attributes
    ----------
    table
        One row per value of ``m``: ``m``, ``lower``, ``upper``, ``method``.
    original
        ``estimate``, ``std_error``, ``lower``, ``upper`` of the target under exact parallel trends.
    breakdown
        Smallest tried ``m`` whose robust set contains 0 (``None`` if none does,
        ``0.0`` if even exact parallel trends cannot exclude 0).
    """

    def __init__(self, *, table, original, restriction, method, level, target_label,
                 event_times, l_vec):
        self.table = table
        self.original = original
        self.restriction = restriction
        self.method = method
        self.level = level
        self.target_label = target_label
        self.event_times = event_times
        self.l_vec = l_vec

    @property
    def breakdown(self) -> float | None:
        if self.original["lower"] <= 0 <= self.original["upper"]:
            return 0.0
        covers = self.table[(self.table["lower"] <= 0) & (self.table["upper"] >= 0)]
        return None if covers.empty else float(covers["m"].min())

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Original CI (``m`` missing) then the robust sets, one row each.

        The sets are computed at the level given when they were built; ``level`` (accepted
        for the shared results interface) must be that level or ``None``.
        """
        if level is not None and not np.isclose(level, self.level):
            raise OptionError(
                f"level={level!r}: these robust sets were computed at level={self.level!r}; "
                "rebuild them with that level to change it.")
        first = pd.DataFrame([{"m": np.nan, "lower": self.original["lower"],
                               "upper": self.original["upper"], "method": "original"}])
        return pd.concat([first, self.table], ignore_index=True)

    def summary(self) -> str:
        name = {"relative_magnitudes": "Mbar (relative magnitudes)",
                "smoothness": "M (smoothness)"}[self.restriction]
        lines = [f"HonestDiD sensitivity (Rambachan & Roth 2023): {self.target_label}",
                 "=" * 60,
                 f"Restriction: {name}; method: {self.method}; level: {self.level:.0%}",
                 f"Under parallel trends: {self.original['estimate']:.4f} "
                 f"[{self.original['lower']:.4f}, {self.original['upper']:.4f}]",
                 self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
        b = self.breakdown
        lines.append("Breakdown value: " + ("none of the values tried includes 0" if b is None
                                            else f"{b:g}"))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None, *, text=None):
        """Robust confidence sets against ``M``/``Mbar``, beside the original CI.

        ``text`` overrides the fixed text (keys ``"original"``, ``"robust"``,
        ``"xlabel"``, ``"ylabel"``, ``"title"``; ``None`` title for none).
        Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        symbol = "M̄" if self.restriction == "relative_magnitudes" else "M"
        target = self.target_label[0].upper() + self.target_label[1:]
        text = {"original": "Original (parallel trends)",
                "robust": f"Robust ({self.method.upper()})",
                "xlabel": symbol, "ylabel": f"{target} ({self.level:.0%} CI)",
                "title": "Sensitivity to violations of parallel trends", **(text or {})}
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 4.5))
        else:
            fig = ax.figure
        m = self.table["m"].to_numpy(dtype=float)
        width = (m.max() - m.min()) / max(len(m) - 1, 1) if len(m) > 1 else 1.0
        x0 = m.min() - width
        o = self.original
        ax.errorbar([x0], [(o["lower"] + o["upper"]) / 2],
                    yerr=[[(o["upper"] - o["lower"]) / 2]], fmt="none", color="tab:red",
                    capsize=4, linewidth=2, label=text["original"])
        mid = (self.table["lower"] + self.table["upper"]).to_numpy() / 2
        half = (self.table["upper"] - self.table["lower"]).to_numpy() / 2
        ax.errorbar(m, mid, yerr=half, fmt="none", color="tab:blue", capsize=4, linewidth=2,
                    label=text["robust"])
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(np.r_[x0, m])
        ax.set_xticklabels(["PT"] + [f"{v:g}" for v in m])
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"])
        if text["title"]:
            ax.set_title(text["title"])
        ax.legend(frameon=False, fontsize="small")
        return fig


class HonestDiD:
    """HonestDiD sensitivity analysis of an event study (Rambachan & Roth 2023).

    Parameters
    ----------
    estimates
        :class:`~evalkit.did.event_study.EventStudyResults` or a Callaway–Sant'Anna
        dynamic aggregation (``results.aggregate("dynamic")``). Use
        :meth:`from_coefficients` for coefficients from elsewhere.
    target
        ``"first"`` (effect at event time 0, default), ``"average"`` (mean of the
        post-period effects), an event time (int), or weights on the post-period
        coefficients.

    Examples
    --------
    >>> es = EventStudy(df, outcome="y", unit="id", period="t", first_treated="g").fit()
    >>> HonestDiD(es, target="average").fit(restriction="relative_magnitudes",
    ...                                      m=[0, 0.5, 1, 1.5, 2]).plot()
    """

    def __init__(self, estimates, *, target="first") -> None:
        beta, sigma, times, n_pre = _coefficients_of(estimates)
        self._set(beta, sigma, times, n_pre, target)

    @classmethod
    def from_coefficients(cls, beta, sigma, *, n_pre: int, event_times=None,
                          target="first") -> HonestDiD:
        """From event-study coefficients ordered ``(pre..., post...)`` with the reference period
        (immediately before treatment) left out, and their covariance ``sigma``."""
        beta = np.asarray(beta, dtype=float).ravel()
        sigma = np.asarray(sigma, dtype=float)
        if sigma.shape != (len(beta), len(beta)):
            raise ConfigError(f"sigma must be {len(beta)} x {len(beta)} like beta, "
                              f"got {sigma.shape}.")
        if not 1 <= n_pre < len(beta):
            raise ConfigError(f"n_pre must be between 1 and {len(beta) - 1}, got {n_pre}.")
        times = (np.r_[np.arange(-n_pre - 1, -1), np.arange(len(beta) - n_pre)]
                 if event_times is None else np.asarray(event_times))
        self = cls.__new__(cls)
        self._set(beta, sigma, times, n_pre, target)
        return self

    def _set(self, beta, sigma, times, n_pre, target):
        self.beta, self.sigma, self.event_times, self.n_pre = beta, sigma, times, n_pre
        self.n_post = len(beta) - n_pre
        if not np.allclose(sigma, sigma.T, atol=1e-12 * np.abs(sigma).max()):
            raise ConfigError("the covariance of the coefficients is not symmetric.")
        post_times = list(times[n_pre:])
        if isinstance(target, str):
            if target == "first":
                self.l_vec = np.eye(self.n_post)[0]
                self.target_label = f"effect at event time {post_times[0]}"
            elif target == "average":
                self.l_vec = np.full(self.n_post, 1 / self.n_post)
                self.target_label = "average post-period effect"
            else:
                raise ConfigError(f"target must be 'first', 'average', an event time or weights, "
                                  f"got {target!r}.")
        elif np.ndim(target) == 0:
            if target not in post_times:
                raise ConfigError(f"target event time {target!r} is not a post-period event time "
                                  f"(available: {post_times}).")
            self.l_vec = np.eye(self.n_post)[post_times.index(target)]
            self.target_label = f"effect at event time {target}"
        else:
            self.l_vec = np.asarray(target, dtype=float)
            if self.l_vec.shape != (self.n_post,) or not self.l_vec.any():
                raise ConfigError(f"target weights must be {self.n_post} numbers (one per post "
                                  "period), not all zero.")
            self.target_label = "weighted post-period effect"

    def fit(self, *, restriction: Restriction = "relative_magnitudes",
            m: Sequence[float] | None = None, method: Method | None = None, level: float = 0.95,
            n_grid: int = 1000, search: Search = "bisection", seed=0) -> HonestDiDResults:
        """Robust confidence sets for each ``M``/``Mbar`` in ``m``.

        Parameters
        ----------
        restriction
            ``"relative_magnitudes"`` (default) or ``"smoothness"``.
        m
            Values of ``Mbar`` (default 0, 0.5, ..., 2) or ``M`` (default: 10 values
            from 0 to the upper 95 % bound on the largest pre-period second difference,
            as R ``HonestDiD``).
        method
            ``"flci"``, ``"conditional"``, ``"c-f"``, ``"c-lf"``; default ``"c-lf"``
            (relative magnitudes) or ``"flci"`` (smoothness).
        level
            Confidence level.
        n_grid, search
            Grid of values of the target tested by the conditional methods, and
            ``"bisection"`` (coarse pass then bisection at both ends; fast) or ``"grid"``
            (every point, as R).
        seed
            Seed of the least-favourable critical value's draws (``"c-lf"``).
        """
        if restriction not in METHODS:
            raise ConfigError(f"restriction must be 'relative_magnitudes' or 'smoothness', "
                              f"got {restriction!r}.")
        method = METHODS[restriction][0] if method is None else method
        if method not in METHODS[restriction]:
            raise ConfigError(f"method {method!r} is not available with restriction "
                              f"{restriction!r}; use one of {METHODS[restriction]}.")
        if not 0 < level < 1:
            raise ConfigError(f"level must be in (0, 1), got {level!r}.")
        if search not in ("bisection", "grid"):
            raise ConfigError(f"search must be 'bisection' or 'grid', got {search!r}.")
        if m is None:
            m = (np.arange(0, 2.01, 0.5) if restriction == "relative_magnitudes"
                 else np.linspace(0, smoothness_upper_bound(self.beta, self.sigma, self.n_pre),
                                  10))
        m = np.atleast_1d(np.asarray(m, dtype=float))
        if (m < 0).any():
            raise ConfigError(f"m must be non-negative, got {m.tolist()}.")
        if restriction == "relative_magnitudes" and self.n_pre < 1:
            raise EstimationError("relative magnitudes need at least one pre-period coefficient.")
        rows, open_at = [], []
        for value in m:
            lo, hi, open_end = robust_ci(self.beta, self.sigma, self.n_pre, self.n_post,
                                         self.l_vec, restriction=restriction, m=value,
                                         method=method, level=level, n_grid=n_grid,
                                         search=search, seed=seed)
            rows.append({"m": value, "lower": lo, "upper": hi, "method": method})
            if open_end:
                open_at.append(value)
        if open_at:
            warnings.warn(f"The robust confidence set reaches the end of the grid of tested values "
                          f"for m = {', '.join(f'{v:g}' for v in open_at)}: it may be longer "
                          "than reported (unbounded at large m). Report it as open-ended.",
                          EvalkitWarning, stacklevel=2)
        est, se, lo, hi = original_ci(self.beta, self.sigma, self.n_pre, self.l_vec, level)
        return HonestDiDResults(
            table=pd.DataFrame(rows), restriction=restriction, method=method, level=level,
            original={"estimate": est, "std_error": se, "lower": lo, "upper": hi},
            target_label=self.target_label, event_times=self.event_times, l_vec=self.l_vec)


def smoothness_upper_bound(beta, sigma, n_pre: int, level: float = 0.95) -> float:
    """One-sided upper confidence bound on the largest pre-period second difference of
    ``(beta_pre, 0)`` (R ``DeltaSD_upperBound_Mpre``); with one pre-period, its SE."""
    if n_pre < 2:
        return float(np.sqrt(sigma[0, 0]))
    D = second_differences(n_pre, 0)
    pre = slice(0, n_pre)
    se = np.sqrt(np.diag(D @ sigma[pre, pre] @ D.T))
    return float(np.max(D @ beta[pre] + stats.norm.ppf(level) * se))


def _coefficients_of(estimates):
    """``beta``, ``sigma``, event times and the number of pre-period coefficients."""
    from evalkit.did.cs_results import AggregatedResults
    from evalkit.did.event_study import EventStudyResults

    if isinstance(estimates, EventStudyResults):
        if estimates.reference != (-1,):
            raise ConfigError(f"HonestDiD needs the event study's reference period to be -1 "
                              f"alone, got {estimates.reference}.")
        if estimates.binned:
            raise ConfigError("HonestDiD needs one coefficient per event time, but the end "
                              f"points are binned ({', '.join(estimates.binned.values())}): fit "
                              "the event study with endpoints='drop'.")
        times = estimates.params.index.to_numpy()
        beta = estimates.params.to_numpy(dtype=float)
        sigma = estimates.cov.loc[times, times].to_numpy(dtype=float)
    elif isinstance(estimates, AggregatedResults):
        if estimates.kind != "dynamic":
            raise ConfigError("HonestDiD needs the dynamic (event-study) aggregation of "
                              f"Callaway–Sant'Anna, got kind={estimates.kind!r}.")
        times = estimates.params.index.to_numpy()
        beta = estimates.params.to_numpy(dtype=float)
        sigma = estimates.cov
        if estimates.anticipation:
            raise ConfigError("HonestDiD with anticipation > 0 is not supported: the reference "
                              "period must be the one just before treatment.")
        if estimates.base_period == "universal":
            keep = times != -1
            times, beta, sigma = times[keep], beta[keep], sigma[np.ix_(keep, keep)]
        else:
            # Varying base: pre coefficients are changes L_e - L_{e-1}; cumulate to levels
            # L_{e-1} relative to L_{-1} = 0.
            pre = np.flatnonzero(times < 0)[::-1]  # -1, -2, ...
            T = np.eye(len(times))
            for k, idx in enumerate(pre):
                T[idx] = 0.0
                T[idx, pre[:k + 1]] = -1.0
            beta, sigma = T @ beta, T @ sigma @ T.T
            times = np.where(times < 0, times - 1, times)
    else:
        raise ConfigError("HonestDiD takes an EventStudyResults or a Callaway–Sant'Anna "
                          "dynamic aggregation; use HonestDiD.from_coefficients(beta, sigma, "
                          f"n_pre=...) for other estimates (got {type(estimates).__name__}).")
    order = np.argsort(times)
    times, beta, sigma = times[order], beta[order], sigma[np.ix_(order, order)]
    if np.isnan(beta).any() or np.isnan(sigma).any():
        raise EstimationError("some event-study coefficients or their covariance are missing; "
                              "HonestDiD needs all of them.")
    n_pre = int((times < 0).sum())
    expected = np.r_[np.arange(times.min(), -1), np.arange(0, times.max() + 1)]
    if n_pre == 0 or (times >= 0).sum() == 0 or not np.array_equal(times, expected):
        raise ConfigError(f"HonestDiD needs consecutive event times with at least one before "
                          f"(excluding the reference -1) and one after treatment; got "
                          f"{times.tolist()}.")
    return beta, sigma, times, n_pre
