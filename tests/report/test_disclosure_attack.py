"""Attack tests of disclosure control (issue 17, finding 3).

The attacker is written here, independently of :mod:`evalkit.disclosure`: it
knows every published cell, which combinations are absent (empty), and the
TRUE row, column and grand totals of the table (sample sizes are published
elsewhere), and that counts are non-negative. For each masked cell it solves
``min x`` and ``max x`` by linear programming (``scipy.optimize.linprog``). A
count of 1..threshold-1 is protected when the interval is at least 3 wide (the
attacker cannot state it to within one person) -- or, when the true margins
alone already pin it closer (a known column total of 2), when the interval is
as wide as with every cell of the table masked: no suppression can do better.

Hundreds of random tables with absent cells go through every entry point:
``suppression_pattern``, ``suppress_counts`` (with and without margins, with
given totals), ``suppress_long`` (two-way, one-way, with a total row) and the
report's ``Table`` (wide and tidy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from evalkit.disclosure import suppress_counts, suppress_long, suppression_pattern
from evalkit.report.elements import Table

T = 11
WIDTH = 3


def lp_attack(truth: np.ndarray, published: np.ndarray) -> dict[tuple[int, int], float]:
    """Width of the attacker's interval for every hidden cell of ``truth`` (R x C, NaN absent).

    ``published`` is NaN where the cell is hidden (or absent). The attacker knows the true
    row totals (when there are several columns), column totals (several rows) and grand total.
    """
    present = ~np.isnan(truth)
    hidden = present & np.isnan(published)
    cells = list(zip(*np.nonzero(hidden), strict=True))
    if not cells:
        return {}
    values = np.where(present, truth, 0.0)
    shown = np.where(present & ~hidden, values, 0.0)
    n_rows, n_cols = truth.shape
    a_eq, b_eq = [], []
    lines = []
    if n_cols > 1:
        lines += [[(i, j) for j in range(n_cols)] for i in range(n_rows)]
    if n_rows > 1:
        lines += [[(i, j) for i in range(n_rows)] for j in range(n_cols)]
    lines.append([(i, j) for i in range(n_rows) for j in range(n_cols)])  # grand total
    for line in lines:
        coef = np.array([1.0 if c in line else 0.0 for c in cells])
        if coef.any():
            a_eq.append(coef)
            b_eq.append(sum(values[c] for c in line) - sum(shown[c] for c in line))
    widths = {}
    for k, cell in enumerate(cells):
        objective = np.zeros(len(cells))
        objective[k] = 1.0
        low = linprog(objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, None),
                       method="highs")
        assert low.status == 0, low.message
        widths[cell] = np.inf if high.status == 3 else -high.fun - low.fun
    return widths


def assert_protected(truth: np.ndarray, published: np.ndarray, *, mask_zeros: bool = True):
    """No small count published, none recoverable by the LP attacker; published = true values."""
    truth = np.asarray(truth, dtype=float)
    published = np.asarray(published, dtype=float)
    present = ~np.isnan(truth)
    shown = present & ~np.isnan(published)
    np.testing.assert_allclose(published[shown], truth[shown])
    assert np.isnan(published[~present]).all(), "an absent cell was given a value"
    small = (truth < T) & (mask_zeros | (truth > 0))
    assert not (shown & small).any(), f"published small counts: {truth[shown & small]}"
    widths = lp_attack(truth, published)
    best = None
    for cell, width in widths.items():
        if not small[cell] or width >= WIDTH - 1e-6:
            continue
        if best is None:  # what the true margins alone leave: every cell hidden
            best = lp_attack(truth, np.full(truth.shape, np.nan))
        need = min(WIDTH, best[cell])
        assert width >= need - 1e-6, (
            f"cell {cell} = {truth[cell]:g} narrowed to a width {width:g} (need {need:g}) in\n"
            f"{truth}\npublished\n{published}"
        )


def random_table(rng, absent: float = 0.15) -> np.ndarray:
    n_rows, n_cols = rng.integers(1, 6, size=2)
    if n_rows * n_cols == 1:
        n_cols = 2
    small = rng.integers(0, T + 2, size=(n_rows, n_cols))
    large = rng.integers(0, 200, size=(n_rows, n_cols))
    grid = np.where(rng.random((n_rows, n_cols)) < 0.5, small, large).astype(float)
    grid[rng.random(grid.shape) < absent] = np.nan
    return grid


def tables(seed: int, n: int):
    rng = np.random.default_rng(seed)
    return [random_table(rng) for _ in range(n)]


def check_suppress_counts(seed: int, n: int, mask_zeros: bool) -> None:
    for k, grid in enumerate(tables(seed, n)):
        frame = pd.DataFrame(grid, columns=[f"c{j}" for j in range(grid.shape[1])])
        for margins in (True, False)[: 2 if k < 20 else 1]:
            masked, mask = suppress_counts(frame, T, margins=margins, mask_zeros=mask_zeros)
            inner = masked.iloc[: grid.shape[0], : grid.shape[1]]
            assert_protected(grid, inner.to_numpy(dtype=float, na_value=np.nan),
                             mask_zeros=mask_zeros)
            # Absent cells are empty and never reported as masked.
            assert not mask.iloc[: grid.shape[0], : grid.shape[1]].to_numpy()[np.isnan(grid)].any()


@pytest.mark.parametrize("mask_zeros", [True, False])
def test_suppress_counts_random_tables_resist_the_lp_attacker(mask_zeros):
    check_suppress_counts(1 + mask_zeros, 80, mask_zeros)


@pytest.mark.slow
@pytest.mark.parametrize("mask_zeros", [True, False])
def test_suppress_counts_many_random_tables(mask_zeros):
    check_suppress_counts(100 + mask_zeros, 1000, mask_zeros)


def test_suppression_pattern_on_augmented_tables_with_absent_cells():
    for grid in tables(3, 50):
        aug = np.full((grid.shape[0] + 1, grid.shape[1] + 1), np.nan)
        aug[:-1, :-1] = grid
        aug[:-1, -1] = np.nansum(grid, axis=1)
        aug[-1, :-1] = np.nansum(grid, axis=0)
        aug[-1, -1] = np.nansum(grid)
        mask = suppression_pattern(aug, T)
        assert not mask[np.isnan(aug)].any()
        assert_protected(grid, np.where(mask[:-1, :-1], np.nan, grid))


def test_given_totals_are_used_as_known_margins():
    for grid in tables(4, 40):
        frame = pd.DataFrame(grid)
        frame["Total"] = np.nansum(grid, axis=1)
        frame.loc["Total"] = frame.sum()
        masked, _ = suppress_counts(frame, T, has_totals=True, margins=False)
        inner = masked.iloc[:-1, :-1].to_numpy(dtype=float, na_value=np.nan)
        assert_protected(grid, inner)


def test_suppress_long_two_way_one_way_and_with_total_row():
    for grid in tables(5, 50):
        n_rows, n_cols = grid.shape
        long = pd.DataFrame(
            [(f"r{i}", f"c{j}", grid[i, j], grid[i, j] / 1000)
             for i in range(n_rows) for j in range(n_cols) if not np.isnan(grid[i, j])],
            columns=["territory", "sex", "n", "share"],
        )
        if long.empty:
            continue
        masked, row_mask = suppress_long(long, "n", rows=["territory"], column="sex")
        assert masked.loc[row_mask, "share"].isna().all()
        published = np.full(grid.shape, np.nan)
        for (_, row), hidden in zip(masked.iterrows(), row_mask, strict=True):
            if not hidden:
                published[int(row["territory"][1:]), int(row["sex"][1:])] = row["n"]
        assert_protected(grid, published)
        # One-way: the first column as a list of cells whose sum is known.
        column = grid[:, :1]
        one = pd.DataFrame({"age": [f"a{i}" for i in range(n_rows)], "n": column[:, 0]})
        one = one.dropna()
        if len(one) >= 2:
            masked, row_mask = suppress_long(one, "n", rows=["age"])
            kept = np.full((len(one), 1), np.nan)
            kept[~row_mask.to_numpy(), 0] = one.loc[~row_mask, "n"]
            assert_protected(one[["n"]].to_numpy(dtype=float), kept)
            with_total = pd.concat([one, pd.DataFrame({"age": ["Total"], "n": [one["n"].sum()]})],
                                   ignore_index=True)
            masked, row_mask = suppress_long(with_total, "n", rows=["age"], total_label="Total")
            assert not row_mask.iloc[-1] or one["n"].sum() < T
            kept = np.full((len(one), 1), np.nan)
            inner = row_mask.iloc[:-1].to_numpy()
            kept[~inner, 0] = one.loc[~inner, "n"]
            assert_protected(one[["n"]].to_numpy(dtype=float), kept)


def test_report_table_wide_and_tidy_with_absent_cells():
    for grid in tables(6, 50):
        frame = pd.DataFrame(grid, columns=[f"type {j}" for j in range(grid.shape[1])])
        frame.insert(0, "site", [f"site {i}" for i in range(grid.shape[0])])
        shown, mask = Table(frame, counts=list(frame.columns[1:])).protected(T)
        published = shown.iloc[:, 1:].to_numpy(dtype=float, na_value=np.nan)
        assert_protected(grid, published)
        assert not mask.iloc[:, 1:].to_numpy()[np.isnan(grid)].any()


def test_issue_repros():
    # Masking the column total of the 8 did not protect it: the attacker knows the total.
    grid = np.array([[5, 8, 0, 12], [20, 12, 1, 10]], dtype=float)
    masked, _ = suppress_counts(pd.DataFrame(grid))
    assert_protected(grid, masked.iloc[:2, :4].to_numpy(dtype=float, na_value=np.nan))
    # An absent cell was filled with 0 then un-masked, so the 1 was recoverable.
    grid = np.array([[12, 50, 5, 3], [15, 30, 1, np.nan]])
    shown, mask = Table(pd.DataFrame(grid, columns=list("abcd")), counts=list("abcd")).protected(T)
    assert_protected(grid, shown.to_numpy(dtype=float, na_value=np.nan))
    assert pd.isna(shown.iloc[1, 3]) and not mask.iloc[1, 3]


def test_counts_print_as_integers_in_the_report_language():
    frame = pd.DataFrame({"state": ["emploi", "chômage"], "months": [13000.0, 2400.0],
                          "mean": [1.25, 2.5]})
    html = Table(frame).render("fr", T, _no_guard(), 1)
    assert "13\u202f000" in html or "13 000" in html or "13\u00a0000" in html
    assert "13,000" not in html and "1,250" in html
    html = Table(frame).render("en", T, _no_guard(), 1)
    assert "13,000" in html and "13,000.000" not in html and "1.250" in html


def _no_guard():
    from evalkit.report.elements import IdentifierGuard

    return IdentifierGuard()
