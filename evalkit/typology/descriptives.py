"""Sequence descriptives, by group and with person weights: state distribution over time
(with its entropy and modal state), mean time in states, transition rates (overall or per
period), and per-person longitudinal entropy and turbulence.

Definitions follow TraMineR (Gabadinho et al. 2011, *J. Stat. Softw.* 40(4)), whose
Python port is ``sequenzo``; the tests check our numbers against sequenzo on ``mvad``.
Everything is computed on the dense ``int8`` person x period matrix of
:class:`evalkit.data.Sequences` (``-1`` = missing month), vectorised.

Missing months are left out: distributions and transition rates use the persons
observed at the month(s) concerned; per-person indicators (entropy, turbulence) use the
observed months, the months either side of a gap being treated as adjacent.

Every function accepts ``Sequences``, a long DataFrame (``id``/``period``/``state``
columns) or a state matrix with ``alphabet``; ``groups`` and ``weights`` are a Series
indexed by person id or an array aligned with the sequences' rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import EmptyDataError
from evalkit.options import renamed
from evalkit.typology.states import as_sequences, person_groups, person_weights, skip_missing


def _prepare(data, groups, weights, id, period, state, alphabet):  # noqa: A002
    seq = as_sequences(data, id=id, period=period, state=state, alphabet=alphabet)
    w = person_weights(weights, seq)
    codes, names = person_groups(groups, seq)
    return seq, w, codes, names


def _weighted_bincount(cells: np.ndarray, valid: np.ndarray, w, size: int) -> np.ndarray:
    """Sum of person weights (rows of ``cells``) per cell code over the valid entries."""
    if w is None:  # unweighted counts skip the float weight array (twice as fast)
        return np.bincount(cells[valid], minlength=size).astype(np.float64)
    return np.bincount(cells[valid], weights=np.broadcast_to(w[:, None], cells.shape)[valid],
                       minlength=size)


def _stack(values: np.ndarray, names, inner: pd.Index, columns) -> pd.DataFrame:
    """(n_groups x len(inner) x n_cols) array -> DataFrame; a leading ``group`` index
    level only when grouped (``inner`` may itself be a MultiIndex)."""
    if names is None:
        return pd.DataFrame(values[0], index=inner, columns=columns)
    keys = [k if isinstance(k, tuple) else (k,) for k in inner]
    index = pd.MultiIndex.from_tuples([(name, *k) for name in names for k in keys],
                                      names=["group", *inner.names])
    return pd.DataFrame(values.reshape(-1, values.shape[-1]), index=index, columns=columns)


@renamed(weights="weights_array")
def state_distribution(data, *, groups=None, weights_array=None, counts: bool = False,
                       id: str = "person_id", period: str = "month", state: str = "state",  # noqa: A002
                       alphabet=None) -> pd.DataFrame:
    """Cross-sectional state distribution at each period (TraMineR ``seqstatd``).

    ``share[t, s] = sum_i w_i 1{x_it = s} / sum_i w_i 1{x_it observed}``.

    Returns
    -------
    DataFrame indexed by period (or ``(group, period)``), one column per state; shares
    summing to 1 per row, or weighted counts when ``counts=True``. A period where nobody
    in a group is observed has NaN shares.
    """
    seq, w, g, names = _prepare(data, groups, weights_array, id, period, state, alphabet)
    m = seq.matrix
    n_groups = 1 if names is None else len(names)
    n, t = m.shape
    a = len(seq.alphabet)
    obs = m >= 0
    cell = (g[:, None] * t + np.arange(t)[None, :]) * a + m
    tab = _weighted_bincount(cell, obs, w, n_groups * t * a).reshape(n_groups, t, a)
    if not counts:
        with np.errstate(invalid="ignore", divide="ignore"):
            tab = tab / tab.sum(axis=2, keepdims=True)
    inner = pd.Index(seq.periods, name="period")
    return _stack(tab, names, inner, pd.Index(seq.alphabet, name="state"))


@renamed(weights="weights_array")
def cross_sectional_entropy(data, *, groups=None, weights_array=None, norm: bool = True,
                            id: str = "person_id", period: str = "month",  # noqa: A002
                            state: str = "state", alphabet=None) -> pd.Series:
    """Entropy of the state distribution at each period (TraMineR ``seqstatd``'s Entropy).

    ``H_t = -sum_s p_ts log p_ts`` over the shares of :func:`state_distribution`,
    divided by ``log(alphabet size)`` when ``norm``. Low values: most persons share a
    state at that period. Series indexed by period (or ``(group, period)``).
    """
    shares = state_distribution(data, groups=groups, weights_array=weights_array, id=id, period=period,
                                state=state, alphabet=alphabet)
    p = shares.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    h[np.isnan(p).all(axis=1)] = np.nan
    if norm:
        h = h / np.log(shares.shape[1]) if shares.shape[1] > 1 else np.zeros_like(h)
    return pd.Series(h, index=shares.index, name="entropy")


@renamed(weights="weights_array")
def modal_states(data, *, groups=None, weights_array=None, id: str = "person_id",  # noqa: A002
                 period: str = "month", state: str = "state", alphabet=None) -> pd.DataFrame:
    """Most frequent state at each period and its share (TraMineR ``seqmodst``).

    The sequence of these states is the *modal state sequence*, a summary of a group
    (e.g. a career type) that need not be anybody's sequence. Ties go to the first
    state of the alphabet. DataFrame indexed like :func:`state_distribution`, columns
    ``state`` and ``share``.
    """
    shares = state_distribution(data, groups=groups, weights_array=weights_array, id=id, period=period,
                                state=state, alphabet=alphabet)
    best = shares.to_numpy().argmax(axis=1)
    return pd.DataFrame({
        "state": pd.Categorical.from_codes(best, categories=list(shares.columns)),
        "share": shares.to_numpy()[np.arange(len(shares)), best],
    }, index=shares.index)


@renamed(weights="weights_array")
def mean_time_in_state(data, *, groups=None, weights_array=None, se: bool = False,
                       id: str = "person_id", period: str = "month",  # noqa: A002
                       state: str = "state", alphabet=None) -> pd.DataFrame:
    """Mean number of periods spent in each state (TraMineR ``seqmeant``).

    ``mean[s] = sum_i w_i n_is / sum_i w_i`` where ``n_is`` is person i's number of
    periods in state ``s``. Returns a DataFrame, one row per state, one column per group
    (``"all"`` when ungrouped).

    With ``se``, columns are ``(group, statistic)`` for statistics ``mean``, ``var``,
    ``sd`` and ``se`` as ``seqmeant(serr=TRUE)``: ``var = sum w (n - mean)^2 · W / (W^2 -
    sum w^2)`` with ``W = sum w`` (the sample variance without weights) and
    ``se = sqrt(var / W)``.
    """
    seq, w, g, names = _prepare(data, groups, weights_array, id, period, state, alphabet)
    w = np.ones(seq.n_persons) if w is None else w
    per_person = _state_counts(seq.matrix, len(seq.alphabet))
    n_groups = 1 if names is None else len(names)
    sums = np.zeros((n_groups, per_person.shape[1]))
    np.add.at(sums, g, w[:, None] * per_person)
    totals = np.bincount(g, weights=w, minlength=n_groups)
    mean = sums / totals[:, None]
    labels = ["all"] if names is None else list(names)
    index = pd.Index(seq.alphabet, name="state")
    if not se:
        return pd.DataFrame(mean.T, index=index, columns=pd.Index(labels, name="group"))
    squares = np.zeros_like(sums)
    np.add.at(squares, g, w[:, None] * (per_person - mean[g]) ** 2)
    w2 = np.bincount(g, weights=w ** 2, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = squares * (totals / (totals ** 2 - w2))[:, None]
    stats = {"mean": mean, "var": var, "sd": np.sqrt(var), "se": np.sqrt(var / totals[:, None])}
    columns = pd.MultiIndex.from_product([labels, list(stats)], names=["group", "statistic"])
    values = np.stack([stats[k] for k in stats], axis=2)  # groups x states x statistics
    return pd.DataFrame(values.transpose(1, 0, 2).reshape(len(index), -1), index=index,
                        columns=columns)


@renamed(weights="weights_array")
def transition_rates(data, *, groups=None, weights_array=None, lag: int = 1,
                     time_varying: bool = False, id: str = "person_id",  # noqa: A002
                     period: str = "month", state: str = "state",
                     alphabet=None) -> pd.DataFrame:
    """Transition-rate matrix (TraMineR ``seqtrate``).

    ``rate[s, r] = sum_i sum_t w_i 1{x_it = s, x_i,t+lag = r} / sum_i sum_t w_i
    1{x_it = s, x_i,t+lag observed}`` over ``t = 1 .. T - lag``: the probability of
    being in ``r`` ``lag`` periods after being in ``s``. Pairs with a missing month
    are left out, so each row sums to 1 (a state never left-observed has a NaN row).

    With ``time_varying`` (TraMineR ``time.varying=TRUE``), one matrix per starting
    period ``t``: the sums run over persons only.

    Returns a DataFrame indexed by from-state (``(period, from-state)`` when time
    varying; the group comes first when grouped), columns to-states.
    """
    if not isinstance(lag, int | np.integer) or lag < 1:
        raise ValueError(f"lag must be an integer >= 1, got {lag!r}")
    seq, w, g, names = _prepare(data, groups, weights_array, id, period, state, alphabet)
    m = seq.matrix
    if m.shape[1] <= lag:
        raise EmptyDataError(f"sequences of {m.shape[1]} period(s) have no transition at lag {lag}")
    n_groups = 1 if names is None else len(names)
    a = len(seq.alphabet)
    frm, to = m[:, :-lag].astype(np.int64), m[:, lag:].astype(np.int64)
    valid = (frm >= 0) & (to >= 0)
    n_start = frm.shape[1] if time_varying else 1
    start = np.arange(frm.shape[1])[None, :] if time_varying else 0
    cell = ((g[:, None] * n_start + start) * a + frm) * a + to
    tab = _weighted_bincount(cell, valid, w, n_groups * n_start * a * a)
    tab = tab.reshape(n_groups, n_start * a, a)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = tab / tab.sum(axis=2, keepdims=True)
    inner = pd.Index(seq.alphabet, name="from_state")
    if time_varying:
        inner = pd.MultiIndex.from_product([seq.periods[:-lag], seq.alphabet],
                                           names=["period", "from_state"])
    return _stack(rates, names, inner, pd.Index(seq.alphabet, name="to_state"))


def _state_counts(m: np.ndarray, n_states: int) -> np.ndarray:
    out = np.empty((m.shape[0], n_states), dtype=np.float64)
    for s in range(n_states):
        out[:, s] = (m == s).sum(axis=1)
    return out


def longitudinal_entropy(data, *, norm: bool = True, id: str = "person_id",  # noqa: A002
                         period: str = "month", state: str = "state",
                         alphabet=None) -> pd.Series:
    """Within-sequence Shannon entropy of each person (TraMineR ``seqient``).

    ``h_i = -sum_s p_is log p_is`` with ``p_is`` the share of person i's observed
    periods in state ``s``; divided by ``log(alphabet size)`` when ``norm`` (range 0-1).
    Returns a Series indexed by person id.
    """
    seq = as_sequences(data, id=id, period=period, state=state, alphabet=alphabet)
    counts = _state_counts(seq.matrix, len(seq.alphabet))
    n_obs = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / n_obs
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    h[n_obs[:, 0] == 0] = np.nan
    if norm:
        h = h / np.log(len(seq.alphabet)) if len(seq.alphabet) > 1 else np.zeros_like(h)
    return pd.Series(h, index=pd.Index(seq.ids, name=seq.id), name="entropy")


def _spells(m: np.ndarray):
    """Distinct-successive-states of each row (missing months skipped) and spell durations.

    Returns ``dss`` (n x max spells, -1 padded), ``durations`` (same shape, 0 padded)
    and the number of spells per row.
    """
    m = skip_missing(m)
    n, t = m.shape
    obs = m >= 0
    start = obs.copy()
    start[:, 1:] &= m[:, 1:] != m[:, :-1]
    n_spells = start.sum(axis=1)
    width = max(int(n_spells.max(initial=0)), 1)
    row, col = np.nonzero(start)
    k = np.arange(len(row)) - np.searchsorted(row, row, side="left")
    dss = np.full((n, width), -1, dtype=np.int16)
    dss[row, k] = m[row, col]
    # A spell lasts until the next spell starts, or until the last observed month.
    n_obs = obs.sum(axis=1)
    nxt = np.append(col[1:], 0)
    last_of_row = np.append(row[1:] != row[:-1], True)
    end = np.where(last_of_row, n_obs[row], nxt)
    durations = np.zeros((n, width), dtype=np.float64)
    durations[row, k] = end - col
    return dss, durations, n_spells


def _n_distinct_subsequences(dss: np.ndarray, n_states: int) -> np.ndarray:
    """Number of distinct subsequences (empty one included) of each row, -1 padding ignored.

    Recurrence (Elzinga 2006): ``phi_j = 2 phi_{j-1} - phi_{l-1}`` where ``l`` is the
    previous position of the j-th symbol (the term is 0 if it has not occurred).
    Computed in floating point, like TraMineR, so it is exact up to 2**53.
    """
    n, width = dss.shape
    phi = np.ones(n)
    before_last = np.zeros((n, n_states))
    rows = np.arange(n)
    for j in range(width):
        x = dss[:, j]
        ok = x >= 0
        xs = np.where(ok, x, 0)
        new = 2 * phi - before_last[rows, xs]
        before_last[rows[ok], xs[ok]] = phi[ok]
        phi = np.where(ok, new, phi)
    return phi


def _turbulence_values(m: np.ndarray, n_states: int) -> np.ndarray:
    dss, durations, d = _spells(m)
    phi = _n_distinct_subsequences(dss, n_states)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_d = durations.sum(axis=1) / d
        var = (durations ** 2).sum(axis=1) / d - mean_d ** 2
        var = np.maximum(var, 0.0)  # rounding can leave -1e-16 for equal durations
        var_max = (d - 1) * (1 - mean_d) ** 2
        value = np.log2(phi * (var_max + 1) / (var + 1))
    value[d == 0] = np.nan
    return value


def turbulence(data, *, norm: bool = False, id: str = "person_id", period: str = "month",  # noqa: A002
               state: str = "state", alphabet=None) -> pd.Series:
    """Elzinga's turbulence of each person (TraMineR ``seqST``, spell-duration variance type 1).

    ``T(x) = log2( phi(x) * (s2_max(x) + 1) / (s2(x) + 1) )`` where ``phi`` is the number
    of distinct subsequences of the sequence of distinct successive states (empty one
    included), ``s2`` the (population) variance of the spell durations and
    ``s2_max = (d - 1)(1 - mean duration)^2`` for ``d`` spells (Elzinga & Liefbroer 2007).

    With ``norm``, ``(T - 1) / (T_max - 1)`` where ``T_max`` is the turbulence of the
    sequence cycling through the alphabet over the longest length (values below 1 -> 0),
    as TraMineR. Returns a Series indexed by person id.
    """
    seq = as_sequences(data, id=id, period=period, state=state, alphabet=alphabet)
    a = len(seq.alphabet)
    value = _turbulence_values(seq.matrix, a)
    if norm:
        longest = int((seq.matrix >= 0).sum(axis=1).max())
        cycle = (np.arange(longest) % a).astype(np.int8)[None, :]
        t_max = _turbulence_values(cycle, a)[0] if a > 1 else 2.0
        value = np.where(value < 1, 0.0, (value - 1) / (t_max - 1))
    return pd.Series(value, index=pd.Index(seq.ids, name=seq.id), name="turbulence")


def sequence_indicators(data, *, id: str = "person_id", period: str = "month",  # noqa: A002
                        state: str = "state", alphabet=None) -> pd.DataFrame:
    """Per-person indicators: observed length, spells, transitions, entropy, turbulence."""
    seq = as_sequences(data, id=id, period=period, state=state, alphabet=alphabet)
    _, _, d = _spells(seq.matrix)
    return pd.DataFrame({
        "length": (seq.matrix >= 0).sum(axis=1),
        "n_spells": d,
        "n_transitions": np.maximum(d - 1, 0),
        "entropy": longitudinal_entropy(seq).to_numpy(),
        "turbulence": turbulence(seq).to_numpy(),
    }, index=pd.Index(seq.ids, name=seq.id))


@renamed(weights="weights_array")
def indicators_by_group(data, *, groups=None, weights_array=None, id: str = "person_id",  # noqa: A002
                        period: str = "month", state: str = "state",
                        alphabet=None) -> pd.DataFrame:
    """Weighted mean and standard deviation of :func:`sequence_indicators` by group.

    Means are ``sum w x / sum w``; standard deviations use the reliability-weight
    correction ``sum w (x - mean)^2 / (sum w - sum w^2 / sum w)`` (equal to the sample
    SD without weights). Columns ``n`` (persons) and ``weight`` (sum of weights).
    """
    seq, w, g, names = _prepare(data, groups, weights_array, id, period, state, alphabet)
    w = np.ones(seq.n_persons) if w is None else w
    ind = sequence_indicators(seq)
    n_groups = 1 if names is None else len(names)
    rows = {}
    for j in range(n_groups):
        sel = g == j
        wj, xj = w[sel], ind.to_numpy(dtype=float)[sel]
        sw = wj.sum()
        mean = (wj[:, None] * xj).sum(axis=0) / sw
        denom = sw - (wj ** 2).sum() / sw
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt((wj[:, None] * (xj - mean) ** 2).sum(axis=0) / denom)
        row = {"n": int(sel.sum()), "weight": sw}
        row |= {f"{c}_mean": v for c, v in zip(ind.columns, mean, strict=True)}
        row |= {f"{c}_sd": v for c, v in zip(ind.columns, sd, strict=True)}
        rows["all" if names is None else names[j]] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "group"
    return out
