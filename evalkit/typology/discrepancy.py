r"""Discrepancy analysis of sequences: do trajectories differ between groups (e.g. arms)?

The ANOVA of sequence distances of Studer, Ritschard, Gabadinho & Müller (2011),
TraMineR's ``dissassoc``. With distances :math:`d_{ij}` and (optional) weights
:math:`w_i`, :math:`W = \sum_i w_i`, the sum of squares of a set of sequences is

.. math:: SS = \frac{1}{W} \sum_{i<j} w_i w_j d_{ij},

its discrepancy :math:`s^2 = SS / W`. With :math:`m` groups of total weight
:math:`W_g`, :math:`SS_W = \sum_g SS_g` and :math:`SS_B = SS_T - SS_W`:

- pseudo-:math:`R^2 = SS_B / SS_T`, the share of discrepancy the grouping explains;
- pseudo-:math:`F = \dfrac{SS_B / (m - 1)}{SS_W / (W - m)}`;
- pseudo-:math:`F_{bf} = SS_B \,/\, \sum_g (1 - W_g / W)\, s^2_g`, the
  Brown-Forsythe form robust to unequal within-group discrepancies
  (:math:`s^2_g = SS_g / W_g`);
- Levene: the ANOVA :math:`F` of each sequence's distance to its group's centre,
  :math:`\tilde d_i = (\sum_{j \in g} w_j d_{ij} - SS_g) / W_g`;
- Bartlett: :math:`[(W - m) \ln s_p^2 - \sum_g (W_g - 1) \ln s_g^2] / C` with
  :math:`s_p^2 = \sum_g (W_g - 1) s_g^2 / (W - m)` and
  :math:`C = 1 + (\sum_g 1/(W_g - 1) - 1/(W - m)) / (3(m - 1))`.

Distances are not Euclidean, so the statistics have no F or chi-squared law: p-values
come from permuting the group labels (``n_perm`` times), ``p = (1 + #{t* >= t}) /
(n_perm + 1)`` (TraMineR's ``R`` counts the observed labelling, so ``R = n_perm + 1``).
Weights stay with their persons when labels are permuted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from evalkit.errors import DataValidationError

STATISTICS: tuple[str, ...] = ("Pseudo F", "Pseudo Fbf", "Pseudo R2", "Bartlett", "Levene")


def _square(distances) -> np.ndarray:
    from scipy.spatial.distance import squareform

    from evalkit.typology.clustering import as_condensed

    return squareform(as_condensed(distances))


@njit(cache=True)
def _row_group_sums(d, w, codes, m):  # pragma: no cover - compiled
    """``out[i, g] = sum_{j in g} w_j d_ij``. A thin BLAS product (m x n by n x n) or a
    parallel loop spins threads and ran 10-40x slower than this serial loop on a busy
    2-core machine (7 ms for n = 712)."""
    n = d.shape[0]
    out = np.zeros((n, m))
    for i in range(n):
        for j in range(n):
            out[i, codes[j]] += w[j] * d[i, j]
    return out


def _statistics(d: np.ndarray, w: np.ndarray, codes: np.ndarray, m: int,
                ss_total: float, total: float) -> np.ndarray:
    """The five statistics for one labelling ``codes`` (0..m-1)."""
    dg = _row_group_sums(d, w, codes, m)              # sum_{j in g} w_j d_ij
    w_g = np.bincount(codes, weights=w, minlength=m)
    own = dg[np.arange(len(codes)), codes]
    # (1/W_g) sum_{i<j in g} w_i w_j d_ij
    ss_g = np.bincount(codes, weights=w * own, minlength=m) / (2.0 * w_g)
    ss_w = ss_g.sum()
    ss_b = ss_total - ss_w
    f = (ss_b / (m - 1)) / (ss_w / (total - m))
    var_g = ss_g / w_g
    fbf = ss_b / ((1.0 - w_g / total) * var_g).sum()
    r2 = ss_b / ss_total
    pooled = ((w_g - 1.0) * var_g).sum() / (total - m)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = 1.0 + ((1.0 / (w_g - 1.0)).sum() - 1.0 / (total - m)) / (3.0 * (m - 1))
        bartlett = ((total - m) * np.log(pooled) - ((w_g - 1.0) * np.log(var_g)).sum()) / c
    # Levene: one-way ANOVA on the distance of each sequence to its group centre.
    z = (own - ss_g[codes]) / w_g[codes]
    z_g = np.bincount(codes, weights=w * z, minlength=m) / w_g
    z_bar = (w * z).sum() / total
    between = (w_g * (z_g - z_bar) ** 2).sum() / (m - 1)
    within = (w * (z - z_g[codes]) ** 2).sum() / (total - m)
    levene = between / within
    return np.array([f, fbf, r2, bartlett, levene])


@dataclass
class DiscrepancyResults:
    """Result of :func:`discrepancy_analysis`.

    ``stats`` has one row per statistic (:data:`STATISTICS`): ``t0`` the observed value
    and ``p_value`` its permutation p-value; ``groups`` the persons (``n``), weight and
    discrepancy of each group and of all (``Total``); ``permuted`` the permuted values
    (``n_perm`` x 5).
    """

    stats: pd.DataFrame
    groups: pd.DataFrame
    permuted: np.ndarray
    n_perm: int

    @property
    def pseudo_r2(self) -> float:
        return float(self.stats.loc["Pseudo R2", "t0"])

    @property
    def pseudo_f(self) -> float:
        return float(self.stats.loc["Pseudo F", "t0"])

    @property
    def p_value(self) -> float:
        """Permutation p-value of the pseudo-F (equivalently of the pseudo-R2)."""
        return float(self.stats.loc["Pseudo F", "p_value"])

    def summary(self) -> str:
        lines = ["Discrepancy analysis (Studer et al. 2011)", "=" * 48,
                 self.stats.to_string(float_format=lambda v: f"{v:.4g}"), "-" * 48,
                 self.groups.to_string(float_format=lambda v: f"{v:.4g}"),
                 f"p-values from {self.n_perm} permutations of the group labels."]
        return "\n".join(lines)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The statistics and their permutation p-values (``level`` is accepted for a
        uniform results interface; permutation tests give no interval)."""
        return self.stats.copy()

    def plot(self, ax=None, statistic: str = "Pseudo F", lang: str = "en"):
        """Histogram of the permuted statistic with the observed value (TraMineR's
        ``hist(dissassoc)``)."""
        import matplotlib.pyplot as plt

        if statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.8))
        else:
            fig = ax.figure
        j = STATISTICS.index(statistic)
        observed = self.stats.loc[statistic, "t0"]
        values = self.permuted[:, j]
        far = observed > 3 * max(values.max(), 1e-12)
        # A far observed value would squeeze the permutation distribution into one bar:
        # draw the distribution on its own scale and mark the observed value by an arrow.
        ax.hist(values, bins=30, color="#56B4E9", edgecolor="none")
        if far:
            ax.annotate(("observed" if lang == "en" else "observé") + f" = {observed:.3g} \u2192",
                        xy=(1.0, 0.9), xycoords="axes fraction", ha="right", color="#D55E00")
            ax.set_xlabel(statistic + (" under permutations" if lang == "en"
                                       else " sous permutations"))
            ax.set_ylabel("permutations")
            fig.tight_layout()
            return fig
        ax.axvline(observed, color="#D55E00", linewidth=2,
                   label=("observed" if lang == "en" else "observé") + f" = {observed:.3g}")
        ax.set_xlabel(statistic + (" under permutations" if lang == "en"
                                   else " sous permutations"))
        ax.set_ylabel("permutations")
        ax.legend(frameon=False)
        fig.tight_layout()
        return fig


def discrepancy_analysis(distances, group, *, weights_array=None, n_perm: int = 1000, seed: int = 0,
                         squared: bool = False) -> DiscrepancyResults:
    """Share of the discrepancy of sequences explained by a grouping, with permutation
    tests (TraMineR ``dissassoc``; formulas in the module docstring).

    Parameters
    ----------
    distances
        Condensed or square distance matrix (e.g. :func:`sequence_distances`).
    group
        One label per sequence, in the distance matrix's order (e.g. the arm).
    weights_array
        Optional case weights (one per sequence); they enter the sums of squares.
    n_perm
        Permutations of the labels for the p-values (0: no test).
    seed
        Seed of the permutations.
    squared
        Square the distances first (the Euclidean ANOVA when distances are Euclidean).
    """
    d = _square(distances)
    if squared:
        d = d ** 2
    n = d.shape[0]
    labels = pd.Series(np.asarray(group))
    if len(labels) != n:
        raise DataValidationError(
            f"group has {len(labels)} values for {n} sequences; give one label per sequence, "
            "in the order of the distance matrix")
    if labels.isna().any():
        raise DataValidationError(
            f"group has {int(labels.isna().sum())} missing label(s); drop those sequences "
            "from the distances and the labels first")
    codes, names = pd.factorize(labels, sort=True)
    m = len(names)
    if m < 2:
        raise DataValidationError(f"group has a single label ({list(names)}); need two or more")
    w = np.ones(n) if weights_array is None else np.asarray(weights_array, dtype=float)
    if w.shape != (n,) or not np.isfinite(w).all() or (w <= 0).any():
        raise DataValidationError(
            f"weights_array must hold {n} finite positive values, one per sequence")
    total = float(w.sum())
    w_g = np.bincount(codes, weights=w, minlength=m)
    if (w_g <= 1).any():
        small = [str(names[g]) for g in np.flatnonzero(w_g <= 1)]
        raise DataValidationError(
            f"group(s) {small} have a total weight of 1 or less: their discrepancy is not "
            "defined; merge or drop them")
    ss_total = float(w @ d @ w) / (2.0 * total)
    d = np.ascontiguousarray(d, dtype=np.float64)
    codes = codes.astype(np.int64)
    observed = _statistics(d, w, codes, m, ss_total, total)
    rng = np.random.default_rng(seed)
    permuted = np.array([_statistics(d, w, rng.permutation(codes), m, ss_total, total)
                         for _ in range(int(n_perm))]).reshape(-1, len(STATISTICS))
    if n_perm:
        # Permuted statistics within rounding of the observed one count as "as large".
        tol = 1e-10 * np.maximum(np.abs(observed), 1.0)
        p = (1 + (permuted >= observed - tol).sum(axis=0)) / (n_perm + 1)
    else:
        p = np.full(len(STATISTICS), np.nan)
    stats = pd.DataFrame({"t0": observed, "p_value": p}, index=pd.Index(STATISTICS))
    ss_g = np.array([float(w[codes == g] @ d[np.ix_(codes == g, codes == g)] @ w[codes == g])
                     / (2.0 * w_g[g]) for g in range(m)])
    groups = pd.DataFrame({
        "n": np.bincount(codes, minlength=m),
        "weight": w_g,
        "discrepancy": ss_g / w_g,
    }, index=pd.Index([str(x) for x in names], name="group"))
    groups.loc["Total"] = [n, total, ss_total / total]
    groups["n"] = groups["n"].astype(int)
    return DiscrepancyResults(stats, groups, permuted, int(n_perm))
