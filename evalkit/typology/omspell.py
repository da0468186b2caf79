r"""Optimal matching of spells, OMspell (Studer & Ritschard 2016; TraMineR
``seqdist(method = "OMspell")``).

Each sequence is read as its spells :math:`(a_k, d_k)`: state and duration, the duration
raised to ``tpow``. Optimal matching then runs over spells with costs (``expcost`` =
:math:`\lambda`)

- insertion/deletion of a spell: :math:`indel(a_k) + \lambda (d_k - 1)`;
- substitution of spells of the same state: :math:`\lambda |d_i - d_j|`;
- substitution of spells of different states:
  :math:`s(a_i, a_j) + \lambda (d_i + d_j - 2)`.

So a one-period spell costs only its state, and longer spells cost more to insert, delete
or replace: the measure is sensitive both to the order of states and to how long each
lasts. ``indel="auto"`` is ``max(sm) / 2``, as OM.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from evalkit.errors import DataValidationError
from evalkit.typology.states import as_sequences


def spells_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spell states, durations (periods) and number of spells per row (-1 / 0 padded).

    Missing periods are allowed only at the end of a sequence.
    """
    n, t = matrix.shape
    states = np.full((n, t), -1, dtype=np.int64)
    durations = np.zeros((n, t))
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        row = matrix[i][matrix[i] >= 0]
        if row.size == 0:
            continue
        starts = np.concatenate([[0], np.flatnonzero(np.diff(row)) + 1])
        lengths = np.diff(np.concatenate([starts, [row.size]]))
        counts[i] = len(starts)
        states[i, :len(starts)] = row[starts]
        durations[i, :len(starts)] = lengths
    return states, durations, counts


@njit(cache=True)
def _omspell_pair(sa, da, na, sb, db, nb, sm, indel, lam, prev, curr):  # pragma: no cover
    prev[0] = 0.0
    for j in range(1, nb + 1):
        prev[j] = prev[j - 1] + indel[sb[j - 1]] + lam * (db[j - 1] - 1.0)
    for i in range(1, na + 1):
        a = sa[i - 1]
        delete = indel[a] + lam * (da[i - 1] - 1.0)
        curr[0] = prev[0] + delete
        for j in range(1, nb + 1):
            b = sb[j - 1]
            best = prev[j] + delete
            ins = curr[j - 1] + indel[b] + lam * (db[j - 1] - 1.0)
            if ins < best:
                best = ins
            if a == b:
                sub = prev[j - 1] + abs(lam * (da[i - 1] - db[j - 1]))
            else:
                sub = prev[j - 1] + sm[a, b] + lam * (da[i - 1] + db[j - 1] - 2.0)
            if sub < best:
                best = sub
            curr[j] = best
        for j in range(nb + 1):
            prev[j] = curr[j]
    return prev[nb]


@njit(parallel=True, cache=True)
def _omspell_condensed(states, durations, counts, sm, indel, lam):  # pragma: no cover
    n, t = states.shape
    out = np.empty(n * (n - 1) // 2)
    for i in prange(n - 1):
        prev = np.empty(t + 1)
        curr = np.empty(t + 1)
        base = i * n - i * (i + 1) // 2 - i - 1
        for j in range(i + 1, n):
            out[base + j] = _omspell_pair(states[i], durations[i], counts[i], states[j],
                                          durations[j], counts[j], sm, indel, lam, prev, curr)
    return out


def omspell_distances(data, sm, *, indel="auto", expcost: float = 0.5, tpow: float = 1.0,
                      alphabet=None) -> np.ndarray:
    """Condensed OMspell distance matrix (costs in the module docstring).

    Parameters
    ----------
    data
        :class:`~evalkit.data.Sequences` or a code matrix (with ``alphabet``); missing
        periods only at the end of a sequence.
    sm
        Symmetric substitution-cost matrix (states x states).
    indel
        A number, one cost per state, or ``"auto"`` (``max(sm) / 2``).
    expcost
        :math:`\\lambda`, the cost of each period of a spell beyond its first (>= 0;
        TraMineR's default 0.5).
    tpow
        Durations are raised to this power before costs are computed (TraMineR's
        default 1).
    """
    seq = as_sequences(data, alphabet=alphabet)
    matrix = seq.matrix
    observed = matrix >= 0
    if (observed[:, 1:] & ~observed[:, :-1]).any():
        raise DataValidationError(
            "OMspell needs sequences without inner missing periods (missing values only at "
            "the end); fill the gaps or drop those persons")
    k = len(seq.alphabet)
    sm = np.asarray(sm, dtype=float)
    if sm.shape != (k, k) or not np.allclose(sm, sm.T) or (sm < 0).any():
        raise DataValidationError(
            f"sm must be a symmetric non-negative {k} x {k} matrix of substitution costs")
    if not expcost >= 0 or not tpow > 0:
        raise DataValidationError(f"OMspell needs expcost >= 0 and tpow > 0, got {expcost}, {tpow}")
    if isinstance(indel, str):
        if indel != "auto":
            raise DataValidationError(f"indel must be a number, one per state, or 'auto', got {indel!r}")
        costs = np.full(k, sm.max() / 2.0)
    else:
        costs = np.broadcast_to(np.asarray(indel, dtype=float), (k,)).copy()
    states, durations, counts = spells_of(matrix)
    durations = np.where(counts[:, None] > np.arange(matrix.shape[1]), durations ** tpow, 0.0)
    return _omspell_condensed(states, durations, counts, sm, costs, float(expcost))
