"""Indicator cell statistics computed in memory with pandas and numpy.

Expressions are evaluated with pandas nullable dtypes (SQL's three-valued
logic, as in DuckDB); dimension columns are factorised once, the rows reduced
once into dense arrays over the full cross (``np.bincount``), and every margin
is a sum over the other axes of those arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.errors import ColumnTypeError, DataValidationError
from evalkit.indicators.cells import (
    ALL,
    MISSING,
    CellStats,
    check_columns,
    finish_cells,
    grouping_sets,
    label_values,
    resolve_dims,
)
from evalkit.indicators.definition import AgeBands, Disaggregations, Indicator
from evalkit.indicators.expressions import Expression


def pandas_cells(
    frame: pd.DataFrame,
    indicator: Indicator,
    disagg: Disaggregations,
    *,
    person_id: str | None = None,
    weight: str | None = None,
    margins: bool = True,
) -> CellStats:
    """Cell statistics computed with pandas (see module docstring)."""
    dims = resolve_dims(indicator, disagg)
    check_columns(indicator, frame.columns, dims, person_id, weight)
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
    wt = None
    if weight is not None:
        wt = _numeric(Expression.parse(f"`{weight}`"), frame, indicator, "weight")
        wt = wt.to_numpy(dtype=float, na_value=np.nan)
        valid &= ~np.isnan(wt)
        if (wt[valid] < 0).any():
            raise DataValidationError(
                f"indicator {indicator.name!r}: the weight column {weight!r} has negative values, "
                f"e.g. {sorted(set(wt[valid][wt[valid] < 0].tolist()))[:5]}"
            )
        wt = wt[valid]
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
    cube = _Cube(codes, labels, x, w, wt)
    pieces = []
    for gset in grouping_sets(names, margins):
        piece = cube.grouping_set(gset, names)
        if pid is not None:
            piece["n_persons"] = _distinct_persons(gset, names, codes, labels, pid)
        pieces.append(piece)
    cells = finish_cells(pd.concat(pieces, ignore_index=True), names, person_id is not None)
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

    def __init__(self, codes, labels, x, w, wt=None) -> None:
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
        self.weighted = {}
        if wt is not None:
            terms = {"sw": wt, "sw2": wt**2, "swx": wt * x, "swd": wt * w,
                     "sxx": (wt * x) ** 2, "sxd": wt**2 * x * w, "sdd": (wt * w) ** 2}
            self.weighted = {k: np.bincount(key, weights=v, minlength=size).reshape(self.shape)
                             for k, v in terms.items()}

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
        for name, arr in self.weighted.items():
            out[name] = arr.sum(axis=axes, keepdims=True).reshape(-1)[keep]
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
