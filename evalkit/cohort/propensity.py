"""Propensity score: logit model of group membership, overlap diagnostics and trimming.

The propensity score ``e(x) = P(treated | x)`` is a logit fitted by maximum likelihood
(Newton-Raphson on the normal equations; the tests check it against statsmodels ``Logit`` and
``GLM(Binomial)`` to 1e-8 -- statsmodels itself is too slow at a million persons). Survey
weights enter the likelihood as frequency weights -- the point estimates are the weighted
(pseudo-)maximum-likelihood ones, identical with ``var_weights``; standard errors of the coefficients are *not* the frequency-weight ones but the sandwich
(linearisation) ones ``H^-1 (sum_i s_i^2 (d_i - e_i)^2 x_i x_i') H^-1`` with
``H = sum_i s_i e_i (1 - e_i) x_i x_i'``, i.e. weights are treated as sampling weights, as
Stata does with ``pweight``. The per-person logit influence ``H^-1 s_i (d_i - e_i) x_i`` is
what the IPW and AIPW estimators use to account for the estimated score.

Trimming rules
--------------
* ``trim="crump"``: the optimal rule of Crump, Hotz, Imbens & Mitnik (2009, *Biometrika*
  96:187-199): keep ``alpha <= e(x) <= 1 - alpha`` where ``alpha`` solves
  ``1/(alpha (1-alpha)) = 2 E[1/(e(1-e)) | 1/(e(1-e)) <= 1/(alpha(1-alpha))]`` (no trimming when
  ``sup 1/(e(1-e)) <= 2 E[1/(e(1-e))]``).
* ``trim=a`` (a float in (0, 0.5)): fixed bounds ``[a, 1 - a]`` (e.g. 0.1, the rule of thumb
  of the same paper).

Trimming applies after the fit: bounds come from the score fitted on everyone (whatever its
overlap), trimmed persons are recorded in the exclusion ledger and the score is re-estimated
on the kept sample.

Overlap follows the estimand (:func:`overlap_problems`): the ATT refuses scores at 1 only,
since comparison persons with scores near 0 get vanishing weights ``e/(1-e)``; the ATE
refuses scores at 0 or 1. :meth:`PropensityScore.fit` never refuses for overlap: it warns
(:class:`~evalkit.errors.OverlapWarning`) and returns, so overlap can be inspected.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from evalkit.cohort.results import influence_variance
from evalkit.cohort.sample import CohortSample
from evalkit.data.validation import show_values
from evalkit.errors import ConfigError, EstimationError, OverlapError, OverlapWarning
from evalkit.options import renamed
from evalkit.results import EstimateResults

#: Scores closer than this to 0 or 1 are treated as "at the boundary" (no overlap).
BOUNDARY = 1e-8
#: Above this many rows the logit starts from a fit on a systematic subsample of this size.
WARM_START_ROWS = 100_000


@dataclass
class LogitFit:
    """A fitted logit on arrays (design includes the intercept as first column)."""

    beta: np.ndarray
    ps: np.ndarray
    design: np.ndarray
    hessian_inv: np.ndarray
    influence: np.ndarray  # n x p, H^-1 s_i (d_i - e_i) x_i
    converged: bool = True
    separating: list = field(default_factory=list)

    @property
    def logit(self) -> np.ndarray:
        return self.design @ self.beta


def with_intercept(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(x.shape[0]), x])


def separating_covariates(x: np.ndarray, d: np.ndarray, names: Sequence[str]) -> list[str]:
    """Covariates that alone (quasi-)separate the groups.

    A covariate separates when the treated and comparison ranges do not overlap
    (``max`` of one group ``<=`` ``min`` of the other); for a 0/1 dummy this means that
    one of its values occurs in a single group only.
    """
    if x.shape[1] == 0:
        return []
    low, high = x.min(axis=0), x.max(axis=0)
    xt, xc = x[d == 1], x[d == 0]
    t_min, t_max, c_min, c_max = xt.min(axis=0), xt.max(axis=0), xc.min(axis=0), xc.max(axis=0)
    disjoint = (t_max <= c_min) | (c_max <= t_min)
    dummy = np.all((x == low) | (x == high), axis=0)
    # a dummy level present in one group only: that group's min or max misses it
    level_missing = (t_min != low) | (t_max != high) | (c_min != low) | (c_max != high)
    separating = disjoint | (dummy & level_missing)
    return [name for name, flag in zip(names, separating, strict=True) if flag]


def newton_logit(design: np.ndarray, d: np.ndarray, s: np.ndarray, names: Sequence[str],
                 maxiter: int = 100, tol: float = 1e-11) -> tuple[np.ndarray, bool]:
    """Weighted logit maximum likelihood by Newton-Raphson with step halving.

    Maximises ``sum s [d eta - log(1 + exp eta)]``, ``eta = design @ beta``. Columns are
    rescaled internally so that dollar amounts and their squares do not spoil the
    conditioning. Each iteration costs one ``p x p`` cross-product, so a million persons
    take a few seconds (statsmodels' GLM IRLS, with an SVD per iteration and rank checks,
    took ~7 s per 100,000 persons on the shared test machine); the estimates equal
    statsmodels' to 1e-8 (tests).

    Returns ``(beta, converged)``. Under (quasi-)separation the likelihood has no maximum:
    coefficients drift towards infinity and the Hessian degenerates; the iterations then
    stop with ``converged=False`` and the last coefficients, so that the caller decides
    whether the fit is usable for its estimand (:func:`check_overlap`).
    """
    scale = np.abs(design).max(axis=0)
    scale[scale == 0] = 1.0
    z = design / scale
    beta = np.zeros(z.shape[1])
    share = np.dot(s, d) / s.sum()
    beta[0] = np.log(share / (1 - share))  # the intercept column is not rescaled (max = 1)
    if len(d) > WARM_START_ROWS:
        # a systematic subsample gets Newton close; the full data then needs 2-3 steps
        every = len(d) // WARM_START_ROWS + 1
        sub = slice(None, None, every)
        with np.errstate(all="ignore"):
            warm, _ = newton_logit(design[sub], d[sub], s[sub], names, maxiter=25, tol=1e-6)
        if np.all(np.isfinite(warm)):
            beta = warm * scale

    def loglik(b):
        eta = z @ b
        return np.dot(s, d * eta - np.logaddexp(0.0, eta))

    current = loglik(beta)
    converged = False
    for iteration in range(maxiter):
        ps = expit(z @ beta)
        grad = z.T @ (s * (d - ps))
        hessian = z.T @ (z * (s * ps * (1 - ps))[:, None])
        try:
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError as exc:
            if iteration == 0:
                raise EstimationError(
                    "the propensity-score design is singular: collinear covariates among "
                    f"{show_values(names)}.") from exc
            break  # weights p(1-p) vanished: separation, reported by the caller
        t = 1.0
        while True:
            candidate = beta + t * step
            value = loglik(candidate)
            if value >= current - 1e-12 * abs(current) or t < 1e-10:
                break
            t /= 2
        beta, current = candidate, value
        if np.max(np.abs(t * step)) < tol * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
    if not np.all(np.isfinite(beta)):
        raise EstimationError(
            "the propensity-score logit did not converge to finite coefficients; check for "
            f"collinear or separating covariates among {show_values(names)}.")
    return beta / scale, converged


def estimate_logit(x: np.ndarray, d: np.ndarray, s: np.ndarray, names: Sequence[str]
                   ) -> LogitFit:
    """Weighted logit of ``d`` on ``[1, x]`` (maximum likelihood, :func:`newton_logit`).

    Never refuses for lack of overlap: the fit records whether Newton converged and which
    covariates alone separate the groups, and :func:`check_overlap` (estimators) or
    :func:`overlap_problems` (diagnostics) judge it. Raises only for a singular design.
    """
    design = with_intercept(x)
    used = s > 0
    separating = separating_covariates(x[used], d[used], names) if x.shape[1] else []
    beta, converged = newton_logit(design, d, s, names)
    ps = expit(design @ beta)
    w = s * ps * (1 - ps)
    hessian = design.T @ (design * w[:, None])
    try:
        hessian_inv = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        if converged:
            raise EstimationError(
                f"the propensity-score design is singular: collinear covariates among "
                f"{show_values(names)}.") from None
        hessian_inv = np.linalg.pinv(hessian)  # diverged fit: for inspection only
    influence = (design * (s * (d - ps))[:, None]) @ hessian_inv
    return LogitFit(beta, ps, design, hessian_inv, influence, converged, separating)


def overlap_problems(fit: LogitFit, d: np.ndarray, s: np.ndarray, names: Sequence[str],
                     estimand: str | None = None) -> list[str]:
    """Reasons why ``fit`` cannot serve the ``estimand`` (empty list: usable).

    What is refused is a score at the boundary *that carries weight* for the estimand:

    * ATT: scores at 1 (a treated person at 1 has no comparable comparison person; a
      comparison person at 1 would get the weight ``e/(1-e)`` -> infinity). Comparison
      persons at 0 are harmless: their ATT weight ``e/(1-e)`` vanishes (NSW vs CPS-1:
      58 such men carry 3e-7 of the treated group's weight), even when the logit
      coefficients of a region without treated persons drift without converging.
    * ATE, or ``None`` (any use of the score, e.g. response weights ``1/e``): any score at 0
      or 1, since ``1/e`` or ``1/(1-e)`` explodes.
    * ``"any"`` (diagnostics): also separation or non-convergence without boundary scores.

    Separating covariates and non-convergence are named as the cause.
    """
    used = s > 0
    low = used & (fit.ps < BOUNDARY)
    high = used & (fit.ps > 1 - BOUNDARY)
    bad = high if estimand == "ATT" else low | high
    problems = []
    if bad.any():
        n_t, n_c = int((bad & (d == 1)).sum()), int((bad & (d == 0)).sum())
        where = "at 1" if estimand == "ATT" else "at 0 or 1"
        problems.append(
            f"propensity scores {where} for {n_t} treated and {n_c} comparison person(s): "
            "they have no counterpart in the other group")
    elif estimand != "any":
        return problems
    if fit.separating:
        problems.append(
            f"covariate(s) {show_values(fit.separating)} alone separate treated from "
            "comparison persons (their ranges, or one of their categories, occur in one group "
            "only)")
    if not fit.converged:
        problems.append(
            "the logit did not converge (coefficients drift to infinity: a combination of "
            "covariates separates the groups)")
    return problems


def check_overlap(fit: LogitFit, d: np.ndarray, s: np.ndarray, names: Sequence[str],
                  estimand: str | None = None) -> None:
    """Raise :class:`OverlapError` when ``fit`` cannot serve ``estimand`` (see
    :func:`overlap_problems`), with remedies that work: trimming is applied after the fit
    (the persons at the boundary are dropped, then the score is re-estimated on the rest)."""
    problems = overlap_problems(fit, d, s, names, estimand)
    if not problems:
        return
    design = fit.design
    z = np.abs(fit.beta[1:]) * design[:, 1:].std(axis=0)
    worst = [names[j] for j in np.argsort(-z)[:3]]
    drop = (f"drop or coarsen {show_values(fit.separating)}" if fit.separating
            else f"simplify the score model (largest standardised coefficients: "
                 f"{show_values(worst)})")
    raise OverlapError(
        "; ".join(problems) + ". Remedies: trim the sample (trim='crump', or trim=0.01 to "
        "keep 0.01 <= e(x) <= 0.99; persons outside are dropped after the fit and recorded), "
        f"{drop}, or restrict the sample to persons comparable with the other group. "
        "Inspect overlap with PropensityScore(...).fit().plot()."
    )


def fit_logit(x: np.ndarray, d: np.ndarray, s: np.ndarray, names: Sequence[str],
              estimand: str | None = None) -> LogitFit:
    """:func:`estimate_logit` followed by :func:`check_overlap` for ``estimand``.

    Raises
    ------
    OverlapError
        Separation, non-convergence, or scores at the boundary that carry weight for the
        estimand, naming the covariate(s) responsible when a single one separates the groups.
    """
    fit = estimate_logit(x, d, s, names)
    check_overlap(fit, d, s, names, estimand)
    return fit


def crump_alpha(ps: np.ndarray, s: np.ndarray | None = None) -> float:
    """Optimal trimming threshold of Crump, Hotz, Imbens & Mitnik (2009).

    With ``g = 1/(e(1-e))`` sorted increasingly and ``m_k`` the (weighted) mean of the
    ``k`` smallest, ``gamma`` is ``2 m_k`` at the largest ``k`` with ``g_(k) <= 2 m_k``;
    ``alpha = 1/2 - sqrt(1/4 - 1/gamma)``. Returns 0 when no trimming is needed.
    """
    s = np.ones_like(ps) if s is None else s
    ps = np.clip(ps, 1e-12, 1 - 1e-12)  # scores at the boundary: huge, not infinite, g
    g = 1.0 / (ps * (1.0 - ps))
    order = np.argsort(g)
    g, w = g[order], s[order]
    if g[-1] <= 2 * np.average(g, weights=w):
        return 0.0
    cum_mean = np.cumsum(g * w) / np.cumsum(w)
    ok = np.flatnonzero(g <= 2 * cum_mean)
    gamma = 2 * cum_mean[ok[-1]]
    return float(0.5 - np.sqrt(max(0.25 - 1.0 / gamma, 0.0)))


def trim_bounds(ps: np.ndarray, s: np.ndarray, rule) -> tuple[float, float]:
    """``(low, high)`` bounds for the rule ``"crump"`` or a fixed ``a`` in (0, 0.5)."""
    if isinstance(rule, str):
        if rule.lower() != "crump":
            raise ConfigError(f"trim={rule!r}: use 'crump', a number a in (0, 0.5), or None.")
        alpha = crump_alpha(ps, s)
    else:
        alpha = float(rule)
        if not 0 < alpha < 0.5:
            raise ConfigError(f"trim={rule!r}: a fixed bound must lie in (0, 0.5).")
    return alpha, 1.0 - alpha


class PropensityScoreResults(EstimateResults):
    """A fitted propensity score with overlap diagnostics.

    Attributes
    ----------
    params, std_errors
        Logit coefficients (``const`` then covariates) with sandwich SEs (clustered if the
        sample has clusters).
    ps, logit
        Fitted scores and linear predictors for the kept rows (aligned with ``row_index``).
    d, s
        Treatment indicator and weights of the kept rows.
    trim_bounds
        ``(low, high)`` used for trimming, or ``None``.
    """

    def __init__(self, fit: LogitFit, sample: CohortSample, trim: tuple | None, ledger):
        names = ["const", *sample.covariate_names]
        cov = fit.influence.T @ fit.influence if sample.cluster is None else None
        if cov is not None:
            se = np.sqrt(np.diag(cov))
        else:
            se = np.sqrt(influence_variance(fit.influence, sample.cluster))
        super().__init__(pd.Series(fit.beta, index=names), pd.Series(se, index=names),
                         title="Propensity score (logit)", ledger=ledger,
                         info={"Treated": f"{sample.treated_label!r}",
                               "Persons": len(sample.d),
                               "Trimming bounds": "none" if trim is None
                               else f"[{trim[0]:.4f}, {trim[1]:.4f}]"})
        self.fit_ = fit
        self.sample = sample
        self.ps = fit.ps
        self.logit = fit.logit
        self.d = sample.d
        self.s = sample.s
        self.row_index = sample.row_index
        self.trim_bounds = trim

    def common_support(self) -> tuple[float, float]:
        """``[max(min e_T, min e_C), min(max e_T, max e_C)]`` over persons with positive weight."""
        pos = self.s > 0
        t, c = pos & (self.d == 1), pos & (self.d == 0)
        return (max(self.ps[t].min(), self.ps[c].min()), min(self.ps[t].max(), self.ps[c].max()))

    def overlap(self) -> pd.DataFrame:
        """Overlap table by group: n, weighted mean/min/max score, share outside common support."""
        low, high = self.common_support()
        outside = (self.ps < low) | (self.ps > high)
        rows = {}
        for label, value in ((self.sample.treated_label, 1), (self.sample.control_label, 0)):
            g = self.d == value
            w = self.s[g]
            rows[label] = {
                "n": int(g.sum()),
                "mean_ps": float(np.average(self.ps[g], weights=w)),
                "min_ps": float(self.ps[g].min()),
                "max_ps": float(self.ps[g].max()),
                "n_outside_support": int(outside[g].sum()),
                "share_outside_support": float(np.average(outside[g], weights=w)),
            }
        frame = pd.DataFrame(rows).T
        frame.index.name = self.sample.group
        return frame

    def plot(self, *, scale: str = "probability", bins: int = 40, ax=None,
             group_names: Mapping | None = None, xlabel: str | None = None,
             ylabel: str = "density", support_label: str = "common support",
             count_format: str | Callable[[str, int], str] = "{name} (n={n})"):
        """Weighted histograms (densities) of the score by group, common support shaded.

        ``scale="logit"`` draws the linear predictor instead.

        Parameters
        ----------
        group_names
            Legend names of the groups, keyed by their labels in the data
            (``{1: "integrated", 0: "comparison"}``) or by ``"treated"`` /
            ``"control"``; default: the labels themselves.
        xlabel, ylabel, support_label
            Axis labels and the legend entry of the common-support band
            (default x label: English name of the scale).
        count_format
            Legend entry of a group from its ``name`` and size ``n``: a format
            string (``"{name}"`` hides the size) or a function ``(name, n) ->
            str`` (e.g. to format ``n`` in the reader's locale).
        """
        import matplotlib.pyplot as plt

        names = dict(group_names or {})
        entry = count_format if callable(count_format) else (
            lambda name, n: count_format.format(name=name, n=n))
        values = self.ps if scale == "probability" else self.logit
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 4.0))
        else:
            fig = ax.figure
        edges = np.histogram_bin_edges(values, bins=bins)
        for role, label, value, color in (("treated", self.sample.treated_label, 1, "C1"),
                                          ("control", self.sample.control_label, 0, "C0")):
            g = self.d == value
            name = names.get(label, names.get(role, label))
            ax.hist(values[g], bins=edges, weights=self.s[g], density=True, alpha=0.5,
                    color=color, label=entry(name, int(g.sum())))
        low, high = self.common_support()
        if scale != "probability":
            low, high = np.log(low / (1 - low)), np.log(high / (1 - high))
        ax.axvspan(low, high, color="0.9", zorder=0, label=support_label)
        if xlabel is None:
            xlabel = "propensity score" if scale == "probability" else "logit propensity score"
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
        return fig


class PropensityScore:
    """Logit propensity score of belonging to the treated group.

    Parameters
    ----------
    data
        :class:`~evalkit.data.persons.PersonTable` or DataFrame.
    group
        Column telling treated from comparison persons (two labels); ``treated`` names
        the treated label unless they are 0/1.
    covariates
        Covariates of the score model (categoricals are expanded to dummies).
    weight
        Survey weight column (see module notes for how weights enter).
    cluster
        Cluster column, for clustered coefficient SEs.

    Examples
    --------
    >>> res = PropensityScore(df, group="treat", covariates=["age", "educ"]).fit(trim="crump")
    >>> res.overlap()
    >>> res.plot()
    """

    @renamed(treatment="group")
    def __init__(self, data, *, group: str | None = None, covariates=None, weight=None,
                 cluster=None, treated=None, id=None):  # noqa: A002
        if isinstance(data, CohortSample):
            self.sample = data
        else:
            self.sample = CohortSample(data, group=group, covariates=covariates,
                                       outcomes=[], weight=weight, cluster=cluster,
                                       treated=treated, id=id, allow_no_outcome=True)

    def fit(self, *, trim=None) -> PropensityScoreResults:
        """Fit the logit; with ``trim`` ("crump" or a in (0, 0.5)) drop persons outside the
        bounds computed from this fit (recorded in the ledger) and refit on the rest.

        Always returns when the design is estimable, so that overlap can be inspected and
        plotted: separation, non-convergence and scores at 0 or 1 raise an
        :class:`~evalkit.errors.OverlapWarning` (the estimators refuse them where they
        matter for the estimand, see :func:`check_overlap`).
        """
        ledger = self.sample.ledger.copy()
        sample = self.sample
        bounds = None
        sample.check_groups()
        sample.check_covariates(sample.s > 0)
        if trim is not None:
            sample, bounds = trim_sample(sample, trim, ledger)
            sample.check_covariates(sample.s > 0)
        fit = estimate_logit(sample.x, sample.d, sample.s, sample.covariate_names)
        problems = overlap_problems(fit, sample.d, sample.s, sample.covariate_names, "any")
        if problems:
            warnings.warn("; ".join(problems) + ". Inspect overlap with .overlap() and .plot(). "
                          "Comparison persons at 0 carry no weight for the ATT; the estimators "
                          "refuse scores at 1 (ATT) or at 0 or 1 (ATE), for which trim='crump' "
                          "or trim=a drops persons outside the bounds.",
                          OverlapWarning, stacklevel=2)
        return PropensityScoreResults(fit, sample, bounds, ledger)


def trim_sample(sample: CohortSample, trim, ledger) -> tuple[CohortSample, tuple[float, float]]:
    """Fit the score on ``sample``, drop persons outside the ``trim`` bounds (recorded in
    ``ledger``) and return the kept sample with the bounds; the caller refits on it.

    The first fit is not checked for overlap: trimming is the remedy for scores at 0 or 1,
    and a separating fit still orders persons by their score.
    """
    sample.check_groups()
    sample.check_covariates(sample.s > 0)
    fit = estimate_logit(sample.x, sample.d, sample.s, sample.covariate_names)
    low, high = trim_bounds(fit.ps, sample.s, trim)
    outside = (fit.ps < low) | (fit.ps > high)
    if outside.any():
        rule = "Crump et al. 2009 rule" if isinstance(trim, str) else "fixed bounds"
        ledger.record("trimming", f"propensity score outside [{low:.4f}, {high:.4f}] ({rule})",
                      int(outside.sum()), int(outside.sum()))
    kept = sample.subset(~outside)
    kept.check_groups()
    return kept, (low, high)
