r"""Quality of a partition of sequences, choice of the number of clusters, and comparison
of two partitions (e.g. the rule typology vs a clustering).

Indices (Studer 2013, *WeightedCluster Library Manual*, section 4; all weighted by case weights
:math:`w`; pairs :math:`i < j` carry weight :math:`2 w_i w_j` and each case's pair with itself
weight :math:`w_i^2` at distance 0, as WeightedCluster's ``wcClusterQuality``):

``PBC``  point-biserial correlation between the distance and "different clusters" (higher = better).
``HG``   Hubert's gamma: Goodman-Kruskal gamma between distances and the same/different
         cluster indicator, :math:`(N_c - N_d) / (N_c + N_d)`.
``HGSD`` Somers' D version of HG (ties counted in the denominator).
``ASW``  average silhouette width, :math:`s_i = (b_i - a_i) / \max(a_i, b_i)` with
         :math:`a_i = \sum_{j \in C(i), j \ne i} w_j d_{ij} / (W_{C(i)} - 1)` and
         :math:`b_i` the smallest weighted mean distance to another cluster; weighted mean of
         :math:`s_i` (Kaufman & Rousseeuw 1990: > 0.7 strong, > 0.5 reasonable, > 0.25 weak).
``ASWw`` same with :math:`a_i` divided by :math:`W_{C(i)}` (suited to aggregated data).
``CH``   pseudo-F (Calinski-Harabasz) from the inertia decomposition of the distances.
``R2``   share of the discrepancy explained by the partition.
``CHsq``, ``R2sq`` the same on squared distances.
``HC``   Hubert's C: :math:`(S - S_{min}) / (S_{max} - S_{min})` (lower = better).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit, prange

from evalkit.errors import DataValidationError
from evalkit.options import check_option, renamed
from evalkit.typology.clustering import (
    WardTree,
    as_condensed,
    case_weights,
    condensed_value,
    n_items_from_condensed,
)

QUALITY_INDICES = ("PBC", "HG", "HGSD", "ASW", "ASWw", "CH", "R2", "CHsq", "R2sq", "HC")
# Indices where a larger value is better; HC is the exception (smaller is better).
LARGER_IS_BETTER = {"PBC": True, "HG": True, "HGSD": True, "ASW": True, "ASWw": True,
                    "CH": True, "R2": True, "CHsq": True, "R2sq": True, "HC": False}


def _codes(labels) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DataValidationError(f"labels must be 1-D, got shape {labels.shape}.")
    if pd.isna(pd.Series(labels)).any():
        raise DataValidationError("labels contain missing values; every sequence needs a cluster.")
    uniq, code = np.unique(labels, return_inverse=True)
    return uniq, code.reshape(-1).astype(np.int64)


@njit(parallel=True, cache=True)
def _silhouette_sums(d, n, code, k, w, sizes):
    """Per case: a_i (divided by W-1), a_i (divided by W) and b_i."""
    a1 = np.zeros(n)
    aw = np.zeros(n)
    b = np.full(n, np.inf)
    for i in prange(n):
        ii = np.int64(i)
        acc = np.zeros(k)
        for j in range(n):
            if j != ii:
                acc[code[j]] += w[j] * condensed_value(d, n, ii, j)
        ci = code[ii]
        own = acc[ci]
        aw[i] = own / sizes[ci]
        a1[i] = 0.0 if sizes[ci] <= 1.0 else own / (sizes[ci] - 1.0)
        for c in range(k):
            if c != ci and sizes[c] > 0:
                v = acc[c] / sizes[c]
                if v < b[i]:
                    b[i] = v
    return a1, aw, b


@renamed(weights="weights_array")
def silhouette(distances, labels, weights_array=None, *, aggregated: bool = False) -> np.ndarray:
    """Silhouette width of each case (WeightedCluster ``wcSilhouetteObs``; ``aggregated`` = ASWw)."""
    d = as_condensed(distances)
    n = n_items_from_condensed(d)
    _, code = _codes(labels)
    w = case_weights(weights_array, n)
    if code.shape[0] != n:
        raise DataValidationError(f"labels has {code.shape[0]} values for {n} sequences.")
    k = int(code.max()) + 1
    sizes = np.bincount(code, weights=w, minlength=k)
    a1, aw, b = _silhouette_sums(d, n, code, k, w, sizes)
    a = aw if aggregated else a1
    if k < 2:
        return np.full(n, np.nan)
    denom = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (b - a) / np.where(denom > 0, denom, 1.0), 0.0)


@dataclass(frozen=True)
class _Pairs:
    """What the indices need from the distances, computed once for all partitions."""

    i: np.ndarray
    j: np.ndarray
    ww: np.ndarray
    x: np.ndarray
    diag: float
    values: np.ndarray  # distinct distances (with 0 for the self-pairs), ascending
    group: np.ndarray  # group of each pair in ``values``; self-pairs are group of 0.0

    @classmethod
    def build(cls, d, n, w):
        i, j = np.triu_indices(n, 1)
        ww = 2.0 * w[i] * w[j]
        keep = ww > 0
        i, j, ww, x = i[keep], j[keep], ww[keep], d[keep]
        values, group = np.unique(np.concatenate([[0.0], x]), return_inverse=True)
        return cls(i, j, ww, x, float((w[w > 0] ** 2).sum()), values, group.reshape(-1))


@renamed(weights="weights_array")
def cluster_quality(distances, labels, weights_array=None) -> pd.Series:
    """Quality indices of one partition (WeightedCluster ``wcClusterQuality``; module docstring).

    Parameters
    ----------
    distances : condensed ndarray or square matrix
    labels : array (n,)
        Cluster of each sequence (any hashable labels).
    weights : array (n,), optional
        Case weights.

    Returns
    -------
    pandas.Series indexed by :data:`QUALITY_INDICES`.
    """
    d = as_condensed(distances)
    n = n_items_from_condensed(d)
    _, code = _codes(labels)
    if code.shape[0] != n:
        raise DataValidationError(f"labels has {code.shape[0]} values for {n} sequences.")
    w = case_weights(weights_array, n)
    return _quality(d, n, code, w, _Pairs.build(d, n, w))


def _quality(d, n, code, w, pairs: _Pairs) -> pd.Series:
    k = int(code.max()) + 1
    i, ww, x = pairs.i, pairs.ww, pairs.x
    same = code[i] == code[pairs.j]
    tot = pairs.diag + ww.sum()
    wy = pairs.diag + ww[same].sum()
    wx = (ww * x).sum()
    wx2 = (ww * x * x).sum()
    wxy = (ww[same] * x[same]).sum()
    out = dict.fromkeys(QUALITY_INDICES, np.nan)
    xb, yb = wx / tot, wy / tot
    covx, covy, covxy = wx2 / tot - xb * xb, wy / tot - yb * yb, wxy / tot - yb * xb
    if covx > 0 and covy > 0:
        out["PBC"] = -covxy / np.sqrt(covx * covy)
    # Gamma and C: distances grouped by exact value (ties), the zero-distance group holds
    # each case's pair with itself.
    uv, inv = pairs.values, pairs.group
    c0 = np.concatenate([[pairs.diag], np.where(same, ww, 0.0)])
    c1 = np.concatenate([[0.0], np.where(same, 0.0, ww)])
    g0 = np.bincount(inv, weights=c0, minlength=uv.size)
    g1 = np.bincount(inv, weights=c1, minlength=uv.size)
    tot0, tot1 = wy, tot - wy
    cum0, cum1 = np.cumsum(g0), np.cumsum(g1)
    before0, before1 = cum0 - g0, cum1 - g1
    nc = (g1 * before0).sum() + (g0 * (tot1 - cum1)).sum()
    nd = (g0 * before1).sum() + (g1 * (tot0 - cum0)).sum()
    ties = (g0 * g1).sum()
    if nc + nd > 0:
        out["HG"] = (nc - nd) / (nc + nd)
    out["HGSD"] = (nc - nd) / (nc + nd + ties) if nc + nd + ties > 0 else 0.0
    g = g0 + g1
    cum = np.cumsum(g)
    prev = cum - g
    s_min = (np.clip(wy - prev, 0.0, g) * uv).sum()
    s_max = (np.clip(cum - tot1, 0.0, g) * uv).sum()
    out["HC"] = (wxy - s_min) / (s_max - s_min) if s_max > s_min else 0.0
    sizes = np.bincount(code, weights=w, minlength=k)
    err = np.bincount(code[i][same], weights=(ww * x)[same], minlength=k)
    err2 = np.bincount(code[i][same], weights=(ww * x * x)[same], minlength=k)
    pos = sizes > 0
    ss_res = (err[pos] / sizes[pos]).sum()
    ss2_res = (err2[pos] / sizes[pos]).sum()
    wtot = sizes[pos].sum()
    ss_expl = wx / wtot - ss_res
    ss2_expl = wx2 / wtot - ss2_res
    if wtot > k and ss_res > 0:
        out["CH"] = (ss_expl / (k - 1)) / (ss_res / (wtot - k))
        out["R2"] = ss_expl / (ss_res + ss_expl)
        out["CHsq"] = (ss2_expl / (k - 1)) / (ss2_res / (wtot - k))
        out["R2sq"] = ss2_expl / (ss2_res + ss2_expl)
    if k >= 2:
        a1, aw, b = _silhouette_sums(d, n, code, k, w, sizes)
        ok = (w > 0) & np.isfinite(b)
        for name, a in (("ASW", a1), ("ASWw", aw)):
            denom = np.maximum(a, b)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.where(denom > 0, (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
            out[name] = (w[ok] * s[ok]).sum() / wtot
    return pd.Series(out, name="quality")


@renamed(weights="weights_array")
def quality_range(distances, partitions, weights_array=None) -> pd.DataFrame:
    """Quality indices for several partitions (WeightedCluster ``as.clustrange``).

    Parameters
    ----------
    distances : condensed ndarray or square matrix
    partitions : WardTree, or dict {k: labels}
        A Ward tree is cut at ``k = 2..min(10, n - 1)``.
    weights : array (n,), optional

    Returns
    -------
    DataFrame indexed by ``k`` with one column per index of :data:`QUALITY_INDICES`.

    Examples
    --------
    >>> d = sequence_distances(seq, method="OM", sm="TRATE", indel="auto")  # doctest: +SKIP
    >>> table = quality_range(d, ward(d))                            # doctest: +SKIP
    >>> pam_table = quality_range(d, {k: pam(d, k).labels for k in range(2, 11)})  # doctest: +SKIP
    >>> print(choose_k(table, "ASW"))                                # doctest: +SKIP
    """
    d = as_condensed(distances)
    n = n_items_from_condensed(d)
    w = case_weights(weights_array, n)
    if isinstance(partitions, WardTree):
        partitions = partitions.labels_range(range(2, min(10, n - 1) + 1))
    pairs = _Pairs.build(d, n, w)
    rows = {}
    for k, labels in partitions.items():
        _, code = _codes(labels)
        if code.shape[0] != n:
            raise DataValidationError(f"labels for k={k} have {code.shape[0]} values for {n} sequences.")
        rows[int(k)] = _quality(d, n, code, w, pairs)
    table = pd.DataFrame(rows).T
    table.index.name = "k"
    return table


@dataclass(frozen=True)
class KChoice:
    """Result of :func:`choose_k`: chosen ``k``, each index's best ``k``, and the table."""

    k: int
    best_by_index: pd.Series
    table: pd.DataFrame
    criterion: str

    def __str__(self) -> str:
        asw = self.table.loc[self.k, "ASW"] if "ASW" in self.table else np.nan
        strength = ("strong" if asw > 0.7 else "reasonable" if asw > 0.5 else
                    "weak" if asw > 0.25 else "no substantial")
        return (f"k = {self.k} by {self.criterion}; ASW = {asw:.3f} ({strength} structure, "
                "Kaufman & Rousseeuw 1990). Best k by index: "
                + ", ".join(f"{i}={int(v)}" for i, v in self.best_by_index.items()))


def choose_k(table: pd.DataFrame, criterion: str = "ASW") -> KChoice:
    """Choose the number of clusters from a :func:`quality_range` table.

    ``criterion`` is one index (its best ``k``: max, or min for HC) or ``"vote"``: the ``k``
    chosen by most of PBC, HG, ASW, CH and HC (ties broken by ASW). The substantive reading of
    the clusters matters as much: treat this as a guide, and report the table.
    """
    if table.empty:
        raise DataValidationError("The quality table is empty.")
    best = {}
    for name in table.columns:
        col = table[name].astype(float)
        if col.notna().any():
            best[name] = col.idxmax() if LARGER_IS_BETTER.get(name, True) else col.idxmin()
    best = pd.Series(best, name="best k")
    if criterion == "vote":
        votes = best.reindex(["PBC", "HG", "ASW", "CH", "HC"]).dropna().value_counts()
        top = votes[votes == votes.max()].index
        k = int(max(top, key=lambda kk: table.loc[kk, "ASW"]))
    elif criterion in best.index:
        k = int(best[criterion])
    else:
        check_option("criterion", criterion, ("vote", *best.index))
    return KChoice(k, best, table, criterion)


# ---------------------------------------------------------------------------------------------
# Comparing two partitions
# ---------------------------------------------------------------------------------------------


def adjusted_rand_index(a, b) -> float:
    r"""Adjusted Rand index (Hubert & Arabie 1985) between two partitions of the same cases.

    .. math:: ARI = \frac{\sum_{ij} \binom{n_{ij}}{2} - E}{\frac12 [\sum_i \binom{a_i}{2} +
              \sum_j \binom{b_j}{2}] - E}, \quad E = \frac{\sum_i \binom{a_i}{2}
              \sum_j \binom{b_j}{2}}{\binom{n}{2}}

    1 for identical partitions, about 0 for independent ones.
    """
    _, ca = _codes(a)
    _, cb = _codes(b)
    if ca.shape != cb.shape:
        raise DataValidationError(f"The partitions have different lengths ({ca.size} and {cb.size}).")
    n = ca.size
    table = np.zeros((ca.max() + 1, cb.max() + 1))
    np.add.at(table, (ca, cb), 1)
    comb = lambda x: x * (x - 1) / 2.0  # noqa: E731
    sum_ij = comb(table).sum()
    sum_a = comb(table.sum(axis=1)).sum()
    sum_b = comb(table.sum(axis=0)).sum()
    expected = sum_a * sum_b / comb(n) if n > 1 else 0.0
    max_index = (sum_a + sum_b) / 2.0
    if max_index == expected:
        return 1.0
    return float((sum_ij - expected) / (max_index - expected))


@dataclass(frozen=True)
class PartitionComparison:
    """Cross-tabulation of two partitions and their agreement.

    ``crosstab`` has counts (rows: first partition, columns: second, with totals); ``ari`` the
    adjusted Rand index; ``row_shares`` the distribution of each row type over the clusters.
    Counts are of persons: apply disclosure control before a table reaches a report.
    """

    crosstab: pd.DataFrame
    ari: float
    n: int

    @property
    def row_shares(self) -> pd.DataFrame:
        inner = self.crosstab.drop(index="Total", columns="Total")
        return inner.div(inner.sum(axis=1), axis=0)


def _partition_values(value, what: str) -> pd.Series:
    """Labels of a partition given as an array, a Series by person id, or a results object."""
    from evalkit.typology.clustering import MedoidPartition
    from evalkit.typology.rules import RuleTypologyResults

    if isinstance(value, RuleTypologyResults):
        if what == "clusters":
            raise DataValidationError(
                "compare_partitions(rule_types, clusters): a rule typology was passed as "
                "clusters; pass the rule typology first and the clustering second.")
        return pd.Series(value.types["career_type"].astype(str).to_numpy(),
                         index=value.types[value.id_name].to_numpy())
    if isinstance(value, MedoidPartition | WardTree):
        if what == "rule_types":
            raise DataValidationError(
                "compare_partitions(rule_types, clusters): a clustering was passed as "
                "rule_types; pass the rule typology first and the clustering second.")
        if isinstance(value, WardTree):
            raise DataValidationError("cut the Ward tree first: clusters=tree.labels(k)")
        return pd.Series(np.asarray(value.labels))
    if isinstance(value, pd.Series):
        return value
    return pd.Series(np.asarray(value))


def _looks_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) or pd.to_numeric(
        values.astype(str), errors="coerce").notna().all()


def compare_partitions(rule_types, clusters, *, row_name: str = "type",
                       col_name: str = "cluster") -> PartitionComparison:
    """Cross-tab of a rule typology against a clustering, with the adjusted Rand index.

    ``rule_types`` is a :class:`~evalkit.typology.rules.RuleTypologyResults`, or type
    labels (array in person order, or a Series indexed by person id); ``clusters`` a
    :class:`~evalkit.typology.clustering.MedoidPartition` or cluster labels. Two Series
    are aligned on their person ids (every id must be in both). Arguments that look
    swapped — cluster numbers as types and named types as clusters — are refused rather
    than silently tabulated with the wrong row and column names.
    """
    a = _partition_values(rule_types, "rule_types")
    b = _partition_values(clusters, "clusters")
    if not isinstance(rule_types, np.ndarray | list) and isinstance(
            clusters, pd.Series) and not a.index.equals(b.index):
        only_a = a.index.difference(b.index)
        only_b = b.index.difference(a.index)
        if len(only_a) or len(only_b):
            raise DataValidationError(
                f"the two partitions classify different persons ({len(only_a)} id(s) only in "
                f"rule_types, e.g. {list(only_a[:3])}; {len(only_b)} only in clusters, e.g. "
                f"{list(only_b[:3])}); classify the same persons in both.")
        b = b.reindex(a.index)
    if len(a) != len(b):
        raise DataValidationError(f"rule_types has {len(a)} values but clusters has {len(b)}.")
    if a.isna().any() or b.isna().any():
        raise DataValidationError("Both partitions must classify every person (missing labels found).")
    if _looks_numeric(a) and not _looks_numeric(b):
        raise DataValidationError(
            "compare_partitions(rule_types, clusters): rule_types holds numbers "
            f"({list(pd.unique(a))[:4]}) and clusters holds names ({list(pd.unique(b))[:4]}); "
            "the arguments look swapped. Pass the named types first, the cluster numbers "
            "second.")
    a = pd.Series(a.to_numpy(), name=row_name)
    b = pd.Series(b.to_numpy(), name=col_name)
    tab = pd.crosstab(a, b, margins=True, margins_name="Total")
    return PartitionComparison(tab, adjusted_rand_index(a.to_numpy(), b.to_numpy()), len(a))
