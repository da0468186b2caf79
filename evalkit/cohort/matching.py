"""Nearest-neighbour matching with Abadie–Imbens standard errors.

Each person is matched to its ``M`` nearest neighbours in the other group -- on the logit
propensity score (default), the score itself, or the covariates (Mahalanobis, inverse
variance or Euclidean metric) -- *with all ties at the M-th distance* (as Stata's
``teffects nnmatch`` / ``nnmatch`` do), with replacement by default. The imputed
counterfactual ``Yhat_i`` is the (survey-weighted) mean outcome of the matched set ``J(i)``:
``Yhat_i = sum_{j in J(i)} s_j y_j / sum_{j in J(i)} s_j``.

* ATT: ``tau = sum_T s_i (y_i - Yhat0_i) / S1`` (matching treated persons only);
* ATE: ``tau = sum_i s_i (Yhat1_i - Yhat0_i) / S`` (everyone matched, ``Yhat_g = y`` in own group).

Standard errors (Abadie & Imbens 2006, *Econometrica* 74:235-267, Theorems 6-7), written with
``K_j = sum_i s_i c_ij`` the total weight person ``j`` receives as a match
(``c_ij = s_j / sum_{J(i)} s``; unweighted: ``K_j = K_M(j)/M``) and ``Q_j = sum_i (s_i c_ij)^2``:

* population ATT: ``V = [sum_T s_i^2 (y_i - Yhat0_i - tau)^2 + sum_C sigma_j^2 (K_j^2 - Q_j)] / S1^2``
* population ATE: ``V = [sum_i s_i^2 (Yhat1_i - Yhat0_i - tau)^2
  + sum_i sigma_i^2 (K_i^2 + 2 s_i K_i - Q_i)] / S^2``
* sample (conditional on x) effects: ``V = sum_i lambda_i^2 sigma_i^2 / S^2`` with
  ``lambda_i`` the coefficient of ``y_i`` in the estimator,

where ``sigma_i^2 = J_i/(J_i+1) (y_i - mean of its J nearest same-group neighbours)^2``
(``J = 2`` by default, Stata's ``vce(robust, nn(2))``). Unweighted, these reduce to the
published formulas (``K(K-1)/M^2`` and ``(K/M)^2 + (2M-1)/M K/M``).

For clustered data the influence vector ``psi`` is built so that ``sum psi^2`` equals the
variance above: per person, the squared terms of the formula are summed and the root carries
the sign of the person's own contribution (``y_i`` minus its neighbours' mean for the
conditional-variance terms); cluster sums of it give a cluster-robust variance. This is a heuristic extension (Abadie–Imbens
give no clustered formula) and is flagged as such in the results.

Kernels: 1-D matching uses a sorted array and :func:`numpy.searchsorted` with a compiled
outward scan (all ties form a contiguous run); covariate matching uses
:class:`scipy.spatial.cKDTree` on whitened covariates in up to 6 dimensions and blocked
distance matrices (BLAS products) above, where KD-trees lose their edge. Matching without replacement is
greedy (largest score first) on the 1-D score, for the ATT; its variance is the same formula
with every comparison person used at most once (``K_j`` in {0, 1}), i.e. conditional on the
matches -- Abadie & Imbens derive no variance for matching without replacement.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.spatial import cKDTree

from evalkit.cohort.propensity import with_intercept
from evalkit.cohort.regression import weighted_ls
from evalkit.cohort.results import EffectEstimate
from evalkit.cohort.weighting import kish_ess
from evalkit.errors import ConfigError, EstimationError
from evalkit.options import check_option

#: Distances within this (relative) tolerance of the M-th nearest are ties.
TIE_TOL = 1e-9
#: Covariate matching uses a KD-tree up to this many dimensions, blocked brute force above.
KD_TREE_MAX_DIM = 6
#: Memory for one block of the brute-force distance matrix.
BRUTE_BLOCK_BYTES = 64 * 2**20


@numba.njit(cache=True)
def _outward_scan(vals, queries, left, right, m, tol):
    """For each query, the run ``[lo, hi)`` of sorted ``vals`` holding its ``m`` nearest
    values and every value tied with the m-th; the scan starts at ``left``/``right``."""
    n = vals.shape[0]
    nq = queries.shape[0]
    lo = np.empty(nq, np.int64)
    hi = np.empty(nq, np.int64)
    for i in range(nq):
        q = queries[i]
        a = left[i]
        b = right[i]
        taken = 0
        dm = 0.0
        while taken < m and (a >= 0 or b < n):
            if a < 0:
                dm = vals[b] - q
                b += 1
            elif b >= n:
                dm = q - vals[a]
                a -= 1
            else:
                dl = q - vals[a]
                dr = vals[b] - q
                if dl <= dr:
                    dm = dl
                    a -= 1
                else:
                    dm = dr
                    b += 1
            taken += 1
        limit = dm + tol * (1.0 + abs(dm))
        while a >= 0 and q - vals[a] <= limit:
            a -= 1
        while b < n and vals[b] - q <= limit:
            b += 1
        lo[i] = a + 1
        hi[i] = b
    return lo, hi


@numba.njit(cache=True)
def _find(parent, j):
    root = j
    while parent[root] != root:
        root = parent[root]
    while parent[j] != root:
        nxt = parent[j]
        parent[j] = root
        j = nxt
    return root


@numba.njit(cache=True)
def _greedy_without_replacement(vals, queries, order, m, caliper):
    """Greedy matching without replacement on sorted ``vals``: queries in ``order`` each
    take their ``m`` nearest still-available values (within ``caliper`` if > 0).

    Availability is tracked with two path-compressed union-find structures pointing to the
    nearest available position on the left and on the right. Returns matched positions
    (``-1`` = none), shape ``(len(queries), m)``.
    """
    n = vals.shape[0]
    # left_parent[j+1] -> nearest available at or left of j (index shifted by 1; 0 = none)
    left_parent = np.arange(n + 1)
    right_parent = np.arange(n + 1)  # right_parent[j] -> nearest available at or right of j
    out = -np.ones((queries.shape[0], m), np.int64)
    for k in range(order.shape[0]):
        i = order[k]
        q = queries[i]
        p = np.searchsorted(vals, q)
        for r in range(m):
            a = _find(left_parent, p) - 1  # at or left of p-1
            b = _find(right_parent, p)
            if a < 0 and b >= n:
                break
            if a < 0:
                pick = b
            elif b >= n:
                pick = a
            else:
                pick = a if q - vals[a] <= vals[b] - q else b
            if caliper > 0 and abs(vals[pick] - q) > caliper:
                break
            out[i, r] = pick
            left_parent[pick + 1] = pick
            right_parent[pick] = pick + 1
    return out


class MatchedSets:
    """CSR representation of matched sets: ``idx[ptr[i]:ptr[i+1]]`` are the pool rows matched
    to query ``i``."""

    def __init__(self, ptr: np.ndarray, idx: np.ndarray):
        self.ptr = ptr
        self.idx = idx

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.ptr)

    @property
    def rows(self) -> np.ndarray:
        """Query row of every entry of ``idx``."""
        return np.repeat(np.arange(len(self.ptr) - 1), self.sizes)


def _ranges_to_sets(lo, hi, order, self_pos=None) -> MatchedSets:
    sizes = hi - lo
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    positions = np.arange(ptr[-1]) - np.repeat(ptr[:-1] - lo, sizes)
    if self_pos is not None:
        keep = positions != np.repeat(self_pos, sizes)
        sizes = sizes - (lo <= self_pos) * (self_pos < hi)
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        positions = positions[keep]
    return MatchedSets(ptr, order[positions])


def match_1d(pool: np.ndarray, queries: np.ndarray, m: int, caliper: float = 0.0
             ) -> MatchedSets:
    """The ``m`` nearest pool values (plus ties) of each query, within ``caliper`` if > 0."""
    order = np.argsort(pool, kind="stable")
    vals = np.ascontiguousarray(pool[order])
    pos = np.searchsorted(vals, queries)
    lo, hi = _outward_scan(vals, np.ascontiguousarray(queries), pos - 1, pos, m, TIE_TOL)
    if caliper > 0:
        lo = np.maximum(lo, np.searchsorted(vals, queries - caliper, side="left"))
        hi = np.minimum(hi, np.searchsorted(vals, queries + caliper, side="right"))
        hi = np.maximum(hi, lo)
    return _ranges_to_sets(lo, hi, order)


def match_1d_within(values: np.ndarray, j: int) -> MatchedSets:
    """The ``j`` nearest *other* members (plus ties) of each value within the same array."""
    order = np.argsort(values, kind="stable")
    vals = np.ascontiguousarray(values[order])
    self_pos = np.empty(len(values), np.int64)
    self_pos[order] = np.arange(len(values))
    queries = np.ascontiguousarray(values)
    lo, hi = _outward_scan(vals, queries, self_pos - 1, self_pos + 1, j, TIE_TOL)
    return _ranges_to_sets(lo, hi, order, self_pos)


def match_kd(pool: np.ndarray, queries: np.ndarray, m: int, caliper: float = 0.0,
             exclude_self: bool = False) -> MatchedSets:
    """``m`` nearest neighbours (plus ties) in Euclidean distance with a KD-tree.

    With ``exclude_self`` the queries are the pool itself and each point's own row is
    skipped.
    """
    tree = cKDTree(pool)
    extra = 1 if exclude_self else 0
    k = min(m + extra + 4, len(pool))
    dist, idx = tree.query(queries, k=k, workers=-1)
    dist, idx = np.atleast_2d(dist), np.atleast_2d(idx)
    if exclude_self:
        own = idx == np.arange(len(queries))[:, None]
        # move own row to the end with infinite distance
        dist = np.where(own, np.inf, dist)
        order = np.argsort(dist, axis=1, kind="stable")
        dist = np.take_along_axis(dist, order, 1)
        idx = np.take_along_axis(idx, order, 1)
    mth = min(m, k - extra) - 1
    dm = dist[:, mth]
    limit = dm + TIE_TOL * (1.0 + dm)
    if caliper > 0:
        limit = np.minimum(limit, caliper)
    inside = dist <= limit[:, None]
    lists = [None] * len(queries)
    # rows whose last candidate is still tied may have more ties: ask the tree for all of them
    overflow = np.flatnonzero((inside.sum(axis=1) == np.isfinite(dist).sum(axis=1))
                              & (k < len(pool)))
    for i in overflow:
        found = np.asarray(tree.query_ball_point(queries[i], limit[i]), dtype=np.int64)
        lists[i] = found[found != i] if exclude_self else found
    sizes = inside.sum(axis=1)
    for i in overflow:
        sizes[i] = len(lists[i])
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    flat = idx[inside]
    if len(overflow):
        pieces, start = [], 0
        row_of = np.repeat(np.arange(len(queries)), inside.sum(axis=1))
        for i in overflow:
            stop = np.searchsorted(row_of, i)
            pieces.append(flat[start:stop])
            pieces.append(lists[i])
            start = np.searchsorted(row_of, i, side="right")
        pieces.append(flat[start:])
        flat = np.concatenate(pieces)
    return MatchedSets(ptr, flat.astype(np.int64))


def match_brute(pool: np.ndarray, queries: np.ndarray, m: int, caliper: float = 0.0,
                exclude_self: bool = False) -> MatchedSets:
    """``m`` nearest neighbours (plus ties) by blocked distance matrices.

    KD-trees degrade to a slow brute force beyond a handful of dimensions; a matrix product
    per block of queries (``|q|^2 + |p|^2 - 2 q.p``) is then far faster. Candidates within a
    rounding slack of the m-th smallest expanded distance get their exact distance, so the
    sets (and ties) are those of exact arithmetic.
    """
    pool_sq = np.einsum("ij,ij->i", pool, pool)
    block = max(1, int(BRUTE_BLOCK_BYTES // (8 * len(pool))))
    mth = min(m, len(pool) - (1 if exclude_self else 0)) - 1
    rows_out, idx_out = [], []
    for start in range(0, len(queries), block):
        q = queries[start:start + block]
        d2 = pool_sq[None, :] - 2.0 * (q @ pool.T) + np.einsum("ij,ij->i", q, q)[:, None]
        if exclude_self:
            d2[np.arange(len(q)), np.arange(start, start + len(q))] = np.inf
        kth = np.partition(d2, mth, axis=1)[:, mth]
        slack = 1e-9 * (np.abs(kth) + pool_sq.max() + 1.0)
        r, c = np.nonzero(d2 <= (kth + slack)[:, None])
        exact = np.sqrt(np.einsum("ij,ij->i", q[r] - pool[c], q[r] - pool[c]))
        order = np.lexsort((exact, r))
        r, c, exact = r[order], c[order], exact[order]
        first = np.searchsorted(r, np.arange(len(q)))
        dm = exact[first + mth]
        limit = dm + TIE_TOL * (1.0 + dm)
        if caliper > 0:
            limit = np.minimum(limit, caliper)
        keep = exact <= limit[r]
        rows_out.append(r[keep] + start)
        idx_out.append(c[keep])
    rows = np.concatenate(rows_out)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(queries)))])
    return MatchedSets(ptr, np.concatenate(idx_out).astype(np.int64))


def match_nd(pool: np.ndarray, queries: np.ndarray, m: int, caliper: float = 0.0,
             exclude_self: bool = False) -> MatchedSets:
    """Multivariate matching: KD-tree in few dimensions, blocked brute force otherwise."""
    kernel = match_kd if pool.shape[1] <= KD_TREE_MAX_DIM else match_brute
    return kernel(pool, queries, m, caliper, exclude_self)


def whiten(x: np.ndarray, metric: str) -> np.ndarray:
    """Transform covariates so that Euclidean distance equals the requested metric.

    ``"mahalanobis"``: inverse of the sample covariance of ``x`` (Stata's default);
    ``"ivariance"``: inverse of its diagonal; ``"euclidean"``: identity.
    """
    if metric == "euclidean":
        return x
    if metric == "ivariance":
        sd = x.std(axis=0, ddof=1)
        return x / sd
    if metric == "mahalanobis":
        cov = np.atleast_2d(np.cov(x, rowvar=False))
        try:
            chol = np.linalg.cholesky(np.linalg.inv(cov))
        except np.linalg.LinAlgError as exc:
            raise EstimationError(
                "the covariance matrix of the matching covariates is singular (collinear "
                "covariates); drop redundant covariates or use metric='ivariance'."
            ) from exc
        return x @ chol
    raise ConfigError(f"metric={metric!r}: use 'mahalanobis', 'ivariance' or 'euclidean'.")


class _Matcher:
    """Finds matched sets across groups and within groups on one matching variable,
    optionally only within strata (exact matching)."""

    def __init__(self, z: np.ndarray, caliper: float, strata: np.ndarray | None = None):
        self.strata = strata
        if strata is not None:
            # strata far apart on an extra coordinate: neighbours come from the same stratum
            # whenever it has any; the rare cross-stratum picks are then filtered out
            big = 10.0 * (float(np.ptp(z)) + caliper + 1.0)
            offset = strata.astype(float) * big
            z = z + offset if z.ndim == 1 else np.column_stack([z, offset])
        self.z = z
        self.one_d = z.ndim == 1
        self.caliper = caliper

    def same_stratum(self, sets: MatchedSets, query_rows, keep_if_empty: bool = False
                     ) -> MatchedSets:
        """Drop matches from another stratum (with ``keep_if_empty``, a set left empty keeps
        its cross-stratum members -- used for variance neighbours only)."""
        if self.strata is None:
            return sets
        rows = sets.rows
        keep = self.strata[sets.idx] == self.strata[query_rows][rows]
        if keep_if_empty:
            empty = np.bincount(rows[keep], minlength=len(sets.ptr) - 1) == 0
            keep |= empty[rows]
        if keep.all():
            return sets
        sizes = np.bincount(rows[keep], minlength=len(sets.ptr) - 1)
        return MatchedSets(np.concatenate([[0], np.cumsum(sizes)]), sets.idx[keep])

    def across(self, pool_rows, query_rows, m) -> MatchedSets:
        if self.one_d:
            sets = match_1d(self.z[pool_rows], self.z[query_rows], m, self.caliper)
        else:
            sets = match_nd(self.z[pool_rows], self.z[query_rows], m, self.caliper)
        return self.same_stratum(MatchedSets(sets.ptr, pool_rows[sets.idx]), query_rows)

    def within(self, rows, j) -> MatchedSets:
        if len(rows) < 2:
            raise EstimationError("a group has fewer than 2 persons: no variance estimate.")
        j = min(j, len(rows) - 1)
        sets = (match_1d_within(self.z[rows], j) if self.one_d
                else match_nd(self.z[rows], self.z[rows], j, exclude_self=True))
        return self.same_stratum(MatchedSets(sets.ptr, rows[sets.idx]), rows,
                                 keep_if_empty=True)


def _imputed(sets: MatchedSets, y, s):
    """Weighted mean outcome of each matched set, its weight total and the entry weights."""
    rows = sets.rows
    sw = np.bincount(rows, weights=s[sets.idx], minlength=len(sets.ptr) - 1)
    sy = np.bincount(rows, weights=s[sets.idx] * y[sets.idx], minlength=len(sets.ptr) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sy / sw, sw


def conditional_variance(matcher: _Matcher, y, d, j: int) -> np.ndarray:
    """``sigma_i^2 = J_i/(J_i+1) (y_i - mean_{J(i)} y)^2`` from same-group neighbours, and the
    signed residual ``sqrt`` of it (for cluster sums)."""
    sigma2 = np.empty_like(y)
    signed = np.empty_like(y)
    for value in (1.0, 0.0):
        rows = np.flatnonzero(d == value)
        sets = matcher.within(rows, j)
        cnt = sets.sizes
        mean = np.bincount(sets.rows, weights=y[sets.idx], minlength=len(rows)) / cnt
        diff = y[rows] - mean
        sigma2[rows] = cnt / (cnt + 1.0) * diff * diff
        signed[rows] = np.sqrt(cnt / (cnt + 1.0)) * diff
    return sigma2, signed


def nn_matching(y, d, s, z, estimand: str, *, n_neighbors: int = 1, caliper: float = 0.0,
                replace: bool = True, variance: str = "population", var_neighbors: int = 2,
                order=None, score=None, bias_x=None, strata=None
                ) -> tuple[EffectEstimate, np.ndarray]:
    """Nearest-neighbour matching estimate and Abadie–Imbens variance.

    Parameters
    ----------
    y, d, s
        Outcome, treatment indicator, survey weights (rows with ``s == 0`` already removed).
    z
        Matching variable: 1-D (score) or whitened covariates (n x k).
    estimand
        ``"ATT"`` or ``"ATE"``.
    n_neighbors
        ``M``, matches per person (all ties at the M-th distance are kept).
    caliper
        Maximum distance (in the units of ``z``; 0 = none). Persons with no neighbour
        inside it are left unmatched.
    replace
        With replacement (default). Without replacement: greedy, ATT, 1-D ``z`` only.
    variance
        ``"population"`` (PATT/PATE, default) or ``"sample"`` (conditional on covariates).
    var_neighbors
        ``J``, same-group neighbours for the conditional variance.
    order
        Order in which treated persons pick matches without replacement (default:
        decreasing ``z``).
    score
        The fitted :class:`~evalkit.cohort.propensity.LogitFit` when ``z`` is an estimated
        propensity score: the population variance then gets the Abadie–Imbens (2016)
        adjustment for the estimation of the score (see :func:`ps_estimation_adjustment`).
    bias_x
        Covariates for the bias correction of Abadie & Imbens (2011): each imputed outcome
        becomes ``sum_j c_ij [y_j + mu_w(x_i) - mu_w(x_j)]`` with ``mu_w`` the (survey-
        weighted) least-squares regression of ``y`` on ``[1, x]`` in the matched group
        ``w``. It removes the bias from imperfect matches (PS matching leaves covariates
        unmatched within a score neighbourhood; covariate matching in several dimensions
        is biased at rate ``n^(-1/k)``). The variance formulas are those of AI (2011), with
        the conditional variances (and the AI 2016 covariances) computed on the regression
        residuals, which is what the matching then leaves to chance.

    strata
        Integer codes of exact-matching strata (Stata's ``ematch``): matches only within
        the same stratum; persons whose stratum has no one in the other group are left
        unmatched. Same-group variance neighbours come from the stratum when it has any.

    Returns
    -------
    (EffectEstimate, unmatched)
        ``unmatched`` flags persons left without a match (dropped from the estimate).
    """
    if n_neighbors < 1:
        raise ConfigError(f"n_neighbors={n_neighbors!r} must be a positive integer.")
    check_option("se", variance, ("population", "sample"))
    n = len(y)
    t_rows, c_rows = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    matcher = _Matcher(z, caliper, strata)
    targets = [(t_rows, c_rows)] if estimand == "ATT" else [(t_rows, c_rows), (c_rows, t_rows)]
    if not replace:
        if estimand != "ATT" or z.ndim != 1:
            raise ConfigError("matching without replacement is available for the ATT on the "
                              "propensity score only; use replace=True otherwise.")
        if n_neighbors * len(t_rows) > len(c_rows):
            raise EstimationError(
                f"without replacement, {len(t_rows)} treated x {n_neighbors} neighbours need "
                f"more comparison persons than the {len(c_rows)} available; use replace=True.")

    fitted = None
    if bias_x is not None:
        fitted = {1.0: _group_regression(bias_x, y, s, t_rows),
                  0.0: _group_regression(bias_x, y, s, c_rows)}
    yhat_other = y.copy()  # own-group potential outcome is the observed one
    k_weight = np.zeros(n)
    q_weight = np.zeros(n)
    unmatched = np.zeros(n, dtype=bool)
    sizes = []
    subclass = np.full(n, -1, dtype=np.int64)
    for query_rows, pool_rows in targets:
        if replace:
            sets = matcher.across(pool_rows, query_rows, n_neighbors)
        else:
            sets = matcher.same_stratum(_without_replacement(
                matcher.z, pool_rows, query_rows, n_neighbors, caliper, order), query_rows)
        imputed, sw = _imputed(sets, y, s)
        if fitted is not None:
            pool_fit = fitted[d[pool_rows[0]]]
            imputed = imputed + pool_fit[query_rows] - _imputed(sets, pool_fit, s)[0]
        none = sets.sizes == 0
        unmatched[query_rows[none]] = True
        yhat_other[query_rows] = imputed
        rows = sets.rows
        contrib = np.where(none[rows], 0.0, s[query_rows][rows] * s[sets.idx] / sw[rows])
        k_weight += np.bincount(sets.idx, weights=contrib, minlength=n)
        q_weight += np.bincount(sets.idx, weights=contrib * contrib, minlength=n)
        sizes.append(sets.sizes[~none])
        if not replace:  # pairs (or 1:k sets) are disjoint: number them like MatchIt
            pair = np.cumsum(~none) - 1
            subclass[query_rows[~none]] = pair[~none]
            subclass[sets.idx] = pair[rows]
    used = ~unmatched & ((d == 1) if estimand == "ATT" else np.ones(n, dtype=bool))
    if not used.any():
        raise EstimationError("no person could be matched within the caliper; widen it.")
    t = d == 1
    y1 = np.where(t, y, yhat_other)
    y0 = np.where(t, yhat_other, y)
    total = s[used].sum()
    tau_i = y1 - y0
    tau = np.dot(s[used], tau_i[used]) / total
    # with the bias correction, what matching leaves to chance is the regression residual
    resid = y if fitted is None else y - np.where(d == 1, fitted[1.0], fitted[0.0])
    sigma2, signed = conditional_variance(matcher, resid, d, var_neighbors)
    own = np.where(used, s, 0.0)
    lam = own + k_weight  # coefficient of y_i (in absolute value) times total
    if variance == "sample":
        psi = np.sign(np.where(t, 1.0, -1.0)) * lam * signed / total
    else:
        extra = k_weight * k_weight + 2 * own * k_weight - q_weight
        if estimand == "ATT":
            extra = np.where(t, 0.0, k_weight * k_weight - q_weight)
        extra = np.maximum(extra, 0.0)
        # the two terms of the variance are combined per person (a_i^2 + b_i^2) so that
        # sum psi^2 is exactly the Abadie-Imbens variance; the sign follows the person's
        # own contribution, which is what cluster sums aggregate
        own_term = np.where(used, s * (tau_i - tau), 0.0)
        noise_term = np.where(t, 1.0, -1.0) * np.sqrt(extra) * signed
        sign = np.where(own_term != 0, np.sign(own_term), np.sign(noise_term))
        psi = sign * np.sqrt(own_term**2 + noise_term**2) / total
    adjustment = np.nan
    if score is not None and variance == "population" and not unmatched.any():
        if estimand == "ATT":  # the adjustment needs Y(1) imputed for comparison persons too
            sets = matcher.across(t_rows, c_rows, n_neighbors)
            y1[c_rows] = _imputed(sets, y, s)[0]
            if fitted is not None:
                y1[c_rows] += fitted[1.0][c_rows] - _imputed(sets, fitted[1.0], s)[0]
        var_ai = float(np.dot(psi, psi))
        adjustment = ps_estimation_adjustment(resid, d, s, matcher.z, score, y1 - y0, tau,
                                              estimand, var_neighbors)
        if var_ai + adjustment > 0:
            # a common factor keeps cluster sums proportional to the adjusted variance
            psi = psi * np.sqrt((var_ai + adjustment) / var_ai)
    mu1 = np.dot(s[used], y1[used]) / total
    details = {
        "ps_adjustment": adjustment,
        "n_matched": int(used.sum()),
        "n_unmatched": int(unmatched.sum()),
        "mean_set_size": float(np.concatenate(sizes).mean()) if sizes else np.nan,
        "max_times_used": float(k_weight.max()),
        "n_control_used": int(((d == 0) & (lam > 0)).sum()),
        "match_weight": lam,
        "subclass": subclass if not replace else None,
    }
    est = EffectEstimate(tau, psi, mu1, mu1 - tau, kish_ess(lam[t & used]),
                         kish_ess(lam[~t & (lam > 0)]), details=details)
    return est, unmatched


def _group_regression(x, y, s, rows) -> np.ndarray:
    """Fitted values, for every person, of the weighted regression of y on [1, x] in ``rows``
    (the bias-correction outcome model)."""
    design = with_intercept(x)
    names = [f"covariate {j + 1}" for j in range(x.shape[1])]
    beta, _ = weighted_ls(design[rows], y[rows], s[rows], names, "matched")
    return design @ beta


def ps_estimation_adjustment(y, d, s, z, score, tau_i, tau, estimand, n_cov: int = 2) -> float:
    """Abadie & Imbens (2016) correction of the matching variance for an estimated score.

    With a logit score ``F(x'theta)``, ``f = F(1-F)``, information ``I = E[f x x']`` and
    ``cov_w(x)`` the covariance of ``(X, Y)`` among group-``w`` persons with the same score
    (estimated from the ``n_cov`` group-w persons nearest in score, AI 2016 Section 4):

    * ATE: ``Var = Var_AI - c' I^-1 c / N`` with
      ``c = E[f (cov_1/F + cov_0/(1-F))]``;
    * ATT: ``Var = Var_AI + (-c_t' I^-1 c_t + g_t' I^-1 g_t) / N`` with
      ``c_t = E[f (cov_1 + F/(1-F) cov_0)] / p`` and
      ``g_t = E[x f (mu_1(F) - mu_0(F) - tau_t)] / p`` (``p`` = share treated).

    Survey weights enter the expectations with weights normalised to mean one. Returns the
    additive correction to the variance of the estimate.
    """
    x = score.design
    e = score.ps
    f = e * (1.0 - e)
    w = s / s.mean()
    n = len(y)
    info = (x * (w * f)[:, None]).T @ x / n
    if estimand == "ATE":
        coef = {1.0: w * f / e, 0.0: w * f / (1.0 - e)}
        scale = n
    else:
        coef = {1.0: w * f, 0.0: w * f * e / (1.0 - e)}
        scale = n * np.mean(w * d)
    # c = sum_i coef_i cov_i with cov_i = sum_{j in set(i)} (x_j - xbar_i)(y_j - ybar_i)/(m_i - 1);
    # the xbar_i term vanishes (y deviations sum to zero within a set), so c = x' v with
    # v_j = sum over the sets containing j of coef_i (y_j - ybar_i) / (m_i - 1)
    v = np.zeros(n)
    for value in (1.0, 0.0):
        pool = np.flatnonzero(d == value)
        sets = match_1d(z[pool], z, n_cov) if z.ndim == 1 else match_nd(z[pool], z, n_cov)
        rows, idx = sets.rows, pool[sets.idx]
        size = sets.sizes.astype(float)
        ybar = np.bincount(rows, weights=y[idx], minlength=n) / size
        per_set = coef[value] / np.maximum(size - 1.0, 1.0)
        v += np.bincount(idx, weights=per_set[rows] * (y[idx] - ybar[rows]), minlength=n)
    c = x.T @ v / scale
    correction = -c @ np.linalg.solve(info, c)
    if estimand == "ATT":
        g = x.T @ (w * f * (tau_i - tau)) / scale
        correction += g @ np.linalg.solve(info, g)
    return float(correction / n)


def _without_replacement(z, pool_rows, query_rows, m, caliper, order) -> MatchedSets:
    pool = z[pool_rows]
    sort = np.argsort(pool, kind="stable")
    vals = np.ascontiguousarray(pool[sort])
    queries = np.ascontiguousarray(z[query_rows])
    order = np.argsort(-queries, kind="stable") if order is None else np.asarray(order)
    picks = _greedy_without_replacement(vals, queries, order.astype(np.int64), m, caliper)
    valid = picks >= 0
    ptr = np.concatenate([[0], np.cumsum(valid.sum(axis=1))])
    return MatchedSets(ptr, pool_rows[sort[picks[valid]]])
