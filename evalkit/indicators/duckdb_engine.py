"""Indicator cell statistics computed inside embedded DuckDB.

The input is a DataFrame or Parquet file(s) read in place (never through
pandas). Expressions are translated to SQL, the population rows are reduced
by one hash aggregate over the finest cells with ``memory_limit`` bounding
memory whatever the number of rows, and margins are combined from the finest
cells in Python. Distinct persons need one plain ``GROUP BY`` per grouping set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError, InputFileError
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
from evalkit.indicators.expressions import _quote_ident

_NUMERIC_SQL = ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC")


def duckdb_source(con, data) -> str:
    """SQL relation for ``data``: a registered DataFrame, or Parquet file(s) read in place.

    ``data`` may be a DataFrame, a ``.parquet`` path, a glob, a directory of
    Parquet files, or a list of these.
    """
    if isinstance(data, pd.DataFrame):
        con.register("_evalkit_indicator_input", data)
        return "_evalkit_indicator_input"
    paths = [data] if isinstance(data, str | Path) else list(data)
    files = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.glob("*.parquet"))
            if not found:
                raise InputFileError(f"no .parquet file in directory {str(p)!r}")
            files += [str(f) for f in found]
        elif "*" in str(p):
            files.append(str(p))
        elif not p.exists():
            raise InputFileError(f"input file {str(p)!r} does not exist")
        elif p.suffix != ".parquet":
            raise InputFileError(
                f"the DuckDB engine reads Parquet files (or a DataFrame), got {str(p)!r}; "
                f"convert it with evalkit.data.read_table(...).to_parquet(...)"
            )
        else:
            files.append(str(p))
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}])"


def duckdb_columns(con, source: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]


def duckdb_cells(
    con,
    source: str,
    indicator: Indicator,
    disagg: Disaggregations,
    *,
    person_id: str | None = None,
    weight: str | None = None,
    margins: bool = True,
) -> CellStats:
    """Cell statistics computed inside DuckDB (see module docstring).

    One pass over the population rows, grouped by the finest cells, which
    also counts rows with missing values and runs the validity checks; plus
    ``count(*)`` of the source (read from Parquet metadata when the source is
    Parquet) and, with a person id, one distinct count per grouping set.
    """
    dims = resolve_dims(indicator, disagg)
    check_columns(indicator, duckdb_columns(con, source), dims, person_id, weight)
    exprs = indicator.expressions()
    conds = [f"({f.to_sql()})" for f in exprs["filters"]]
    den_sql = "1.0"
    if exprs["denominator"] is not None:
        if indicator.kind == "proportion":
            conds.append(f"({exprs['denominator'].to_sql_condition()})")
        else:
            den_sql = f"CAST({exprs['denominator'].to_sql()} AS DOUBLE)"
    num_expr = exprs["numerator"]
    num_sql = (
        f"CAST({num_expr.to_sql_condition()} AS DOUBLE)" if indicator.kind == "proportion"
        and num_expr.is_condition else f"CAST({num_expr.to_sql()} AS DOUBLE)"
    )
    pop_sql = " AND ".join(conds) if conds else "TRUE"
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    select = []
    names = []
    for k, (out, src, bands) in enumerate(dims):
        col = _quote_ident(src)
        if bands is not None:
            numeric = any(t in str(types.get(src, "")).upper() for t in _NUMERIC_SQL)
            expr = bands.to_sql(col if numeric else f"TRY_CAST({col} AS DOUBLE)")
        else:
            expr = col
        select.append(f"{expr} AS d{k}")
        names.append(out)
    # A row counts only when numerator, exposure (rates) and weight are all known; the
    # others are set to NULL with it so that every aggregate skips the same rows.
    w_sql = f"CAST({_quote_ident(weight)} AS DOUBLE)" if weight is not None else None
    parts = {"num": num_sql, "den": den_sql if indicator.kind == "rate" else None, "w": w_sql}
    known = [f"({v}) IS NOT NULL" for v in parts.values() if v is not None]
    for alias, value in parts.items():
        if value is None:
            select.append(f"1.0 AS {alias}" if alias == "den" else f"NULL AS {alias}")
        elif len(known) == 1:
            select.append(f"{value} AS {alias}")
        else:
            select.append(f"CASE WHEN {' AND '.join(known)} THEN {value} END AS {alias}")
    if person_id is not None:
        select.append(f"{_quote_ident(person_id)} AS pid")
    base = f"SELECT {', '.join(select)} FROM {source} WHERE COALESCE({pop_sql}, FALSE)"
    valid = "(num IS NOT NULL)"
    n_input = int(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])

    dkeys = [f"d{k}" for k in range(len(dims))]
    # One hash aggregate on the finest cells (GROUPING SETS cost about 3x more on 36M rows);
    # margins are combined from the finest cells in Python (exact for counts and sums,
    # Chan et al.'s pairwise formula for the sums of squares). Aggregates skip NULLs, so
    # count(num) counts the rows with a known value without a FILTER clause.
    checks = ""
    if indicator.kind == "proportion" and not num_expr.is_condition:
        checks += ", count(*) FILTER (WHERE num NOT IN (0, 1)) AS n_not01"
    if indicator.kind == "rate":
        checks += ", count(*) FILTER (WHERE den < 0) AS n_neg"
    weighted = ""
    if weight is not None:
        checks += ", count(*) FILTER (WHERE w < 0) AS n_negw"
        weighted = (", sum(w) AS sw, sum(w * w) AS sw2, sum(w * num) AS swx, sum(w * den) AS swd, "
                    "sum(w * w * num * num) AS sxx, sum(w * w * num * den) AS sxd, "
                    "sum(w * w * den * den) AS sdd")
    query = (
        f"SELECT {''.join(k + ', ' for k in dkeys)}"
        f"count(num) AS n, sum(num) AS sum_num, sum(den) AS sum_den, var_samp(num) AS var, "
        f"count(*) AS n_pop{checks}{weighted} "
        f"FROM ({base})" + (f" GROUP BY {', '.join(dkeys)}" if dkeys else "")
    )
    raw = con.execute(query).df()
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
    finest["sum_num"] = raw["sum_num"].to_numpy(dtype=float, na_value=np.nan)
    finest["sum_den"] = raw["sum_den"].to_numpy(dtype=float, na_value=np.nan)
    var = raw["var"].to_numpy(dtype=float, na_value=np.nan)
    finest["m2_num"] = np.nan_to_num(var * (finest["n"].to_numpy() - 1), nan=0.0)
    additive = ["n", "sum_num", "sum_den"]
    if weight is not None:
        for col in WEIGHTED_COLUMNS:
            finest[col] = raw[col].to_numpy(dtype=float, na_value=np.nan)
        additive += WEIGHTED_COLUMNS
    pieces = [_combine(finest, gset, names, additive) for gset in grouping_sets(names, margins)]
    cells = pd.concat(pieces, ignore_index=True)
    if person_id is not None:
        cells["n_persons"] = _duckdb_persons(con, base, valid, dkeys, names, cells)
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


def _duckdb_persons(con, base, valid, dkeys, names, cells) -> np.ndarray:
    """Distinct persons per cell: one plain ``GROUP BY`` per grouping set.

    DuckDB evaluates ``count(DISTINCT ...)`` under ``GROUPING SETS`` slowly
    (25 times a plain count on 720k rows), hence separate queries.
    """
    out = np.full(len(cells), np.nan)
    rolled = cells[names].eq(ALL).to_numpy() if names else np.zeros((len(cells), 0), dtype=bool)
    patterns = {tuple(r) for r in rolled}
    for pattern in patterns:
        rows = np.flatnonzero((rolled == np.array(pattern, dtype=bool)).all(axis=1))
        gset = [d for d, off in zip(dkeys, pattern, strict=True) if not off]
        cols = ", ".join(gset)
        query = (f"SELECT {cols + ', ' if cols else ''}count(DISTINCT pid) AS n_persons "
                 f"FROM ({base}) WHERE {valid}" + (f" GROUP BY {cols}" if cols else ""))
        counts = con.execute(query).df()
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
