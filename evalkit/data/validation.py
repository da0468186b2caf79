"""Checks shared by the three data contracts.

Each check raises an :mod:`evalkit.errors` type whose message names the
column, shows up to five offending rows and says how to fix the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.errors import (
    ColumnTypeError,
    DataValidationError,
    DuplicateKeyError,
    EmptyDataError,
    MissingColumnError,
)
from evalkit.options import check_option

MAX_SHOWN = 5


def show_rows(frame: pd.DataFrame, mask, columns: Sequence[str] | None = None) -> str:
    """Render up to :data:`MAX_SHOWN` rows selected by ``mask`` for an error message."""
    mask = np.asarray(mask, dtype=bool)
    n = int(mask.sum())
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    shown = frame.loc[mask, cols].head(MAX_SHOWN)
    text = shown.to_string(max_colwidth=40)
    more = f"\n... and {n - len(shown)} more row(s)" if n > len(shown) else ""
    return f"{text}{more}"


def show_values(values: Iterable, limit: int = MAX_SHOWN) -> str:
    """Render a few distinct values, e.g. ``'x', 'y' (+3 more)``."""
    values = list(dict.fromkeys(values))
    # numpy 2 reprs scalars as np.int64(3); users wrote 3.
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def check_frame(data, contract: str) -> pd.DataFrame:
    """Accept a DataFrame with unique, string-like column names; return a shallow copy."""
    if not isinstance(data, pd.DataFrame):
        raise ColumnTypeError(
            f"{contract} expects a pandas DataFrame, got {type(data).__name__}. "
            "Read files with evalkit.data.read_table(path) or pass pd.DataFrame(...)."
        )
    if isinstance(data.columns, pd.MultiIndex):
        raise ColumnTypeError(
            f"{contract} expects flat column names, got a MultiIndex. "
            "Flatten it first, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]."
        )
    duplicated = data.columns[data.columns.duplicated()]
    if len(duplicated):
        raise DataValidationError(
            f"{contract}: column name(s) {show_values(duplicated)} appear more than once. "
            "Rename or drop the duplicates before building the contract."
        )
    if len(data) == 0:
        raise EmptyDataError(f"{contract}: the input table has no rows.")
    return data.copy(deep=False)


def require_columns(frame: pd.DataFrame, roles: dict[str, str | Sequence[str] | None],
                    contract: str) -> None:
    """Raise :class:`MissingColumnError` for every role whose column is absent."""
    missing = []
    for role, names in roles.items():
        if names is None:
            continue
        for name in [names] if isinstance(names, str) else names:
            if name not in frame.columns:
                missing.append((role, name))
    if missing:
        listed = "; ".join(f"{role}={name!r}" for role, name in missing)
        available = show_values(map(str, frame.columns), limit=15)
        raise MissingColumnError(
            f"{contract}: required column(s) not found: {listed}. "
            f"Available columns: {available}. "
            "Pass the right column name for each role (e.g. "
            f"{missing[0][0]}='<your column>') or rename the column in the input."
        )


def as_numeric(frame: pd.DataFrame, column: str, role: str, contract: str,
               *, integer: bool = False) -> pd.Series:
    """Convert ``column`` to float (booleans to 0/1) or raise :class:`ColumnTypeError`.

    Missing values stay NaN. Infinite values are rejected. With ``integer``,
    non-missing values must be whole numbers.
    """
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float)
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or isinstance(
        series.dtype, pd.PeriodDtype
    ):
        raise ColumnTypeError(
            f"{contract}: column {column!r} ({role}) holds dates ({series.dtype}); a number is "
            "expected. Convert dates to an integer period index (e.g. year, or year*4+quarter)."
        )
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.astype(float)
    else:
        values = pd.to_numeric(series.map(_bool_to_number), errors="coerce").astype(float)
        bad = values.isna() & series.notna()
        if bad.any():
            raise ColumnTypeError(
                f"{contract}: column {column!r} ({role}) must be numeric but holds "
                f"{int(bad.sum())} non-numeric value(s): {show_values(series[bad])}.\n"
                f"{show_rows(frame, bad.to_numpy(), [column])}\n"
                "Recode these values as numbers (or as missing) before validation."
            )
    arr = values.to_numpy()
    infinite = np.isinf(arr)
    if infinite.any():
        raise ColumnTypeError(
            f"{contract}: column {column!r} ({role}) holds {int(infinite.sum())} infinite "
            f"value(s).\n{show_rows(frame, infinite, [column])}\n"
            "Replace them by a finite value or by missing."
        )
    if integer:
        finite = ~np.isnan(arr)
        fractional = finite & (arr != np.round(arr))
        if fractional.any():
            raise ColumnTypeError(
                f"{contract}: column {column!r} ({role}) must hold whole numbers (periods are "
                f"integers: years, quarter or month indices) but has "
                f"{show_values(arr[fractional])}.\n"
                f"{show_rows(frame, fractional, [column])}"
            )
    return values


def _bool_to_number(value):
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    return value


def check_unique(frame: pd.DataFrame, keys: list[str], contract: str, what: str) -> None:
    """Raise :class:`DuplicateKeyError` when rows repeat the same ``keys``."""
    dup = frame.duplicated(subset=keys, keep=False).to_numpy()
    if dup.any():
        n_keys = int(frame.loc[dup, keys].drop_duplicates().shape[0])
        raise DuplicateKeyError(
            f"{contract}: {n_keys} {what} value(s) of ({', '.join(keys)}) appear on more than one "
            f"row ({int(dup.sum())} rows):\n{show_rows(frame, dup, keys)}\n"
            f"Each {what} must appear once: remove duplicate rows or aggregate them first."
        )


def drop_missing(frame: pd.DataFrame, columns: list[str], ledger: ExclusionLedger,
                 *, policy: str, contract: str, id_col: str | None, step: str = "validation"
                 ) -> pd.DataFrame:
    """Drop rows with a missing value in ``columns`` (recorded per column) or raise.

    ``policy="drop"`` records one ledger entry per column; ``"raise"`` raises
    :class:`DataValidationError` naming the column and rows.
    """
    check_option("missing", policy, ("drop", "raise"))
    for column in columns:
        mask = frame[column].isna().to_numpy()
        if not mask.any():
            continue
        if policy == "raise":
            raise DataValidationError(
                f"{contract}: column {column!r} has {int(mask.sum())} missing value(s).\n"
                f"{show_rows(frame, mask, ([id_col] if id_col else []) + [column])}\n"
                "Impute or remove them, or pass missing='drop' to exclude these rows "
                "(they are then counted in the exclusion ledger)."
            )
        frame = ledger.drop(frame, mask, step=step, reason=f"{column} missing", id_col=id_col)
    return frame


def check_not_empty(frame: pd.DataFrame, ledger: ExclusionLedger, contract: str) -> None:
    """Raise :class:`EmptyDataError` when exclusions removed every row."""
    if len(frame) == 0:
        raise EmptyDataError(
            f"{contract}: no row is left after exclusions. Exclusion ledger:\n{ledger}\n"
            "Check the columns named above for missing values."
        )


def check_outcomes_present(frame: pd.DataFrame, outcomes: list[str], contract: str) -> None:
    """Raise :class:`EmptyDataError` for an outcome that is missing on every row."""
    for column in outcomes:
        if frame[column].isna().all():
            raise EmptyDataError(
                f"{contract}: outcome {column!r} is missing on every row. "
                "Check the column name and how missing values were coded in the source file."
            )


def check_weights(frame: pd.DataFrame, column: str, contract: str) -> None:
    """Raise when survey weights are negative or all zero."""
    w = frame[column].to_numpy(dtype=float)
    negative = w < 0
    if negative.any():
        raise DataValidationError(
            f"{contract}: weight column {column!r} has {int(negative.sum())} negative value(s).\n"
            f"{show_rows(frame, negative, [column])}\nWeights must be >= 0."
        )
    if not (w > 0).any():
        raise DataValidationError(
            f"{contract}: weight column {column!r} is zero on every row; at least one weight "
            "must be positive."
        )


class unexpected_errors_as_validation:  # noqa: N801 - used as a context manager
    """Turn an unforeseen pandas/numpy exception during validation into an EvalkitError.

    Validation is meant to anticipate every bad input; this guard keeps the
    promise that users never face a raw library traceback, while keeping the
    original exception chained for debugging.
    """

    def __init__(self, contract: str) -> None:
        self.contract = contract

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, DataValidationError):
            return False
        if isinstance(exc, (ValueError, TypeError, KeyError, IndexError, OverflowError,
                            AttributeError)):
            raise DataValidationError(
                f"{self.contract}: the input could not be validated ({type(exc).__name__}: {exc}). "
                "Check column types (numbers vs text) and missing-value codes."
            ) from exc
        return False
