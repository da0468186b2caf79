"""Results of cohort comparisons (treatment-effect estimates for one or several outcomes).

Every estimator in :mod:`evalkit.cohort` returns a :class:`CohortEstimateResults`: one
estimate per outcome, with standard errors computed from per-person *influence
functions* ``psi`` scaled so that ``estimate - truth ≈ sum_i psi_i``. Then

* ``Var = sum_i psi_i**2`` (heteroskedasticity-robust, HC0 / "linearisation"), or
* ``Var = G/(G-1) * sum_g (sum_{i in g} psi_i)**2`` with ``cluster=`` (G clusters),

and multiplicity procedures (Romano–Wolf) can draw multiplier-bootstrap replicates of all
outcomes jointly from the same matrix (:meth:`CohortEstimateResults.multiplier_draws`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalkit.options import renamed
from evalkit.results import EstimateResults


def influence_variance(psi: np.ndarray, cluster: np.ndarray | None = None) -> np.ndarray:
    """Variance of each column of the influence matrix ``psi`` (n x k).

    Parameters
    ----------
    psi
        Influence functions, already scaled so that the estimator minus its
        probability limit is ``sum_i psi_i`` (rows = persons, columns = outcomes).
    cluster
        Integer cluster codes (0..G-1) per row, or ``None`` for independent rows.

    Returns
    -------
    ndarray
        ``sum_i psi_i^2`` per column, or the cluster-robust
        ``G/(G-1) sum_g (sum_{i in g} psi_i)^2`` (Liang–Zeger with the usual
        small-G factor, as Stata's ``vce(cluster)`` applies to M-estimators).
    """
    psi = np.asarray(psi, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    if cluster is None:
        return np.einsum("ij,ij->j", psi, psi)
    sums = cluster_sums(psi, cluster)
    g = sums.shape[0]
    factor = g / (g - 1) if g > 1 else np.nan
    return factor * np.einsum("ij,ij->j", sums, sums)


def cluster_sums(psi: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Sum the rows of ``psi`` within each cluster code (returns G x k)."""
    psi = np.asarray(psi, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    n_clusters = int(cluster.max()) + 1 if len(cluster) else 0
    out = np.zeros((n_clusters, psi.shape[1]))
    np.add.at(out, cluster, psi)
    return out


class CohortEstimateResults(EstimateResults):
    """Treatment-effect estimates (ATT or ATE) of one method for one or several outcomes.

    Attributes
    ----------
    params, std_errors
        One entry per outcome (index = outcome names).
    method, estimand
        E.g. ``"aipw"``, ``"ATT"``.
    counts
        Frame indexed by outcome: ``n_treated``, ``n_control`` (persons used; after
        nearest-neighbour matching for the ATT, the distinct comparison persons matched), and for
        weighting estimators the Kish effective sample sizes ``ess_treated`` /
        ``ess_control`` of the weights actually applied.
    potential_outcomes
        Frame indexed by outcome with the estimated means ``y1`` (treated potential
        outcome) and ``y0`` (counterfactual) in the target population.
    influence
        ``n x k`` influence matrix (rows aligned with :attr:`row_index`); ``None`` when
        not available.
    row_index
        Index labels of the analysed rows in the caller's data.
    cluster_codes
        Integer cluster code per analysed row, or ``None``.
    propensity
        The :class:`~evalkit.cohort.propensity.PropensityScoreResults` used, if any.
    ledger
        Every row excluded on the way (input validation, trimming, missing outcomes,
        caliper).
    """

    def __init__(
        self,
        params: pd.Series,
        std_errors: pd.Series,
        *,
        method: str,
        estimand: str,
        counts: pd.DataFrame,
        potential_outcomes: pd.DataFrame | None = None,
        influence: np.ndarray | None = None,
        row_index: pd.Index | None = None,
        cluster_codes: np.ndarray | None = None,
        propensity=None,
        ledger=None,
        info: dict | None = None,
        details: dict | None = None,
        matched: dict | None = None,
    ) -> None:
        title = f"Cohort comparison: {estimand} by {METHOD_LABELS.get(method, method)}"
        super().__init__(params, std_errors, title=title, info=info, ledger=ledger)
        self.method = method
        self.estimand = estimand
        self.counts = counts
        self.potential_outcomes = potential_outcomes
        self.influence = influence
        self.row_index = row_index
        self.cluster_codes = cluster_codes
        self.propensity = propensity
        self.details = dict(details or {})
        self._matched = matched

    def matched_data(self, *, outcome: str | None = None) -> pd.DataFrame:
        """The matched sample, like MatchIt's ``match.data()``: one row per person used.

        Rows are the caller's rows (all their columns, original index labels) of the
        persons with a positive matching weight, with two columns added:

        ``weights``
            Matching weights, survey weights excluded (MatchIt's convention): 1 for a
            matched treated person (ATT); for a comparison person ``j``,
            ``sum_i s_i 1[j in J(i)] / sum_{J(i)} s`` divided by ``s_j``, i.e. the number
            of times it is used, each use counting ``1/|J(i)|`` unweighted; comparison
            weights are then rescaled to sum to the number of distinct matched comparison
            persons (MatchIt). For the ATE every person gets ``1 + K_i/s_i``.
        ``subclass``
            Pair (matched-set) number, 1-based, after matching without replacement and full
            matching; missing with replacement (a comparison person may serve several sets).

        ``balance_table(res.matched_data(), group=..., covariates=...,
        weights_array="weights")`` then shows balance after matching (pass ``weight=`` the
        survey weight column too, when there is one).

        Parameters
        ----------
        outcome
            Outcome whose analysis sample is returned (default: the first); samples differ
            between outcomes only when outcomes are missing for different persons.
        """
        if not self._matched:
            raise AttributeError(
                f"matched_data() needs matching results; these are {self.method!r} results. "
                "Fit with method='matching'.")
        name = self.outcomes[0] if outcome is None else outcome
        if name not in self._matched:
            raise KeyError(f"outcome {name!r} is not among {self.outcomes}.")
        sample, lam, subclass = self._matched[name]
        weights = lam / sample.s
        control = sample.d == 0
        if self.estimand == "ATT":
            used_c = control & (weights > 0)
            weights[used_c] *= used_c.sum() / weights[used_c].sum()
        keep = weights > 0
        frame = sample.source.iloc[sample.source_positions[sample.positions[keep]]].copy()
        frame["weights"] = weights[keep]
        if subclass is not None:
            frame["subclass"] = pd.array(subclass[keep] + 1, dtype="Int64")
        else:
            frame["subclass"] = pd.array([pd.NA] * int(keep.sum()), dtype="Int64")
        return frame

    @property
    def outcomes(self) -> list[str]:
        return list(self.params.index)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame, one row per outcome: estimate, SE, statistic, p-value, CI, counts.

        Columns ``method`` and ``estimand`` make frames of several methods stackable
        (see :func:`evalkit.cohort.comparison.compare_methods`).
        """
        frame = super().to_frame(level)
        frame.index.name = "outcome"
        frame.insert(0, "estimand", self.estimand)
        frame.insert(0, "method", self.method)
        return frame.join(self.counts)

    def plot(self, ax=None, *, level: float = 0.95, text=None):
        """Estimates with confidence intervals, one row per outcome (a forest plot);
        ``text`` overrides ``title``, ``xlabel`` and ``interval`` (see
        :meth:`EstimateResults.plot`)."""
        words = {"title": "",
                 "xlabel": f"{self.estimand} ({METHOD_LABELS.get(self.method, self.method)}), "
                           f"{level:.0%} CI", **(text or {})}
        return super().plot(ax, level=level, text=words)

    @renamed(n_draws="n_boot")
    def multiplier_draws(self, *, n_boot: int = 999, seed=None,
                         kind: Literal["rademacher", "normal"] = "rademacher") -> pd.DataFrame:
        """Multiplier-bootstrap draws of ``estimate* - estimate`` for all outcomes jointly.

        Each draw is ``sum_g xi_g sum_{i in g} psi_i`` with i.i.d. multipliers ``xi``
        (Rademacher or standard normal) per person, or per cluster when the results
        were clustered, so correlations between outcomes are preserved -- what
        Romano–Wolf step-down adjustments need.

        Returns
        -------
        DataFrame
            ``n_boot x k`` (columns = outcomes).
        """
        if self.influence is None:
            raise AttributeError(f"{self.method!r} results carry no influence functions.")
        psi = np.nan_to_num(self.influence)
        if self.cluster_codes is not None:
            psi = cluster_sums(psi, self.cluster_codes)
            g = psi.shape[0]
            psi = psi * np.sqrt(g / (g - 1)) if g > 1 else psi
        rng = np.random.default_rng(seed)
        if kind == "rademacher":
            xi = rng.choice(np.array([-1.0, 1.0]), size=(n_boot, psi.shape[0]))
        elif kind == "normal":
            xi = rng.standard_normal((n_boot, psi.shape[0]))
        else:
            raise ValueError(f"kind must be 'rademacher' or 'normal', got {kind!r}")
        return pd.DataFrame(xi @ psi, columns=self.params.index)

    def influence_frame(self) -> pd.DataFrame:
        """The influence matrix as a frame indexed like the analysed rows."""
        if self.influence is None:
            raise AttributeError(f"{self.method!r} results carry no influence functions.")
        return pd.DataFrame(self.influence, index=self.row_index, columns=self.params.index)


METHOD_LABELS = {
    "dim": "difference in means",
    "ra": "regression adjustment",
    "ra_pooled": "regression adjustment (pooled, centred interactions)",
    "ipw": "inverse probability weighting (normalised)",
    "matching": "nearest-neighbour matching",
    "aipw": "augmented IPW (doubly robust)",
    "ebal": "entropy balancing",
    "fullmatch": "optimal full matching",
}


class EffectEstimate:
    """One estimator's output for one outcome (internal currency between modules).

    ``psi`` is the influence function over the rows the estimator received, scaled so that
    ``estimate - truth ≈ psi.sum()``; ``y1``/``y0`` are the potential-outcome means in the
    target population; ``ess_treated``/``ess_control`` the Kish effective sample sizes of the
    weights applied (``None`` when the estimator does not weight persons).
    """

    __slots__ = ("tau", "psi", "y1", "y0", "ess_treated", "ess_control", "details")

    def __init__(self, tau, psi, y1, y0, ess_treated=None, ess_control=None, details=None):
        self.tau = float(tau)
        self.psi = psi
        self.y1 = float(y1)
        self.y0 = float(y0)
        self.ess_treated = ess_treated
        self.ess_control = ess_control
        self.details = details or {}
