"""Statistical disclosure control for tables of person counts.

Counts of people below a threshold (default 11, the rule of DGFiP/INSEE fiscal
data and of CASD hospital data) must not reach a report. Masking them alone is
not enough when totals are published: a single masked cell in a row is the row
total minus the published cells. This module therefore applies

1. **primary suppression** -- every count ``< threshold`` is masked (zeros too,
   unless ``mask_zeros=False``: a zero says "nobody in this group did X");
2. **secondary suppression** -- extra cells are masked until no masked cell can
   be recovered exactly from the published cells and the margins.

Algorithm (secondary suppression)
---------------------------------
A table of ``R x C`` counts is augmented with its row totals, column totals and
grand total into an ``(R+1) x (C+1)`` table. Each row and each column of the
augmented table is one linear relation ("cells sum to the total"). Margins are
always treated as known to an attacker -- sample sizes are usually published
elsewhere -- even when ``margins=False`` hides them from the output.

View the masked cells as edges of a bipartite graph between row nodes and
column nodes. With every relation of that form, a masked cell can be solved
for exactly if and only if its edge lies on no cycle of that graph (a cycle
is a direction in which the masked values can move, with alternating signs,
without changing any total). So:

a. *line rule*: every row or column with exactly one masked cell gets its
   smallest published cell masked too (ties: interior cells before totals,
   then first in reading order); repeated to a fixed point;
b. *bridge rule*: the line rule leaves every node with degree 0 or >= 2, yet a
   masked cell can still be a bridge between two blocks of masked cells (then
   it is the difference of their totals). For each bridge, the smallest
   published cell joining the two sides is masked, which puts the bridge on a
   cycle; then back to (a) until neither rule changes anything;
c. *zero rule*: cells are also known to be >= 0. Masked zeros can block a
   cycle in both directions (two masked zeros whose published total is 0),
   pinning a masked cell. When a masked zero exists, each masked cell's
   attainable range is computed by linear programming (min and max subject
   to the published cells and totals, cells >= 0); a cell pinned to one value
   gets the smallest positive published cell of its row or column masked,
   and the loop restarts at (a).

All rules only ever add cells, so the loop terminates. The result guarantees
that no masked cell can be worked out exactly from the published cells and the
fact that counts are non-negative (checked in
``tests/report/test_disclosure.py`` by a null-space computation and by linear
programming on small random tables). It does not guarantee minimal
information loss (that is an integer programme, as in tau-ARGUS); choosing the
smallest cells keeps the loss low in practice. Protection covers the two-way
layout it is given: hierarchical margins over three or more dimensions
published elsewhere are not taken into account.

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
    "suppression_pattern",
    "suppress_counts",
    "suppress_long",
]

DEFAULT_THRESHOLD = 11


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
    threshold
        Counts strictly below it are masked (primary suppression).
    eligible
        Boolean array, same shape: cells that exist and may be masked.
        Ineligible cells (absent combinations) are treated as published.
    mask_zeros
        Whether a count of zero is masked like any small count.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the cell must not be published. See the module
        docstring for the algorithm.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or min(counts.shape) < 2:
        raise ValueError("an augmented table needs at least one row/column plus totals")
    if eligible is None:
        eligible = np.ones(counts.shape, dtype=bool)
    eligible = np.asarray(eligible, dtype=bool) & ~np.isnan(counts)
    low = counts < threshold
    if not mask_zeros:
        low &= counts != 0
    mask = low & eligible
    n_rows, n_cols = counts.shape
    # Ties are broken towards interior cells, then reading order.
    is_total = np.zeros(counts.shape, dtype=bool)
    is_total[-1, :] = True
    is_total[:, -1] = True

    def smallest(cells: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
        candidates = [(i, j) for i, j in cells if eligible[i, j] and not mask[i, j]]
        if not candidates:
            return None
        # A masked zero protects little (it can only move up), so positive cells come first.
        return min(candidates, key=lambda ij: (counts[ij] == 0, counts[ij], is_total[ij], ij))

    while True:
        changed = _apply_line_rule(mask, smallest, n_rows, n_cols)
        bridge = _first_bridge(mask)
        if bridge is not None:
            side_rows, side_cols, other_rows, other_cols = bridge
            cells = [(i, j) for i in side_rows for j in other_cols]
            cells += [(i, j) for i in other_rows for j in side_cols]
            pick = smallest(cells)
            if pick is None:
                raise DisclosureError(
                    "secondary suppression found no cell to mask around a recoverable "
                    "cell; publish this table with coarser categories"
                )
            mask[pick] = True
            changed = True
        if not changed:
            pinned = _first_pinned_cell(counts, mask, mask_zeros)
            if pinned is None:
                return mask
            i, j = pinned
            line = [(i, k) for k in range(n_cols)] + [(k, j) for k in range(n_rows)]
            pick = smallest(c for c in line if counts[c] > 0) or smallest(
                c for c in np.ndindex(*counts.shape) if counts[c] > 0
            )
            if pick is None:
                return mask  # every positive cell is masked: nothing left to learn
            mask[pick] = True


def _apply_line_rule(mask, smallest, n_rows, n_cols) -> bool:
    changed_any = False
    changed = True
    while changed:
        changed = False
        for i in range(n_rows):
            if mask[i, :].sum() == 1:
                pick = smallest((i, j) for j in range(n_cols))
                if pick is None:
                    raise DisclosureError(
                        f"row {i} has a single masked cell and nothing else that can be masked"
                    )
                mask[pick] = changed = changed_any = True
        for j in range(n_cols):
            if mask[:, j].sum() == 1:
                pick = smallest((i, j) for i in range(n_rows))
                if pick is None:
                    raise DisclosureError(
                        f"column {j} has a single masked cell and nothing else that can be masked"
                    )
                mask[pick] = changed = changed_any = True
    return changed_any


def _first_pinned_cell(
    counts: np.ndarray, mask: np.ndarray, mask_zeros: bool
) -> tuple[int, int] | None:
    """First masked cell whose value is forced once cells are known to be >= 0.

    On a cycle of masked cells the values can move both ways only while the
    cells that decrease stay >= 0: masked zeros can block every cycle through
    a cell (two masked zeros in a column whose published total is 0 are both
    0). A positive cell on a cycle of positive masked cells can always move
    both ways, so linear programmes are solved only for the other masked cells
    of the connected blocks that hold a masked zero, one block at a time (no
    relation links two blocks). With ``mask_zeros=False`` zeros are
    publishable: a zero found to be zero is no disclosure, only positive cells
    are checked.
    """
    zero = mask & (counts == 0)
    if not zero.any():
        return None
    graph = nx.Graph()
    positive = nx.Graph()
    for i, j in np.argwhere(mask):
        edge = (("r", int(i)), ("c", int(j)))
        graph.add_edge(*edge)
        if counts[i, j] > 0:
            positive.add_edge(*edge)
    on_positive_cycle = set(positive.edges()) - {
        e for b in nx.bridges(positive) for e in (b, b[::-1])
    }
    for block in sorted(nx.connected_components(graph), key=min):
        cells = sorted((int(u[1]), int(v[1])) if u[0] == "r" else (int(v[1]), int(u[1]))
                       for u, v in graph.subgraph(block).edges())
        if not any(zero[c] for c in cells):
            continue
        candidates = [
            c for c in cells
            if (mask_zeros or counts[c] > 0)
            and ((("r", c[0]), ("c", c[1])) not in on_positive_cycle)
        ]
        if not candidates:
            continue
        a_eq, b_eq = _block_relations(counts, mask, block, cells)
        for cell in candidates:
            objective = np.zeros(len(cells))
            objective[cells.index(cell)] = 1.0
            low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if low.status == 0 and high.status == 0 and -high.fun - low.fun < 0.5:
                return cell
    return None


def _block_relations(counts, mask, block, cells):
    """Row and column relations of one block of masked cells: A x = b over ``cells``."""
    n_rows, n_cols = counts.shape
    position = {cell: k for k, cell in enumerate(cells)}
    equations, rhs = [], []
    for kind, line in sorted(block):
        coef = np.zeros(len(cells))
        known = 0.0
        n_other = n_cols if kind == "r" else n_rows
        for k in range(n_other):
            cell = (line, k) if kind == "r" else (k, line)
            sign = -1.0 if k == n_other - 1 else 1.0
            if cell in position:
                coef[position[cell]] += sign
            elif not mask[cell]:
                known += sign * counts[cell]
        equations.append(coef)
        rhs.append(-known)
    return np.array(equations), np.array(rhs)


def _first_bridge(mask: np.ndarray):
    """First bridge edge of the masked-cell graph, as the two sides it separates."""
    graph = nx.Graph()
    rows, cols = np.nonzero(mask)
    graph.add_edges_from((("r", int(i)), ("c", int(j))) for i, j in zip(rows, cols, strict=True))
    bridges = sorted(nx.bridges(graph))
    if not bridges:
        return None
    u, v = bridges[0]
    graph.remove_edge(u, v)
    side_u = nx.node_connected_component(graph, u)
    side_v = nx.node_connected_component(graph, v)

    def split(side):
        return ([k for kind, k in side if kind == "r"], [k for kind, k in side if kind == "c"])

    (u_rows, u_cols), (v_rows, v_cols) = split(side_u), split(side_v)
    return u_rows, u_cols, v_rows, v_cols


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
