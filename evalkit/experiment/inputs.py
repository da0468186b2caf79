"""The table an experiment estimator works on: a DataFrame or a data contract, with the
rows it cannot use (missing outcome or covariates) dropped into the exclusion ledger."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.data.validation import as_numeric, check_frame, require_columns, show_values
from evalkit.errors import ColumnTypeError, EmptyDataError


def analysis_frame(data, *, where: str, outcome: str | None = None,
                   numeric: Sequence[str] = (), required: Sequence[str] = (),
                   roles: dict | None = None) -> tuple[pd.DataFrame, ExclusionLedger]:
    """Copy of ``data`` with ``outcome``/``numeric`` columns as numbers and the rows
    missing any of ``outcome`` or ``required`` dropped and recorded.

    ``data`` is a DataFrame, or a contract (:class:`~evalkit.data.PersonTable`,
    :class:`~evalkit.data.Panel`) whose table and ledger are continued.
    """
    if isinstance(data, pd.DataFrame):
        frame, ledger = check_frame(data, where).copy(), None
    elif isinstance(getattr(data, "data", None), pd.DataFrame):
        frame = data.data.copy()
        ledger = data.ledger.copy() if getattr(data, "ledger", None) is not None else None
    else:
        raise ColumnTypeError(
            f"{where} expects a DataFrame or an evalkit data contract (PersonTable, Panel), "
            f"got {type(data).__name__}.")
    require_columns(frame, {"outcome": outcome, **(roles or {})}, where)
    ledger = ledger if ledger is not None else ExclusionLedger.start(frame)
    for column in dict.fromkeys([c for c in (outcome, *numeric) if c is not None]):
        frame[column] = as_numeric(frame, column, "outcome" if column == outcome else "column",
                                   where)
    for column in dict.fromkeys([c for c in (outcome, *required) if c is not None]):
        missing = frame[column].isna()
        if missing.any():
            frame = ledger.drop(frame, missing, step=where,
                                reason=f"{column!r} missing").reset_index(drop=True)
    if frame.empty:
        raise EmptyDataError(
            f"{where}: no row left once rows missing {show_values([outcome, *required])} "
            "were dropped.")
    return frame.reset_index(drop=True), ledger
