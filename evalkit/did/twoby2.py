"""Classic 2x2 difference-in-differences, on a panel or on repeated cross-sections.

Two groups (treated / comparison) observed before and after the treated
group starts. Typical uses: rSa experimental vs control zones around the
start date (panel of recipients); *Hope in stations* pilot vs comparison
stations, with different respondents interviewed in each survey wave
(repeated cross-sections grouped by station).

Estimators (``method``)
-----------------------
``"reg"`` (default)
    OLS of ``y = a + b1 treated + b2 post + ATT treated*post + X'g + e`` on the
    pooled rows (with covariates: a common linear adjustment, i.e. covariate
    effects constant across groups and periods). When the effect varies with
    ``X`` *and* the treated group's covariates change between periods, the
    common slopes absorb part of the effect's slopes and ``att`` is not the
    ATT of the treated-post rows (a bias that does not shrink with ``n``);
    use ``"imputation"`` then.
``"imputation"``
    Regression imputation (Wooldridge 2021; Borusyak, Jaravel & Spiess 2024):
    ``y = a + b1 treated + b2 post + X'g`` is fitted on the three untreated
    cells and ``ATT = mean(y - y0_hat)`` over the treated-post rows. Computed
    as one regression adding ``D * (X - mean of X over treated-post rows)``,
    so the effect may vary with ``X`` *and* the covariate composition may
    change between waves — the usual case with repeated cross-sections,
    where the Sant'Anna & Zhao RCS estimators assume it does not. Its SE is
    conditional on the treated respondents' covariates. It estimates the ATT
    of the treated-post rows, ``E[Y(1) - Y(0) | treated, post]``.
``"or"``, ``"ipw"``, ``"dr"``
    Sant'Anna & Zhao (2020) outcome-regression, normalised IPW and doubly
    robust DiD (:mod:`evalkit.did.drdid`), where covariates may shift the
    counterfactual *trend*; panel covariates are taken at the pre period.
    On repeated cross-sections they assume each group's covariate
    distribution is the same in both periods. If the treated group's
    changes, ``"or"`` and ``"ipw"`` keep that composition change in the
    treated group's change (they converge to the unadjusted DiD when the
    covariates only shift levels), and ``"dr"`` averages the effect over the
    treated group's covariates of *both* periods rather than the post
    period's (see ``truth["att_pilot_both_waves"]`` of
    :mod:`evalkit.datasets.hope_in_stations`).

Standard errors are clustered (by unit on a panel unless ``cluster`` is
given; by ``cluster`` — e.g. the station — or heteroskedasticity-robust HC1
for repeated cross-sections). ``"reg"`` and ``"imputation"`` use CRV1
(``G/(G-1) (N-1)/(N-K)``, Stata/fixest) with t(G-1) inference; the
influence-function methods use ``G/(G-1) sum_g (sum_{i in g} psi_i)^2 / n^2``
with normal inference. Without covariates all four methods give the same
ATT, the difference of the four group means.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.data import ExclusionLedger, Panel
from evalkit.data.validation import check_unique
from evalkit.did.checks import (
    as_panel,
    check_clusters,
    check_covariates_vary,
    check_group_sizes,
    usable_rows,
)
from evalkit.did.drdid import drdid_panel, drdid_rcs
from evalkit.did.fixed_effects import clustered_ols, factorize
from evalkit.did.wild_bootstrap import WildBootstrapMixin
from evalkit.errors import (
    ConfigError,
    DataValidationError,
    EmptyDataError,
    EstimationError,
    ZeroVarianceWarning,
)
from evalkit.options import check_option, choices
from evalkit.results import EstimateResults

Method = Literal["reg", "imputation", "or", "ipw", "dr"]
METHODS = choices(Method)
SE = Literal["robust", "classical"]
_ROW_ID = "_row_id"
_WAVE = "_post"
_FIRST = "_first_treated"
_ARM = "_arm"


class DiD2x2Results(WildBootstrapMixin, EstimateResults):
    """2x2 DiD estimate (``params["att"]``) with the four group means.

    Attributes
    ----------
    means
        Mean outcome by group (rows ``comparison``, ``treated``) and period
        (columns ``pre``, ``post``, ``change``), on the estimation sample.
    n_obs, n_clusters, method
    """

    def __init__(self, params, std_errors, *, means: pd.DataFrame, n_obs: int, n_clusters: int,
                 method: str, **kwargs):
        super().__init__(params, std_errors, **kwargs)
        self.means = means
        self.n_obs = n_obs
        self.n_clusters = n_clusters
        self.method = method

    @property
    def att(self) -> float:
        return float(self.params["att"])

    def plot(self, ax=None, labels: tuple[str, str] = ("Comparison", "Treated"), *,
             title: str | None = "{title} (ATT {att:.3f})", ylabel: str = "Mean outcome",
             period_labels: tuple[str, str] = ("before", "after"),
             counterfactual_label: str = "{treated} without treatment (parallel trend)"):
        """Group means before/after with the treated group's counterfactual (parallel trend).

        The dashed line continues the treated group's pre-period mean along the
        comparison group's change; the gap at "post" is the unadjusted DiD.

        Parameters
        ----------
        ax
            Axes to draw on (default: a new figure).
        labels
            Names of the ``(comparison, treated)`` groups in the legend.
        title
            Title, formatted with ``title`` (the results' title) and ``att``
            (the estimate, a float); ``None`` for no title.
        ylabel
            Label of the y axis.
        period_labels
            Tick labels of the ``(pre, post)`` periods.
        counterfactual_label
            Legend entry of the dashed line, formatted with ``treated`` (the
            treated group's name).

        The text parameters (English defaults) let a report draw it in
        another language. Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(5.5, 4))
        else:
            fig = ax.figure
        m = self.means
        x = [0, 1]
        ax.plot(x, m.loc["comparison", ["pre", "post"]], marker="o", label=labels[0])
        ax.plot(x, m.loc["treated", ["pre", "post"]], marker="o", label=labels[1])
        counterfactual = m.loc["treated", "pre"] + m.loc["comparison", "change"]
        ax.plot(x, [m.loc["treated", "pre"], counterfactual], linestyle="--", color="grey",
                label=counterfactual_label.format(treated=labels[1]))
        ax.set_xticks(x, list(period_labels))
        ax.set_xlim(-0.25, 1.25)  # room for the period labels under the end points
        ax.set_ylabel(ylabel)
        if title is not None:
            ax.set_title(title.format(title=self.title, att=self.att))
        ax.legend(frameon=False, fontsize="small")
        return fig


class DiD2x2:
    """Two-group, two-period difference-in-differences with covariates and clustered SEs.

    Parameters
    ----------
    data
        DataFrame (or a two-period :class:`evalkit.data.Panel` with one cohort).
    outcome
        Outcome column.
    group
        0/1 (or boolean) column: 1 for the treated group (pilot station,
        experimental zone). Must be constant within a unit on a panel.
    period
        Column with the two periods/waves; the later one is "post" unless
        ``post_value`` says which. More than two values need ``periods=(pre, post)``.
    unit
        Unit id of a panel (required unless ``repeated_cross_section``).
    cluster
        Cluster column (default: ``unit`` on a panel, none = HC1 for
        repeated cross-sections). Treatment assigned by site/zone: cluster on it.
    covariates
        Covariate columns (text columns are one-hot encoded).
    weight
        Survey/sampling weight column (constant within a unit on a panel):
        weighted least squares for ``"reg"``/``"imputation"``, weighted
        Sant'Anna & Zhao estimators otherwise; rows with a missing weight are
        dropped into the ledger.
    repeated_cross_section
        Different respondents in each period.
    periods
        ``(pre, post)`` values of ``period`` to use; other rows are dropped and recorded.

    Examples
    --------
    >>> DiD2x2(survey, outcome="slept_in_shelter", group="pilot", period="wave",
    ...        cluster="station", repeated_cross_section=True, covariates=["age", "sex"]).fit()
    """

    name = "2x2 DiD"

    def __init__(
        self,
        data,
        *,
        outcome: str | None = None,
        group: str | None = None,
        period: str = "period",
        unit: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] | None = None,
        weight: str | None = None,
        repeated_cross_section: bool = False,
        periods: tuple | None = None,
        post_value=None,
    ) -> None:
        if isinstance(data, Panel):
            self._init_from_panel(data, outcome, covariates, cluster)
            return
        if not isinstance(data, pd.DataFrame):
            raise ConfigError(f"{self.name}: data must be a DataFrame or a Panel, got "
                              f"{type(data).__name__}.")
        if group is None or outcome is None:
            raise ConfigError(f"{self.name}: give outcome= and group= (0/1 treated-group column).")
        if not repeated_cross_section and unit is None:
            raise ConfigError(
                f"{self.name}: give unit= (the panel id), or repeated_cross_section=True when "
                "different people are interviewed in each wave."
            )
        for column in [group, period, unit, cluster, weight]:
            if column is not None and column not in data.columns:
                raise DataValidationError(f"{self.name}: column {column!r} is not in the data.")
        ledger = ExclusionLedger.start(data, None if repeated_cross_section else unit)
        frame, pre_value, post_value = self._two_periods(data, period, periods, post_value, ledger,
                                                         None if repeated_cross_section else unit)
        treated = self._group(frame, group)
        frame = frame.assign(**{
            _WAVE: (frame[period] == post_value).astype(np.int64),
            _FIRST: np.where(treated == 1, 1, 0),
            _ROW_ID: np.arange(len(frame)),
        })
        if unit is not None and not repeated_cross_section:
            # Checked on the user's columns before the internal period column names them.
            check_unique(frame, [unit, period], self.name, "unit x period")
            varying = frame.groupby(unit)[_FIRST].nunique()
            if (varying > 1).any():
                raise DataValidationError(
                    f"{self.name}: group {group!r} changes within {int((varying > 1).sum())} "
                    f"unit(s), e.g. {list(varying[varying > 1].index[:5])}. A unit belongs to one "
                    "group for the whole study; fix the group column."
                )
        self.panel, self.outcome, self.covariates = as_panel(
            frame, outcome=outcome, unit=unit if not repeated_cross_section else _ROW_ID,
            period=_WAVE, first_treated=_FIRST, covariates=covariates, cluster=cluster,
            weight=weight, repeated_cross_section=repeated_cross_section, estimator=self.name,
            ledger=ledger)
        if weight and not repeated_cross_section:
            varying = self.panel.data.groupby(unit)[weight].nunique()
            if (varying > 1).any():
                raise DataValidationError(
                    f"{self.name}: weight {weight!r} changes within {int((varying > 1).sum())} "
                    "unit(s) of the panel; give each unit one weight (e.g. its baseline weight)."
                )
        self.cluster = cluster
        self.labels = {"group": group, "period": period, "pre": pre_value, "post": post_value}

    def _init_from_panel(self, panel: Panel, outcome, covariates, cluster) -> None:
        periods = panel.periods
        cohorts = panel.cohorts
        if len(periods) != 2 or len(cohorts) != 1 or cohorts[0] != periods[1]:
            raise DataValidationError(
                f"{self.name}: a Panel for a 2x2 needs exactly two periods and one cohort treated "
                f"in the second; got periods {list(periods)} and cohorts {list(cohorts)}. For "
                "staggered designs use TWFE, EventStudy or Callaway-Sant'Anna."
            )
        self.panel, self.outcome, self.covariates = as_panel(
            panel, outcome=outcome, unit=panel.unit, period=panel.period, first_treated=None,
            covariates=covariates, estimator=self.name)
        self.cluster = cluster or panel.cluster
        self._wave = panel.period
        self.labels = {"group": panel.first_treated, "period": panel.period,
                       "pre": periods[0], "post": periods[1]}

    def _two_periods(self, frame, period, periods, post_value, ledger, unit):
        frame = ledger.drop(frame, frame[period].isna().to_numpy(), step="validation",
                            reason=f"{period} missing", id_col=unit)
        values = pd.unique(frame[period])
        if periods is not None:
            if len(periods) != 2:
                raise ConfigError(f"periods must be (pre, post), got {periods!r}")
            missing = [v for v in periods if v not in set(values)]
            if missing:
                raise DataValidationError(
                    f"{self.name}: period value(s) {missing} not found in {period!r} "
                    f"(values: {list(values)[:10]})."
                )
            frame = ledger.drop(frame, ~frame[period].isin(periods).to_numpy(),
                                step="period selection",
                                reason=f"{period} not in ({periods[0]!r}, {periods[1]!r})",
                                id_col=unit)
            return frame, periods[0], periods[1]
        if len(values) != 2:
            raise DataValidationError(
                f"{self.name}: column {period!r} must hold exactly two periods (before/after), "
                f"found {len(values)}: {list(values)[:10]}. Pass periods=(pre, post) to select two."
            )
        if post_value is None:
            pre_value, post_value = sorted(values)
        elif post_value not in set(values):
            raise DataValidationError(f"{self.name}: post_value {post_value!r} not in {period!r}.")
        else:
            pre_value = next(v for v in values if v != post_value)
        return frame, pre_value, post_value

    def _group(self, frame, group) -> np.ndarray:
        values = frame[group]
        as_num = pd.to_numeric(values.astype(object) if values.dtype == bool else values,
                               errors="coerce")
        bad = values.notna() & ~as_num.isin([0, 1])
        if bad.any():
            raise DataValidationError(
                f"{self.name}: group column {group!r} must be 0/1 (1 = treated group), found "
                f"{list(pd.unique(values[bad]))[:5]}. Recode it, e.g. df[{group!r}] == 'pilot'."
            )
        if values.isna().any():
            raise DataValidationError(
                f"{self.name}: group column {group!r} is missing on {int(values.isna().sum())} "
                "row(s); every row must belong to the treated or the comparison group."
            )
        return as_num.to_numpy(dtype=np.int64)

    def _group_shown(self) -> str:
        """The user's group column, quoted, for messages (never the internal ``_arm``)."""
        return repr(self.labels["group"])

    # -- estimation -------------------------------------------------------------------
    def _sample(self):
        p = self.panel
        frame, ledger = usable_rows(p, self.outcome, self.name)
        wave = getattr(self, "_wave", None)
        post = (frame[wave] == self.labels["post"]).to_numpy() if wave else frame[p.period].to_numpy() == 1
        treated = np.isfinite(frame[p.first_treated].to_numpy(dtype=float))
        if not p.repeated_cross_section:
            n_obs = frame.groupby(p.unit)[p.unit].transform("size").to_numpy()
            frame = ledger.drop(frame, n_obs < 2, step=self.name,
                                reason="unit observed in one period only (panel 2x2 needs both)",
                                id_col=p.unit)
            keep = n_obs >= 2
            post, treated = post[keep], treated[keep]
        cells = np.bincount(2 * treated.astype(np.int64) + post.astype(np.int64), minlength=4)
        if (cells == 0).any():
            table = pd.DataFrame(cells.reshape(2, 2), index=["comparison", "treated"],
                                 columns=["pre", "post"])
            raise EmptyDataError(
                f"{self.name}: every group must be observed in both periods; rows by group and "
                f"period:\n{table}\nThere is no untreated comparison group or no pre/post period "
                "left after exclusions."
            )
        sizes_by = p.unit if not p.repeated_cross_section else (self.cluster or p.unit)
        # One treated unit (a single station, a case study) is a design people use: warn, as
        # TWFE does. One comparison unit leaves no comparison variance at all: refuse.
        is_treated = treated.astype(bool)
        check_group_sizes(frame.loc[~is_treated].assign(**{_ARM: "comparison"}), _ARM, sizes_by,
                          self.name, action="raise", shown_as=self._group_shown())
        check_group_sizes(frame.loc[is_treated].assign(**{_ARM: "treated"}), _ARM, sizes_by,
                          self.name, action="warn", shown_as=self._group_shown())
        return frame, ledger, post.astype(float), treated.astype(float)

    def fit(self, *, method: Method = "reg", se: SE = "robust") -> DiD2x2Results:
        """Estimate the ATT.

        Parameters
        ----------
        method
            ``"reg"`` (regression with interaction, default), ``"imputation"``
            (regression imputation, covariate slopes free for the treated), or
            ``"or"``, ``"ipw"``, ``"dr"`` (Sant'Anna & Zhao 2020).
        se
            ``"robust"`` (default: clustered CRV1, or HC1 without clusters; influence
            function for ``or``/``ipw``/``dr``) or ``"classical"``: homoskedastic OLS,
            ``s^2 (X'X)^-1`` with ``s^2 = RSS / (n - k)`` and t(n - k) inference, as in
            textbooks (``reg`` and ``imputation`` only; it ignores clustering).
        """
        check_option("method", method, Method)
        check_option("se", se, SE)
        if se == "classical" and method not in ("reg", "imputation"):
            raise ConfigError(f"se='classical' applies to the regression methods ('reg', "
                              f"'imputation'), not to method={method!r}; use se='robust'.")
        p = self.panel
        frame, ledger, post, treated = self._sample()
        y = frame[self.outcome].to_numpy(dtype=float)
        w = frame[p.weight].to_numpy(dtype=float) if p.weight else np.ones(len(y))
        if np.ptp(y[w > 0]) <= 1e-12 * max(1.0, float(np.abs(y).max())):
            # Rounding noise of ~1e-16 would get an SE of the same size and t = -3.
            raise EstimationError(
                f"{self.name}: outcome {self.outcome!r} is constant ({y[w > 0][0]:g}) on "
                "every row used: there is no difference to estimate and no standard error. "
                "Check the outcome column (wrong column, or coded constant by mistake)."
            )
        if self.covariates:
            check_covariates_vary(frame, self.covariates, None, self.name,
                                  "a constant covariate is collinear with the intercept.")
            check_covariates_vary(frame.assign(**{_ARM: treated}), self.covariates, _ARM,
                                  self.name, "a covariate constant within each group is "
                                  "collinear with the treated-group indicator.",
                                  shown_as=f"group of {self._group_shown()}")
        cluster_col = self.cluster or (None if p.repeated_cross_section else p.unit)
        clusters = frame[cluster_col].to_numpy() if cluster_col else np.arange(len(frame))
        n_clusters = (check_clusters(clusters, cluster_col, self.name) if cluster_col
                      else len(frame))
        means = self._means(y, treated, post, w)
        info = {"Estimator": {"reg": "regression y ~ treated * post + X",
                              "imputation": "regression imputation of Y(0) from untreated cells",
                              "or": "outcome regression (Sant'Anna & Zhao 2020)",
                              "ipw": "normalised IPW (Sant'Anna & Zhao 2020)",
                              "dr": "doubly robust (Sant'Anna & Zhao 2020)"}[method],
                "Data": "repeated cross-sections" if p.repeated_cross_section else "panel",
                "Periods": f"{self.labels['pre']} (pre) / {self.labels['post']} (post)",
                "Observations": len(frame),
                "Clusters": f"{n_clusters} ({cluster_col})" if cluster_col else "none (HC1)"}
        if p.weight:
            info["Weights"] = p.weight
        if method in ("reg", "imputation"):
            names = ["att", "treated", "post", "const", *self.covariates]
            d = treated * post
            cov = (np.column_stack([frame[c].to_numpy(dtype=float) for c in self.covariates])
                   if self.covariates else np.empty((len(y), 0)))
            X = np.column_stack([d, treated, post, np.ones(len(y)), cov])
            if method == "imputation" and self.covariates:
                # Treated-post rows get their own slopes, centred so "att" is their mean effect.
                centre = np.average(cov[d == 1], axis=0, weights=w[d == 1])
                X = np.column_stack([X, d[:, None] * (cov - centre)])
                names = names + [f"att x {c}" for c in self.covariates]
            # Weighted least squares as OLS on sqrt(w)-scaled rows (scores w x u per cluster).
            root = np.sqrt(w)
            fit = clustered_ols(y * root, X * root[:, None], clusters, names=names)
            params, std_errors = fit.params, fit.std_errors
            design = (*fit.design, names)
            info["Standard errors"] = ("CRV1, t(G-1)" if cluster_col else "HC1")
            df_resid = fit.df_resid if cluster_col else len(y) - X.shape[1]
            if se == "classical":
                dof = len(y) - X.shape[1]
                s2 = float(fit.resid @ fit.resid) / dof
                xs = X * root[:, None]
                std_errors = np.sqrt(s2 * np.diag(np.linalg.inv(xs.T @ xs)))
                info["Standard errors"] = f"classical (homoskedastic OLS), t({dof})"
                df_resid, design = dof, None
        else:
            names = ["att"]
            att, influence, clusters_if = self._influence(frame, y, post, treated, w, method,
                                                          clusters)
            codes, g = factorize(clusters_if)
            sums = np.bincount(codes, weights=influence, minlength=g)
            n = len(influence)
            att_se = np.sqrt(g / (g - 1) * np.sum(sums**2)) / n
            params, std_errors, design = [att], [att_se], None
            # With real clusters (few stations, zones) normal critical values under-cover:
            # use t(G-1) as for CRV1 (simulated on Hope in stations: 7 stations).
            df_resid = g - 1 if cluster_col else None
            info["Standard errors"] = ("influence function, clustered, t(G-1)" if cluster_col
                                       else "influence function, normal")
        scale = max(1.0, float(np.abs(y).max()))
        if np.isfinite(std_errors[0]) and std_errors[0] <= 1e-10 * scale:
            # A zero SE (outcome constant within the group x period cells, or one cluster
            # per group) would give t = +-inf or, on rounding noise, t = -3: no test at all.
            # The point estimate stays (randomisation inference uses it).
            warnings.warn(
                f"{self.name}: the standard error of the effect is zero (outcome "
                f"{self.outcome!r} does not vary within the treated/comparison x before/after "
                "cells, or each group is a single cluster): no test or confidence interval is "
                "given; use randomisation inference.", ZeroVarianceWarning, stacklevel=2)
            std_errors = [np.nan, *list(std_errors)[1:]]
        results = DiD2x2Results(
            pd.Series(params, index=names), pd.Series(std_errors, index=names),
            title=f"2x2 difference-in-differences: {self.outcome}", df_resid=df_resid,
            info=info, ledger=ledger, means=means, n_obs=len(frame), n_clusters=n_clusters,
            method=method)
        results._design = design
        return results

    def _influence(self, frame, y, post, treated, w, method, clusters):
        p = self.panel
        X = (frame[self.covariates].to_numpy(dtype=float) if self.covariates else None)
        if p.repeated_cross_section:
            res = drdid_rcs(y, post, treated, X, w, method=method)
            return res.att, res.influence, clusters
        order = np.lexsort((post, frame[p.unit].to_numpy()))
        y_sorted = y[order].reshape(-1, 2)
        pre_rows = order.reshape(-1, 2)[:, 0]
        res = drdid_panel(y_sorted[:, 1], y_sorted[:, 0], treated[pre_rows],
                          None if X is None else X[pre_rows], w[pre_rows], method=method)
        return res.att, res.influence, clusters[pre_rows]

    @staticmethod
    def _means(y, treated, post, w) -> pd.DataFrame:
        cell = 2 * treated.astype(np.int64) + post.astype(np.int64)
        sums = np.bincount(cell, weights=w * y, minlength=4) / np.bincount(cell, weights=w,
                                                                            minlength=4)
        means = pd.DataFrame(sums.reshape(2, 2), index=["comparison", "treated"],
                             columns=["pre", "post"])
        means["change"] = means["post"] - means["pre"]
        return means
