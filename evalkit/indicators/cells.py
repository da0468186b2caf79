"""Per-cell sufficient statistics of an indicator: the frame both engines return.

:func:`evalkit.indicators.pandas_engine.pandas_cells` and
:func:`evalkit.indicators.engine_cells.engine_cells` return the same frame,
one row per cell of every requested grouping set (the full cross of the
disaggregations and, with margins, each subset of them down to the overall
total): ``<dimension columns>`` (labels as strings; ``ALL`` in rolled-up
dimensions, ``MISSING`` where the value is missing), ``n`` (rows counted),
``n_persons`` (distinct persons, when an id column is given), ``sum_num``,
``sum_den``, ``mean_num``, ``m2_num`` (sum of squared deviations of the
numerator). This module holds what both engines share: labels, grouping
sets, column checks and the final ordering.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from evalkit.errors import MissingColumnError
from evalkit.indicators.definition import AgeBands, Disaggregations, Indicator
from evalkit.options import check_option

ALL = "(all)"
MISSING = "(missing)"
# Survey-weighted sums, all additive over cells (NaN without weights): sum of weights w,
# of w², of w·num, of w·den, and the second moments w²·num², w²·num·den, w²·den² from
# which the linearised variance of the ratio sum(w·num) / sum(w·den) follows in any margin.
WEIGHTED_COLUMNS = ["sw", "sw2", "swx", "swd", "sxx", "sxd", "sdd"]
STAT_COLUMNS = ["n", "n_persons", "sum_num", "sum_den", "mean_num", "m2_num", *WEIGHTED_COLUMNS]


@dataclass
class CellStats:
    """Per-cell statistics of one indicator plus the counts of rows left out."""

    cells: pd.DataFrame
    dimensions: list[str]
    n_input: int
    n_outside: int
    n_missing: int


def grouping_sets(dims: list[str], margins: bool) -> list[tuple[str, ...]]:
    """The full cross and, with margins, every subset down to the total (largest first)."""
    if not margins:
        return [tuple(dims)]
    return [c for k in range(len(dims), -1, -1) for c in combinations(dims, k)]


def label_values(values) -> list[str]:
    """Cell labels as strings, identical for both engines (missing -> ``MISSING``)."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append(MISSING)
        elif isinstance(v, bool | np.bool_):
            out.append(str(bool(v)))
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out.append(str(int(v)))
        elif isinstance(v, np.integer):
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def label_array(values) -> np.ndarray:
    """Vectorised :func:`label_values` (labels the distinct values only)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    lookup = np.array(label_values(list(uniques)) + [MISSING], dtype=object)
    return lookup[codes]


def _sort_key(values: pd.Series) -> tuple:
    """Order cells: margins first, then numbers numerically, then text."""
    text = values.astype(str)
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return (text.to_numpy(), np.nan_to_num(number, nan=np.inf), (text != ALL).to_numpy())


def resolve_dims(indicator: Indicator, disagg: Disaggregations) -> list[tuple[str, str, AgeBands | None]]:
    return [disagg.resolve(d) for d in indicator.disaggregations]


def check_columns(indicator: Indicator, columns, dims, person_id, weight=None) -> None:
    exprs = indicator.expressions()
    needed = {}
    for role, expr in (("numerator", exprs["numerator"]), ("denominator", exprs["denominator"])):
        if expr is not None:
            for c in expr.columns:
                needed.setdefault(c, role)
    for f in exprs["filters"]:
        for c in f.columns:
            needed.setdefault(c, "filter")
    for out, src, _ in dims:
        needed.setdefault(src, f"disaggregation {out!r}")
    if person_id is not None:
        needed.setdefault(person_id, "person id")
    if weight is not None:
        needed.setdefault(weight, "weight")
    missing = {c: r for c, r in needed.items() if c not in columns}
    if missing:
        shown = ", ".join(f"{c!r} ({r})" for c, r in missing.items())
        raise MissingColumnError(
            f"indicator {indicator.name!r} reads column(s) absent from the data: {shown}. "
            f"Available columns: {list(columns)[:20]}. Fix the definition or the "
            f"Disaggregations mapping."
        )


def finish_cells(cells: pd.DataFrame, names: list[str], with_persons: bool) -> pd.DataFrame:
    """Common dtypes, empty-cell sums, column order and cell order (margins first)."""
    if not with_persons:
        cells["n_persons"] = np.nan
    for c in WEIGHTED_COLUMNS:
        if c not in cells:
            cells[c] = np.nan
    cells["n"] = cells["n"].astype("int64")
    for c in ("sum_num", "sum_den", "mean_num", "m2_num", "n_persons", *WEIGHTED_COLUMNS):
        cells[c] = cells[c].astype(float)
    empty = cells["n"].to_numpy() == 0
    cells.loc[empty, ["sum_num", "sum_den"]] = 0.0
    if cells["sw"].notna().any():
        cells.loc[empty, WEIGHTED_COLUMNS] = 0.0
    cells = cells[names + STAT_COLUMNS]
    if not names:
        return cells.reset_index(drop=True)
    keys = []
    for name in reversed(names):
        keys.extend(_sort_key(cells[name]))
    return cells.iloc[np.lexsort(keys)].reset_index(drop=True)


def validate_engine(engine):
    """``"pandas"``, an engine name of :mod:`evalkit.engine`, or an ``EngineSession``."""
    from evalkit.engine import ENGINES, EngineSession

    if isinstance(engine, EngineSession):
        return engine
    return check_option("engine", engine, ("pandas", *ENGINES))
