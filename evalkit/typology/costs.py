"""Substitution-cost matrices for sequence distances (TraMineR ``seqcost`` / ``seqsubm``).

States are integer codes ``0 .. n_states - 1`` indexing the alphabet of a
:class:`~evalkit.data.Sequences` object; ``-1`` marks a missing position. Every
matrix returned here has a zero diagonal and is symmetric.

References
----------
Gabadinho, Ritschard, Müller & Studer (2011), "Analyzing and visualizing state
sequences in R with TraMineR", *Journal of Statistical Software* 40(4), section 7.
"""

from __future__ import annotations

import numpy as np

from evalkit.errors import DataValidationError
from evalkit.options import renamed


def constant_costs(n_states: int, value: float = 2.0) -> np.ndarray:
    """Constant substitution costs: ``value`` off the diagonal, 0 on it (TraMineR ``"CONSTANT"``).

    Parameters
    ----------
    n_states : int
        Size of the alphabet.
    value : float, default 2.0
        Cost of substituting any state by any other one (TraMineR's ``cval``).
    """
    if n_states < 1:
        raise DataValidationError(f"n_states must be >= 1, got {n_states}.")
    if not np.isfinite(value) or value < 0:
        raise DataValidationError(f"The constant substitution cost must be finite and >= 0, got {value!r}.")
    sm = np.full((n_states, n_states), float(value))
    np.fill_diagonal(sm, 0.0)
    return sm


def _check_codes(matrix: np.ndarray, n_states: int) -> np.ndarray:
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise DataValidationError(f"The state matrix must be 2-D (persons x periods), got shape {m.shape}.")
    bad = (m < -1) | (m >= n_states)
    if bad.any():
        values = np.unique(m[bad])[:5].tolist()
        raise DataValidationError(
            f"State codes must lie in 0..{n_states - 1} (or -1 for missing); found {values}. "
            "Declare every state in the alphabet."
        )
    return m


def _check_weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise DataValidationError(f"weights must have one value per sequence ({n}), got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise DataValidationError("weights must be finite and >= 0; found negative or non-finite values.")
    return w


@renamed(weights="weights_array")
def transition_count_matrix(matrix: np.ndarray, n_states: int, weights_array=None, *, lag: int = 1,
                            time_varying: bool = False) -> np.ndarray:
    """Weighted counts of transitions ``state[t] -> state[t + lag]`` (pairs with a missing end are skipped).

    Returns an array of shape ``(n_states, n_states)``, or ``(T - lag, n_states, n_states)``
    when ``time_varying`` (one matrix per starting position ``t``).
    """
    m = _check_codes(matrix, n_states)
    if lag < 1 or lag >= m.shape[1]:
        raise DataValidationError(f"lag must be in 1..{m.shape[1] - 1}, got {lag}.")
    w = _check_weights(weights_array, m.shape[0])
    src = m[:, :-lag].astype(np.int64)
    dst = m[:, lag:].astype(np.int64)
    ok = (src >= 0) & (dst >= 0)
    n_steps = src.shape[1]
    pair = src * n_states + dst
    ww = np.broadcast_to(w[:, None], src.shape)
    if time_varying:
        step = np.broadcast_to(np.arange(n_steps)[None, :], src.shape)
        flat = step[ok] * n_states * n_states + pair[ok]
        counts = np.bincount(flat, weights=ww[ok], minlength=n_steps * n_states * n_states)
        return counts.reshape(n_steps, n_states, n_states)
    counts = np.bincount(pair[ok], weights=ww[ok], minlength=n_states * n_states)
    return counts.reshape(n_states, n_states)


@renamed(weights="weights_array")
def transition_rate_matrix(matrix: np.ndarray, n_states: int, weights_array=None, *, lag: int = 1,
                           time_varying: bool = False) -> np.ndarray:
    r"""Transition rates :math:`p(j \mid i) = n_{ij} / \sum_k n_{ik}` on a code matrix, as TRATE uses them.

    Counts are weighted by ``weights`` when given. A transition is counted only when both
    ends are observed; rows of states never left from are 0, as in TraMineR's ``seqsubm``
    (the descriptive table with labels and groups is
    :func:`evalkit.typology.descriptives.transition_rates`, where such rows are NaN).
    """
    counts = transition_count_matrix(matrix, n_states, weights_array, lag=lag, time_varying=time_varying)
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), 0.0)
    return rates


@renamed(weights="weights_array")
def trate_costs(matrix: np.ndarray, n_states: int, weights_array=None, *, cval: float | None = None,
                lag: int = 1, time_varying: bool = False) -> np.ndarray:
    r"""Transition-rate substitution costs (TraMineR ``seqsubm(method="TRATE")``).

    Constant costs (``time_varying=False``, ``cval`` defaults to 2):

    .. math:: sm(i, j) = c - p(j \mid i) - p(i \mid j), \quad i \ne j,

    with :math:`p` the transition rates over all positions (:func:`transition_rate_matrix`).
    Time-varying costs for dynamic Hamming (``time_varying=True``, ``cval`` defaults to 4,
    Lesnard 2010), for positions :math:`t = 1..T` and rates :math:`p_t` of transitions
    :math:`t \to t+1`:

    .. math::
        sm_t(i, j) = c - p_{t-1}(j|i) - p_{t-1}(i|j) - p_t(j|i) - p_t(i|j)

    for inner positions, and :math:`c - 2[p_1(j|i) + p_1(i|j)]` at the first position,
    :math:`c - 2[p_{T-1}(j|i) + p_{T-1}(i|j)]` at the last, floored at 0.

    Weights change the rates and therefore the costs (TraMineR's ``weighted=TRUE`` default
    uses the sequence weights): pass ``weights=None`` for unweighted rates.

    Returns ``(n_states, n_states)`` or ``(T, n_states, n_states)``.
    """
    if time_varying:
        c = 4.0 if cval is None else float(cval)
        tr = transition_rate_matrix(matrix, n_states, weights_array, lag=lag, time_varying=True)
        sym = tr + np.swapaxes(tr, 1, 2)
        n_t = np.asarray(matrix).shape[1]
        costs = np.empty((n_t, n_states, n_states))
        costs[0] = c - 2.0 * sym[0]
        costs[n_t - 1] = c - 2.0 * sym[-1]
        # Inner positions see the transition into them and the one out of them; with lag > 1
        # the rate arrays are shorter than T - 1, so positions beyond them use what exists.
        for t in range(1, n_t - 1):
            before = sym[min(t - 1, sym.shape[0] - 1)]
            after = sym[t] if t < sym.shape[0] else 0.0
            costs[t] = c - before - after
        np.maximum(costs, 0.0, out=costs)
        for t in range(n_t):
            np.fill_diagonal(costs[t], 0.0)
        return costs
    c = 2.0 if cval is None else float(cval)
    tr = transition_rate_matrix(matrix, n_states, weights_array, lag=lag)
    sm = c - tr - tr.T
    np.fill_diagonal(sm, 0.0)
    return sm
