r"""Dissimilarities between state sequences: optimal matching, Hamming, dynamic Hamming, LCS.

All measures take the int8 state matrix of a :class:`~evalkit.data.Sequences` object
(persons x periods, codes index the alphabet, ``-1`` = missing) and return a *condensed*
distance vector in :func:`scipy.spatial.distance.squareform` order
(``(0, 1), (0, 2), ..., (1, 2), ...``), ready for :func:`scipy.cluster.hierarchy.linkage`.

Measures (notation: sequences :math:`x = x_1..x_m`, :math:`y = y_1..y_n`,
substitution costs :math:`sm`, insertion/deletion cost :math:`\iota`)

``"OM"`` (optimal matching, Levenshtein with weights; TraMineR ``seqdist(method="OM")``)
    :math:`D_{0,0} = 0`, :math:`D_{i,0} = i\iota`, :math:`D_{0,j} = j\iota`,

    .. math:: D_{i,j} = \min(D_{i-1,j} + \iota,\; D_{i,j-1} + \iota,\; D_{i-1,j-1} + sm(x_i, y_j))

    and :math:`d(x, y) = D_{m,n}`. When every off-diagonal cost is at least :math:`2\iota`
    a substitution is never cheaper than a deletion plus an insertion, so
    :math:`d = \iota\,(m + n - 2\,\mathrm{LCS}(x, y))` and the LCS kernel is used (exactly
    the same number; TraMineR and sequenzo do the same), computed bit-parallel (below).
``"LCS"`` (longest common subsequence): :math:`d = m + n - 2\,\mathrm{LCS}(x, y)`.
``"HAM"`` (Hamming; equal lengths): :math:`d = \sum_t sm(x_t, y_t)` (``sm`` constant 1 by default).
``"DHD"`` (dynamic Hamming, Lesnard 2010; equal lengths):
    :math:`d = \sum_t sm_t(x_t, y_t)` with time-varying transition-rate costs
    (:func:`evalkit.typology.costs.trate_costs` with ``time_varying=True``).

Missing values policy (``missing=``)
    ``"raise"`` (default)
        any ``-1`` is an error: a distance silently computed on gaps is not defensible.
    ``"state"``
        ``-1`` becomes one more state, *missing*, as TraMineR ``with.missing=TRUE``;
        substituting it costs ``miss_cost`` (default: the constant cost ``cval``, also for TRATE,
        as TraMineR's ``miss.cost.fixed``). Its indel cost is ``indel``.
    ``"trailing"``
        ``-1`` at the end of a sequence (right padding of unequal-length sequences)
        shortens it, as TraMineR's ``right = "DEL"``; OM and LCS then compare sequences of
        different lengths, HAM/DHD refuse. A ``-1`` followed by an observed state still raises.
    Sequences that are entirely missing always raise: drop them first (and record it in the ledger).

Implementation
    Identical sequences are computed once: distances are computed on the unique sequences and
    expanded. LCS lengths use the bit-parallel recurrence (64 DP cells per machine word,
    Hyyro 2004). The OM kernel runs several pairs in lockstep (one sequence against a block
    of others, the innermost loop across the block), which lets the compiler vectorise the
    dynamic programme; rows are spread over threads (numba ``prange``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from evalkit.errors import (
    DataValidationError,
    EmptyDataError,
    EstimationError,
    UnknownCategoryError,
)
from evalkit.options import check_option, renamed
from evalkit.typology.costs import constant_costs, trate_costs

METHODS = ("OM", "HAM", "DHD", "LCS")
MISSING_POLICIES = ("raise", "state", "trailing")
# TraMineR seqdist normalisations, with d the raw distance, l_x = |x| times the indel cost
# (OM; the LCS scale for LCS; the largest possible distance for HAM/DHD) and D_max the largest
# distance possible between sequences of these lengths:
NORMS = {
    "none": 0,  # d
    "maxlength": 1,  # d / max(l_x, l_y)
    "gmean": 2,  # 1 - (D_max - d) / (2 sqrt(l_x l_y))
    "maxdist": 3,  # d / D_max
    "YujianBo": 4,  # 2 d / (d + l_x + l_y)   (Yujian & Bo 2007)
    "auto": -1,  # "gmean" for LCS, "maxlength" otherwise
}
# Pairs run in lockstep: 8 doubles fill one AVX-512 register; measured best of 4/8/16.
LANES = 8


class DistanceMatrixTooLargeError(EstimationError, MemoryError):
    """The requested distance matrix does not fit in memory."""


# ---------------------------------------------------------------------------------------------
# Input preparation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedSequences:
    """State codes ready for the kernels.

    Attributes
    ----------
    codes : ndarray int8 (n, T)
        State codes; with ``missing="state"`` missing is code ``n_states - 1``; with
        ``missing="trailing"`` positions beyond ``lengths`` are -1.
    lengths : ndarray int64 (n,)
        Number of positions of each sequence.
    n_states : int
        Number of states the costs must cover (alphabet, plus missing if it is a state).
    alphabet : tuple of str or None
        State labels (with ``"<missing>"`` appended when missing is a state).
    missing_state : bool
        Whether the last code is the added *missing* state (``missing="state"``).
    """

    codes: np.ndarray
    lengths: np.ndarray
    n_states: int
    alphabet: tuple | None
    missing_state: bool = False


def _state_matrix(seq, alphabet=None) -> tuple[np.ndarray, tuple | None]:
    if hasattr(seq, "matrix"):
        matrix = np.asarray(seq.matrix)
        alphabet = tuple(seq.alphabet) if alphabet is None else tuple(alphabet)
    else:
        matrix = np.asarray(seq)
        alphabet = None if alphabet is None else tuple(alphabet)
    if matrix.ndim != 2:
        raise DataValidationError(
            f"The state matrix must be 2-D (persons x periods), got shape {matrix.shape}. "
            "Pass Sequences or its .matrix."
        )
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise EmptyDataError(f"The state matrix is empty (shape {matrix.shape}).")
    if not np.issubdtype(matrix.dtype, np.integer):
        raise DataValidationError(
            f"State codes must be integers (got dtype {matrix.dtype}); build a Sequences object "
            "or map states to codes 0..K-1 with -1 for missing."
        )
    return matrix, alphabet


def _show_rows(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f" (and {len(rows) - limit} more)" if len(rows) > limit else "")


def prepare_sequences(seq, *, missing: str = "raise", alphabet=None) -> PreparedSequences:
    """Validate a state matrix (or ``Sequences``) and apply the missing-values policy.

    Raises
    ------
    UnknownCategoryError
        Codes outside ``-1 .. len(alphabet) - 1``.
    DataValidationError
        Missing values under ``missing="raise"``, or inside a sequence under ``"trailing"``.
    EmptyDataError
        A sequence with no observed state.
    """
    check_option("missing", missing, MISSING_POLICIES)
    matrix, alphabet = _state_matrix(seq, alphabet)
    n_alpha = len(alphabet) if alphabet is not None else int(matrix.max()) + 1
    if n_alpha < 1:
        raise EmptyDataError("No state is observed: every position is missing (-1).")
    if n_alpha > 127:
        raise DataValidationError(f"At most 127 states are supported, got {n_alpha}.")
    bad = (matrix < -1) | (matrix >= n_alpha)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        values = np.unique(matrix[bad])[:5].tolist()
        raise UnknownCategoryError(
            f"State codes outside the alphabet (0..{n_alpha - 1}, -1 = missing): {values} in "
            f"rows {_show_rows(rows)}. Declare these states in the alphabet."
        )
    codes = matrix.astype(np.int8, copy=False)
    is_missing = codes < 0
    empty = np.flatnonzero(is_missing.all(axis=1))
    if empty.size:
        raise EmptyDataError(
            f"{empty.size} sequence(s) are entirely missing (rows {_show_rows(empty)}); "
            "drop them before computing distances (and record the drop in the ledger)."
        )
    n_periods = codes.shape[1]
    lengths = np.full(codes.shape[0], n_periods, dtype=np.int64)
    if is_missing.any():
        rows = np.flatnonzero(is_missing.any(axis=1))
        if missing == "raise":
            raise DataValidationError(
                f"{rows.size} sequence(s) have missing states (-1), e.g. rows {_show_rows(rows)}. "
                "Drop them, or pass missing='state' (missing is one more state, TraMineR "
                "with.missing=TRUE) or missing='trailing' (right padding shortens the sequence)."
            )
        if missing == "state":
            codes = np.where(is_missing, np.int8(n_alpha), codes).astype(np.int8)
            alphabet = None if alphabet is None else (*alphabet, "<missing>")
            return PreparedSequences(codes, lengths, n_alpha + 1, alphabet, missing_state=True)
        # trailing: observed states must form a prefix of each row
        lengths = (~is_missing).sum(axis=1).astype(np.int64)
        first_gap = np.where(is_missing.any(axis=1), np.argmax(is_missing, axis=1), n_periods)
        gap_inside = np.flatnonzero(first_gap != lengths)
        if gap_inside.size:
            raise DataValidationError(
                f"missing='trailing' allows -1 only at the end of a sequence; rows "
                f"{_show_rows(gap_inside)} have a missing state followed by an observed one. "
                "Use missing='state' or fill the gaps."
            )
    return PreparedSequences(codes, lengths, n_alpha, alphabet)


def unique_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of an int8 code matrix in order of first appearance: ``(unique, inverse, counts)``.

    First-appearance order makes ``inverse`` the identity when all rows differ, so the
    distances need no expansion (no second matrix in memory).
    """
    unique, first, inverse, counts = np.unique(codes, axis=0, return_index=True,
                                               return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    inverse = rank[inverse.reshape(-1)].astype(np.int64)
    return np.ascontiguousarray(unique[order]), inverse, counts[order]


# ---------------------------------------------------------------------------------------------
# Costs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistanceSpec:
    """Resolved measure: method, substitution costs and indel cost.

    ``sm`` is ``(K, K)`` (``(T, K, K)`` for DHD); ``kernel`` is the kernel actually run
    (``"OM"``, ``"LCS"`` for OM whose substitutions never beat two indels, ``"HAM"`` for HAM and DHD);
    ``scale`` multiplies the LCS kernel output; ``norm`` is the normalisation (never "auto").
    """

    method: str
    sm: np.ndarray
    indel: float
    kernel: str
    scale: float = 1.0
    norm: str = "none"


def _check_sm_matrix(sm: np.ndarray, n_states: int, method: str) -> np.ndarray:
    sm = np.asarray(sm, dtype=float)
    expected = (n_states, n_states)
    if method == "DHD":
        if sm.ndim != 3 or sm.shape[1:] != expected:
            raise DataValidationError(
                f"DHD needs time-varying costs of shape (T, {n_states}, {n_states}); got {sm.shape}."
            )
        blocks = sm
    else:
        if sm.shape != expected:
            raise DataValidationError(
                f"The substitution-cost matrix must be {n_states} x {n_states} (one row per state "
                "in alphabet order, the missing state last with missing='state'); "
                f"got shape {sm.shape}."
            )
        blocks = sm[None]
    if not np.all(np.isfinite(blocks)) or (blocks < 0).any():
        raise DataValidationError("Substitution costs must be finite and >= 0.")
    if not np.allclose(blocks, np.swapaxes(blocks, 1, 2), rtol=0, atol=1e-12):
        raise DataValidationError("The substitution-cost matrix must be symmetric.")
    diag = np.diagonal(blocks, axis1=1, axis2=2)
    if np.any(diag != 0):
        raise DataValidationError("The substitution-cost matrix must have a zero diagonal.")
    return sm


def resolve_costs(prepared: PreparedSequences, method: str = "OM", sm=None, indel=1.0, *,
                  cval: float | None = None, miss_cost: float | None = None,
                  weights=None, norm: str = "none") -> DistanceSpec:
    """Build the substitution costs and indel cost of a measure (TraMineR ``seqdist`` defaults).

    Parameters
    ----------
    method : {"OM", "HAM", "DHD", "LCS"}
    sm : {"CONSTANT", "TRATE"}, ndarray or None
        None: ``"TRATE"`` for DHD, ``"CONSTANT"`` otherwise. ``"CONSTANT"``: ``cval`` off the diagonal (default 2 for OM, 1 for HAM).
        ``"TRATE"``: transition-rate costs (:func:`~evalkit.typology.costs.trate_costs`, from
        the rates of *all* sequences, weighted by ``weights`` if given). For DHD, ``"TRATE"``
        (the default whatever ``sm`` says, unless an array is passed) means time-varying costs.
        An array gives the costs directly (``(K, K)``, or ``(T, K, K)`` for DHD).
    indel : float or "auto"
        Insertion/deletion cost; ``"auto"`` is ``max(sm) / 2`` (TraMineR).
    miss_cost : float, optional
        Cost of substituting the missing state (``missing="state"``); default ``cval``
        (2 for OM/TRATE, 1 for HAM, 4 for DHD).
    norm : {"none", "auto", "maxlength", "gmean", "maxdist", "YujianBo"}
        Normalisation (TraMineR ``seqdist(norm=)``; see :data:`NORMS`).
    """
    method = str(method).upper()
    check_option("method", method, METHODS)
    check_option("norm", norm, NORMS)
    if norm == "auto":
        norm = "gmean" if method == "LCS" else "maxlength"
    k = prepared.n_states
    n_periods = prepared.codes.shape[1]
    if method in ("HAM", "DHD") and np.any(prepared.lengths != n_periods):
        raise DataValidationError(
            f"{method} compares positions one by one and needs sequences of equal length; "
            "use OM or LCS for sequences of different lengths."
        )
    if method == "LCS":
        return DistanceSpec("LCS", constant_costs(k, 2.0), 1.0, "LCS", 1.0, norm)

    if sm is None:
        sm = "TRATE" if method == "DHD" else "CONSTANT"
    weights = None if weights is None else np.asarray(weights, dtype=float)
    codes_for_rates = prepared.codes
    if isinstance(sm, str):
        name = sm.upper()
        if method == "DHD":
            if name == "CONSTANT":
                raise DataValidationError("sm='CONSTANT' is not relevant for DHD; use method='HAM'.")
            c = 4.0 if cval is None else float(cval)
            costs = trate_costs(codes_for_rates, k, weights, cval=c, time_varying=True)
        elif name == "CONSTANT":
            c = (1.0 if method == "HAM" else 2.0) if cval is None else float(cval)
            costs = constant_costs(k, c)
        elif name == "TRATE":
            c = 2.0 if cval is None else float(cval)
            costs = trate_costs(codes_for_rates, k, weights, cval=c)
        else:
            raise DataValidationError(f"sm must be 'CONSTANT', 'TRATE' or an array, got {sm!r}.")
        if prepared.missing_state:
            mc = c if miss_cost is None else float(miss_cost)
            costs[..., k - 1, : k - 1] = mc
            costs[..., : k - 1, k - 1] = mc
    else:
        costs = _check_sm_matrix(sm, k, method)
        if method == "DHD" and costs.shape[0] != n_periods:
            raise DataValidationError(
                f"DHD costs have {costs.shape[0]} time slices but sequences have {n_periods} positions."
            )
    if isinstance(indel, str):
        if indel != "auto":
            raise DataValidationError(f"indel must be a number or 'auto', got {indel!r}.")
        indel_value = float(np.max(costs)) / 2.0
    else:
        indel_value = float(indel)
    if not np.isfinite(indel_value) or indel_value <= 0:
        raise DataValidationError(f"indel must be finite and > 0, got {indel!r}.")
    if method in ("HAM", "DHD"):
        sm3 = costs if costs.ndim == 3 else costs[None]
        return DistanceSpec(method, np.ascontiguousarray(sm3), indel_value, "HAM", 1.0, norm)
    off = costs[~np.eye(k, dtype=bool)]
    if off.size == 0 or np.all(off >= 2.0 * indel_value):
        return DistanceSpec("OM", np.ascontiguousarray(costs), indel_value, "LCS", indel_value, norm)
    return DistanceSpec("OM", np.ascontiguousarray(costs), indel_value, "OM", 1.0, norm)


# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------


@njit(cache=True, fastmath=True, inline="always")
def _om_block(a, la, B, lb, v0, count, sm, indel, prof, prev, curr, out, out_pos):
    """OM of sequence ``a`` against ``B[v0 : v0 + count]``, the pairs advancing in lockstep."""
    n_states = sm.shape[0]
    lmax = 0
    for p in range(count):
        if lb[v0 + p] > lmax:
            lmax = lb[v0 + p]
    # Query profile: prof[s, j, p] = sm[s, B[v0 + p, j]], so the inner loop reads contiguously.
    for s in range(n_states):
        for j in range(lmax):
            for p in range(LANES):
                if p < count:
                    b = B[v0 + p, j]
                    prof[s, j, p] = sm[s, b] if b >= 0 else 0.0
                else:
                    prof[s, j, p] = 0.0
    for j in range(lmax + 1):
        for p in range(LANES):
            prev[j, p] = j * indel
    for i in range(1, la + 1):
        s = a[i - 1]
        for p in range(LANES):
            curr[0, p] = i * indel
        for j in range(1, lmax + 1):
            for p in range(LANES):
                best = prev[j, p] + indel
                ins = curr[j - 1, p] + indel
                sub = prev[j - 1, p] + prof[s, j - 1, p]
                if ins < best:
                    best = ins
                if sub < best:
                    best = sub
                curr[j, p] = best
        for j in range(lmax + 1):
            for p in range(LANES):
                prev[j, p] = curr[j, p]
    for p in range(count):
        out[out_pos + p] = prev[lb[v0 + p], p]


@njit(cache=True)
def _condensed_start(n, u):
    """Position of pair (u, u + 1) in a condensed vector of n items."""
    return n * u - (u * (u + 1)) // 2


@njit(parallel=True, cache=True, fastmath=True)
def om_condensed(U, lengths, sm, indel, out):
    """OM between all pairs of rows of ``U`` into the condensed vector ``out``.

    Rows ``r`` and ``n - 2 - r`` go to the same iteration so every thread gets the same
    amount of triangle.
    """
    n, width = U.shape
    n_states = sm.shape[0]
    for r in prange(n // 2):
        prof = np.empty((n_states, width, LANES))
        prev = np.empty((width + 1, LANES))
        curr = np.empty((width + 1, LANES))
        for which in range(2):
            u = np.int64(r) if which == 0 else np.int64(n - 2) - np.int64(r)
            if which == 1 and u <= r:
                break
            base = _condensed_start(n, u)
            v0 = u + 1
            while v0 < n:
                count = min(LANES, n - v0)
                _om_block(U[u], lengths[u], U, lengths, v0, count, sm, indel, prof, prev, curr,
                          out, base + (v0 - u - 1))
                v0 += count


@njit(parallel=True, cache=True, fastmath=True)
def om_cross(A, la, B, lb, sm, indel, out):
    """OM between every row of ``A`` and every row of ``B`` into ``out`` (len(A) x len(B))."""
    na = A.shape[0]
    nb, width = B.shape
    n_states = sm.shape[0]
    flat = out.reshape(-1)
    for u in prange(na):
        prof = np.empty((n_states, width, LANES))
        prev = np.empty((width + 1, LANES))
        curr = np.empty((width + 1, LANES))
        v0 = 0
        while v0 < nb:
            count = min(LANES, nb - v0)
            _om_block(A[u], la[u], B, lb, v0, count, sm, indel, prof, prev, curr, flat, u * nb + v0)
            v0 += count


@njit(cache=True)
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _match_masks(a, la, n_states, n_words):
    """Bit ``i`` of ``pm[s]`` is set when ``a[i] == s`` (positions ``< la``)."""
    pm = np.zeros((n_states, n_words), dtype=np.uint64)
    for i in range(la):
        pm[a[i], i >> 6] |= np.uint64(1) << np.uint64(i & 63)
    return pm


@njit(cache=True)
def _lcs_bits(pm, la, b, lb, v):
    """LCS length by the bit-parallel recurrence (Allison & Dix 1986; Hyyro 2004).

    ``V`` starts all ones; for each ``y_j``: ``U = V & PM[y_j]``, ``V = (V + U) | (V - U)``,
    where ``V - U = V & ~U`` since ``U`` is a subset of ``V``; the addition carries across words.
    The LCS is the number of zero bits of ``V`` among the first ``la``.
    """
    n_words = v.shape[0]
    full = ~np.uint64(0)
    for w in range(n_words):
        v[w] = full
    for j in range(lb):
        row = pm[b[j]]
        carry = np.uint64(0)
        for w in range(n_words):
            vw = v[w]
            uw = vw & row[w]
            s = vw + uw
            c1 = np.uint64(1) if s < vw else np.uint64(0)
            s2 = s + carry
            c2 = np.uint64(1) if s2 < s else np.uint64(0)
            v[w] = s2 | (vw & ~uw)
            carry = c1 | c2
    total = 0
    for w in range(n_words):
        lo = w * 64
        if lo >= la:
            break
        bits = ~v[w]
        if la - lo < 64:
            bits &= (np.uint64(1) << np.uint64(la - lo)) - np.uint64(1)
        total += _popcount(bits)
    return total


@njit(cache=True)
def _lcs_bits_short(pm, la, b, lb):
    """:func:`_lcs_bits` for sequences of at most 128 positions, with the state in registers."""
    v0 = ~np.uint64(0)
    v1 = ~np.uint64(0)
    one = np.uint64(1)
    zero = np.uint64(0)
    for j in range(lb):
        s = b[j]
        u0 = v0 & pm[s, 0]
        u1 = v1 & pm[s, 1]
        s0 = v0 + u0
        carry = one if s0 < v0 else zero
        v0 = s0 | (v0 & ~u0)
        v1 = (v1 + u1 + carry) | (v1 & ~u1)
    bits0 = ~v0
    bits1 = ~v1
    if la < 64:
        bits0 &= (one << np.uint64(la)) - one
        bits1 = zero
    elif la < 128:
        bits1 &= (one << np.uint64(la - 64)) - one
    return _popcount(bits0) + _popcount(bits1)


@njit(cache=True, inline="always")
def _lcs(pm, la, b, lb, v):
    if v.shape[0] <= 2:
        return _lcs_bits_short(pm, la, b, lb)
    return _lcs_bits(pm, la, b, lb, v)


@njit(parallel=True, cache=True)
def lcs_condensed(U, lengths, n_states, out):
    """LCS distance ``m + n - 2 LCS`` between all pairs of rows of ``U`` (condensed)."""
    n, width = U.shape
    n_words = max(2, (width + 63) // 64)
    for r in prange(n // 2):
        v = np.empty(n_words, dtype=np.uint64)
        for which in range(2):
            u = np.int64(r) if which == 0 else np.int64(n - 2) - np.int64(r)
            if which == 1 and u <= r:
                break
            pm = _match_masks(U[u], lengths[u], n_states, n_words)
            base = _condensed_start(n, u)
            for vv in range(u + 1, n):
                common = _lcs(pm, lengths[u], U[vv], lengths[vv], v)
                out[base + vv - u - 1] = lengths[u] + lengths[vv] - 2 * common


@njit(parallel=True, cache=True)
def lcs_cross(A, la, B, lb, n_states, out):
    """LCS distance between every row of ``A`` and every row of ``B``."""
    n_words = max(2, (max(A.shape[1], B.shape[1]) + 63) // 64)
    for u in prange(A.shape[0]):
        v = np.empty(n_words, dtype=np.uint64)
        pm = _match_masks(A[u], la[u], n_states, n_words)
        for vv in range(B.shape[0]):
            out[u, vv] = la[u] + lb[vv] - 2 * _lcs(pm, la[u], B[vv], lb[vv], v)


@njit(cache=True)
def _normalised(raw, m, n, code, unit, max_sub, fixed):
    """One distance normalised as TraMineR's ``normdist`` (``fixed`` > 0: HAM/DHD bound)."""
    if abs(raw) < 1e-12:
        return 0.0
    if fixed > 0.0:
        lx, ly, dmax = fixed, fixed, fixed
    else:
        lx, ly = m * unit, n * unit
        dmax = abs(n - m) * unit + max_sub * min(m, n)
    if code == 1:
        big = max(lx, ly)
        return raw / big if big > 0.0 else 0.0
    if code == 2:
        if abs(lx * ly) < 1e-12:
            return 0.0 if abs(lx - ly) < 1e-12 else 1.0
        return 1.0 - (dmax - raw) / (2.0 * np.sqrt(lx) * np.sqrt(ly))
    if code == 3:
        return 1.0 if abs(dmax) < 1e-12 else raw / dmax
    if code == 4:
        both = lx + ly
        if abs(both) < 1e-12:
            return 0.0
        return 2.0 * raw / (raw + both)
    return raw


@njit(parallel=True, cache=True)
def normalise_condensed(d, lengths, code, unit, max_sub, fixed):
    """Normalise a condensed vector in place (pair lengths from ``lengths``)."""
    n = lengths.shape[0]
    for i in prange(n - 1):
        base = _condensed_start(n, i)
        for j in range(i + 1, n):
            k = base + j - i - 1
            d[k] = _normalised(d[k], lengths[i], lengths[j], code, unit, max_sub, fixed)


@njit(parallel=True, cache=True)
def normalise_cross(d, la, lb, code, unit, max_sub, fixed):
    """Normalise an ``(n_a, n_b)`` distance array in place."""
    for i in prange(d.shape[0]):
        for j in range(d.shape[1]):
            d[i, j] = _normalised(d[i, j], la[i], lb[j], code, unit, max_sub, fixed)


def _normalise(d: np.ndarray, la: np.ndarray, lb: np.ndarray | None, width: int,
               spec: DistanceSpec) -> None:
    """Apply ``spec.norm`` in place to condensed (``lb`` None) or cross distances."""
    code = NORMS[spec.norm]
    if code == 0 or d.size == 0:
        return
    unit, max_sub, fixed = _norm_constants(spec, width)
    if lb is None:
        normalise_condensed(d, la, code, unit, max_sub, fixed)
    else:
        normalise_cross(d, la, lb, code, unit, max_sub, fixed)


def _norm_constants(spec: DistanceSpec, width: int) -> tuple[float, float, float]:
    """(unit, largest substitution cost used, HAM/DHD bound) for :func:`_normalised`."""
    if spec.kernel == "HAM":
        per_position = spec.sm.max(axis=(1, 2))
        bound = per_position[0] * width if spec.sm.shape[0] == 1 else per_position[:width].sum()
        return 1.0, 0.0, float(bound)
    if spec.kernel == "LCS":
        return spec.scale, 2.0 * spec.scale, 0.0
    off = spec.sm[~np.eye(spec.sm.shape[0], dtype=bool)]
    return spec.indel, min(float(off.max()) if off.size else 0.0, 2.0 * spec.indel), 0.0


@njit(cache=True, fastmath=True, inline="always")
def _ham_pair(a, b, sm3, tstep):
    total = 0.0
    for t in range(a.shape[0]):
        total += sm3[t * tstep, a[t], b[t]]
    return total


@njit(parallel=True, cache=True, fastmath=True)
def ham_condensed(U, sm3, out):
    """(Dynamic) Hamming between all pairs of rows of ``U`` (``sm3`` has 1 or T slices)."""
    n = U.shape[0]
    tstep = 1 if sm3.shape[0] > 1 else 0
    for r in prange(n // 2):
        for which in range(2):
            u = np.int64(r) if which == 0 else np.int64(n - 2) - np.int64(r)
            if which == 1 and u <= r:
                break
            base = _condensed_start(n, u)
            for v in range(u + 1, n):
                out[base + v - u - 1] = _ham_pair(U[u], U[v], sm3, tstep)


@njit(parallel=True, cache=True, fastmath=True)
def ham_cross(A, B, sm3, out):
    """(Dynamic) Hamming between every row of ``A`` and every row of ``B``."""
    tstep = 1 if sm3.shape[0] > 1 else 0
    for u in prange(A.shape[0]):
        for v in range(B.shape[0]):
            out[u, v] = _ham_pair(A[u], B[v], sm3, tstep)


@njit(parallel=True, cache=True)
def expand_condensed(inverse, unique_condensed, n_unique, out):
    """Distances between all n items from distances between their unique values."""
    n = inverse.shape[0]
    for i in prange(n - 1):
        ui = inverse[i]
        base = _condensed_start(n, i)
        for j in range(i + 1, n):
            uj = inverse[j]
            if ui == uj:
                out[base + j - i - 1] = 0.0
            elif ui < uj:
                out[base + j - i - 1] = unique_condensed[_condensed_start(n_unique, ui) + uj - ui - 1]
            else:
                out[base + j - i - 1] = unique_condensed[_condensed_start(n_unique, uj) + ui - uj - 1]


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def available_memory_bytes() -> int:
    """Memory the OS reports as available (``MemAvailable``), or 4 GiB when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3


def check_memory(n_items: int, *, what: str = "distance matrix", max_bytes: int | None = None,
                 extra_bytes: int = 0) -> int:
    """Raise :class:`DistanceMatrixTooLargeError` if a condensed float64 matrix of ``n_items`` won't fit.

    The budget is ``max_bytes`` if given, else 80 % of the memory currently available.
    Returns the number of bytes needed.
    """
    need = n_items * (n_items - 1) // 2 * 8 + int(extra_bytes)
    budget = int(0.8 * available_memory_bytes()) if max_bytes is None else int(max_bytes)
    if need > budget:
        raise DistanceMatrixTooLargeError(
            f"The condensed {what} of {n_items:,} sequences needs {need / 1e9:.1f} GB but the budget "
            f"is {budget / 1e9:.1f} GB (max_bytes or 80% of available memory). Use "
            "evalkit.typology.clara(...), which never builds the full matrix, or compute the "
            "distances on a random sample of sequences."
        )
    return need


@contextmanager
def _threads(n_threads: int | None):
    """Run the kernels on ``n_threads`` numba threads, then restore the caller's setting."""
    if n_threads is None:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def pairwise_unique(unique_codes: np.ndarray, lengths: np.ndarray, spec: DistanceSpec) -> np.ndarray:
    """Condensed distances between the rows of ``unique_codes`` under ``spec`` (no dedup, no checks)."""
    n = unique_codes.shape[0]
    out = np.empty(n * (n - 1) // 2)
    if n < 2:
        return out
    if spec.kernel == "HAM":
        ham_condensed(unique_codes, spec.sm, out)
    elif spec.kernel == "LCS":
        lcs_condensed(unique_codes, lengths, spec.sm.shape[0], out)
    else:
        om_condensed(unique_codes, lengths, spec.sm, spec.indel, out)
    if spec.scale != 1.0:
        out *= spec.scale
    _normalise(out, lengths, None, unique_codes.shape[1], spec)
    return out


def cross_distances(codes_a: np.ndarray, lengths_a: np.ndarray, codes_b: np.ndarray,
                    lengths_b: np.ndarray, spec: DistanceSpec) -> np.ndarray:
    """Distances between every row of ``codes_a`` and every row of ``codes_b``, shape (n_a, n_b)."""
    out = np.empty((codes_a.shape[0], codes_b.shape[0]))
    if out.size == 0:
        return out
    if spec.kernel == "HAM":
        ham_cross(codes_a, codes_b, spec.sm, out)
    elif spec.kernel == "LCS":
        lcs_cross(codes_a, lengths_a, codes_b, lengths_b, spec.sm.shape[0], out)
    else:
        om_cross(codes_a, lengths_a, codes_b, lengths_b, spec.sm, spec.indel, out)
    if spec.scale != 1.0:
        out *= spec.scale
    _normalise(out, lengths_a, lengths_b, codes_a.shape[1], spec)
    return out


@dataclass(frozen=True)
class UniqueDistances:
    """Distances between the distinct sequences, with the map back to persons.

    Attributes
    ----------
    condensed : ndarray
        Condensed distances between the ``n_unique`` distinct sequences.
    inverse : ndarray (n,)
        ``inverse[i]`` is the distinct sequence of person ``i``.
    counts : ndarray (n_unique,)
        Number of persons with each distinct sequence (use as clustering weights).
    unique_codes : ndarray int8 (n_unique, T)
    spec : DistanceSpec
        Method, costs and indel cost actually used.
    """

    condensed: np.ndarray
    inverse: np.ndarray
    counts: np.ndarray
    unique_codes: np.ndarray
    spec: DistanceSpec

    @property
    def n_unique(self) -> int:
        return int(self.counts.shape[0])

    def expand(self, *, max_bytes: int | None = None) -> np.ndarray:
        """Condensed distances between all persons (identical sequences at distance 0).

        When no two persons share a sequence this is :attr:`condensed` itself (not a copy).
        """
        n = int(self.inverse.shape[0])
        if self.n_unique == n:
            return self.condensed
        check_memory(n, max_bytes=max_bytes)
        out = np.empty(n * (n - 1) // 2)
        if n >= 2:
            expand_condensed(self.inverse, self.condensed, self.n_unique, out)
        return out


@renamed(weights="weights_array")
def unique_sequence_distances(seq, *, method: str = "OM", sm=None, indel=1.0,
                              cval: float | None = None, miss_cost: float | None = None,
                              weights_array=None, norm: str = "none", missing: str = "raise",
                              alphabet=None,
                              max_bytes: int | None = None,
                              n_threads: int | None = None) -> UniqueDistances:
    """Distances between the distinct sequences only (see :func:`sequence_distances`).

    Cheaper in time and memory when many persons share a trajectory; cluster the result with
    ``weights=result.counts`` and map labels back with ``labels[result.inverse]``.
    """
    prepared = prepare_sequences(seq, missing=missing, alphabet=alphabet)
    spec = resolve_costs(prepared, method, sm, indel, cval=cval, miss_cost=miss_cost,
                         weights=weights_array, norm=norm)
    unique, inverse, counts = unique_rows(prepared.codes)
    lengths = (unique >= 0).sum(axis=1).astype(np.int64)
    check_memory(unique.shape[0], what="distance matrix of distinct sequences", max_bytes=max_bytes)
    with _threads(n_threads):
        condensed = pairwise_unique(unique, lengths, spec)
    return UniqueDistances(condensed, inverse, counts, unique, spec)


@renamed(weights="weights_array")
def sequence_distances(seq, *, method: str = "OM", sm=None, indel=1.0,
                       cval: float | None = None, miss_cost: float | None = None, weights_array=None,
                       norm: str = "none", missing: str = "raise", alphabet=None,
                       max_bytes: int | None = None, n_threads: int | None = None) -> np.ndarray:
    r"""Condensed distance matrix between state sequences (TraMineR ``seqdist``).

    Parameters
    ----------
    seq : Sequences or ndarray of int (n, T)
        State codes ``0..K-1`` (``-1`` missing), e.g. ``Sequences.matrix``.
    method : {"OM", "HAM", "DHD", "LCS"}
        Optimal matching, Hamming, dynamic Hamming, longest-common-subsequence distance
        (recurrences in the module docstring).
    sm : {"CONSTANT", "TRATE"} or ndarray
        Substitution costs (see :func:`resolve_costs`). ``"TRATE"``: :math:`2 - p(j|i) - p(i|j)`.
        Ignored by LCS; DHD uses time-varying TRATE costs unless an array is given.
    indel : float or "auto", default 1.0
        Insertion/deletion cost (OM). ``"auto"`` is ``max(sm) / 2`` as in TraMineR.
    cval : float, optional
        Constant cost (``"CONSTANT"``, default 2 for OM, 1 for HAM) or the constant of TRATE
        (default 2; 4 for DHD).
    miss_cost : float, optional
        Substitution cost of the missing state when ``missing="state"``.
    weights : array (n,), optional
        Sequence weights used to compute TRATE transition rates (TraMineR's ``weighted=TRUE``
        uses the weights attached to the sequence object). Distances themselves are unweighted.
    norm : {"none", "auto", "maxlength", "gmean", "maxdist", "YujianBo"}
        Normalisation as TraMineR/sequenzo (formulas at :data:`NORMS`); ``"auto"`` is
        ``"gmean"`` for LCS and ``"maxlength"`` otherwise.
    missing : {"raise", "state", "trailing"}
        Missing-values policy (module docstring).
    alphabet : sequence of str, optional
        State labels when ``seq`` is a plain array (fixes ``K``; defaults to ``max code + 1``).
    max_bytes : int, optional
        Memory budget for the matrix; default 80 % of available memory.
    n_threads : int, optional
        numba threads (default: all).

    Returns
    -------
    ndarray of float64, length ``n (n - 1) / 2``
        Condensed distances (:func:`scipy.spatial.distance.squareform` order).

    Raises
    ------
    UnknownCategoryError, DataValidationError, EmptyDataError
        Bad codes, missing values under ``missing="raise"``, all-missing sequences.
    DistanceMatrixTooLargeError
        The matrix would not fit in memory (use :func:`evalkit.typology.clara`).

    Notes
    -----
    Distances are computed once per distinct sequence and expanded. Matches sequenzo 0.1.42
    (hence TraMineR) to 1e-9 on ``mvad`` for OM (constant and TRATE costs), HAM and DHD.
    """
    check_memory(_state_matrix(seq)[0].shape[0], max_bytes=max_bytes)
    result = unique_sequence_distances(seq, method=method, sm=sm, indel=indel, cval=cval, miss_cost=miss_cost,
                                       weights_array=weights_array, norm=norm, missing=missing,
                                       alphabet=alphabet,
                                       max_bytes=max_bytes, n_threads=n_threads)
    return result.expand(max_bytes=max_bytes)
