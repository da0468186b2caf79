"""Disclosure control: no small count published, no masked count recoverable.

Recoverability is checked independently of the suppression algorithm: by the
null space of the linear relations between cells and margins (exact
recovery), and by linear programming with non-negative cells (the interval an
attacker can narrow a masked cell to must not be a single value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from evalkit.disclosure import suppress_counts, suppress_long, suppression_pattern
from evalkit.errors import ColumnTypeError, DisclosureError, MissingColumnError

THRESHOLD = 11


def augment(grid: np.ndarray) -> np.ndarray:
    aug = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1))
    aug[:-1, :-1] = grid
    aug[:-1, -1] = grid.sum(axis=1)
    aug[-1, :-1] = grid.sum(axis=0)
    aug[-1, -1] = grid.sum()
    return aug


def relations(shape):
    """Rows of A with A @ vec(aug) = 0: each line's cells minus its total."""
    n_rows, n_cols = shape
    eqs = []
    for i in range(n_rows):
        a = np.zeros(shape)
        a[i, :-1], a[i, -1] = 1, -1
        eqs.append(a.ravel())
    for j in range(n_cols):
        a = np.zeros(shape)
        a[:-1, j], a[-1, j] = 1, -1
        eqs.append(a.ravel())
    return np.array(eqs)


def exactly_recoverable(aug: np.ndarray, mask: np.ndarray) -> list[int]:
    """Masked cells that are a linear function of the published ones."""
    a = relations(aug.shape)
    hidden = np.flatnonzero(mask.ravel())
    if hidden.size == 0:
        return []
    null = scipy.linalg.null_space(a[:, hidden])
    if null.size == 0:
        return list(hidden)
    return [int(hidden[k]) for k in range(hidden.size) if np.all(np.abs(null[k]) < 1e-9)]


def attack_intervals(aug: np.ndarray, mask: np.ndarray) -> dict[int, tuple[float, float]]:
    """[min, max] of each masked cell over non-negative tables matching the published ones."""
    a = relations(aug.shape)
    hidden = np.flatnonzero(mask.ravel())
    shown = np.flatnonzero(~mask.ravel())
    b = -a[:, shown] @ aug.ravel()[shown]
    a_h = a[:, hidden]
    out = {}
    for k, cell in enumerate(hidden):
        c = np.zeros(hidden.size)
        c[k] = 1
        lo = linprog(c, A_eq=a_h, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_h, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0, lo.message
        upper = np.inf if hi.status == 3 else -hi.fun
        out[int(cell)] = (lo.fun, upper)
    return out


# Mixture of small and large counts so that suppression patterns are varied.
count = st.one_of(st.integers(0, 12), st.integers(0, 200))
tables = st.integers(1, 5).flatmap(
    lambda r: st.integers(1, 5).flatmap(
        lambda c: st.lists(
            st.lists(count, min_size=c, max_size=c), min_size=r, max_size=r
        )
    )
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.booleans())
def test_no_small_count_published_and_none_recoverable(rows, mask_zeros):
    grid = np.array(rows, dtype=float)
    frame = pd.DataFrame(grid.astype(int), columns=[f"c{j}" for j in range(grid.shape[1])])
    try:
        masked, mask = suppress_counts(frame, THRESHOLD, margins=True, mask_zeros=mask_zeros)
    except DisclosureError:
        # A refusal must be true: even with every maskable inner cell masked (zeros stay
        # published when they are not masked), some small count is pinned by the margins.
        aug = augment(grid)
        maskable = np.zeros(aug.shape, dtype=bool)
        maskable[:-1, :-1] = mask_zeros | (grid != 0)
        small = {
            int(c) for c in np.flatnonzero(maskable.ravel())
            if 0 < aug.ravel()[c] < THRESHOLD or (mask_zeros and aug.ravel()[c] == 0)
        }
        widths = {c: hi - lo for c, (lo, hi) in attack_intervals(aug, maskable).items()}
        assert any(widths[c] <= 0.5 for c in small), "refused a table that can be protected"
        return

    published = masked.to_numpy(dtype=float, na_value=np.nan)
    published = published[~np.isnan(published)]
    small = published < THRESHOLD
    if not mask_zeros:
        small &= published != 0
    assert not small.any(), f"published counts under the threshold: {published[small]}"

    aug = augment(grid)
    full_mask = suppression_pattern(aug, THRESHOLD, mask_zeros=mask_zeros)
    shown_mask = mask.to_numpy()
    np.testing.assert_array_equal(shown_mask, full_mask[:, : shown_mask.shape[1]])
    np.testing.assert_array_equal(mask.to_numpy(), masked.isna().to_numpy())
    # Published values are the true ones.
    shown = ~shown_mask
    np.testing.assert_allclose(
        masked.to_numpy(dtype=float, na_value=np.nan)[shown], aug[:, : shown.shape[1]][shown]
    )

    # The module's threat model: the attacker knows the true margins, so a cell that the
    # margins alone pin down (e.g. any cell of a row whose total is 0) cannot be protected
    # by masking other cells; such cells are judged against that floor, not against zero.
    interior = np.zeros(aug.shape, dtype=bool)
    interior[:-1, :-1] = True
    pinned_by_margins = {
        cell for cell, (lo, hi) in attack_intervals(aug, interior).items() if hi - lo <= 0.5
    }
    inner = set(np.flatnonzero(interior.ravel()))
    recovered = set(exactly_recoverable(aug, full_mask)) & inner
    assert recovered - pinned_by_margins == set()
    for cell, (lo, hi) in attack_intervals(aug, full_mask).items():
        if not mask_zeros and aug.ravel()[cell] == 0:
            continue  # zeros are publishable then: learning one is no disclosure
        if cell in pinned_by_margins or not interior.ravel()[cell]:
            continue  # margins are known to this attacker: only inner cells are judged
        assert hi - lo > 0.5, (
            f"masked cell {np.unravel_index(cell, aug.shape)} = {aug.ravel()[cell]} "
            f"is pinned to [{lo}, {hi}]"
        )


def test_one_small_cell_masks_a_rectangle():
    table = pd.DataFrame([[3, 40, 50], [20, 30, 60], [25, 35, 45]], columns=list("xyz"))
    masked, mask = suppress_counts(table)
    expected = np.zeros((4, 4), dtype=bool)
    # 3 is primary; 20 (smallest in its column) and 30 (smallest left in row b and column y)
    # close the cycle with 40 (smallest left in row a).
    expected[0, 0] = expected[1, 0] = expected[0, 1] = expected[1, 1] = True
    np.testing.assert_array_equal(mask.to_numpy(), expected)
    assert masked.loc["Total", "Total"] == 308
    assert masked.loc[2, "x"] == 25


def test_bridge_between_two_blocks_is_protected():
    # Two 2x2 blocks of small cells joined by one small cell: the line rule alone
    # leaves that joining cell equal to a difference of block totals.
    grid = np.full((4, 4), 500.0)
    grid[:2, :2] = 5
    grid[2:, 2:] = 5
    grid[0, 2] = 4
    aug = augment(grid)
    mask = suppression_pattern(aug, THRESHOLD)
    assert exactly_recoverable(aug, mask) == []
    primary_only = (aug < THRESHOLD)
    assert exactly_recoverable(aug, primary_only) != []  # the test would catch it


def test_nothing_small_nothing_masked():
    table = pd.DataFrame({"a": [20, 30], "b": [40, 50]}, index=["F", "M"])
    masked, mask = suppress_counts(table, margins=False)
    assert not mask.to_numpy().any()
    assert masked.loc["M", "b"] == 50


def test_single_cell_and_small_total():
    masked, mask = suppress_counts(pd.DataFrame({"n": [5]}))
    assert mask.to_numpy().all()
    masked, mask = suppress_counts(pd.DataFrame({"a": [2, 3], "b": [2, 3]}))
    assert mask.to_numpy().all()  # grand total 10 < 11: nothing can be shown


def test_threshold_configurable_and_label_columns_pass_through():
    table = pd.DataFrame({"label": ["x", "y", "z"], "n": [6, 30, 40]})
    masked, mask = suppress_counts(table, threshold=5, count_columns=["n"], margins=False)
    assert not mask["n"].any()
    masked, mask = suppress_counts(table, threshold=11, count_columns=["n"], margins=False)
    assert mask["n"].tolist() == [True, True, False]
    assert masked["label"].tolist() == ["x", "y", "z"]


def test_long_frame_masks_dependent_statistics():
    frame = pd.DataFrame(
        {
            "sex": ["F", "F", "M", "M", "F", "M"],
            "territory": ["A", "B", "A", "B", "C", "C"],
            "n": [8, 120, 90, 110, 70, 60],
            "share": [0.1, 0.5, 0.4, 0.3, 0.2, 0.25],
            "ci_lower": [0.0, 0.4, 0.3, 0.2, 0.1, 0.1],
        }
    )
    masked, mask = suppress_long(frame, "n", rows=["territory"], column="sex")
    assert mask.iloc[0]
    assert mask.sum() == 4  # a rectangle: territories A and C (smallest), both sexes
    assert masked.loc[mask, ["share", "ci_lower"]].isna().all().all()
    assert masked.loc[~mask, "share"].notna().all()
    published = masked["n"].dropna()
    assert (published >= THRESHOLD).all()


def test_long_frame_with_given_totals():
    frame = pd.DataFrame(
        {"age": ["<25", "25-49", "50+", "Total"], "n": [4, 200, 150, 360]}
    )
    masked, mask = suppress_long(frame, "n", rows=["age"], total_label="Total")
    assert mask.tolist() == [True, False, True, False]


def test_bad_counts_are_refused():
    with pytest.raises(ColumnTypeError, match="non-negative whole"):
        suppress_counts(pd.DataFrame({"n": [1.5, 20]}))
    with pytest.raises(ColumnTypeError, match="not numeric"):
        suppress_counts(pd.DataFrame({"n": ["a", "b"]}))
    with pytest.raises(MissingColumnError, match="nope"):
        suppress_counts(pd.DataFrame({"n": [1]}), count_columns=["nope"])
    with pytest.raises(DisclosureError, match="several rows per cell"):
        suppress_long(pd.DataFrame({"g": ["a", "a"], "n": [20, 30]}), "n", rows=["g"])


def test_empty_tables_pass_through():
    masked, mask = suppress_counts(pd.DataFrame({"n": []}, dtype=float))
    assert masked.empty and mask.empty
    masked, mask = suppress_long(pd.DataFrame({"g": [], "n": []}), "n", rows=["g"])
    assert masked.empty and mask.empty
