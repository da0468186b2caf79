"""Dynamic (event-study) TWFE regression with a joint pre-trend test.

Model::

    y_it = a_i + l_t + sum_{e != ref} b_e 1{t - G_i = e} + X_it'g + u_it

over event times ``e`` relative to the first treated period ``G_i``.
Never-treated units have every dummy at zero (they identify the period
effects). ``leads``/``lags`` limit the window: with ``endpoints="bin"`` event
times beyond it are pooled into the end dummies (``-leads`` means
"``-leads`` or earlier", ``lags`` means "``lags`` or later"); with
``endpoints="drop"`` those treated-unit rows are dropped (and recorded in the
ledger). The reference period (default -1) is omitted, so each ``b_e`` is the
change relative to it.

Like the static TWFE, the ``b_e`` mix cohorts with weights that can be
negative when effects differ across cohorts (Sun & Abraham 2021): with
staggered adoption and heterogeneous effects, prefer Callaway–Sant'Anna's
dynamic aggregation. Standard errors are CRV1 cluster-robust (see
:mod:`evalkit.did.fixed_effects`); the pre-trend test is the Wald test that
all lead coefficients are zero, reported as chi2(q) and as F(q, G-1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.did.checks import check_clusters, fixed_effects_panel, staggered_sample
from evalkit.did.fixed_effects import twoway_fe_ols
from evalkit.did.wild_bootstrap import WildBootstrapMixin
from evalkit.errors import ConfigError, EstimationError
from evalkit.options import check_option
from evalkit.results import EstimateResults, TestResult


@dataclass(frozen=True)
class PretrendTest(TestResult):
    """Joint Wald test that every lead (pre-treatment) coefficient is zero.

    ``statistic`` / ``pvalue`` are the chi2(q) Wald test; ``f_stat`` / ``pvalue_f`` its
    small-cluster F(q, G - 1) version (``df_denom = G - 1``).
    """

    leads: tuple[int, ...] = ()
    f_stat: float = float("nan")
    pvalue_f: float = float("nan")
    method: str = "Wald pre-trend test"
    null: str = "lead coefficients = 0"

    @property
    def chi2(self) -> float:
        return self.statistic

    @property
    def pvalue_chi2(self) -> float:
        return self.pvalue

    def __str__(self) -> str:
        return (f"Pre-trend test (H0: {self.df} lead coefficients = 0): chi2({self.df}) = "
                f"{self.chi2:.3f}, p = {self.pvalue_chi2:.4f}; F({self.df}, {self.df_denom}) = "
                f"{self.f_stat:.3f}, p = {self.pvalue_f:.4f}")


class EventStudyResults(WildBootstrapMixin, EstimateResults):
    """Event-time coefficients (index: event time), their covariance and the pre-trend test."""

    def __init__(self, params, std_errors, *, cov: pd.DataFrame, reference: tuple[int, ...],
                 binned: dict, n_clusters: int, **kwargs):
        super().__init__(params, std_errors, **kwargs)
        self.cov = cov
        self.reference = reference
        self.binned = binned
        self.n_clusters = n_clusters

    def pretrend_test(self) -> PretrendTest:
        """Wald test of ``b_e = 0`` for every estimated lead ``e < 0``.

        ``W = b' V^-1 b`` with the clustered covariance ``V``; p-values from
        chi2(q) and, with the small-cluster convention, F(q, G-1) for ``W/q``.
        """
        leads = [e for e in self.params.index if e < 0]
        if not leads:
            raise EstimationError(
                "no lead (pre-treatment) coefficient is estimated, so parallel pre-trends cannot "
                "be tested: widen the window (leads=...) or use a panel with more pre-periods."
            )
        b = self.params.loc[leads].to_numpy()
        v = self.cov.loc[leads, leads].to_numpy()
        w = float(b @ np.linalg.solve(v, b))
        q = len(leads)
        df2 = self.n_clusters - 1
        return PretrendTest(leads=tuple(int(e) for e in leads), statistic=w, df=q,
                            pvalue=float(stats.chi2.sf(w, q)), f_stat=w / q, df_denom=df2,
                            pvalue_f=float(stats.f.sf(w / q, q, df2)))

    def plot(self, ax=None, *, level: float = 0.95, text=None):
        """Coefficients with pointwise confidence intervals; the reference period at 0.

        ``text`` overrides the figure's fixed text (keys ``"pre"``, ``"post"``,
        ``"reference"``, ``"xlabel"``, ``"ylabel"`` -- formatted with
        ``level`` --, ``"title"``; ``None`` title for none), e.g. to draw it
        in another language. Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        text = {"pre": "before treatment", "post": "after treatment",
                "reference": "reference (normalised to 0)",
                "xlabel": "Periods relative to first treatment",
                "ylabel": "Effect ({level:.0%} CI)", "title": self.title, **(text or {})}
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 4.5))
        else:
            fig = ax.figure
        ci = self.conf_int(level)
        e = self.params.index.to_numpy()
        pre = e < 0
        for mask, color, label in ((pre, "tab:grey", text["pre"]),
                                   (~pre, "tab:blue", text["post"])):
            if mask.any():
                ax.errorbar(e[mask], self.params.to_numpy()[mask],
                            yerr=[self.params.to_numpy()[mask] - ci["lower"].to_numpy()[mask],
                                  ci["upper"].to_numpy()[mask] - self.params.to_numpy()[mask]],
                            fmt="o", color=color, capsize=3, label=label)
        ax.scatter(list(self.reference), [0] * len(self.reference), marker="D", color="black",
                   label=text["reference"], zorder=3)
        finish_event_axes(ax, text, level)
        return fig


class EventStudy:
    """Event-study TWFE regression with leads and lags of first treatment.

    Parameters
    ----------
    data
        :class:`evalkit.data.Panel` or DataFrame.
    outcome, unit, period, first_treated, treatment, covariates, cluster
        As in :class:`~evalkit.did.twfe.TWFE`.
    leads, lags
        Window of event times ``[-leads, lags]`` (default: every observed one).
    endpoints
        ``"bin"`` (default): pool event times outside the window into the end
        dummies; ``"drop"``: drop those treated-unit rows (recorded in the ledger).
    reference
        Omitted event time(s), default ``-1``. Without never-treated units a
        fully dynamic model needs two (e.g. ``(-1, -leads)``).
    never_treated
        ``"control"`` (default): never-treated units stay in as controls with
        every dummy at zero; ``"drop"``: estimate from treated cohorts only
        (timing variation alone; the rows go to the ledger).

    Examples
    --------
    >>> es = EventStudy(df, outcome="lemp", unit="countyreal", period="year",
    ...                 first_treated="first.treat").fit()
    >>> es.pretrend_test(); es.plot()
    """

    name = "Event study"

    def __init__(
        self,
        data,
        *,
        outcome: str | None = None,
        unit: str = "unit_id",
        period: str = "period",
        first_treated: str | None = "first_treated",
        treatment: str | None = None,
        covariates: Sequence[str] | None = None,
        cluster: str | None = None,
        leads: int | None = None,
        lags: int | None = None,
        endpoints: Literal["bin", "drop"] = "bin",
        reference: int | Sequence[int] = -1,
        never_treated: Literal["control", "drop"] = "control",
    ) -> None:
        check_option("never_treated", never_treated, ("control", "drop"))
        check_option("endpoints", endpoints, ("bin", "drop"))
        for name, value in (("leads", leads), ("lags", lags)):
            if value is not None and (int(value) != value or value < 0):
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
        self.panel, self.outcome, self.covariates, self.cluster = fixed_effects_panel(
            data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
            treatment=treatment, covariates=covariates, cluster=cluster, estimator=self.name)
        self.leads, self.lags, self.endpoints = leads, lags, endpoints
        self.never_treated = never_treated
        self.reference = tuple(sorted({int(r) for r in np.atleast_1d(reference)}))

    def fit(self) -> EventStudyResults:
        """Estimate the event-time coefficients with CRV1 standard errors (t(G-1) inference)."""
        p = self.panel
        frame, ledger = staggered_sample(p, self.outcome, self.covariates, self.name)
        if self.never_treated == "drop":
            frame = ledger.drop(frame, np.isinf(frame[p.first_treated].to_numpy(dtype=float)),
                                step=self.name, reason="never-treated units left out (never_treated='drop')",
                                id_col=p.unit)

        ft = frame[p.first_treated].to_numpy(dtype=float)
        treated_unit = np.isfinite(ft)
        event = np.where(treated_unit, frame[p.period].to_numpy() - np.where(treated_unit, ft, 0), 0)
        event = event.astype(np.int64)
        lo = -self.leads if self.leads is not None else int(event[treated_unit].min())
        hi = self.lags if self.lags is not None else int(event[treated_unit].max())
        outside = treated_unit & ((event < lo) | (event > hi))
        binned = {}
        if self.endpoints == "drop":
            keep = ~outside
            frame = ledger.drop(frame, outside, step=self.name,
                                reason=f"treated-unit rows outside event window [{lo}, {hi}]",
                                id_col=p.unit)
            event, treated_unit = event[keep], treated_unit[keep]
        else:
            if (treated_unit & (event < lo)).any():
                binned[lo] = f"{lo} or earlier"
            if (treated_unit & (event > hi)).any():
                binned[hi] = f"{hi} or later"
            event = np.clip(event, lo, hi)
        missing_ref = [r for r in self.reference if not lo <= r <= hi]
        if missing_ref:
            raise ConfigError(
                f"reference period(s) {missing_ref} lie outside the event window [{lo}, {hi}]."
            )
        times = [e for e in range(lo, hi + 1) if e not in self.reference
                 and (treated_unit & (event == e)).any()]
        has_never = not treated_unit.all()
        if not has_never and len(times) + len(self.reference) == hi - lo + 1 and len(self.reference) < 2:
            raise EstimationError(
                f"{self.name}: without never-treated units the event-time dummies of a fully "
                "dynamic model are collinear with the unit and period effects. Add a second "
                f"reference period (e.g. reference=(-1, {lo})) or limit the window with "
                "leads=/lags= and endpoints='drop'."
            )
        n_clusters = check_clusters(frame[self.cluster].to_numpy(), self.cluster, self.name)

        dummies = (event[:, None] == np.array(times)[None, :]) & treated_unit[:, None]
        X = np.column_stack([dummies.astype(float),
                             *(frame[c].to_numpy(dtype=float) for c in self.covariates)])
        names = [f"e={e}" for e in times] + list(self.covariates)
        y = frame[self.outcome].to_numpy(dtype=float)
        fit = twoway_fe_ols(y, X, frame[p.unit], frame[p.period], frame[self.cluster].to_numpy(),
                            names=names)

        k = len(times)
        index = pd.Index(times, name="event_time")
        info = {
            "Estimator": "event-study TWFE (unit and period effects)",
            "Reference period(s)": ", ".join(map(str, self.reference)),
            "Window": f"[{lo}, {hi}]" + (f", binned: {', '.join(binned.values())}" if binned else
                                         (", outside rows dropped" if self.endpoints == "drop" else "")),
            "Comparison": "never-treated and not-yet-treated units" if has_never else
                          "not-yet-treated units only",
            "Observations": len(frame),
            "Clusters": f"{n_clusters} ({self.cluster})",
            "Standard errors": "CRV1, t(G-1)",
        }
        results = EventStudyResults(
            pd.Series(fit.params[:k], index=index), pd.Series(fit.std_errors[:k], index=index),
            cov=pd.DataFrame(fit.cov[:k, :k], index=index, columns=index),
            reference=self.reference, binned=binned, n_clusters=n_clusters,
            title=f"Event study: {self.outcome}", df_resid=fit.df_resid, info=info, ledger=ledger,
        )
        results._design = (*fit.design, [*times, *self.covariates])
        if self.covariates:
            results.covariate_params = pd.Series(fit.params[k:], index=self.covariates)
        return results


def finish_event_axes(ax, text: Mapping[str, str], level: float) -> None:
    """Zero line, treatment-onset line between event times -1 and 0, labels and legend of
    an event-study figure (one look for every event-study plot)."""
    ax.axhline(0, color="black", linewidth=0.6)
    ax.axvline(-0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(text["xlabel"])
    ax.set_ylabel(text["ylabel"].format(level=level))
    if text["title"]:
        ax.set_title(text["title"])
    ax.legend(frameon=False, fontsize="small")
