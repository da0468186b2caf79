"""Results of the Callaway–Sant'Anna estimator: ATT(g, t) and their aggregations."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from evalkit.did.aggregation import AggregationWeights, Kind, aggregation_weights
from evalkit.did.multiplier_bootstrap import (
    DEGENERATE,
    bootstrap_se,
    multiplier_draws,
    uniform_critical_value,
)
from evalkit.errors import ConfigError, EstimationError, EvalkitWarning
from evalkit.results import EstimateResults, TestResult
from evalkit.summary import Summary


@dataclass(frozen=True)
class PreTest(TestResult):
    """Wald test that all pre-treatment ATT(g, t) are zero (R ``did`` pre-test).

    Without clusters this is R's statistic ``W = theta' V^-1 theta ~ chi2(q)``. With
    ``G`` clusters the cluster-robust ``V`` is estimated from ``G`` cluster scores and
    ``W`` over-rejects badly when ``q`` is not small relative to ``G`` (60 zones and 24
    pre-period cells reject a true null most of the time); the p-value then uses
    Hotelling's T² scaling ``F = W (G - q) / (q (G - 1)) ~ F(q, G - q)`` (Kézdi 2004;
    Cameron & Miller 2015, sec. VII.B), exact for normal cluster scores.
    """

    n_clusters: int | None = None
    method: str = "Wald pre-test of parallel trends"
    null: str = "all pre-treatment ATT(g,t) = 0"

    @property
    def f_statistic(self) -> float | None:
        if self.n_clusters is None:
            return None
        return self.statistic * (self.n_clusters - self.df) / (self.df * (self.n_clusters - 1))

    def __str__(self) -> str:
        text = f"Wald pre-test of parallel trends: chi2({self.df}) = {self.statistic:.4f}"
        if self.n_clusters is not None:
            text += (f"; with {self.n_clusters} clusters, Hotelling F({self.df}, "
                     f"{self.n_clusters - self.df}) = {self.f_statistic:.4f}")
        return f"{text}, p = {self.pvalue:.5f}"


@dataclass(frozen=True)
class ContrastTest:
    """Wald test of linear restrictions ``R theta = 0`` on aggregated effects.

    ``W = (R theta)' (R V R')^-1 (R theta) ~ chi2(q)``, ``V`` the analytic covariance
    from the influence functions (clustered when the fit was).
    """

    hypothesis: str
    statistic: float
    df: int
    pvalue: float

    def __str__(self) -> str:
        return (f"Wald test ({self.hypothesis}): chi2({self.df}) = {self.statistic:.4f}, "
                f"p = {self.pvalue:.5f}")


class Inference:
    """Standard errors and bootstrap draws of linear functions of the influence functions.

    Any reported quantity is ``Psi @ a + Z @ c`` (cell influence functions and
    cohort-share influence functions); this class turns stacked weights
    ``[a; c]`` into analytic SEs (clustered if needed) or bootstrap SEs and
    uniform critical values, all from one set of bootstrap draws. Built by
    :meth:`CallawaySantAnna.fit`, which is where the bootstrap runs.
    """

    def __init__(self, influence, data, *, bootstrap, n_boot, level, seed, multiplier):
        self.psi = influence
        self.n_cells = influence.shape[1]
        self.n = data.n
        self.level = level
        self.n_boot = n_boot
        self.multiplier = multiplier
        share_w = data.unit_weight
        member = data.unit_group[:, None] == data.groups[None, :]
        self.group_share = (share_w[:, None] * member).mean(axis=0)
        self.z = share_w[:, None] * member - self.group_share
        self.cluster = None
        self.n_clusters = data.n_clusters
        if data.unit_cluster is not None:
            nc = data.n_clusters
            self.cluster = sparse.csr_matrix(
                (np.ones(self.n), (data.unit_cluster, np.arange(self.n))), shape=(nc, self.n))
        self.draws = None
        if bootstrap:
            scores = self._by_cluster(np.hstack([self.psi, self.z]))
            self.draws = multiplier_draws(scores, n_boot, n=self.n, seed=seed,
                                          multiplier=multiplier)

    def _by_cluster(self, scores):
        return scores if self.cluster is None else self.cluster @ scores

    def influence(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Influence functions of ``[a; c]``-weighted quantities (``None``: the cells)."""
        if weights is None:
            return self.psi
        k = self.psi.shape[1]
        out = self.psi @ weights[:k]
        if np.any(weights[k:]):
            out += self.z @ weights[k:]
        return out

    def analytic_se(self, weights: np.ndarray | None = None) -> np.ndarray:
        return self.se_of(self.influence(weights))

    def se_of(self, influence: np.ndarray) -> np.ndarray:
        """``sqrt(sum_c (sum_{i in c} psi_i)^2) / n`` per column (c = unit without clusters)."""
        scores = self._by_cluster(influence)
        se = np.sqrt(np.einsum("ij,ij->j", scores, scores)) / self.n
        return np.where(se > DEGENERATE, se, np.nan)

    def cell_cov(self, columns: np.ndarray) -> np.ndarray:
        """Analytic covariance of the selected ATT(g, t)."""
        scores = self._by_cluster(self.psi[:, columns])
        return scores.T @ scores / self.n ** 2

    def bootstrap(self, weights: np.ndarray | None, uniform: bool):
        k = self.n_cells
        draws = self.draws[:, :k] if weights is None else self.draws @ weights
        se = bootstrap_se(draws)
        crit = uniform_critical_value(draws, se, 1 - self.level) if uniform else None
        return se, crit

    def stack(self, cell: np.ndarray, share: np.ndarray) -> np.ndarray:
        return np.vstack([cell.reshape(len(cell), -1), share.reshape(len(share), -1)])


class CallawaySantAnnaResults(EstimateResults):
    """Group-time effects ATT(g, t), indexed by (group, time).

    Attributes
    ----------
    params, std_errors, critical_values
        Estimates, SEs (bootstrap or analytic) and, with the bootstrap and
        uniform bands, the sup-t critical value (one value, repeated).
    cells
        Frame of the cells: group, time, base period, estimate, post flag,
        numbers of treated and comparison units.
    influence
        ``(n, K)`` influence functions (``att - att_true ≈ mean``).
    pretest
        :class:`PreTest` of the pre-treatment cells, or ``None``.
    ledger
        Rows excluded on the way (validation, missing outcome, always treated...).
    """

    def __init__(self, *, cells, inference: Inference, data, model, uniform_bands):
        self.cells = cells
        self.influence = inference.psi
        self.level = level = inference.level
        bootstrap = self.bootstrap = inference.draws is not None
        n_boot, multiplier = inference.n_boot, inference.multiplier
        self.uniform_bands = bool(uniform_bands and bootstrap)
        self._data = data
        self._inference = inference
        index = pd.MultiIndex.from_arrays([cells["group"], cells["time"]], names=["group", "time"])
        se_analytic = self._inference.analytic_se()
        crit = None
        if bootstrap:
            se, c = self._inference.bootstrap(None, self.uniform_bands)
            se = np.where(np.isnan(se_analytic), np.nan, se)
            crit = None if c is None else pd.Series(c, index=index)
        else:
            se = se_analytic
        self.analytic_std_errors = pd.Series(se_analytic, index=index, name="std_error")
        self.base_period = model.base_period
        self.anticipation = model.anticipation
        self.pretest = self._pretest(model.anticipation)
        info = {
            "Estimator": "Callaway & Sant'Anna (2021), R did att_gt conventions",
            "Method": model.method
            + (f" on {', '.join(model.covariates)}" if model.covariates else ""),
            "Control group": model.control_group,
            "Base period": model.base_period,
            "Anticipation": model.anticipation,
            "Data": {"balanced": "balanced panel", "unbalanced": "unbalanced panel",
                     "rcs": "repeated cross-sections"}[data.layout]
            + f", n = {data.n}, periods {data.periods.min()}-{data.periods.max()}",
            "Cohorts": ", ".join(f"{g:g}" for g in data.groups),
            "Std. errors": (f"multiplier bootstrap ({n_boot} draws, {multiplier})" if bootstrap
                            else "analytic (influence function)")
            + (f", clustered ({self._inference.n_clusters} clusters)"
               if self._inference.n_clusters is not None else ""),
            "Intervals": f"uniform {level:.0%} band" if self.uniform_bands
            else f"pointwise {level:.0%}",
        }
        for i, note in enumerate(data.notes):
            info[f"Note {i + 1}"] = note
        super().__init__(
            pd.Series(cells["att"].to_numpy(), index=index), pd.Series(se, index=index),
            title="Group-time average treatment effects ATT(g,t)", info=info,
            ledger=data.ledger, critical_values=crit, band_level=level,
        )

    def _pretest(self, anticipation) -> PreTest | None:
        cells = self.cells
        pre = ((cells["time"] < cells["group"] - anticipation)
               & self.analytic_std_errors.notna().to_numpy()).to_numpy()
        if not pre.any():
            return None
        cov = self._inference.cell_cov(pre)
        theta = cells["att"].to_numpy()[pre]
        n_clusters = self._inference.n_clusters
        if n_clusters is not None and n_clusters <= pre.sum():
            warnings.warn(f"Pre-test not computed: {int(pre.sum())} pre-treatment ATT(g,t) but "
                          f"only {n_clusters} clusters, so their clustered covariance is "
                          "singular. Test fewer pre-periods (e.g. an event-study aggregation "
                          "with min_e) or use more clusters.", EvalkitWarning, stacklevel=3)
            return None
        if np.linalg.cond(cov) > 1 / np.finfo(float).eps:
            warnings.warn("Pre-test not computed: the covariance of the pre-treatment "
                          "ATT(g,t) is singular.", EvalkitWarning, stacklevel=3)
            return None
        stat = float(theta @ np.linalg.solve(cov, theta))
        q = int(pre.sum())
        if n_clusters is None:
            return PreTest(statistic=stat, df=q, pvalue=float(stats.chi2.sf(stat, q)))
        f_stat = stat * (n_clusters - q) / (q * (n_clusters - 1))
        return PreTest(statistic=stat, df=q, df_denom=n_clusters - q, n_clusters=n_clusters,
                       pvalue=float(stats.f.sf(f_stat, q, n_clusters - q)))

    def summary(self, level: float | None = None) -> Summary:
        summary = super().summary(self.level if level is None else level)
        if self.pretest is not None:
            summary.notes.append(str(self.pretest))
        return summary

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        frame = super().to_frame(self.level if level is None else level)
        frame.insert(0, "post", self.cells["post"].to_numpy())
        return frame

    def aggregate(self, kind: Kind = "dynamic", *, min_e=None, max_e=None,
                  balance_e=None) -> AggregatedResults:
        """Aggregate the ATT(g, t) (R ``aggte``).

        Parameters
        ----------
        kind
            ``"simple"``, ``"dynamic"`` (event study), ``"group"`` or ``"calendar"``.
        min_e, max_e
            Event-time window.
        balance_e
            (dynamic) keep only cohorts observed ``balance_e`` periods after treatment.

        Returns
        -------
        AggregatedResults
            Per-level estimates (``params``) and the overall ATT (``overall``), with
            standard errors from the aggregated influence functions, including the
            estimation of the cohort shares.
        """
        weights = aggregation_weights(
            kind, self.cells["group"].to_numpy(dtype=float),
            self.cells["time"].to_numpy(dtype=float), self.cells["att"].to_numpy(),
            self._data.groups, self._inference.group_share,
            min_e=min_e, max_e=max_e, balance_e=balance_e)
        return AggregatedResults(weights, self)

    def plot(self, ax=None, *, text=None, band_label: str | None = None, tick_labels=None):
        """ATT(g, t) by cohort, one panel per cohort; returns a matplotlib Figure.

        ``text`` overrides the figure's fixed text (keys of
        :data:`evalkit.did.cs_plots.GROUP_TIME_TEXT`), ``band_label`` the legend
        title, ``tick_labels`` the text of periods (``{200704: "2007Q4"}``).
        """
        from evalkit.did.cs_plots import plot_group_time

        return plot_group_time(self.to_frame(), band_label=band_label or self._band_label(),
                               ax=ax, text=text, tick_labels=tick_labels)

    def _band_label(self) -> str:
        kind = "uniform band" if self.uniform_bands else "pointwise CI"
        return f"{self.level:.0%} {kind}"


class AggregatedResults(EstimateResults):
    """An aggregation of ATT(g, t): per-level estimates and an overall ATT.

    Attributes
    ----------
    kind
        ``"simple"``, ``"dynamic"``, ``"group"`` or ``"calendar"``.
    params, std_errors, critical_values
        One estimate per event time / cohort / period (``"ATT"`` for simple).
    overall
        :class:`~evalkit.results.EstimateResults` with the overall ATT.
    influence
        ``(n, m)`` influence functions of the per-level estimates.
    """

    def __init__(self, weights: AggregationWeights, parent: CallawaySantAnnaResults):
        inf = parent._inference
        att = parent.cells["att"].to_numpy()
        self.kind = weights.kind
        self.level = level = parent.level
        self.base_period = parent.base_period
        self.anticipation = parent.anticipation
        self._inference = inf
        self.uniform_bands = parent.uniform_bands and weights.kind != "simple"
        w_levels = inf.stack(weights.cell, weights.share)
        w_overall = inf.stack(weights.overall_cell, weights.overall_share)
        index = pd.Index(weights.labels, name=weights.index_name)
        est = att @ weights.cell
        overall_est = float(att @ weights.overall_cell)
        self.influence = inf.influence(w_levels)
        se = inf.analytic_se(w_levels) if self.influence is None else inf.se_of(self.influence)
        overall_se = inf.analytic_se(w_overall)
        crit = None
        if parent.bootstrap:
            se_b, c = inf.bootstrap(w_levels, self.uniform_bands)
            se = np.where(np.isnan(se), np.nan, se_b)
            overall_se = np.where(np.isnan(overall_se), np.nan, inf.bootstrap(w_overall, False)[0])
            crit = None if c is None else pd.Series(c, index=index)
        self.overall = EstimateResults(
            pd.Series([overall_est], index=["ATT"]), pd.Series(overall_se, index=["ATT"]),
            title=f"Overall ATT ({weights.kind} aggregation)", ledger=parent.ledger)
        info = dict(parent.info)
        info["Estimator"] = f"Aggregation '{weights.kind}' of ATT(g,t) (R did aggte)"
        info["Overall ATT"] = (f"{overall_est:.4f} (SE {overall_se[0]:.4f}, "
                               f"{level:.0%} CI {self.overall.conf_int(level).iloc[0, 0]:.4f}"
                               f" to {self.overall.conf_int(level).iloc[0, 1]:.4f})")
        if parent.uniform_bands and not self.uniform_bands:
            info["Intervals"] = f"pointwise {level:.0%}"
        titles = {"simple": "Simple weighted average of post-treatment ATT(g,t)",
                  "dynamic": "Event-study (dynamic) effects ATT(e)",
                  "group": "Average effect by cohort", "calendar": "Average effect by period"}
        super().__init__(pd.Series(est, index=index), pd.Series(se, index=index),
                         title=titles[weights.kind], info=info, ledger=parent.ledger,
                         critical_values=crit, band_level=level)

    @property
    def cov(self) -> np.ndarray:
        """Analytic covariance of the per-level estimates, from their influence functions
        (clustered when the fit was), whatever the reported standard errors."""
        scores = self._inference._by_cluster(self.influence)
        return scores.T @ scores / self._inference.n ** 2

    def contrast_test(self, contrast=None) -> ContrastTest:
        """Wald test that the per-level estimates are equal (default), or of ``contrast``.

        With ``kind="group"`` the default tests that every cohort has the same average
        effect; ``contrast`` is an ``(q, m)`` matrix ``R`` of ``R theta = 0`` over the
        ``m`` reported levels (e.g. ``[[1, -1, 0]]``: the first two cohorts differ).
        Uses the influence functions, so it accounts for the covariance between levels
        (R ``did`` users compute this by hand, did#197).
        """
        theta = self.params.to_numpy()
        m = len(theta)
        if contrast is None:
            if m < 2:
                raise ConfigError("a single estimate: nothing to compare.")
            R = np.hstack([np.ones((m - 1, 1)), -np.eye(m - 1)])
            hypothesis = f"all {m} {self.params.index.name} estimates equal"
        else:
            R = np.atleast_2d(np.asarray(contrast, dtype=float))
            if R.shape[1] != m:
                raise ConfigError(f"contrast must have {m} columns (one per estimate: "
                                  f"{list(self.params.index)}), got shape {R.shape}.")
            hypothesis = "R theta = 0"
        diff = R @ theta
        V = R @ self.cov @ R.T
        if np.linalg.matrix_rank(V) < len(diff):
            raise EstimationError("the contrasts' covariance is singular: drop redundant rows.")
        stat = float(diff @ np.linalg.solve(V, diff))
        return ContrastTest(hypothesis, stat, len(diff), float(stats.chi2.sf(stat, len(diff))))

    @property
    def overall_att(self) -> float:
        return float(self.overall.params.iloc[0])

    @property
    def overall_se(self) -> float:
        return float(self.overall.std_errors.iloc[0])

    def summary(self, level: float | None = None) -> Summary:
        return super().summary(self.level if level is None else level)

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        return super().to_frame(self.level if level is None else level)

    def plot(self, ax=None, *, text=None, band_label: str | None = None, tick_labels=None):
        """Event-study / cohort / period plot with the bands; returns a matplotlib Figure.

        Parameters
        ----------
        text
            Overrides of the figure's fixed text (keys of
            :data:`evalkit.did.cs_plots.AGGREGATE_TEXT`: axis labels, legend
            entries), e.g. to draw it in another language.
        band_label
            Legend title (default ``"95% uniform band"`` or ``"95% pointwise CI"``).
        tick_labels
            Text under each cohort or period (``{200704: "2007Q4"}``).
        """
        from evalkit.did.cs_plots import plot_aggregate

        if band_label is None:
            kind = "uniform band" if self.uniform_bands else "pointwise CI"
            band_label = f"{self.level:.0%} {kind}"
        return plot_aggregate(self.to_frame(), self.kind, overall=self.overall_att,
                              band_label=band_label, ax=ax, text=text, tick_labels=tick_labels)
