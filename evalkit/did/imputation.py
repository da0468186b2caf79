"""Borusyak, Jaravel & Spiess (2024) imputation estimator for staggered adoption.

1. Fit ``y_it = a_i + l_t + e_it`` on the untreated observations only (never
   treated, and treated units before their first treated period);
2. impute ``y_it(0) = a_i + l_t`` for every treated observation and take
   ``tau_it = y_it - y_it(0)``;
3. average: ``tau_e`` = mean of ``tau_it`` over treated observations ``e``
   periods after treatment (each observation weighted equally), and the
   overall ATT over all treated observations.

Gardner's (2022) two-stage DiD (R ``did2s``) regresses the first-stage
residuals on the treatment dummies in the treated observations: the same point
estimates.

The estimator is linear, ``tau_w = sum_it v_it y_it``, with ``v_it = w_it`` on
treated observations and ``v_0 = -Z_0 (Z_0'Z_0)^-1 Z_1'w_1`` on untreated ones
(``Z`` the unit and period dummies). Standard errors are BJS's conservative
cluster-robust estimator (Theorem 3)::

    Var(tau_w) = sum_c ( sum_{it in c} v_it e~_it )^2

with ``e~`` the first-stage residuals on untreated observations and
``tau_it - mean(tau)`` within cohort x event time on treated ones (the
averaging of R ``didimputation``; BJS's leave-out refinement is not applied).
``(Z_0'Z_0)`` is solved by eliminating the unit block (diagonal) and solving the
small period block, so the cost is linear in the number of observations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.did.checks import check_clusters, fixed_effects_panel, staggered_sample
from evalkit.did.fixed_effects import factorize
from evalkit.errors import EstimationError
from evalkit.results import EstimateResults


class _TwoWaySolver:
    """Solves ``(Z_0'Z_0) g = a`` for unit + period dummies of the untreated rows.

    The first period's dummy is dropped (the normalisation); the unit block is
    diagonal, so it is eliminated and the ``(T-1) x (T-1)`` Schur complement solved.
    """

    def __init__(self, unit0, time0, n_units, n_periods):
        self.unit0, self.time0 = unit0, time0
        self.n_units, self.n_periods = n_units, n_periods
        self.n_i = np.bincount(unit0, minlength=n_units).astype(float)
        self.n_t = np.bincount(time0, minlength=n_periods).astype(float)
        B = np.zeros((n_units, n_periods))
        np.add.at(B, (unit0, time0), 1.0)
        self.B = B[:, 1:]
        self.S = np.diag(self.n_t[1:]) - self.B.T @ (self.B / self.n_i[:, None])

    def solve(self, a_unit, a_time):
        """``a_unit (n_units, k)``, ``a_time (n_periods, k)`` -> unit and period coefficients."""
        rhs_t = a_time[1:] - self.B.T @ (a_unit / self.n_i[:, None])
        g_t = np.linalg.solve(self.S, rhs_t)
        g_u = (a_unit - self.B @ g_t) / self.n_i[:, None]
        return g_u, np.vstack([np.zeros((1, a_time.shape[1])), g_t])


class ImputationResults(EstimateResults):
    """Effects by event time (index) with ``overall`` (all treated observations) and ``tau``
    (each treated observation's imputed effect)."""

    def plot(self, level: float = 0.95, ax=None, *, text=None):
        """Effects by event time with pointwise confidence intervals; returns the Figure."""
        import matplotlib.pyplot as plt

        text = {"xlabel": "Periods relative to first treatment",
                "ylabel": "Effect ({level:.0%} CI)", "title": self.title, **(text or {})}
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 4.5))
        else:
            fig = ax.figure
        ci = self.conf_int(level)
        e = self.params.index.to_numpy()
        ax.errorbar(e, self.params, yerr=[self.params - ci["lower"], ci["upper"] - self.params],
                    fmt="o", color="tab:blue", capsize=3)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xlabel(text["xlabel"])
        ax.set_ylabel(text["ylabel"].format(level=level))
        if text["title"]:
            ax.set_title(text["title"])
        return fig


class Imputation:
    """Borusyak–Jaravel–Spiess imputation estimator (= Gardner two-stage point estimates).

    Parameters
    ----------
    data
        :class:`evalkit.data.Panel` or DataFrame (balanced or unbalanced panel).
    outcome, unit, period, first_treated, treatment, cluster
        As in :class:`~evalkit.did.event_study.EventStudy` (cluster defaults to the unit).
    horizons
        Largest event time reported (default: every observed one).

    Examples
    --------
    >>> res = Imputation(df, outcome="lemp", unit="countyreal", period="year",
    ...                  first_treated="first.treat").fit()
    >>> res.params; res.overall; res.plot()
    """

    name = "Imputation (Borusyak-Jaravel-Spiess)"

    def __init__(self, data, *, outcome: str | None = None, unit: str = "unit_id",
                 period: str = "period", first_treated: str | None = "first_treated",
                 treatment: str | None = None, cluster: str | None = None,
                 horizons: int | None = None) -> None:
        self.panel, self.outcome, _, self.cluster = fixed_effects_panel(
            data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
            treatment=treatment, covariates=None, cluster=cluster, estimator=self.name)
        self.horizons = horizons

    def fit(self) -> ImputationResults:
        """Impute untreated outcomes, average the effects, and their BJS standard errors."""
        p = self.panel
        frame, ledger = staggered_sample(p, self.outcome, [], self.name)
        ft = frame[p.first_treated].to_numpy(dtype=float)
        periods = frame[p.period].to_numpy()
        treated = np.isfinite(ft) & (periods >= np.where(np.isfinite(ft), ft, np.inf))
        units = frame[p.unit].to_numpy()
        has_untreated = pd.Series(~treated).groupby(units).any()
        never_untreated = ~has_untreated.reindex(units).to_numpy()
        if never_untreated.any():
            frame = ledger.drop(frame, never_untreated, step=self.name,
                                reason="units with no untreated period (their effect cannot "
                                       "be imputed)", id_col=p.unit)
            keep = ~never_untreated
            ft, periods, treated, units = ft[keep], periods[keep], treated[keep], units[keep]
        event = np.where(treated, periods - np.where(np.isfinite(ft), ft, 0), -1).astype(int)
        if self.horizons is not None:
            beyond = treated & (event > self.horizons)
            frame = ledger.drop(frame, beyond, step=self.name,
                                reason=f"treated rows beyond horizon {self.horizons}",
                                id_col=p.unit)
            keep = ~beyond
            ft, periods, treated, units, event = (ft[keep], periods[keep], treated[keep],
                                                  units[keep], event[keep])
        uc, n_units = factorize(units)
        tc, n_periods = factorize(periods)
        untreated_times = np.zeros(n_periods, dtype=bool)
        untreated_times[tc[~treated]] = True
        if not untreated_times[tc[treated]].all():
            raise EstimationError(f"{self.name}: some treated periods have no untreated "
                                  "observation, so their period effect cannot be estimated "
                                  "(every unit is treated by then). Limit horizons= or add "
                                  "never-treated units.")
        y = frame[self.outcome].to_numpy(dtype=float)
        solver = _TwoWaySolver(uc[~treated], tc[~treated], n_units, n_periods)
        # First stage: unit and period effects from the untreated observations.
        a_u = np.bincount(uc[~treated], weights=y[~treated], minlength=n_units)[:, None]
        a_t = np.bincount(tc[~treated], weights=y[~treated], minlength=n_periods)[:, None]
        alpha, lam = solver.solve(a_u, a_t)
        fitted = alpha[uc, 0] + lam[tc, 0]
        resid = y - fitted
        tau = np.where(treated, resid, np.nan)

        times = np.unique(event[treated])
        labels = [*times, "overall"]
        W = np.zeros((len(y), len(labels)))
        for j, e in enumerate(times):
            at = treated & (event == e)
            W[at, j] = 1.0 / at.sum()
        W[treated, -1] = 1.0 / treated.sum()
        est = W[treated].T @ tau[treated]
        # Weights of the untreated observations: -Z_0 (Z_0'Z_0)^-1 Z_1'w_1.
        load_u = np.zeros((n_units, len(labels)))
        load_t = np.zeros((n_periods, len(labels)))
        np.add.at(load_u, uc[treated], W[treated])
        np.add.at(load_t, tc[treated], W[treated])
        g_u, g_t = solver.solve(load_u, load_t)
        V = W.copy()
        V[~treated] = -(g_u[uc[~treated]] + g_t[tc[~treated]])
        # Residuals: first stage on untreated rows, tau minus its cohort x event-time mean on
        # treated rows.
        eps = resid.copy()
        cell = pd.Series(tau[treated]).groupby([ft[treated], event[treated]]).transform("mean")
        eps[treated] = tau[treated] - cell.to_numpy()
        clusters = frame[self.cluster].to_numpy()
        n_clusters = check_clusters(clusters, self.cluster, self.name)
        cc, n_c = factorize(clusters)
        scores = np.zeros((n_c, len(labels)))
        np.add.at(scores, cc, V * eps[:, None])
        cov = scores.T @ scores
        se = np.sqrt(np.diag(cov))
        index = pd.Index(times, name="event_time")
        info = {
            "Estimator": "imputation (Borusyak, Jaravel & Spiess 2024); = Gardner two-stage",
            "Untreated observations": int((~treated).sum()),
            "Treated observations": int(treated.sum()),
            "Clusters": f"{n_clusters} ({self.cluster})",
            "Standard errors": "BJS conservative, clustered",
        }
        results = ImputationResults(pd.Series(est[:-1], index=index),
                                    pd.Series(se[:-1], index=index),
                                    title=f"Imputation event study: {self.outcome}", info=info,
                                    ledger=ledger)
        results.cov = pd.DataFrame(cov[:-1, :-1], index=index, columns=index)
        results.overall = EstimateResults(pd.Series([est[-1]], index=["ATT"]),
                                          pd.Series([se[-1]], index=["ATT"]),
                                          title="Overall ATT (imputation)", ledger=ledger)
        results.tau = pd.DataFrame({p.unit: units[treated], p.period: periods[treated],
                                    "event_time": event[treated], "tau": tau[treated]})
        return results
