"""CohortComparison: one API for every treatment-effect estimator of a two-group comparison.

>>> cc = CohortComparison(df, group="treat", outcome=["re78", "employed78"],
...                       covariates=["age", "educ", "re74", "re75"], weight=None, cluster=None)
>>> res = cc.fit(method="aipw", estimand="ATT")          # CohortEstimateResults
>>> res.summary(); res.to_frame(); res.ledger
>>> compare_methods(df, group="treat", outcome="re78", covariates=[...])  # tidy frame

Methods (``method=``):

``"dim"``       difference in means (randomised cohorts; ATT = ATE)
``"ra"``        regression adjustment, one model per group (:mod:`evalkit.cohort.regression`)
``"ra_pooled"`` pooled regression with centred interactions, Lin (2013) HC2 SEs
``"ipw"``       inverse probability weighting, normalised weights (:mod:`evalkit.cohort.weighting`)
``"matching"``  nearest-neighbour matching, Abadie–Imbens SEs (:mod:`evalkit.cohort.matching`)
``"aipw"``      augmented IPW, doubly robust (:mod:`evalkit.cohort.aipw`)
``"ebal"``      entropy balancing, exact mean balance (:mod:`evalkit.cohort.entropy`)
``"fullmatch"`` optimal full matching on the score (:mod:`evalkit.cohort.fullmatch`)

Survey weights (``weight=``) are sampling weights in every estimator; ``cluster=`` gives
cluster-robust standard errors (sums of influence functions within clusters). Each outcome
is analysed on the persons for whom it is observed (the propensity score is re-fitted on
those rows); rows dropped for a missing outcome, zero weight, trimming or the caliper are
recorded in the results' ledger.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.cohort.aipw import aipw
from evalkit.cohort.entropy import entropy_balancing
from evalkit.cohort.fullmatch import full_matching
from evalkit.cohort.matching import nn_matching, whiten
from evalkit.cohort.propensity import (
    PropensityScore,
    PropensityScoreResults,
    check_overlap,
    estimate_logit,
    trim_sample,
)
from evalkit.cohort.regression import (
    difference_in_means,
    pooled_regression_adjustment,
    regression_adjustment,
)
from evalkit.cohort.results import CohortEstimateResults, influence_variance
from evalkit.cohort.sample import CohortSample
from evalkit.cohort.weighting import ipw as ipw_estimate
from evalkit.errors import (
    MIN_CLUSTERS,
    MIN_GROUP_SIZE,
    DataValidationError,
    EstimationError,
    FewClustersWarning,
    SmallGroupWarning,
)
from evalkit.options import check_option, choices, renamed

Method = Literal["dim", "ra", "ra_pooled", "ipw", "matching", "aipw", "ebal", "fullmatch"]
#: methods of compare_methods() unless told otherwise
COMPARED = ("dim", "ra", "ipw", "matching", "aipw")
Estimand = Literal["ATT", "ATE"]
#: Abadie–Imbens variance of the matching estimator.
MatchingSE = Literal["population", "sample"]
MatchOn = Literal["ps", "covariates"]
PsScale = Literal["logit", "probability"]
METHODS = choices(Method)
_PS_METHODS = ("ipw", "aipw", "fullmatch")


class CohortComparison:
    """Compare outcomes of a treated cohort with a comparison cohort.

    Parameters
    ----------
    data
        :class:`~evalkit.data.persons.PersonTable` or DataFrame.
    group
        Column telling treated from comparison persons (two labels). Defaults to the
        PersonTable's ``group``.
    outcome
        Outcome column or list of columns.
    covariates
        Pre-treatment covariates (categoricals expanded to k-1 dummies).
    weight
        Survey (sampling) weight column.
    cluster
        Cluster column (e.g. site, station) for clustered standard errors.
    treated
        Label of the treated group (needed unless labels are 0/1 or booleans).
    id
        Person id column of a DataFrame (optional).
    """

    @renamed(treatment="group")
    def __init__(self, data, *, group: str | None = None,
                 outcome: str | Sequence[str] | None = None,
                 covariates: Sequence[str] | None = None, weight: str | None = None,
                 cluster: str | None = None, treated=None, id: str | None = None):  # noqa: A002
        self.sample = CohortSample(data, group=group, covariates=covariates,
                                   outcomes=outcome, weight=weight, cluster=cluster,
                                   treated=treated, id=id)
        self._ps_cache: dict = {}

    @property
    def outcomes(self) -> list[str]:
        return self.sample.outcome_names

    def propensity(self, *, trim=None) -> PropensityScoreResults:
        """Fit the logit propensity score on the whole sample (see :class:`PropensityScore`)."""
        return PropensityScore(self.sample).fit(trim=trim)

    @renamed(variance="se")
    def fit(self, *, method: Method = "aipw", estimand: Estimand = "ATT", trim=None,
            n_neighbors: int = 1, match_on: str = "ps", ps_scale: str = "logit",
            metric: str = "mahalanobis", caliper: float | None = None, replace: bool = True,
            se: MatchingSE = "population", var_neighbors: int = 2,
            adjust_ps: bool = True, bias_adjust: bool = False,
            exact: Sequence[str] | None = None) -> CohortEstimateResults:
        """Estimate the ATT or ATE of every outcome with one method.

        Parameters
        ----------
        method
            ``"dim"``, ``"ra"``, ``"ra_pooled"``, ``"ipw"``, ``"matching"``, ``"aipw"``,
            ``"fullmatch"`` or ``"ebal"`` (see the module docstring).
        estimand
            ``"ATT"`` (average effect on the treated) or ``"ATE"``.
        trim
            ``None``, ``"crump"`` (Crump et al. 2009 optimal rule) or a fixed ``a`` in
            (0, 0.5) keeping ``a <= e(x) <= 1 - a``; applies to every method.
        n_neighbors, match_on, ps_scale, metric, caliper, replace, se, var_neighbors
            Matching options: ``M`` neighbours; match on the propensity score
            (``match_on="ps"``, on the ``ps_scale="logit"`` or ``"probability"`` scale) or on
            the covariates (``match_on="covariates"`` with ``metric`` "mahalanobis",
            "ivariance" or "euclidean"); ``caliper`` in standard deviations of the matching
            score (``match_on="ps"``) or in metric units (covariates); with or without
            replacement; Abadie–Imbens ``"population"`` or ``"sample"`` variance with
            ``var_neighbors`` same-group neighbours.
        adjust_ps
            When matching on the estimated score with the population variance, apply the
            Abadie & Imbens (2016) adjustment for the estimation of the score (default;
            requires every person to be matched, i.e. no caliper losses).
        bias_adjust
            Abadie & Imbens (2011) regression bias correction of the matching estimator on all
            covariates (recommended with survey weights and with several continuous
            covariates; see :func:`evalkit.cohort.matching.nn_matching`).
        exact
            Columns to match on exactly (e.g. ``["station", "sex"]``, Stata's ``ematch``):
            matches only within the same combination; persons without a counterpart in
            their stratum are left unmatched and recorded in the ledger.
        """
        method = check_option("method", method, Method)
        estimand = check_option("estimand", str(estimand).upper(), Estimand)
        check_option("se", se, MatchingSE)
        sample = self.sample
        ledger = sample.ledger.copy()
        sample.check_groups()
        zero = sample.s == 0
        if zero.any():
            ledger.record("zero weight", "survey weight equal to 0", int(zero.sum()),
                          int(zero.sum()))
        bounds = None
        if zero.any():
            sample = sample.subset(~zero)
        if trim is not None:
            sample, bounds = trim_sample(sample, trim, ledger)
        if sample.cluster is not None:
            _check_clusters(sample)
        labels = (sample.treated_label, sample.control_label)
        n, k = sample.n, len(sample.outcome_names)
        psi = np.zeros((n, k))
        rows_before, persons_before = ledger.n_rows, ledger.n_persons
        records, first_ps, matched = [], None, {}
        for col, name in enumerate(sample.outcome_names):
            rows = sample.outcome_rows(name)
            n_missing = int((~rows).sum())
            if n_missing:
                ledger.record(f"outcome {name}", f"outcome {name!r} missing", n_missing,
                              n_missing, rows_after=rows_before - n_missing,
                              persons_after=persons_before - n_missing)
            sub = sample.subset(rows)
            sub.check_groups()
            _check_group_sizes(sub, method, estimand, name)
            logit = None
            if method in _PS_METHODS or (method == "matching" and match_on == "ps"):
                # the score depends only on the rows used: fitted once per model and sample
                key = (repr(trim), rows.tobytes())
                if key not in self._ps_cache:
                    sub.check_covariates()
                    self._ps_cache[key] = estimate_logit(sub.x, sub.d, sub.s,
                                                         sub.covariate_names)
                logit = self._ps_cache[key]
                check_overlap(logit, sub.d, sub.s, sub.covariate_names, estimand)
                if first_ps is None:
                    first_ps = (logit, sub)
            elif method in ("ra", "ra_pooled", "matching", "ebal", "fullmatch"):
                sub.check_covariates()
            y = sub.y[name]
            if method == "dim":
                est = difference_in_means(y, sub.d, sub.s, hc2=sub.cluster is None)
            elif method == "ra":
                est = regression_adjustment(y, sub.d, sub.x, sub.s, estimand,
                                            sub.covariate_names, labels)
                # Checked for overlap like the score methods (after the regression's own
                # checks): under separation its predictions for one group extrapolate beyond
                # the other group's support.
                key = (repr(trim), rows.tobytes())
                if key not in self._ps_cache:
                    self._ps_cache[key] = estimate_logit(sub.x, sub.d, sub.s,
                                                         sub.covariate_names)
                check_overlap(self._ps_cache[key], sub.d, sub.s, sub.covariate_names, estimand)
            elif method == "ra_pooled":
                est = pooled_regression_adjustment(y, sub.d, sub.x, sub.s, estimand,
                                                   sub.covariate_names,
                                                   hc2=sub.cluster is None)
            elif method == "fullmatch":
                est = full_matching(y, sub.d, sub.s, _ps_scale(logit, ps_scale), estimand)
            elif method == "ebal":
                est = entropy_balancing(y, sub.d, sub.x, sub.s, estimand,
                                        sub.covariate_names, labels)
            elif method == "ipw":
                est = ipw_estimate(y, sub.d, sub.s, logit, estimand, labels)
            elif method == "aipw":
                est = aipw(y, sub.d, sub.x, sub.s, logit, estimand, sub.covariate_names, labels)
            else:
                est = self._matching(sub, y, logit, estimand, ledger, name, n_neighbors,
                                     match_on, ps_scale, metric, caliper, replace, se,
                                     var_neighbors, adjust_ps, bias_adjust, exact)
            psi[rows, col] = est.psi
            n_t, n_c = int((sub.d == 1).sum()), int((sub.d == 0).sum())
            if method == "fullmatch":
                est.details.pop("n_control_used")
                matched[name] = (sub, est.details.pop("match_weight"),
                                 est.details.pop("subclass"))
            if method == "matching":
                unmatched = est.details.pop("unmatched")
                n_t -= int((unmatched & (sub.d == 1)).sum())
                n_c -= int((unmatched & (sub.d == 0)).sum())
                used_controls = est.details.pop("n_control_used")
                if estimand == "ATT":  # comparison persons actually matched
                    n_c = used_controls
                matched[name] = (sub, est.details.pop("match_weight"),
                                 est.details.pop("subclass"))
            ess_t, ess_c = est.ess_treated, est.ess_control
            records.append({"outcome": name, "estimate": est.tau, "y1": est.y1, "y0": est.y0,
                            "n_treated": n_t, "n_control": n_c,
                            "ess_treated": ess_t, "ess_control": ess_c, **est.details})
        table = pd.DataFrame(records).set_index("outcome")
        std_errors = np.sqrt(influence_variance(psi, sample.cluster))
        if method == "matching":
            info_method = {"Matching": f"{n_neighbors} neighbour(s) on "
                           + (f"the {ps_scale} propensity score" if match_on == "ps"
                              else f"covariates ({metric})")
                           + (f", exactly on {', '.join(exact)}" if exact else "")
                           + (", bias-corrected (Abadie-Imbens 2011)" if bias_adjust else "")
                           + ("" if replace else ", without replacement")}
        else:
            info_method = {}
        info = {
            **info_method,
            "Treatment": f"{sample.group} = {sample.treated_label!r} vs "
                         f"{sample.control_label!r}",
            "Covariates": len(sample.covariate_names),
            "Persons": n,
            "Weights": sample.weight_column or "none",
            "Std. errors": _se_label(method, se, sample,
                                     "ps_adjustment" in table
                                     and bool(np.isfinite(table["ps_adjustment"]).all())),
        }
        ps_results = None
        if first_ps is not None:
            ps_results = PropensityScoreResults(first_ps[0], first_ps[1],
                                                bounds, ledger)
        count_cols = ["n_treated", "n_control", "ess_treated", "ess_control"]
        details = table.drop(columns=["estimate", "y1", "y0", *count_cols]).to_dict("index")
        return CohortEstimateResults(
            table["estimate"], pd.Series(std_errors, index=table.index), method=method,
            estimand=estimand, counts=table[count_cols].astype(float),
            potential_outcomes=table[["y1", "y0"]], influence=psi,
            row_index=sample.row_index, cluster_codes=sample.cluster, propensity=ps_results,
            ledger=ledger, info=info, details=details, matched=matched or None)

    def _matching(self, sub, y, logit, estimand, ledger, name, n_neighbors, match_on, ps_scale,
                  metric, caliper, replace, se, var_neighbors, adjust_ps, bias_adjust,
                  exact):
        if match_on == "ps":
            z = _ps_scale(logit, ps_scale)
            width = 0.0 if caliper is None else float(caliper) * z.std(ddof=1)
        elif match_on == "covariates":
            z = whiten(sub.x, metric)
            width = 0.0 if caliper is None else float(caliper)
        else:
            check_option("match_on", match_on, MatchOn)
        est, unmatched = nn_matching(y, sub.d, sub.s, z, estimand, n_neighbors=n_neighbors,
                                     caliper=width, replace=replace, variance=se,
                                     var_neighbors=var_neighbors,
                                     score=logit if match_on == "ps" and adjust_ps else None,
                                     bias_x=sub.x if bias_adjust else None,
                                     strata=None if not exact else sub.strata(list(exact)))
        if unmatched.any():
            why = []
            if caliper is not None:
                why.append(f"within the caliper ({caliper} "
                           f"{'SD of the score' if match_on == 'ps' else 'distance units'})")
            if exact:
                why.append(f"with the same {', '.join(exact)}")
            ledger.record(f"unmatched {name}", f"no match {' or '.join(why)}; the effect is for "
                          "matched persons only", int(unmatched.sum()), int(unmatched.sum()),
                          rows_after=ledger.n_rows - int(unmatched.sum()))
        est.details["unmatched"] = unmatched
        return est

    def compare(self, methods: Sequence[Method] = COMPARED, *, estimand: Estimand = "ATT",
                level: float = 0.95, **options) -> pd.DataFrame:
        """Run several methods and stack their :meth:`CohortEstimateResults.to_frame` rows.

        ``options`` are passed to :meth:`fit` (matching options are ignored by the other
        methods). Returns one row per (method, outcome).
        """
        frames = []
        for method in methods:
            res = self.fit(method=method, estimand=estimand, **options)
            frames.append(res.to_frame(level).reset_index())
        return pd.concat(frames, ignore_index=True)


@renamed(treatment="group")
def compare_methods(data, *, group=None, outcome=None, covariates=None, weight=None,
                    cluster=None, methods: Sequence[Method] = COMPARED,
                    estimand: Estimand = "ATT", treated=None, level: float = 0.95,
                    **options) -> pd.DataFrame:
    """Tidy frame of several methods (and every outcome) for a report table.

    Equivalent to ``CohortComparison(...).compare(methods, estimand=..., **options)``.
    """
    model = CohortComparison(data, group=group, outcome=outcome, covariates=covariates,
                             weight=weight, cluster=cluster, treated=treated)
    return model.compare(methods, estimand=estimand, level=level, **options)


def _check_clusters(sample: CohortSample) -> None:
    """Refuse a single cluster; warn (the did package's FewClustersWarning) below 30."""
    n_clusters = len(np.unique(sample.cluster))
    if n_clusters < 2:
        raise DataValidationError(
            f"cluster column {sample.cluster_column!r} holds a single cluster: cluster-robust "
            "standard errors need at least two (in practice 30 or more). Cluster at a finer "
            "level or drop cluster=.")
    if n_clusters < MIN_CLUSTERS:
        warnings.warn(
            f"only {n_clusters} clusters in {sample.cluster_column!r}: cluster-robust standard "
            f"errors need many clusters and are biased downwards with fewer than {MIN_CLUSTERS} "
            "(confidence intervals too narrow). Report them as indicative, or compare with a "
            "design-based analysis at the cluster level.",
            FewClustersWarning, stacklevel=3)


def _ps_scale(logit, ps_scale: str) -> np.ndarray:
    if check_option("ps_scale", ps_scale, PsScale) == "logit":
        return logit.logit
    return logit.ps


def _check_group_sizes(sub: CohortSample, method: str, estimand: str, outcome: str) -> None:
    """Refuse groups too small to estimate a variance; warn under MIN_GROUP_SIZE persons.

    Every method needs 2 persons per group (with one treated person the treated
    part of the influence function is identically zero and the standard error
    only reflects the comparison group: p-values of 1e-12 on noise). Outcome
    regressions (``ra``; ``aipw``) also need more persons than parameters in each
    group whose outcome model is fitted (the comparison group for the ATT, both
    for the ATE).
    """
    n_t = int(((sub.d == 1) & (sub.s > 0)).sum())
    n_c = int(((sub.d == 0) & (sub.s > 0)).sum())
    sizes = f"{n_t} treated and {n_c} comparison person(s) with outcome {outcome!r}"
    if min(n_t, n_c) < 2:
        raise EstimationError(
            f"{sizes}: a group with fewer than 2 persons has no variance, so no standard "
            "error or test can be given. Pool groups or report descriptive figures only."
        )
    if method in ("ra", "ra_pooled", "aipw"):
        n_params = len(sub.covariate_names) + 1
        fitted = {"comparison": n_c} if estimand == "ATT" and method == "ra" else {
            "treated": n_t, "comparison": n_c}
        short = [g for g, n in fitted.items() if n <= n_params]
        if short:
            raise EstimationError(
                f"{sizes}: the outcome regression of the {' and '.join(short)} group needs "
                f"more persons than its {n_params} parameters (intercept and covariates). "
                "Use fewer covariates or method='dim'."
            )
    if min(n_t, n_c) < MIN_GROUP_SIZE:
        warnings.warn(
            f"{sizes}: with fewer than {MIN_GROUP_SIZE} persons in a group, normal-approximation "
            "p-values and confidence intervals are unreliable (consider randomisation "
            "inference).", SmallGroupWarning, stacklevel=4)


def _se_label(method, variance, sample, score_adjusted: bool = False) -> str:
    clustered = sample.cluster is not None
    labels = {
        "matching": f"Abadie-Imbens ({variance})",
        "fullmatch": "stratified by matched set (sets fixed)",
        "dim": "robust (unequal variances)" if clustered
        else "HC2 (Welch / Neyman, unequal variances)",
        "ra_pooled": "robust (pooled regression, Lin 2013)" if clustered
        else "HC2 of the pooled regression (Lin 2013), covariate means fixed",
    }
    base = labels.get(method, "influence function (sandwich)")
    if score_adjusted and variance == "population":
        base += ", adjusted for the estimated score (Abadie-Imbens 2016)"
    if sample.cluster is not None:
        base += f", clustered by {sample.cluster_column} ({int(sample.cluster.max()) + 1} "
        base += "clusters)"
        if method == "matching":
            base += " [heuristic for matching]"
    return base
