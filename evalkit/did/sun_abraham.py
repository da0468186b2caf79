"""Sun & Abraham (2021) interaction-weighted event study.

The ordinary event-study regression mixes cohorts with weights that can be
negative when effects differ across cohorts. Sun & Abraham saturate it in
cohort x relative time::

    y_it = a_i + l_t + sum_g sum_{e != -1} b_{g,e} 1{G_i = g} 1{t - g = e} + u_it

with a clean control cohort (never-treated units; if there are none, the last
treated cohort, whose rows from its first treated period on are dropped), so
``b_{g,e}`` is cohort ``g``'s effect ``e`` periods after treatment relative
to ``e = -1`` (the same number as Callaway–Sant'Anna's ATT(g, g+e) with
never-treated controls and a universal base period on a balanced panel). The
interaction-weighted estimate at event time ``e`` averages them with the
cohorts' shares of the observations at ``e``::

    IW_e = sum_g w_{g,e} b_{g,e},   w_{g,e} = n_{g,e} / sum_g' n_{g',e}

Standard errors: CRV1 cluster-robust covariance ``V`` of the ``b`` (see
:mod:`evalkit.did.fixed_effects`), ``cov(IW) = W V W'`` with the weights held
fixed (R ``fixest::sunab`` / ``aggregate`` convention); inference t(G-1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.did.checks import check_clusters, fixed_effects_panel, staggered_sample
from evalkit.did.event_study import EventStudyResults
from evalkit.did.fixed_effects import twoway_fe_ols
from evalkit.errors import EstimationError


class SunAbrahamResults(EventStudyResults):
    """Interaction-weighted event-time effects (index: event time), plus the cohort cells.

    ``cells`` holds ``b_{g,e}``, their SE and weights; ``pretrend_test()`` and
    ``plot()`` work as for :class:`~evalkit.did.event_study.EventStudyResults`,
    and the results can be given to :class:`~evalkit.did.honest_did.HonestDiD`.
    """

    cells: pd.DataFrame


class SunAbraham:
    """Sun & Abraham (2021) interaction-weighted event study.

    Parameters
    ----------
    data
        :class:`evalkit.data.Panel` or DataFrame.
    outcome, unit, period, first_treated, treatment, covariates, cluster
        As in :class:`~evalkit.did.event_study.EventStudy`.

    Examples
    --------
    >>> sa = SunAbraham(df, outcome="lemp", unit="countyreal", period="year",
    ...                 first_treated="first.treat").fit()
    >>> sa.params; sa.cells; sa.plot()
    """

    name = "Sun-Abraham event study"

    def __init__(self, data, *, outcome: str | None = None, unit: str = "unit_id",
                 period: str = "period", first_treated: str | None = "first_treated",
                 treatment: str | None = None, covariates: Sequence[str] | None = None,
                 cluster: str | None = None) -> None:
        self.panel, self.outcome, self.covariates, self.cluster = fixed_effects_panel(
            data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
            treatment=treatment, covariates=covariates, cluster=cluster, estimator=self.name)

    def fit(self) -> SunAbrahamResults:
        """Estimate the cohort x event-time effects and their interaction-weighted averages."""
        p = self.panel
        frame, ledger = staggered_sample(p, self.outcome, self.covariates, self.name)
        ft = frame[p.first_treated].to_numpy(dtype=float)
        periods = frame[p.period].to_numpy()
        if np.isinf(ft).any():
            control = "never-treated units"
        else:
            last = ft.max()
            frame = ledger.drop(frame, periods >= last, step=self.name,
                                reason="periods from the last cohort's treatment on (the last "
                                       "cohort is the control: there are no never-treated units)",
                                id_col=p.unit)
            ft = frame[p.first_treated].to_numpy(dtype=float)
            ft = np.where(ft == last, np.inf, ft)
            periods = frame[p.period].to_numpy()
            control = f"last treated cohort ({last:g}), before its treatment"
        treated = np.isfinite(ft)
        if not treated.any() or treated.all():
            raise EstimationError(f"{self.name}: needs treated units and a control cohort.")
        event = np.where(treated, periods - np.where(treated, ft, 0), 0).astype(np.int64)
        cohort = np.where(treated, ft, np.nan)
        cells = (pd.DataFrame({"group": cohort[treated], "event_time": event[treated]})
                 .value_counts().sort_index().rename("n_obs").reset_index())
        cells = cells[cells["event_time"] != -1].reset_index(drop=True)
        keys = pd.MultiIndex.from_frame(cells[["group", "event_time"]])
        row_keys = pd.MultiIndex.from_arrays([cohort, event])
        col = keys.get_indexer(row_keys)
        X = np.zeros((len(frame), len(cells)))
        hit = col >= 0
        X[np.flatnonzero(hit), col[hit]] = 1.0
        X = np.column_stack([X, *(frame[c].to_numpy(dtype=float) for c in self.covariates)])
        names = [f"g={g:g},e={e}" for g, e in keys] + list(self.covariates)
        n_clusters = check_clusters(frame[self.cluster].to_numpy(), self.cluster, self.name)
        fit = twoway_fe_ols(frame[self.outcome].to_numpy(dtype=float), X, frame[p.unit],
                            frame[p.period], frame[self.cluster].to_numpy(), names=names)
        k = len(cells)
        b, V = fit.params[:k], fit.cov[:k, :k]
        times = np.unique(cells["event_time"])
        W = np.zeros((len(times), k))
        for i, e in enumerate(times):
            at = (cells["event_time"] == e).to_numpy()
            W[i, at] = cells["n_obs"].to_numpy()[at] / cells["n_obs"].to_numpy()[at].sum()
        cells["weight"] = W.sum(axis=0)
        cells["estimate"] = b
        cells["std_error"] = np.sqrt(np.diag(V))
        est, cov = W @ b, W @ V @ W.T
        index = pd.Index(times, name="event_time")
        info = {
            "Estimator": "Sun & Abraham (2021) interaction-weighted event study",
            "Control": control,
            "Reference period": "-1",
            "Weights": "cohort shares of the observations at each event time",
            "Observations": len(frame),
            "Clusters": f"{n_clusters} ({self.cluster})",
            "Standard errors": "CRV1, weights held fixed (fixest convention), t(G-1)",
        }
        results = SunAbrahamResults(
            pd.Series(est, index=index), pd.Series(np.sqrt(np.diag(cov)), index=index),
            cov=pd.DataFrame(cov, index=index, columns=index), reference=(-1,), binned={},
            n_clusters=n_clusters, title=f"Sun-Abraham event study: {self.outcome}",
            df_resid=fit.df_resid, info=info, ledger=ledger)
        results.cells = cells
        return results
