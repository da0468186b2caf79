"""Design-based difference in means: completely, block- and cluster-randomised experiments.

Estimators (Gerber & Green 2012, ch. 3-4; Imbens & Rubin 2015, ch. 6, 9)
----------------------------------------------------------------------
Complete randomisation
    ``tau = mean_1 - mean_0`` with Neyman's conservative variance
    ``V = s_1^2/n_1 + s_0^2/n_0`` (equal to the HC2 variance of OLS on the arm) and
    Welch–Satterthwaite degrees of freedom.
Blocks, ``method="block_weighted"``
    ``tau = sum_b (n_b/N) tau_b`` and ``V = sum_b (n_b/N)^2 V_b`` (Neyman within
    blocks), ``N - 2B`` degrees of freedom. Matched pairs (every block one treated and
    one control unit): ``V = sum_b (tau_b - tau)^2 / (B (B - 1))``, ``B - 1`` df
    (Imai 2008). Blocks mixing a single treated or control unit with larger ones have
    no Neyman variance and are refused.
Blocks, ``method="fixed_effects"``
    OLS of ``y`` on the arm and block dummies with HC2 variance, ``N - B - 1`` df.
    It weights blocks by ``n_b p_b (1 - p_b)``, so it targets the ATE only when the
    share treated is the same in every block.
Clusters (``cluster=``)
    Randomisation was of whole clusters, so the analysis is at the cluster level
    (Donner & Klar 2000): outcomes are averaged within clusters and the estimators
    above are applied to the cluster means, with clusters as units. The estimand is
    the average over clusters of the cluster-level effect.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ConfigError, DesignError
from evalkit.experiment.assignment import Assignment
from evalkit.experiment.hc2 import ols_hc2
from evalkit.experiment.inputs import analysis_frame
from evalkit.results import EstimateResults

Method = Literal["block_weighted", "fixed_effects"]


class DesignResults(EstimateResults):
    """Design-based estimate of the average effect (``params["ate"]``), t inference.

    Attributes
    ----------
    n_treated, n_control
        Units (rows, or clusters for a cluster-level analysis) in each arm.
    estimator
        Short name of the estimator.
    """

    def __init__(self, estimate: float, std_error: float, *, df: float, estimator: str,
                 n_treated: int, n_control: int, info: dict, ledger=None,
                 title: str = "Design-based estimate") -> None:
        super().__init__(pd.Series({"ate": estimate}), pd.Series({"ate": std_error}),
                         title=title, df_resid=df, info={"Estimator": estimator, **info,
                                                          "Treated / control":
                                                          f"{n_treated} / {n_control}",
                                                          "Degrees of freedom": f"{df:.1f}"},
                         ledger=ledger)
        self.estimator = estimator
        self.n_treated = n_treated
        self.n_control = n_control

    @property
    def ate(self) -> float:
        return float(self.params["ate"])


class DifferenceInMeans:
    """Difference in means of ``outcome`` between arms, under the declared design.

    Parameters
    ----------
    data
        A DataFrame or a :class:`~evalkit.data.PersonTable`; rows missing the outcome
        are dropped and recorded in the ledger.
    group, treated, block, cluster
        The design, as in :class:`~evalkit.experiment.assignment.Assignment`.
    outcome
        Outcome column.
    """

    def __init__(self, data, *, group: str, outcome: str, block: str | None = None,
                 cluster: str | None = None, treated: Hashable | None = None) -> None:
        self.frame, self.ledger = analysis_frame(
            data, where="Difference in means", outcome=outcome,
            roles={"group": group, "block": block, "cluster": cluster})
        self.design = Assignment(self.frame, group=group, block=block, cluster=cluster,
                                 treated=treated)
        self.outcome = outcome

    def fit(self, *, method: Method = "block_weighted") -> DesignResults:
        """Estimate; ``method`` matters only with blocks (see the module docstring)."""
        if method not in ("block_weighted", "fixed_effects"):
            raise ConfigError(f"method must be 'block_weighted' or 'fixed_effects', got "
                              f"{method!r}.")
        design = self.design
        y = self.frame[self.outcome].to_numpy(float)
        if design.cluster is not None:
            y = np.bincount(design.unit_of_row, weights=y) / np.bincount(design.unit_of_row)
        arm, blocks = design.observed, design.block_of_unit
        info = {"Design": design.describe()}
        if design.block is None:
            estimate, se, df = _neyman(y, arm)
            name = "difference in means (Neyman variance, Welch df)"
        elif method == "fixed_effects":
            dummies = (blocks[:, None] == np.arange(1, len(design.blocks))[None, :])
            X = np.column_stack([np.ones(len(y)), arm, dummies]).astype(float)
            beta, cov = ols_hc2(y, X)
            estimate, se, df = beta[1], np.sqrt(cov[1, 1]), len(y) - X.shape[1]
            name = "block fixed effects (OLS, HC2)"
        else:
            estimate, se, df, name = _block_weighted(y, arm, blocks)
        if design.cluster is not None:
            name += f", on the means of {len(y)} clusters"
        return DesignResults(estimate, se, df=df, estimator=name, n_treated=int(arm.sum()),
                             n_control=int((~arm).sum()), info=info, ledger=self.ledger)


def _neyman(y: np.ndarray, arm: np.ndarray) -> tuple[float, float, float]:
    y1, y0 = y[arm], y[~arm]
    if min(len(y1), len(y0)) < 2:
        raise DesignError(
            "Each arm needs at least two units for a Neyman variance; found "
            f"{len(y1)} treated and {len(y0)} control.")
    v1, v0 = y1.var(ddof=1) / len(y1), y0.var(ddof=1) / len(y0)
    df = (v1 + v0) ** 2 / (v1**2 / (len(y1) - 1) + v0**2 / (len(y0) - 1))
    return float(y1.mean() - y0.mean()), float(np.sqrt(v1 + v0)), float(df)


def _block_weighted(y, arm, blocks):
    labels = np.unique(blocks)
    n = len(y)
    n1 = np.array([arm[blocks == b].sum() for b in labels])
    n0 = np.array([(~arm[blocks == b]).sum() for b in labels])
    effects = np.array([y[(blocks == b) & arm].mean() - y[(blocks == b) & ~arm].mean()
                        for b in labels])
    weights = (n1 + n0) / n
    estimate = float(weights @ effects)
    if np.all((n1 == 1) & (n0 == 1)):
        k = len(labels)
        if k < 2:
            raise DesignError("A single matched pair has no variance estimate.")
        se = np.sqrt(np.sum((effects - effects.mean()) ** 2) / (k * (k - 1)))
        return estimate, float(se), float(k - 1), "matched-pair difference in means"
    small = (n1 < 2) | (n0 < 2)
    if small.any():
        raise DesignError(
            f"{int(small.sum())} block(s) have a single treated or control unit, so their "
            "Neyman variance is undefined (only all-pairs designs have a pair variance). "
            "Merge them with similar blocks, or use method='fixed_effects'.")
    variances = np.array([y[(blocks == b) & arm].var(ddof=1) / n1[i]
                          + y[(blocks == b) & ~arm].var(ddof=1) / n0[i]
                          for i, b in enumerate(labels)])
    se = np.sqrt(np.sum(weights**2 * variances))
    return estimate, float(se), float(n - 2 * len(labels)), "block-weighted difference in means"
