"""Sufficient statistics of an indicator per cell, computed by pandas or DuckDB.

Both engines return the same frame, one row per cell of every requested
grouping set (the full cross of the disaggregations and, with margins, each
subset of them down to the overall total):

``<dimension columns>`` (labels as strings; ``ALL`` in rolled-up dimensions,
``MISSING`` where the value is missing), ``n`` (rows counted), ``n_persons``
(distinct persons, when an id column is given), ``sum_num``, ``sum_den``,
``mean_num``, ``m2_num`` (sum of squared deviations of the numerator).

The DuckDB engine reads a DataFrame, one or more Parquet files (read
directly, never through pandas) or a table of an open connection, and
aggregates with ``GROUP BY GROUPING SETS`` so memory stays bounded
(``memory_limit``) whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import (
    ColumnTypeError,
    ConfigError,
    DataValidationError,
    InputFileError,
    MissingColumnError,
)
from evalkit.indicators.definition import AgeBands, Disaggregations, Indicator
from evalkit.indicators.expressions import Expression, _quote_ident

ALL = "(all)"
MISSING = "(missing)"
_NUMERIC_SQL = ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC")
STAT_COLUMNS = ["n", "n_persons", "sum_num", "sum_den", "mean_num", "m2_num"]


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


def _label_array(values) -> np.ndarray:
    """Vectorised :func:`label_values` (labels the distinct values only)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    lookup = np.array(label_values(list(uniques)) + [MISSING], dtype=object)
    return lookup[codes]


def _sort_key(values: pd.Series) -> tuple:
    """Order cells: margins first, then numbers numerically, then text."""
    text = values.astype(str)
    number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return (text.to_numpy(), np.nan_to_num(number, nan=np.inf), (text != ALL).to_numpy())


def _resolve_dims(indicator: Indicator, disagg: Disaggregations) -> list[tuple[str, str, AgeBands | None]]:
    return [disagg.resolve(d) for d in indicator.disaggregations]


def _check_columns(indicator: Indicator, columns, dims, person_id) -> None:
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
    missing = {c: r for c, r in needed.items() if c not in columns}
    if missing:
        shown = ", ".join(f"{c!r} ({r})" for c, r in missing.items())
        raise MissingColumnError(
            f"indicator {indicator.name!r} reads column(s) absent from the data: {shown}. "
            f"Available columns: {list(columns)[:20]}. Fix the definition or the "
            f"Disaggregations mapping."
        )


# --------------------------------------------------------------------- pandas
def pandas_cells(
    frame: pd.DataFrame,
    indicator: Indicator,
    disagg: Disaggregations,
    *,
    person_id: str | None = None,
    margins: bool = True,
) -> CellStats:
    """Cell statistics computed with pandas (see module docstring)."""
    dims = _resolve_dims(indicator, disagg)
    _check_columns(indicator, frame.columns, dims, person_id)
    exprs = indicator.expressions()
    n_input = len(frame)
    pop = pd.Series(True, index=frame.index, dtype="boolean")
    for f in exprs["filters"]:
        pop = pop & _condition(f, frame, indicator, "filter")
    den = None
    if exprs["denominator"] is not None:
        if indicator.kind == "proportion":
            pop = pop & _condition(exprs["denominator"], frame, indicator, "denominator")
        else:
            den = _numeric(exprs["denominator"], frame, indicator, "denominator")
    pop = pop.fillna(False).to_numpy(dtype=bool)
    if indicator.kind == "proportion":
        num = _proportion_numerator(exprs["numerator"], frame, indicator, pop)
    else:
        num = _numeric(exprs["numerator"], frame, indicator, "numerator")
    num = num.to_numpy(dtype=float, na_value=np.nan)
    valid = pop & ~np.isnan(num)
    if den is not None:
        den = den.to_numpy(dtype=float, na_value=np.nan)
        valid &= ~np.isnan(den)
        _check_exposure(den[valid], indicator)
    x = num[valid]
    w = den[valid] if den is not None else np.ones(x.size)
    names, codes, labels = [], [], []
    for out, src, bands in dims:
        code, label = _dimension_codes(frame[src], bands, valid)
        names.append(out)
        codes.append(code)
        labels.append(label)
    pid = None
    if person_id is not None:
        pid = pd.factorize(frame[person_id][valid])[0].astype(np.int64)
    cube = _Cube(codes, labels, x, w)
    pieces = []
    for gset in grouping_sets(names, margins):
        piece = cube.grouping_set(gset, names)
        if pid is not None:
            piece["n_persons"] = _distinct_persons(gset, names, codes, labels, pid)
        pieces.append(piece)
    cells = _finish(pd.concat(pieces, ignore_index=True), names, person_id is not None)
    return CellStats(cells, names, n_input, int((~pop).sum()), int((pop & ~valid).sum()))


def _dimension_codes(column: pd.Series, bands: AgeBands | None, valid: np.ndarray):
    """Integer cell codes of the valid rows and the label of each code.

    Factorises the column itself (fast on Arrow strings and categoricals) and
    labels only the distinct values; codes whose labels coincide are merged.
    """
    if bands is not None:
        ages = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)[valid]
        band = np.searchsorted(np.asarray(bands.edges), ages, side="right")
        raw_codes = np.where(np.isnan(ages), len(bands.labels), band)
        raw_labels = [*bands.labels, MISSING]
    else:
        raw_codes, uniques = pd.factorize(column[valid], use_na_sentinel=True)
        raw_labels = [*label_values(list(uniques)), MISSING]
        raw_codes = np.where(raw_codes < 0, len(raw_labels) - 1, raw_codes)
    merged, label = pd.factorize(np.asarray(raw_labels, dtype=object))
    code = merged[raw_codes].astype(np.int64)
    used = np.bincount(code, minlength=len(label)) > 0
    # drop labels no row uses, so that cells are only created for observed values
    remap = np.cumsum(used) - 1
    return remap[code], np.asarray(label, dtype=object)[used]


class _Cube:
    """Statistics of the full cross of the dimensions as dense arrays, summed for margins.

    The rows are reduced once (``np.bincount`` on the cell key; sums of squared
    deviations in two passes); each grouping set is then a sum over the
    other axes of these small arrays, with the sums of squares combined by
    ``M2 = sum_i M2_i + sum_i n_i (mean_i - mean)^2`` (Chan, Golub & LeVeque 1979).
    """

    def __init__(self, codes, labels, x, w) -> None:
        self.labels = labels
        self.shape = tuple(len(lab) for lab in labels)
        size = int(np.prod(self.shape)) if self.shape else 1
        key = (np.ravel_multi_index(codes, self.shape) if codes
               else np.zeros(x.size, dtype=np.int64))
        n = np.bincount(key, minlength=size).astype(float)
        s = np.bincount(key, weights=x, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / n
        m2 = np.bincount(key, weights=(x - mean[key]) ** 2, minlength=size)
        self.n = n.reshape(self.shape)
        self.sum_num = s.reshape(self.shape)
        self.sum_den = np.bincount(key, weights=w, minlength=size).reshape(self.shape)
        self.mean = np.nan_to_num(mean).reshape(self.shape)
        self.m2 = m2.reshape(self.shape)

    def grouping_set(self, gset, names) -> pd.DataFrame:
        axes = tuple(k for k, d in enumerate(names) if d not in gset)
        n = self.n.sum(axis=axes, keepdims=True)
        s = self.sum_num.sum(axis=axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / n
        spread = self.n * (self.mean - np.nan_to_num(mean)) ** 2
        m2 = (self.m2 + spread).sum(axis=axes, keepdims=True)
        den = self.sum_den.sum(axis=axes, keepdims=True)
        flat = [a.reshape(-1) for a in (n, s, den, mean, m2)]
        keep = np.flatnonzero(flat[0] > 0) if gset else np.arange(1)
        out = pd.DataFrame({"n": flat[0][keep], "sum_num": flat[1][keep], "sum_den": flat[2][keep],
                            "mean_num": flat[3][keep],
                            "m2_num": np.where(flat[0][keep] > 1, flat[4][keep], np.nan)})
        kept_shape = n.shape
        position = np.unravel_index(keep, kept_shape) if names else ()
        for k, d in enumerate(names):
            out[d] = self.labels[k][position[k]] if d in gset else ALL
        return out


def _distinct_persons(gset, names, codes, labels, pid) -> np.ndarray:
    """Distinct persons per observed cell of ``gset`` (same order as :meth:`_Cube.grouping_set`)."""
    active = [names.index(d) for d in gset]
    sizes = [len(labels[k]) for k in active]
    n_cells = int(np.prod(sizes)) if active else 1
    key = (np.ravel_multi_index([codes[k] for k in active], sizes) if active
           else np.zeros(pid.size, dtype=np.int64))
    stride = int(pid.max()) + 1 if pid.size else 1
    # distinct (cell, person) pairs by sorting (faster than np.unique's hash path here)
    pairs = np.sort(key * stride + pid)
    if pairs.size:
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    persons = np.bincount(pairs // stride, minlength=n_cells)
    rows = np.bincount(key, minlength=n_cells)
    keep = np.flatnonzero(rows > 0) if active else np.arange(1)
    return persons[keep].astype(float)


def _condition(expr: Expression, frame, indicator, role) -> pd.Series:
    value = expr.evaluate(frame)
    if not isinstance(value, pd.Series):
        value = pd.Series([value] * len(frame), index=frame.index)
    if pd.api.types.is_bool_dtype(value):
        return value.astype("boolean")
    if pd.api.types.is_numeric_dtype(value):
        return (value != 0).astype("boolean")
    raise ColumnTypeError(
        f"indicator {indicator.name!r}: the {role} {expr.text!r} is not a condition "
        f"(dtype {value.dtype}); write a comparison such as \"sex == 'F'\""
    )


def _numeric(expr: Expression, frame, indicator, role) -> pd.Series:
    value = expr.evaluate(frame)
    if not isinstance(value, pd.Series):
        value = pd.Series([value] * len(frame), index=frame.index)
    if not pd.api.types.is_numeric_dtype(value) or pd.api.types.is_bool_dtype(value):
        if pd.api.types.is_bool_dtype(value):
            return value.astype("Float64")
        raise ColumnTypeError(
            f"indicator {indicator.name!r}: the {role} {expr.text!r} must be numeric, got "
            f"{value.dtype} (first values {value.head(3).tolist()})"
        )
    return value.astype("Float64")


def _proportion_numerator(expr, frame, indicator, pop) -> pd.Series:
    value = expr.evaluate(frame)
    if not isinstance(value, pd.Series):
        value = pd.Series([value] * len(frame), index=frame.index)
    if pd.api.types.is_bool_dtype(value):
        return value.astype("Float64")
    if not pd.api.types.is_numeric_dtype(value):
        raise ColumnTypeError(
            f"indicator {indicator.name!r}: the numerator {expr.text!r} of a proportion must be "
            f"a condition or a 0/1 column, got dtype {value.dtype}"
        )
    value = value.astype("Float64")
    arr = value.to_numpy(dtype=float, na_value=np.nan)
    bad = pop & ~np.isnan(arr) & (arr != 0) & (arr != 1)
    if bad.any():
        raise DataValidationError(
            f"indicator {indicator.name!r}: the numerator {expr.text!r} of a proportion takes "
            f"values other than 0/1, e.g. {sorted(set(arr[bad].tolist()))[:5]}; write a "
            f"condition (\"{expr.text} > 0\") or use kind='mean'"
        )
    return value


def _check_exposure(den: np.ndarray, indicator: Indicator) -> None:
    if den.size and (den < 0).any():
        raise DataValidationError(
            f"indicator {indicator.name!r}: the denominator {indicator.denominator!r} (exposure) has "
            f"negative values, e.g. {sorted(set(den[den < 0].tolist()))[:5]}"
        )


def _finish(cells: pd.DataFrame, names: list[str], with_persons: bool) -> pd.DataFrame:
    if not with_persons:
        cells["n_persons"] = np.nan
    cells["n"] = cells["n"].astype("int64")
    for c in ("sum_num", "sum_den", "mean_num", "m2_num", "n_persons"):
        cells[c] = cells[c].astype(float)
    empty = cells["n"].to_numpy() == 0
    cells.loc[empty, ["sum_num", "sum_den"]] = 0.0
    cells = cells[names + STAT_COLUMNS]
    if not names:
        return cells.reset_index(drop=True)
    keys = []
    for name in reversed(names):
        keys.extend(_sort_key(cells[name]))
    return cells.iloc[np.lexsort(keys)].reset_index(drop=True)


# --------------------------------------------------------------------- duckdb
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
    margins: bool = True,
) -> CellStats:
    """Cell statistics computed inside DuckDB (see module docstring).

    One pass over the population rows: ``GROUP BY GROUPING SETS`` always
    includes the overall set ``()``, whose row also carries the counts of
    rows with missing values and the validity checks; plus ``count(*)`` of
    the source (read from Parquet metadata when the source is Parquet).
    """
    dims = _resolve_dims(indicator, disagg)
    _check_columns(indicator, duckdb_columns(con, source), dims, person_id)
    exprs = indicator.expressions()
    conds = [f"({f.to_sql()})" for f in exprs["filters"]]
    den_sql = "1.0"
    if exprs["denominator"] is not None:
        if indicator.kind == "proportion":
            conds.append(f"({_bool_sql(exprs['denominator'])})")
        else:
            den_sql = f"CAST({exprs['denominator'].to_sql()} AS DOUBLE)"
    num_expr = exprs["numerator"]
    num_sql = (
        f"CAST({_bool_sql(num_expr)} AS DOUBLE)" if indicator.kind == "proportion"
        and _is_condition(num_expr) else f"CAST({num_expr.to_sql()} AS DOUBLE)"
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
    if indicator.kind == "rate":
        # a row counts only when both numerator and exposure are known
        select += [f"CASE WHEN ({den_sql}) IS NOT NULL THEN {num_sql} END AS num",
                   f"CASE WHEN ({num_sql}) IS NOT NULL THEN {den_sql} END AS den"]
    else:
        select += [f"{num_sql} AS num", "1.0 AS den"]
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
    if indicator.kind == "proportion" and not _is_condition(num_expr):
        checks += ", count(*) FILTER (WHERE num NOT IN (0, 1)) AS n_not01"
    if indicator.kind == "rate":
        checks += ", count(*) FILTER (WHERE den < 0) AS n_neg"
    query = (
        f"SELECT {''.join(k + ', ' for k in dkeys)}"
        f"count(num) AS n, sum(num) AS sum_num, sum(den) AS sum_den, var_samp(num) AS var, "
        f"count(*) AS n_pop{checks} "
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
    # Cells whose rows all have a missing value do not exist (as in pandas).
    raw = raw[raw["n"].to_numpy() > 0]
    finest = pd.DataFrame({
        name: _label_array(raw[key].astype(object).to_numpy())
        for key, name in zip(dkeys, names, strict=True)
    }, index=raw.index)
    finest["n"] = raw["n"].to_numpy(dtype=np.int64)
    finest["sum_num"] = raw["sum_num"].to_numpy(dtype=float, na_value=np.nan)
    finest["sum_den"] = raw["sum_den"].to_numpy(dtype=float, na_value=np.nan)
    var = raw["var"].to_numpy(dtype=float, na_value=np.nan)
    finest["m2_num"] = np.nan_to_num(var * (finest["n"].to_numpy() - 1), nan=0.0)
    pieces = [_combine(finest, gset, names) for gset in grouping_sets(names, margins)]
    cells = pd.concat(pieces, ignore_index=True)
    if person_id is not None:
        cells["n_persons"] = _duckdb_persons(con, base, valid, dkeys, names, cells)
    return CellStats(
        _finish(cells, names, person_id is not None), names, n_input, n_input - n_pop, n_missing
    )


def _combine(finest: pd.DataFrame, gset: tuple[str, ...], names: list[str]) -> pd.DataFrame:
    """Statistics of grouping set ``gset`` from the finest cells.

    ``M2 = sum_i M2_i + sum_i n_i (mean_i - mean)^2`` (Chan, Golub & LeVeque 1979).
    """
    finest = finest.assign(_mean=finest["sum_num"] / finest["n"])
    if gset:
        grouped = finest.groupby(list(gset), sort=False)
        out = grouped[["n", "sum_num", "sum_den"]].sum()
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
        out = pd.DataFrame({"n": [n], "sum_num": [sum_num],
                            "sum_den": [float(finest["sum_den"].sum())], "m2_num": [m2]})
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
        keys = [_label_array(counts[d].astype(object).to_numpy()) for d in gset]
        index = pd.MultiIndex.from_arrays(keys) if len(gset) > 1 else pd.Index(keys[0])
        lookup = pd.Series(counts["n_persons"].to_numpy(dtype=float), index=index)
        wanted = [cells[names[dkeys.index(d)]].to_numpy()[rows] for d in gset]
        want = pd.MultiIndex.from_arrays(wanted) if len(gset) > 1 else pd.Index(wanted[0])
        out[rows] = lookup.reindex(want).to_numpy()
    return out


def _is_condition(expr: Expression) -> bool:
    import ast

    node = expr.tree
    return isinstance(node, ast.Compare | ast.BoolOp | ast.Call) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert)
    ) or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr))


def _bool_sql(expr: Expression) -> str:
    if _is_condition(expr):
        return expr.to_sql()
    return f"(CAST({expr.to_sql()} AS DOUBLE) <> 0)"


def validate_engine(engine: str) -> str:
    if engine not in ("pandas", "duckdb"):
        raise ConfigError(f"engine must be 'pandas' or 'duckdb', got {engine!r}")
    return engine
