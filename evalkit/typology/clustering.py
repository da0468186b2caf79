r"""Clustering of sequences from their distances: Ward, PAM (k-medoids) and CLARA.

Ward on sequence distances
    Ward's criterion minimises the growth of within-cluster inertia, which is defined for any
    dissimilarity through :math:`W(C) = \frac{1}{2 w_C} \sum_{i, j \in C} w_i w_j d_{ij}`
    (Studer 2013, WeightedCluster manual): ``variant="D"`` (R ``hclust(method="ward.D")``,
    WeightedCluster's and sequenzo's default) applies the Lance-Williams update to the OM
    distances themselves; ``variant="D2"`` (R ``"ward.D2"``) applies it to squared distances,
    which is the Euclidean Ward criterion. OM distances are not Euclidean, so neither variant has
    the geometric meaning of Ward on points: treat the tree as a heuristic that groups
    sequences with low pairwise dissimilarity, check the partition with the quality indices of
    :mod:`evalkit.typology.cluster_quality`, and consider refining it with :func:`pam`
    (``initial=`` the Ward medoids) as TraMineR users do.

PAM
    Kaufman & Rousseeuw (1990) *Partitioning Around Medoids*: BUILD chooses ``k`` medoids
    greedily, SWAP exchanges a medoid and a non-medoid while the weighted total distance
    :math:`\sum_i w_i \min_m d(i, m)` decreases (best swap each pass, evaluated for all medoids
    at once as in FastPAM1, Schubert & Rousseeuw 2021). Compiled with numba.

CLARA
    Kaufman & Rousseeuw (1990) *Clustering LARge Applications*: PAM on random samples, every
    sequence assigned to its nearest sample medoid (``n x k`` distances, never the full matrix),
    keep the medoids with the lowest mean distance. For tens of thousands of sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange
from scipy.cluster.hierarchy import cut_tree, linkage

from evalkit.errors import DataValidationError, EstimationError
from evalkit.options import check_option, renamed
from evalkit.typology.distances import (
    _condensed_start,
    check_memory,
    cross_distances,
    pairwise_unique,
    prepare_sequences,
    resolve_costs,
    unique_rows,
)


def n_items_from_condensed(distances: np.ndarray) -> int:
    """Number of items ``n`` of a condensed vector of length ``n (n - 1) / 2``."""
    m = int(np.asarray(distances).shape[0])
    n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise DataValidationError(
            f"A condensed distance vector has length n(n-1)/2; {m} is not of that form. "
            "Pass the output of sequence_distances (or scipy's squareform of a square matrix)."
        )
    return n


def as_condensed(distances) -> np.ndarray:
    """Condensed float64 distances from a condensed vector or a square symmetric matrix."""
    d = np.asarray(distances, dtype=float)
    if d.ndim == 2:
        if d.shape[0] != d.shape[1] or not np.allclose(d, d.T):
            raise DataValidationError("A square distance matrix must be symmetric.")
        iu = np.triu_indices(d.shape[0], 1)
        d = d[iu]
    if d.ndim != 1:
        raise DataValidationError(f"Distances must be condensed (1-D) or square (2-D), got {d.ndim}-D.")
    n_items_from_condensed(d)
    if not np.all(np.isfinite(d)) or (d < 0).any():
        raise DataValidationError("Distances must be finite and >= 0.")
    return np.ascontiguousarray(d)


def _check_k(k: int, distances: np.ndarray, n: int) -> int:
    k = int(k)
    if k < 1:
        raise DataValidationError(f"k must be >= 1, got {k}.")
    if k > n:
        raise DataValidationError(f"k = {k} clusters requested but there are only {n} items.")
    # Identical items (distance 0 to another item) cannot be told apart by a medoid.
    n_distinct = _count_distinct(distances, n)
    if k > n_distinct:
        raise DataValidationError(
            f"k = {k} clusters requested but there are only {n_distinct} distinct sequences "
            "(items at distance 0 are identical); choose k <= the number of distinct sequences."
        )
    return k


@njit(cache=True)
def _count_distinct(d, n):
    seen = np.zeros(n, dtype=np.bool_)
    count = 0
    pos = 0
    for i in range(n):
        if not seen[i]:
            count += 1
        for j in range(i + 1, n):
            if d[pos] == 0.0:
                seen[j] = True
            pos += 1
    return count


# ---------------------------------------------------------------------------------------------
# Ward
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WardTree:
    """Ward hierarchical clustering of sequence distances.

    Attributes
    ----------
    linkage : ndarray (n - 1, 4)
        scipy linkage matrix; heights are on the scale of the chosen variant (ward.D heights
        are inertia increases in distance units, as R's ``hclust``).
    variant : {"D", "D2"}
    """

    linkage: np.ndarray
    variant: str

    @property
    def n_items(self) -> int:
        return int(self.linkage.shape[0] + 1)

    def labels(self, k: int) -> np.ndarray:
        """Cluster labels ``1..k`` for the partition into ``k`` groups (numbered by first member)."""
        if not 1 <= int(k) <= self.n_items:
            raise DataValidationError(f"k must be in 1..{self.n_items}, got {k}.")
        raw = cut_tree(self.linkage, n_clusters=int(k)).reshape(-1)
        _, first = np.unique(raw, return_index=True)
        order = np.argsort(np.argsort(first))
        return order[raw] + 1

    def labels_range(self, ks) -> dict[int, np.ndarray]:
        """Labels for several ``k`` from one pass over the tree."""
        ks = [int(k) for k in ks]
        cuts = cut_tree(self.linkage, n_clusters=ks)
        out = {}
        for col, k in enumerate(ks):
            raw = cuts[:, col]
            _, first = np.unique(raw, return_index=True)
            out[k] = np.argsort(np.argsort(first))[raw] + 1
        return out


@renamed(weights="weights_array")
def ward(distances, *, variant: str = "D", weights_array=None) -> WardTree:
    r"""Ward agglomerative clustering on sequence distances.

    Parameters
    ----------
    distances : condensed ndarray or square matrix
        E.g. the output of :func:`~evalkit.typology.distances.sequence_distances`.
    variant : {"D", "D2"}
        ``"D"``: Lance-Williams Ward update on the distances (R ``ward.D``, WeightedCluster and
        sequenzo's default; unweighted it is computed as scipy's Ward on :math:`\sqrt{d}`, whose
        squared heights are the ward.D heights). ``"D2"``: on squared distances (R ``ward.D2``,
        scipy's ``ward``).
    weights : array (n,), optional
        Replication (case) weights. Ward merges the two clusters whose union least increases
        the weighted inertia :math:`W(C) = \frac{1}{2 w_C} \sum_{i, j \in C} w_i w_j d_{ij}`:
        the criterion starts at :math:`2 w_i w_j d_{ij} / (w_i + w_j)` and is updated by
        Lance-Williams with cluster weights

        .. math:: D(k, i \cup j) = \frac{(w_i + w_k) D(k, i) + (w_j + w_k) D(k, j) - w_k D(i, j)}
                                        {w_i + w_j + w_k}

        so Ward on the distinct sequences with ``weights=counts`` gives the tree of Ward on all
        persons (where identical sequences merge first, at height 0) with a fraction of the
        memory. (R's ``hclust(members=)`` keeps the initial dissimilarities unscaled instead.)
        Computed by the nearest-neighbour chain algorithm (numba, O(n^2) time).
    """
    d = as_condensed(distances)
    if d.shape[0] == 0:
        raise DataValidationError("Ward needs at least 2 sequences.")
    variant = str(variant).upper().replace("WARD.", "").replace("WARD_", "")
    check_option("variant", variant, ("D", "D2"))
    if weights_array is not None:
        n = n_items_from_condensed(d)
        w = case_weights(weights_array, n)
        if (w <= 0).any():
            raise DataValidationError("Ward weights must be > 0 (drop cases of weight 0 first).")
        i, j = np.triu_indices(n, 1)
        work = (d * d if variant == "D2" else d) * (2.0 * w[i] * w[j] / (w[i] + w[j]))
        del i, j
        left, right, height = _ward_nn_chain(work, n, w.copy())
        if variant == "D2":
            height = np.sqrt(np.maximum(height, 0.0))
        return WardTree(_to_scipy_linkage(left, right, height, n), variant)
    if variant == "D":
        z = linkage(np.sqrt(d), method="ward")
        z[:, 2] = z[:, 2] ** 2
    else:
        z = linkage(d, method="ward")
    return WardTree(z, variant)


@njit(cache=True)
def _ward_nn_chain(d, n, size):
    """Weighted Ward.D by the nearest-neighbour chain; ``d`` (condensed) is overwritten."""
    active = np.ones(n, dtype=np.bool_)
    chain = np.empty(n, dtype=np.int64)
    left = np.empty(n - 1, dtype=np.int64)
    right = np.empty(n - 1, dtype=np.int64)
    height = np.empty(n - 1)
    top = 0
    for step in range(n - 1):
        if top == 0:
            for x in range(n):
                if active[x]:
                    chain[0] = x
                    top = 1
                    break
        while True:
            a = chain[top - 1]
            b = chain[top - 2] if top >= 2 else -1
            best = condensed_value(d, n, a, b) if b >= 0 else np.inf
            for x in range(n):
                if active[x] and x != a:
                    dx = condensed_value(d, n, a, x)
                    if dx < best:
                        best = dx
                        b = x
            if top >= 2 and b == chain[top - 2]:
                break
            chain[top] = b
            top += 1
        a, b = chain[top - 1], chain[top - 2]
        top -= 2
        dab = condensed_value(d, n, a, b)
        keep, gone = (a, b) if a < b else (b, a)
        for x in range(n):
            if active[x] and x != a and x != b:
                sx = size[x]
                new = ((size[a] + sx) * condensed_value(d, n, a, x)
                       + (size[b] + sx) * condensed_value(d, n, b, x)
                       - sx * dab) / (size[a] + size[b] + sx)
                i, j = (keep, x) if keep < x else (x, keep)
                d[_condensed_start(n, i) + j - i - 1] = new
        size[keep] = size[a] + size[b]
        active[gone] = False
        left[step], right[step], height[step] = keep, gone, dab
    return left, right, height


def _to_scipy_linkage(left, right, height, n) -> np.ndarray:
    """Merges (item slots, in the order found) -> scipy linkage matrix sorted by height."""
    order = np.argsort(height, kind="stable")
    cluster_of = np.arange(n)  # current scipy cluster id of the cluster held in each slot
    count = np.ones(n)
    z = np.empty((n - 1, 4))
    for row, m in enumerate(order):
        a, b = left[m], right[m]
        ca, cb = cluster_of[a], cluster_of[b]
        z[row] = (min(ca, cb), max(ca, cb), height[m], count[a] + count[b])
        cluster_of[a] = n + row
        count[a] = count[a] + count[b]
    return z


# ---------------------------------------------------------------------------------------------
# PAM
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def condensed_value(d, n, i, j):
    """``d(i, j)`` read from a condensed vector of ``n`` items (0 on the diagonal)."""
    # prange indices are unsigned: mixing them with signed ints would give floats
    i = np.int64(i)
    j = np.int64(j)
    if i == j:
        return 0.0
    if i > j:
        i, j = j, i
    return d[_condensed_start(n, i) + j - i - 1]


@njit(cache=True)
def _build(d, n, k, w):
    medoids = np.empty(k, dtype=np.int64)
    nearest = np.full(n, np.inf)
    is_medoid = np.zeros(n, dtype=np.bool_)
    for step in range(k):
        best_gain = -np.inf
        best = -1
        for j in range(n):
            if is_medoid[j]:
                continue
            gain = 0.0
            for i in range(n):
                dij = condensed_value(d, n, i, j)
                if step == 0:
                    gain -= w[i] * dij
                elif dij < nearest[i]:
                    gain += w[i] * (nearest[i] - dij)
            if gain > best_gain:
                best_gain = gain
                best = j
        medoids[step] = best
        is_medoid[best] = True
        for i in range(n):
            dib = condensed_value(d, n, i, best)
            if dib < nearest[i]:
                nearest[i] = dib
    return medoids


@njit(cache=True)
def _nearest_two(d, n, medoids):
    k = medoids.shape[0]
    near = np.empty(n, dtype=np.int64)
    d1 = np.empty(n)
    d2 = np.empty(n)
    for i in range(n):
        b1, b2, m1 = np.inf, np.inf, -1
        for m in range(k):
            dim = condensed_value(d, n, i, medoids[m])
            if dim < b1:
                b2 = b1
                b1 = dim
                m1 = m
            elif dim < b2:
                b2 = dim
        near[i] = m1
        d1[i] = b1
        d2[i] = b2
    return near, d1, d2


@njit(parallel=True, cache=True)
def _swap_deltas(d, n, medoids, w, near, d1, d2, is_medoid):
    """For every candidate h, the best medoid to replace and the change of total cost."""
    k = medoids.shape[0]
    best_delta = np.full(n, np.inf)
    best_m = np.full(n, -1, dtype=np.int64)
    for h in prange(n):
        if is_medoid[h]:
            continue
        delta = np.zeros(k)
        shared = 0.0
        for o in range(n):
            doh = condensed_value(d, n, o, h)
            # replacing any medoid other than o's nearest: o moves to h only if closer
            gain_any = doh - d1[o] if doh < d1[o] else 0.0
            shared += w[o] * gain_any
            # replacing o's nearest medoid: o goes to h or to its second nearest
            alt = doh if doh < d2[o] else d2[o]
            delta[near[o]] += w[o] * (alt - d1[o] - gain_any)
        for m in range(k):
            total = delta[m] + shared
            if total < best_delta[h]:
                best_delta[h] = total
                best_m[h] = m
    return best_delta, best_m


@njit(cache=True)
def _pam(d, n, medoids, w, max_iter, tol):
    is_medoid = np.zeros(n, dtype=np.bool_)
    for m in medoids:
        is_medoid[m] = True
    n_iter = 0
    for _ in range(max_iter):
        near, d1, d2 = _nearest_two(d, n, medoids)
        best_delta, best_m = _swap_deltas(d, n, medoids, w, near, d1, d2, is_medoid)
        h = np.argmin(best_delta)
        if not best_delta[h] < -tol:
            break
        old = medoids[best_m[h]]
        is_medoid[old] = False
        is_medoid[h] = True
        medoids[best_m[h]] = h
        n_iter += 1
    near, d1, _ = _nearest_two(d, n, medoids)
    cost = 0.0
    for i in range(n):
        cost += w[i] * d1[i]
    return medoids, near, cost, n_iter


@dataclass(frozen=True)
class MedoidPartition:
    """Result of :func:`pam` or :func:`clara`.

    Attributes
    ----------
    medoids : ndarray of int
        Row index (person) of each cluster's medoid; cluster ``c`` (label ``c + 1``) has medoid
        ``medoids[c]``.
    labels : ndarray of int (n,)
        Cluster labels ``1..k``.
    cost : float
        Weighted total distance to the medoids :math:`\\sum_i w_i d(i, m(i))`.
    mean_distance : float
        ``cost / sum(w)``.
    n_iter : int
        Swaps performed (PAM) or samples drawn (CLARA).
    sample_costs : ndarray
        CLARA only: mean distance obtained with each sample.
    """

    medoids: np.ndarray
    labels: np.ndarray
    cost: float
    mean_distance: float
    n_iter: int
    sample_costs: np.ndarray = field(default_factory=lambda: np.empty(0))


def case_weights(weights, n: int) -> np.ndarray:
    """Validated case weights (ones when ``None``)."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise DataValidationError(
            f"weights must be {n} finite values >= 0 with a positive sum; got shape {w.shape}."
        )
    return w


@renamed(weights="weights_array")
def pam(distances, k: int, *, weights_array=None, initial=None, max_iter: int = 100) -> MedoidPartition:
    r"""Partitioning Around Medoids (BUILD + SWAP) on a condensed distance vector.

    Minimises :math:`\sum_i w_i \min_{m \in M} d(i, m)` over sets :math:`M` of ``k`` medoids
    (WeightedCluster ``wcKMedoids(method="PAM")``).

    Parameters
    ----------
    distances : condensed ndarray or square matrix
    k : int
        Number of clusters (at most the number of distinct sequences).
    weights : array (n,), optional
        Case weights (e.g. survey weights, or counts of identical sequences).
    initial : array of k row indices, optional
        Starting medoids instead of BUILD (e.g. medoids of a Ward partition).
    max_iter : int
        Maximum number of swaps.
    """
    d = as_condensed(distances)
    n = n_items_from_condensed(d)
    k = _check_k(k, d, n)
    w = case_weights(weights_array, n)
    if initial is None:
        medoids = _build(d, n, k, w)
    else:
        medoids = np.asarray(initial, dtype=np.int64).copy()
        if medoids.shape != (k,) or len(set(medoids.tolist())) != k or medoids.min() < 0 or medoids.max() >= n:
            raise DataValidationError(f"initial must be {k} distinct row indices in 0..{n - 1}.")
    scale = float(d.max()) * float(w.sum()) if d.size else 1.0
    medoids, near, cost, n_iter = _pam(d, n, medoids, w, int(max_iter), 1e-12 * max(scale, 1.0))
    return MedoidPartition(medoids, near + 1, float(cost), float(cost / w.sum()), int(n_iter))


@renamed(weights="weights_array")
def medoids_of(distances, labels, weights_array=None) -> np.ndarray:
    """Row index of the medoid (minimal weighted distance sum) of each cluster ``1..k``."""
    d = as_condensed(distances)
    n = n_items_from_condensed(d)
    labels = np.asarray(labels)
    w = case_weights(weights_array, n)
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        sums = [sum(w[j] * condensed_value(d, n, i, j) for j in idx) for i in idx]
        out.append(idx[int(np.argmin(sums))])
    return np.asarray(out, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# CLARA
# ---------------------------------------------------------------------------------------------


#: Memory kept for CLARA's distances to medoids reused across samples.
_CLARA_CACHE_BYTES = 256 * 2**20


@renamed(weights="weights_array")
def clara(seq, k: int, *, method: str = "OM", sm=None, indel=1.0, cval=None, miss_cost=None,
          weights_array=None, cost_weights=None, norm: str = "none", missing: str = "raise",
          alphabet=None,
          n_samples: int = 100, sample_size: int | None = None, seed: int = 0,
          max_bytes: int | None = None) -> MedoidPartition:
    """CLARA: PAM on random samples, everyone assigned to the nearest medoid.

    Memory is ``O(sample_size^2 + n k)``: the full distance matrix is never built.

    Parameters
    ----------
    seq : Sequences or int ndarray (n, T)
    k : int
    method, sm, indel, cval, miss_cost, norm, missing, alphabet
        Distance measure, as in :func:`~evalkit.typology.distances.sequence_distances`;
        TRATE costs are computed once from *all* sequences (weighted by ``cost_weights``).
    weights : array (n,), optional
        Case weights in the PAM objective and the sample assignment cost.
    n_samples : int, default 100
        Samples drawn: 100 as WeightedCluster's ``seqclararange`` (Kaufman & Rousseeuw
        proposed 5, which leaves the partition dependent on the seed with the many
        distinct trajectories of sequence data). Distances to a medoid are computed once
        and reused by every later sample that keeps it.
    sample_size : int, optional
        Persons per sample; default ``40 + 2k`` (Kaufman & Rousseeuw), raised to at least
        ``min(n, 100 + 5k)`` for sequence data where distinct trajectories are many.
    seed : int
        Seed of the sample draws (reproducible).

    Returns
    -------
    MedoidPartition
        ``medoids`` are person rows; ``mean_distance`` is the weighted mean distance to the
        medoid, the criterion CLARA minimises; ``sample_costs`` one value per sample.
    """
    prepared = prepare_sequences(seq, missing=missing, alphabet=alphabet)
    spec = resolve_costs(prepared, method, sm, indel, cval=cval, miss_cost=miss_cost,
                         weights=cost_weights, norm=norm)
    codes = prepared.codes
    n = codes.shape[0]
    w = case_weights(weights_array, n)
    unique, inverse, _ = unique_rows(codes)
    if int(k) > unique.shape[0]:
        raise DataValidationError(
            f"k = {k} clusters requested but there are only {unique.shape[0]} distinct sequences."
        )
    if int(k) < 1:
        raise DataValidationError(f"k must be >= 1, got {k}.")
    k = int(k)
    size = sample_size if sample_size is not None else max(40 + 2 * k, min(n, 100 + 5 * k))
    size = int(min(max(size, k), n))
    check_memory(size, what="sample distance matrix", max_bytes=max_bytes)
    u_len = (unique >= 0).sum(axis=1).astype(np.int64)
    # Weighted counts of persons per distinct sequence: the assignment cost runs on distinct rows.
    u_weight = np.bincount(inverse, weights=w, minlength=unique.shape[0])
    rng = np.random.default_rng(seed)
    best = None
    sample_costs = []
    column_cache: dict[int, np.ndarray] = {}
    for _ in range(int(n_samples)):
        if best is None:
            draw = rng.choice(n, size=size, replace=False)
        else:
            # keep the current best medoids in the sample (Kaufman & Rousseeuw)
            draw = np.union1d(best[0], rng.choice(n, size=max(size - k, 1), replace=False))
        s_unique_idx, s_inv = np.unique(inverse[draw], return_inverse=True)
        if s_unique_idx.shape[0] < k:
            continue
        s_codes = unique[s_unique_idx]
        s_w = np.bincount(s_inv.reshape(-1), weights=w[draw], minlength=s_unique_idx.shape[0])
        s_dist = pairwise_unique(s_codes, u_len[s_unique_idx], spec)
        part = pam(s_dist, k, weights_array=np.maximum(s_w, 1e-12))
        med_unique = s_unique_idx[part.medoids]
        new = [m for m in med_unique if m not in column_cache]
        if (len(column_cache) + len(new)) * unique.shape[0] * 8 > _CLARA_CACHE_BYTES:
            column_cache = {m: column_cache[m] for m in (best[3] if best else ())
                            if m in column_cache}
        if new:
            fresh = cross_distances(unique, u_len, unique[new], u_len[new], spec)
            column_cache.update({m: fresh[:, j] for j, m in enumerate(new)})
        to_medoids = np.column_stack([column_cache[m] for m in med_unique])
        mean_d = float((u_weight * to_medoids.min(axis=1)).sum() / w.sum())
        sample_costs.append(mean_d)
        if best is None or mean_d < best[2]:
            # a person carrying each medoid sequence
            med_person = np.array([np.flatnonzero(inverse == m)[0] for m in med_unique])
            best = (med_person, to_medoids.argmin(axis=1), mean_d, list(med_unique))
    if best is None:
        raise EstimationError(
            f"No sample had {k} distinct sequences; increase sample_size (now {size})."
        )
    med_person, u_label, mean_d, _ = best
    labels = u_label[inverse] + 1
    return MedoidPartition(med_person, labels, mean_d * float(w.sum()), mean_d, int(n_samples),
                           np.asarray(sample_costs))
