r"""Time Warp Edit Distance between state sequences (Marteau 2009; Halpin 2014 for
categorical sequences; TraMineR ``seqdist(method = "TWED")``).

With sequences :math:`a_1..a_m`, :math:`b_1..b_n`, substitution costs :math:`s`, stiffness
:math:`\nu > 0` and gap penalty :math:`h \ge 0`, the distance is :math:`D(m, n)` of

.. math::

    D(i, j) = \min \begin{cases}
      D(i-1, j-1) + s(a_i, b_j) + s(a_{i-1}, b_{j-1}) + 2\nu |i - j| & \text{match} \\
      D(i-1, j) + s(a_i, a_{i-1}) + \nu + h & \text{delete in } a \\
      D(i, j-1) + s(b_j, b_{j-1}) + \nu + h & \text{delete in } b
    \end{cases}

with :math:`D(i, 0) = i \cdot indel`, :math:`D(0, j) = j \cdot indel`; the match term
is 0 when both the current and the previous states agree, the previous state of the first
position costs nothing, and a match of a first position with a later one is not allowed
(as TraMineR and sequenzo). ``indel="auto"`` is :math:`2 \max s + \nu + h`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from evalkit.errors import DataValidationError
from evalkit.typology.states import as_sequences


@njit(cache=True)
def _twed_pair(a, la, b, lb, sm, indel, nu, lam, prev, curr):  # pragma: no cover - compiled
    inf = np.inf
    for j in range(lb + 1):
        prev[j] = j * indel
    for i in range(1, la + 1):
        ai = a[i - 1]
        ap = a[i - 2] if i > 1 else -1
        curr[0] = i * indel
        for j in range(1, lb + 1):
            bj = b[j - 1]
            bp = b[j - 2] if j > 1 else -1
            if ai == bj and ap == bp:
                cost = 0.0
            else:
                cost = sm[ai, bj] + (sm[ap, bp] if ap >= 0 and bp >= 0 else 0.0)
            sub = prev[j - 1] + cost + 2.0 * nu * abs(i - j)
            i_warp = inf
            if j > 1:
                i_warp = curr[j - 1] + sm[bj, bp] + nu + lam
            elif i > 1:
                sub = inf
            j_warp = inf
            if i > 1:
                j_warp = prev[j] + sm[ai, ap] + nu + lam
            elif j > 1:
                sub = inf
            best = sub
            if i_warp < best:
                best = i_warp
            if j_warp < best:
                best = j_warp
            curr[j] = best
        for j in range(lb + 1):
            prev[j] = curr[j]
    return prev[lb]


@njit(parallel=True, cache=True)
def _twed_condensed(codes, lengths, sm, indel, nu, lam):  # pragma: no cover - compiled
    n, t = codes.shape
    out = np.empty(n * (n - 1) // 2)
    for i in prange(n - 1):
        prev = np.empty(t + 1)
        curr = np.empty(t + 1)
        base = i * n - i * (i + 1) // 2 - i - 1
        for j in range(i + 1, n):
            out[base + j] = _twed_pair(codes[i], lengths[i], codes[j], lengths[j], sm, indel,
                                       nu, lam, prev, curr)
    return out


def twed_distances(data, sm, *, nu: float, h: float, indel="auto",
                   alphabet=None) -> np.ndarray:
    """Condensed TWED distance matrix (formula in the module docstring).

    Parameters
    ----------
    data
        :class:`~evalkit.data.Sequences` or a code matrix (with ``alphabet``); missing
        periods only at the end of a sequence (shorter sequences).
    sm
        Symmetric substitution-cost matrix (states x states, zero diagonal), e.g.
        :func:`~evalkit.typology.costs.constant_costs` or ``trate_costs``.
    nu, h
        Stiffness (> 0) and gap penalty (>= 0).
    indel
        Cost per position against an empty sequence; ``"auto"`` = ``2 max(sm) + nu + h``.
    """
    seq = as_sequences(data, alphabet=alphabet)
    codes = np.ascontiguousarray(seq.matrix, dtype=np.int64)
    observed = codes >= 0
    lengths = observed.sum(axis=1)
    inner_gap = observed[:, 1:] & ~observed[:, :-1]
    if inner_gap.any():
        raise DataValidationError(
            "TWED needs sequences without inner missing periods (missing values only at the "
            "end); fill the gaps or drop those persons")
    sm = np.asarray(sm, dtype=float)
    k = len(seq.alphabet)
    if sm.shape != (k, k) or not np.allclose(sm, sm.T) or (sm < 0).any():
        raise DataValidationError(
            f"sm must be a symmetric non-negative {k} x {k} matrix of substitution costs")
    if not nu > 0 or not h >= 0:
        raise DataValidationError(f"TWED needs nu > 0 and h >= 0, got nu={nu}, h={h}")
    indel = 2.0 * float(sm.max()) + nu + h if indel == "auto" else float(indel)
    return _twed_condensed(codes, lengths.astype(np.int64), sm, indel, float(nu), float(h))
