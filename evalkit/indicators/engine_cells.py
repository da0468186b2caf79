"""Indicator cell statistics computed inside an engine (DuckDB or Spark, through Ibis).

The input is an engine table (Parquet read in place, never through pandas).
Expressions are translated to Ibis, the population rows are reduced by one
hash aggregate over the finest cells (DuckDB's ``memory_limit`` bounds memory
whatever the number of rows), and margins are combined from the finest cells
in Python. Distinct persons need one plain ``GROUP BY`` per grouping set.
Only cell statistics leave the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError
from evalkit.indicators.cells import (
    ALL,
    WEIGHTED_COLUMNS,
    CellStats,
    check_columns,
    finish_cells,
    grouping_sets,
    label_array,
    resolve_dims,
)
from evalkit.indicators.definition import Disaggregations, Indicator


def engine_cells(
    session,
    table,
    indicator: Indicator,
    disagg: Disaggregations,
    *,
    person_id: str | None = None,
    weight: str | None = None,
    margins: bool = True,
    n_input: int | None = None,
) -> CellStats:
    """Cell statistics computed in the engine of ``session`` (see module docstring).

    One pass over the population rows, grouped by the finest cells, which
    also counts rows with missing values and runs the validity checks; plus
    ``count(*)`` of the source (``n_input``, read from Parquet metadata by
    DuckDB; pass it to share it between indicators) and, with a person id,
    one distinct count per grouping set.
    """
    import ibis

    dims = resolve_dims(indicator, disagg)
    check_columns(indicator, table.columns, dims, person_id, weight)
    exprs = indicator.expressions()
    conds = [f.to_ibis_condition(table) for f in exprs["filters"]]
    den = ibis.literal(1.0)
    if exprs["denominator"] is not None:
        if indicator.kind == "proportion":
            conds.append(exprs["denominator"].to_ibis_condition(table))
        else:
            den = exprs["denominator"].to_ibis(table).cast("float64")
    num_expr = exprs["numerator"]
    num = (num_expr.to_ibis_condition(table) if indicator.kind == "proportion"
           and num_expr.is_condition else num_expr.to_ibis(table)).cast("float64")
    schema = table.schema()
    columns = {}
    names = []
    for k, (out, src, bands) in enumerate(dims):
        col = table[src]
        if bands is not None:
            col = bands.to_ibis(col if schema[src].is_numeric() else col.try_cast("float64"))
        columns[f"d{k}"] = col
        names.append(out)
    # A row counts only when numerator, exposure (rates) and weight are all known; the
    # others are set to missing with it so that every aggregate skips the same rows.
    parts = {"num": num, "den": den if indicator.kind == "rate" else None,
             "w": table[weight].cast("float64") if weight is not None else None}
    known = None
    for value in parts.values():
        if value is not None:
            known = value.notnull() if known is None else known & value.notnull()
    for alias, value in parts.items():
        if value is None:
            columns[alias] = ibis.literal(1.0) if alias == "den" else ibis.null("float64")
        else:
            columns[alias] = ibis.ifelse(known, value, ibis.null("float64"))
    if person_id is not None:
        columns["pid"] = table[person_id]
    population = table
    if conds:
        keep = conds[0]
        for c in conds[1:]:
            keep = keep & c
        population = table.filter(keep.fill_null(False))
    base = population.select(**columns)
    con = session.con
    if n_input is None:
        n_input = int(con.execute(table.count()))

    dkeys = [f"d{k}" for k in range(len(dims))]
    # One hash aggregate on the finest cells (grouping sets cost about 3x more on 36M rows
    # in DuckDB); margins are combined from the finest cells in Python (exact for counts
    # and sums, Chan et al.'s pairwise formula for the sums of squares). Aggregates skip
    # missing values, so count(num) counts the rows with a known value.
    aggs = {"n": base.num.count(), "sum_num": base.num.sum(), "sum_den": base.den.sum(),
            "var": base.num.var(how="sample"), "n_pop": base.count()}
    if indicator.kind == "proportion" and not num_expr.is_condition:
        aggs["n_not01"] = base.count(where=base.num.notin([0.0, 1.0]))
    if indicator.kind == "rate":
        aggs["n_neg"] = base.count(where=base.den < 0)
    if weight is not None:
        w, x, d = base.w, base.num, base.den
        aggs["n_negw"] = base.count(where=w < 0)
        aggs.update(sw=w.sum(), sw2=(w * w).sum(), swx=(w * x).sum(), swd=(w * d).sum(),
                    sxx=(w * w * x * x).sum(), sxd=(w * w * x * d).sum(),
                    sdd=(w * w * d * d).sum())
    query = base.group_by(dkeys).aggregate(**aggs) if dkeys else base.aggregate(**aggs)
    raw = con.execute(query)
    for col in ("n", "n_pop", "n_not01", "n_neg", "n_negw"):
        if col in raw:
            raw[col] = pd.to_numeric(raw[col]).fillna(0).astype(np.int64)
    n_pop = int(raw["n_pop"].sum())
    n_missing = n_pop - int(raw["n"].sum())
    if "n_not01" in raw and raw["n_not01"].sum():
        raise DataValidationError(
            f"indicator {indicator.name!r}: the numerator {num_expr.text!r} of a proportion "
            f"takes values other than 0/1 in {int(raw['n_not01'].sum())} row(s); write a "
            f"condition or use kind='mean'"
        )
    if "n_neg" in raw and raw["n_neg"].sum():
        raise DataValidationError(
            f"indicator {indicator.name!r}: the denominator {indicator.denominator!r} "
            f"(exposure) is negative in {int(raw['n_neg'].sum())} row(s)"
        )
    if "n_negw" in raw and raw["n_negw"].sum():
        raise DataValidationError(
            f"indicator {indicator.name!r}: the weight column {weight!r} is negative in "
            f"{int(raw['n_negw'].sum())} row(s)"
        )
    # Cells whose rows all have a missing value do not exist (as in pandas).
    raw = raw[raw["n"].to_numpy() > 0]
    finest = pd.DataFrame({
        name: label_array(raw[key].astype(object).to_numpy())
        for key, name in zip(dkeys, names, strict=True)
    }, index=raw.index)
    finest["n"] = raw["n"].to_numpy(dtype=np.int64)
    finest["sum_num"] = pd.to_numeric(raw["sum_num"]).to_numpy(dtype=float, na_value=np.nan)
    finest["sum_den"] = pd.to_numeric(raw["sum_den"]).to_numpy(dtype=float, na_value=np.nan)
    var = pd.to_numeric(raw["var"]).to_numpy(dtype=float, na_value=np.nan)
    finest["m2_num"] = np.nan_to_num(var * (finest["n"].to_numpy() - 1), nan=0.0)
    additive = ["n", "sum_num", "sum_den"]
    if weight is not None:
        for col in WEIGHTED_COLUMNS:
            finest[col] = pd.to_numeric(raw[col]).to_numpy(dtype=float, na_value=np.nan)
        additive += WEIGHTED_COLUMNS
    pieces = [_combine(finest, gset, names, additive) for gset in grouping_sets(names, margins)]
    cells = pd.concat(pieces, ignore_index=True)
    if person_id is not None:
        cells["n_persons"] = _engine_persons(con, base, dkeys, names, cells)
    return CellStats(
        finish_cells(cells, names, person_id is not None), names, n_input, n_input - n_pop, n_missing
    )


def _combine(finest: pd.DataFrame, gset: tuple[str, ...], names: list[str],
             additive: list[str]) -> pd.DataFrame:
    """Statistics of grouping set ``gset`` from the finest cells (``additive`` columns summed).

    ``M2 = sum_i M2_i + sum_i n_i (mean_i - mean)^2`` (Chan, Golub & LeVeque 1979).
    """
    finest = finest.assign(_mean=finest["sum_num"] / finest["n"])
    if gset:
        grouped = finest.groupby(list(gset), sort=False)
        out = grouped[additive].sum()
        mean = out["sum_num"] / out["n"]
        dev = finest["n"] * (finest["_mean"] - mean.reindex(
            pd.MultiIndex.from_frame(finest[list(gset)]) if len(gset) > 1
            else pd.Index(finest[gset[0]])).to_numpy()) ** 2
        out["m2_num"] = grouped["m2_num"].sum() + dev.groupby(
            [finest[d] for d in gset], sort=False).sum()
        out = out.reset_index()
    else:
        n = int(finest["n"].sum())
        sum_num = float(finest["sum_num"].sum())
        mean = sum_num / n if n else np.nan
        m2 = float(finest["m2_num"].sum() + (finest["n"] * (finest["_mean"] - mean) ** 2).sum())
        out = pd.DataFrame({c: [float(finest[c].sum())] for c in additive})
        out["n"], out["sum_num"], out["m2_num"] = n, sum_num, m2
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_num"] = out["sum_num"] / out["n"]
    out["m2_num"] = out["m2_num"].where(out["n"] > 1)
    for d in names:
        if d not in gset:
            out[d] = ALL
    return out


def _engine_persons(con, base, dkeys, names, cells) -> np.ndarray:
    """Distinct persons per cell: one plain ``GROUP BY`` per grouping set.

    DuckDB evaluates ``count(DISTINCT ...)`` under ``GROUPING SETS`` slowly
    (25 times a plain count on 720k rows), hence separate queries.
    """
    out = np.full(len(cells), np.nan)
    rolled = cells[names].eq(ALL).to_numpy() if names else np.zeros((len(cells), 0), dtype=bool)
    patterns = {tuple(r) for r in rolled}
    counted = base.filter(base.num.notnull())
    for pattern in patterns:
        rows = np.flatnonzero((rolled == np.array(pattern, dtype=bool)).all(axis=1))
        gset = [d for d, off in zip(dkeys, pattern, strict=True) if not off]
        query = (counted.group_by(gset).aggregate(n_persons=counted.pid.nunique()) if gset
                 else counted.aggregate(n_persons=counted.pid.nunique()))
        counts = con.execute(query)
        if not gset:
            out[rows] = float(counts["n_persons"].iloc[0]) if len(counts) else 0.0
            continue
        keys = [label_array(counts[d].astype(object).to_numpy()) for d in gset]
        index = pd.MultiIndex.from_arrays(keys) if len(gset) > 1 else pd.Index(keys[0])
        lookup = pd.Series(counts["n_persons"].to_numpy(dtype=float), index=index)
        wanted = [cells[names[dkeys.index(d)]].to_numpy()[rows] for d in gset]
        want = pd.MultiIndex.from_arrays(wanted) if len(gset) > 1 else pd.Index(wanted[0])
        out[rows] = lookup.reindex(want).to_numpy()
    return out
