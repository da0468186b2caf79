"""Statistical disclosure control for tables of person counts.

Counts of people below a threshold (default 11, the rule of DGFiP/INSEE fiscal
data and of CASD hospital data) must not reach a report. Masking them alone is
not enough when totals are published: a single masked cell in a row is the row
total minus the published cells. This module therefore applies

1. **primary suppression** -- every count ``< threshold`` is masked (zeros too,
   unless ``mask_zeros=False``: a zero says "nobody in this group did X");
2. **secondary suppression** -- extra cells are masked until no primary cell
   can be narrowed by an attacker to an interval of fewer than
   :data:`PROTECTION_WIDTH` + 1 integers, i.e. recovered exactly or to within
   plus or minus one person.

Threat model
------------
A table of ``R x C`` counts is augmented with its row totals, column totals and
grand total into an ``(R+1) x (C+1)`` table; each row and column of it is one
linear relation ("cells sum to the total"). The attacker knows

- every published cell;
- every **margin** (row, column and grand total) of at least ``threshold``
  persons, whether or not ``margins=False`` hides it here: sample sizes are
  usually published elsewhere. Such margins are therefore never masked -- a
  mask on a known number protects nothing. Margins under the threshold are
  small counts themselves: they are masked and protected like inner cells;
- that counts are non-negative whole numbers, and that absent combinations
  (NaN cells) are empty.

A primary cell is protected when the linear programmes
``min x`` and ``max x`` over every table consistent with that knowledge give
``max - min >= PROTECTION_WIDTH`` (3: the attacker cannot state the value to
within one person).

Algorithm (secondary suppression)
---------------------------------
a. *line rule*: every row or column with exactly one masked cell gets its
   smallest maskable published cell masked too (positive before zero,
   smallest first, then reading order); repeated to a fixed point;
b. *bridge rule*: view the masked cells as edges of a bipartite graph between
   rows and columns; a masked cell on no cycle (a bridge) is the difference of
   the totals of the two blocks it joins, so the smallest cell joining the two
   sides is masked; back to (a) until neither rule changes anything;
c. *interval audit*: the two linear programmes above are solved for every
   primary cell (HiGHS through :func:`scipy.optimize.linprog`). For the first
   cell whose interval is too narrow, each maskable published cell of its row
   and column is tried (with rules a-b applied after it); the one that widens
   the interval to the protection width at the least cost (sum of the newly
   masked counts) is kept -- or, if none suffices, the one that widens it most
   -- and the audit restarts. When no cell can widen it, the table cannot be
   protected and :class:`~evalkit.errors.DisclosureError` says to coarsen it.

Rules a-b are fast heuristics that settle most tables; (c) is what guarantees
the protection (checked by an independent linear-programming attacker on
hundreds of random tables with absent cells in
``tests/report/test_disclosure_attack.py``). Cells are only ever added, so
the loop terminates. The result is not minimal (that is an integer programme,
as in tau-ARGUS); choosing small cells keeps the loss low in practice.
Protection covers the two-way layout it is given: hierarchical margins over
three or more dimensions published elsewhere are not taken into account.

Masked cells are shown without saying which are primary and which secondary,
since that difference alone would point at the small cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linprog

from evalkit.errors import ColumnTypeError, DisclosureError, MissingColumnError

__all__ = [
    "DEFAULT_THRESHOLD",
    "PROTECTION_WIDTH",
    "attack_interval",
    "suppression_pattern",
    "suppress_counts",
    "suppress_long",
]

DEFAULT_THRESHOLD = 11
PROTECTION_WIDTH = 3
_TOL = 1e-6


def suppression_pattern(
    counts: np.ndarray,
    threshold: int = DEFAULT_THRESHOLD,
    *,
    eligible: np.ndarray | None = None,
    mask_zeros: bool = True,
) -> np.ndarray:
    """Cells to mask in an augmented table whose last row and column are totals.

    Parameters
    ----------
    counts
        ``(R+1) x (C+1)`` array of non-negative counts; row ``R`` holds the
        column totals, column ``C`` the row totals, ``[R, C]`` the grand total.
        NaN marks an absent combination (an empty cell everyone knows is empty).
        Totals may exceed the sum of their cells (people counted only in
        totals); the relation is then "at most".
    threshold
        Counts strictly below it are masked (primary suppression).
    eligible
        Boolean array, same shape: cells that may be masked. Ineligible cells
        are published.
    mask_zeros
        Whether a count of zero is masked (and protected) like any small count.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the cell must not be published. See the module
        docstring for the threat model and the algorithm.

    Raises
    ------
    DisclosureError
        A small count cannot be protected whatever is masked (e.g. it is the
        only cell of a row whose total of at least ``threshold`` is known).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or min(counts.shape) < 2:
        raise ValueError("an augmented table needs at least one row/column plus totals")
    n_rows, n_cols = counts.shape
    absent = np.isnan(counts)
    if eligible is None:
        eligible = np.ones(counts.shape, dtype=bool)
    eligible = np.asarray(eligible, dtype=bool) & ~absent
    low = counts < threshold
    if not mask_zeros:
        low &= counts != 0
    known = _known_margins(counts.shape)
    primary = low & eligible
    mask = primary.copy()
    values = np.nan_to_num(counts, nan=0.0)
    if not (primary & ~known).any():
        return mask
    relations = _relations(values, absent)
    inner = eligible & ~known  # cells whose masking can protect anything
    is_total = np.zeros(counts.shape, dtype=bool)
    is_total[-1, :] = True
    is_total[:, -1] = True

    def smallest(cells: Iterable[tuple[int, int]], current: np.ndarray) -> tuple[int, int] | None:
        candidates = [(i, j) for i, j in cells if eligible[i, j] and not current[i, j]]
        if not candidates:
            return None
        # Known margins protect nothing; a masked zero protects little (it can only move up).
        return min(candidates,
                   key=lambda ij: (known[ij], values[ij] == 0, values[ij], is_total[ij], ij))

    def close(current: np.ndarray) -> np.ndarray:
        current = current.copy()
        while True:
            changed = _apply_line_rule(current, smallest)
            bridge = _first_bridge(current, smallest)
            if bridge is not None:
                current[bridge] = changed = True
            if not changed:
                return current

    everything = mask | inner
    mask = close(mask)

    def target(cell) -> float:
        # Margins alone may already pin a cell (a known column total of 2): then the best
        # any suppression can do is the interval of the fully masked table.
        lo, hi = attack_interval(values, relations, everything, cell, known)
        return min(PROTECTION_WIDTH, hi - lo)

    targets = _LazyTargets(target)
    passed: set = set()
    while True:
        weak = _first_weak_cell(values, relations, mask, known, primary & ~known, targets,
                                passed)
        if weak is None:
            return mask
        cell, width = weak
        i, j = cell
        line = [(i, k) for k in range(n_cols)] + [(k, j) for k in range(n_rows)]
        tried = [c for c in dict.fromkeys(line) if inner[c] and not mask[c]]
        if not tried:
            tried = [c for c in np.ndindex(*counts.shape) if inner[c] and not mask[c]]
        best = None
        for candidate in tried:
            trial = mask.copy()
            trial[candidate] = True
            trial = close(trial)
            lo, hi = attack_interval(values, relations, trial, cell, known)
            new_width = hi - lo
            cost = values[trial & ~mask].sum()
            enough = new_width >= targets[cell] - _TOL
            key = (not enough, 0.0 if enough else -new_width, cost)
            if new_width > width + _TOL and (best is None or key < best[0]):
                best = (key, trial)
        if best is None:  # cannot happen while `everything` reaches the target; kept as a guard
            raise DisclosureError(
                f"a count under {threshold} at row {i}, column {j} of this table cannot be "
                "protected whatever else is masked; publish the table with coarser categories"
            )
        mask = best[1]


def _known_margins(shape: tuple[int, int]) -> np.ndarray:
    """Totals an attacker is assumed to know: every margin, except the 'totals' of a
    one-way table, which are its cells themselves."""
    known = np.zeros(shape, dtype=bool)
    if shape[1] > 2:  # several columns: row totals are margins
        known[:, -1] = True
    if shape[0] > 2:  # several rows: column totals are margins
        known[-1, :] = True
    if shape[0] > 2 or shape[1] > 2:
        known[-1, -1] = True
    return known


def _relations(values: np.ndarray, absent: np.ndarray) -> list[tuple[list, str]]:
    """The augmented table's lines: (cells with +1/-1 signs, "eq" or "le")."""
    n_rows, n_cols = values.shape
    lines = []
    for i in range(n_rows):
        cells = [((i, j), 1.0) for j in range(n_cols - 1) if not absent[i, j]]
        lines.append(([*cells, ((i, n_cols - 1), -1.0)], (i, n_cols - 1)))
    for j in range(n_cols):
        cells = [((i, j), 1.0) for i in range(n_rows - 1) if not absent[i, j]]
        lines.append(([*cells, ((n_rows - 1, j), -1.0)], (n_rows - 1, j)))
    out = []
    for cells, _total in lines:
        residual = sum(sign * values[c] for c, sign in cells)
        # Totals above the sum of their cells (unknowns counted in totals only): "at most".
        out.append((cells, "eq" if abs(residual) < _TOL else "le"))
    return out


def attack_interval(
    values: np.ndarray, relations, mask: np.ndarray, cell: tuple[int, int],
    known: np.ndarray | None = None,
) -> tuple[float, float]:
    """``[min, max]`` of masked ``cell`` over non-negative tables matching what is known.

    Known: the cells not in ``mask``, the cells in ``known`` (margins) even if
    masked, and the linear ``relations`` of :func:`_relations`.
    """
    hidden_mask = mask & ~known if known is not None else mask
    hidden = [tuple(c) for c in np.argwhere(hidden_mask)]
    position = {c: k for k, c in enumerate(hidden)}
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for cells, kind in relations:
        coef = np.zeros(len(hidden))
        known = 0.0
        for c, sign in cells:
            if c in position:
                coef[position[c]] += sign
            else:
                known += sign * values[c]
        if not coef.any():
            continue
        (a_eq if kind == "eq" else a_ub).append(coef)
        (b_eq if kind == "eq" else b_ub).append(-known)
    objective = np.zeros(len(hidden))
    objective[position[cell]] = 1.0
    kwargs = {
        "A_eq": np.array(a_eq) if a_eq else None, "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None, "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": (0, None), "method": "highs",
    }
    low = linprog(objective, **kwargs)
    high = linprog(-objective, **kwargs)
    lo = low.fun if low.status == 0 else 0.0
    hi = np.inf if high.status == 3 else (-high.fun if high.status == 0 else np.inf)
    return float(lo), float(hi)


class _LazyTargets(dict):
    """Target width of each primary cell, computed (one pair of LPs) only when needed."""

    def __init__(self, compute):
        super().__init__()
        self._compute = compute

    def __missing__(self, cell):
        self[cell] = value = self._compute(cell)
        return value


def _first_weak_cell(values, relations, mask, known, audited, targets, passed):
    """First audited cell whose attack interval is narrower than its target width.

    Masking more cells only relaxes the attacker's programme, so a cell once
    protected stays protected: ``passed`` remembers them across calls.
    """
    hidden = mask & ~known
    for cell in (tuple(c) for c in np.argwhere(audited)):
        if cell in passed:
            continue
        if _rectangle_width(values, hidden, cell) >= PROTECTION_WIDTH - _TOL:
            passed.add(cell)
            continue
        lo, hi = attack_interval(values, relations, mask, cell, known)
        if hi - lo < PROTECTION_WIDTH - _TOL and hi - lo < targets[cell] - _TOL:
            return cell, hi - lo
        passed.add(cell)
    return None


def _rectangle_width(values: np.ndarray, hidden: np.ndarray, cell) -> float:
    """A lower bound of the attack interval's width without linear programming.

    If ``(i, j)``, ``(i, k)``, ``(l, j)``, ``(l, k)`` are all hidden, adding ``t``
    to ``(i, j)`` and ``(l, k)`` and removing it from the other two keeps every
    total: the true table moved along that cycle stays feasible for
    ``-min(x_ij, x_lk) <= t <= min(x_ik, x_lj)``.
    """
    i, j = cell
    best = 0.0
    for k in np.flatnonzero(hidden[i]):
        if k == j:
            continue
        for m in np.flatnonzero(hidden[:, j]):
            if m != i and hidden[m, k]:
                width = min(values[i, k], values[m, j]) + min(values[i, j], values[m, k])
                best = max(best, width)
    return best


def _apply_line_rule(mask, smallest) -> bool:
    n_rows, n_cols = mask.shape
    changed_any = False
    changed = True
    while changed:
        changed = False
        for i in range(n_rows):
            if mask[i, :].sum() == 1:
                pick = smallest(((i, j) for j in range(n_cols)), mask)
                if pick is not None:
                    mask[pick] = changed = changed_any = True
        for j in range(n_cols):
            if mask[:, j].sum() == 1:
                pick = smallest(((i, j) for i in range(n_rows)), mask)
                if pick is not None:
                    mask[pick] = changed = changed_any = True
    return changed_any


def _first_bridge(mask: np.ndarray, smallest):
    """Cell to mask so that the first bridge of the masked-cell graph lies on a cycle."""
    graph = nx.Graph()
    rows, cols = np.nonzero(mask)
    graph.add_edges_from((("r", int(i)), ("c", int(j))) for i, j in zip(rows, cols, strict=True))
    for u, v in sorted(nx.bridges(graph)):
        cut = graph.copy()
        cut.remove_edge(u, v)
        side_u = nx.node_connected_component(cut, u)
        side_v = nx.node_connected_component(cut, v)

        def split(side):
            return ([k for kind, k in side if kind == "r"], [k for kind, k in side if kind == "c"])

        (u_rows, u_cols), (v_rows, v_cols) = split(side_u), split(side_v)
        cells = [(i, j) for i in u_rows for j in v_cols] + [(i, j) for i in v_rows for j in u_cols]
        pick = smallest(cells, mask)
        if pick is not None:
            return pick
    return None


def suppress_counts(
    table: pd.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    *,
    count_columns: Sequence[str] | None = None,
    margins: bool = True,
    has_totals: bool = False,
    total_label: str = "Total",
    mask_zeros: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mask small counts of people in a two-way table, with secondary suppression.

    Parameters
    ----------
    table
        Two-way table of counts (rows x columns, e.g. ``pd.crosstab``). Missing
        cells (NaN) are absent combinations: published as empty, never masked.
    threshold
        Counts strictly below it are masked (default 11).
    count_columns
        Columns holding the counts; other columns (labels) pass through. By
        default every column.
    margins
        Add a ``total_label`` row and column to the output. Secondary
        suppression protects against the totals whether or not they are shown.
    has_totals
        The last row and the last column of ``table`` already are totals.
        Totals need not equal the sums (e.g. unknowns counted only in totals);
        protection then is at least as strong.
    total_label
        Label of the added total row and column.
    mask_zeros
        Mask zero counts too (default). ``False`` treats zeros as publishable.

    Returns
    -------
    masked : DataFrame
        The table (with totals if ``margins``), counts as nullable ``Int64``
        with ``<NA>`` in masked cells.
    mask : DataFrame of bool
        Same shape as ``masked``; ``True`` where a cell was masked.

    Raises
    ------
    MissingColumnError, ColumnTypeError
        Unknown count columns, non-numeric or negative or fractional counts.

    Notes
    -----
    Algorithm in the module docstring: primary suppression under the threshold,
    then the line rule and the bridge rule to a fixed point, so that no masked
    cell is a linear function of the published cells and margins.
    """
    if count_columns is None:
        count_columns = list(table.columns)
    else:
        count_columns = list(count_columns)
        missing = [c for c in count_columns if c not in table.columns]
        if missing:
            raise MissingColumnError(
                f"count columns {missing} not in the table (columns: {list(table.columns)[:10]})"
            )
    if not count_columns:
        raise MissingColumnError("suppress_counts needs at least one count column")
    grid = _as_counts(table[count_columns], "table")
    passthrough = [c for c in table.columns if c not in count_columns]
    if grid.shape[0] == 0:
        empty = table.copy()
        return empty, pd.DataFrame(False, index=table.index, columns=table.columns)

    if has_totals:
        augmented = grid
        if augmented.shape[0] < 2 or augmented.shape[1] < 2:
            raise ValueError("has_totals=True needs at least one row and one column plus totals")
    else:
        interior = np.nan_to_num(grid, nan=0.0)
        augmented = np.full((grid.shape[0] + 1, grid.shape[1] + 1), np.nan)
        augmented[:-1, :-1] = grid
        augmented[:-1, -1] = interior.sum(axis=1)
        augmented[-1, :-1] = interior.sum(axis=0)
        augmented[-1, -1] = interior.sum()
    mask = suppression_pattern(augmented, threshold, mask_zeros=mask_zeros)

    if has_totals:
        out_values, out_mask = augmented, mask
        index, columns = table.index, count_columns
    elif margins:
        out_values, out_mask = augmented, mask
        index = table.index.append(pd.Index([total_label]))
        columns = [*count_columns, total_label]
        if len(count_columns) == 1:
            # The row totals would repeat the only column.
            out_values, out_mask, columns = augmented[:, :-1], mask[:, :-1], count_columns
    else:
        out_values, out_mask = augmented[:-1, :-1], mask[:-1, :-1]
        index, columns = table.index, count_columns

    masked = pd.DataFrame(out_values, index=index, columns=columns).round().astype("Int64")
    masked = masked.mask(pd.DataFrame(out_mask, index=index, columns=columns))
    mask_frame = pd.DataFrame(out_mask, index=index, columns=columns)
    if passthrough:
        extra = table[passthrough].reindex(index)
        masked = pd.concat([extra, masked], axis=1)[[*passthrough, *columns]]
        mask_frame = pd.concat(
            [pd.DataFrame(False, index=index, columns=passthrough), mask_frame], axis=1
        )[[*passthrough, *columns]]
    return masked, mask_frame


def suppress_long(
    frame: pd.DataFrame,
    count: str,
    *,
    rows: Sequence[str] = (),
    column: str | None = None,
    dependent: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    total_label: str | None = None,
    mask_zeros: bool = True,
) -> tuple[pd.DataFrame, pd.Series]:
    """Disclosure control for a tidy frame: one row per cell, with a count column.

    The frame is laid out as a two-way table -- ``rows`` (one or more
    dimension columns) by ``column`` (one dimension column, or none for a
    one-way table) -- protected with :func:`suppress_counts`, and the mask
    is carried back to the tidy rows.

    Parameters
    ----------
    frame
        Tidy frame, unique on ``rows + [column]``.
    count
        Column of person counts (e.g. the denominator of an indicator).
    rows, column
        Dimension columns. With neither, the frame is one list of cells
        whose sum is the known total.
    dependent
        Columns computed from the counted persons (numerators, proportions,
        confidence bounds, means) masked wherever the count is masked. Default:
        every other numeric column.
    threshold
        Counts strictly below it are masked.
    total_label
        If given, rows whose ``column`` value (or, with a single row
        dimension, whose row value) equals it are the published totals of
        the other cells, instead of totals computed from the cells.
    mask_zeros
        Mask zero counts too (default).

    Returns
    -------
    masked : DataFrame
        Copy of ``frame`` with ``count`` as ``Int64`` and masked cells (and
        their dependent columns) set to missing.
    mask : Series of bool
        Aligned on ``frame.index``; ``True`` where the row was masked.
    """
    rows = list(rows)
    dims = rows + ([column] if column is not None else [])
    missing = [c for c in [count, *dims] if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"columns {missing} not in the frame (columns: {list(frame.columns)[:10]})"
        )
    if dependent is None:
        dependent = [
            c
            for c in frame.columns
            if c not in dims and c != count and pd.api.types.is_numeric_dtype(frame[c])
        ]
    if frame.empty:
        return frame.copy(), pd.Series(False, index=frame.index)
    if dims and frame.duplicated(dims).any():
        dup = frame.loc[frame.duplicated(dims, keep=False), dims].head(3)
        raise DisclosureError(
            f"the frame has several rows per cell {dims}, e.g. {dup.to_dict('records')}; "
            "aggregate first"
        )
    _as_counts(frame[[count]], "frame")

    key = frame[rows].astype(str).agg(" | ".join, axis=1) if rows else pd.Series("", index=frame.index)
    col_key = frame[column].astype(str) if column is not None else pd.Series(count, index=frame.index)
    row_order = list(dict.fromkeys(key))
    col_order = list(dict.fromkeys(col_key))
    has_totals = False
    if total_label is not None:
        row_tot = len(rows) == 1 and total_label in row_order
        col_tot = column is not None and total_label in col_order
        one_way = column is None or not rows
        if (row_tot and col_tot) or (one_way and (row_tot or col_tot)):
            has_totals = True
            col_order = [c for c in col_order if c != total_label] + [total_label] * col_tot
            row_order = [r for r in row_order if r != total_label] + [total_label] * row_tot
        elif row_tot or col_tot:
            raise DisclosureError(
                f"total_label {total_label!r} appears on one dimension only; give totals on "
                "both dimensions (with their grand total) or none"
            )
    grid = pd.DataFrame(
        {"_r": key.to_numpy(), "_c": col_key.to_numpy(), "_n": frame[count].to_numpy(float)}
    ).pivot(index="_r", columns="_c", values="_n")
    grid = grid.reindex(index=row_order, columns=col_order)
    if has_totals and column is None:
        grid["\0total"] = grid.iloc[:, 0]  # a one-way table is its own row totals
    elif has_totals and not rows:
        grid.loc["\0total"] = grid.iloc[0]
    _, mask = suppress_counts(grid, threshold, margins=False, has_totals=has_totals,
                              mask_zeros=mask_zeros)
    stacked = mask.stack()
    row_mask = pd.Series(
        [bool(stacked.loc[(r, c)]) for r, c in zip(key, col_key, strict=True)], index=frame.index
    )
    masked = frame.copy()
    masked[count] = masked[count].round().astype("Int64").mask(row_mask)
    for col in dependent:
        masked[col] = masked[col].mask(row_mask)
    return masked, row_mask


def _as_counts(values: pd.DataFrame, what: str) -> np.ndarray:
    for col in values.columns:
        if not (pd.api.types.is_numeric_dtype(values[col]) or values[col].isna().all()):
            raise ColumnTypeError(
                f"count column {col!r} of the {what} is {values[col].dtype}, not numeric; "
                f"first values: {values[col].head(3).tolist()}"
            )
    grid = values.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    bad = (grid < 0) | (np.abs(grid - np.round(grid)) > 1e-9)
    if np.any(bad & ~np.isnan(grid)):
        i, j = np.argwhere(bad & ~np.isnan(grid))[0]
        raise ColumnTypeError(
            f"counts must be non-negative whole numbers; column {values.columns[j]!r} has "
            f"{grid[i, j]!r} at row {values.index[i]!r}"
        )
    return grid
