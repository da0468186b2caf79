"""PersonTable: one row per person (or survey respondent)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.data.readers import read_table
from evalkit.data.validation import (
    as_numeric,
    check_frame,
    check_not_empty,
    check_outcomes_present,
    check_unique,
    check_weights,
    drop_missing,
    require_columns,
    show_values,
    unexpected_errors_as_validation,
)
from evalkit.errors import DataValidationError

CONTRACT = "PersonTable"


class PersonTable:
    """Validated table with one row per person, for cohort comparisons.

    Parameters
    ----------
    data
        The raw table.
    id
        Person (respondent) identifier; must be unique.
    group
        Cohort / treatment-group label (e.g. ``"integrated"`` vs ``"comparison"``, or 0/1).
        ``None`` for a table of person covariates without groups.
    covariates
        Pre-treatment covariates. Numeric columns are kept as float; text,
        categorical columns and those listed in ``categorical`` are kept as
        pandas categoricals (estimators expand them to levels).
    outcomes
        Outcome columns (numeric; booleans become 0/1). Missing outcomes are
        kept: each estimator drops the rows it cannot use and records them.
    weight
        Survey weight (>= 0, not all zero).
    cluster
        Cluster (e.g. station or site) for clustered standard errors.
    missing
        ``"drop"`` (default) excludes rows with a missing id, group, covariate,
        weight or cluster and records them in the ledger; ``"raise"`` refuses them.
    source
        Name of the input, shown in the exclusion ledger.
    ledger
        Continue an existing ledger instead of opening a new one.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        id: str = "person_id",  # noqa: A002 - the natural name for users
        group: str | None = "group",
        covariates: Sequence[str] | None = None,
        outcomes: Sequence[str] | None = None,
        weight: str | None = None,
        cluster: str | None = None,
        categorical: Sequence[str] | None = None,
        missing: str = "drop",
        source: str = "input",
        ledger: ExclusionLedger | None = None,
    ) -> None:
        self.id = id
        self.group = group
        self.covariates = list(covariates or [])
        self.outcomes = list(outcomes or [])
        self.weight = weight
        self.cluster = cluster
        self.categorical = list(categorical or [])
        with unexpected_errors_as_validation(CONTRACT):
            self.data, self.ledger = self._validate(data, missing, source, ledger)

    @classmethod
    def from_file(cls, path, **kwargs) -> PersonTable:
        """Read ``path`` (CSV, Parquet, Stata, SPSS) and validate it."""
        kwargs.setdefault("source", str(path))
        return cls(read_table(path), **kwargs)

    def _validate(self, data, missing, source, ledger):
        frame = check_frame(data, CONTRACT)
        unknown_cat = [c for c in self.categorical if c not in self.covariates]
        if unknown_cat:
            raise DataValidationError(
                f"{CONTRACT}: categorical={show_values(unknown_cat)} must also be listed in "
                "covariates."
            )
        require_columns(
            frame,
            {"id": self.id, "group": self.group, "covariates": self.covariates,
             "outcomes": self.outcomes, "weight": self.weight, "cluster": self.cluster},
            CONTRACT,
        )
        roles = [self.id, self.group, *self.covariates, *self.outcomes, self.weight, self.cluster]
        used = list(dict.fromkeys(c for c in roles if c is not None))
        frame = frame[used]
        ledger = ledger.copy() if ledger is not None else ExclusionLedger.start(
            frame, self.id, source)

        for column in self.outcomes:
            frame[column] = as_numeric(frame, column, "outcome", CONTRACT)
        if self.weight:
            frame[self.weight] = as_numeric(frame, self.weight, "weight", CONTRACT)
        for column in self.covariates:
            frame[column] = self._covariate(frame, column)

        required = [self.id, self.group, *self.covariates, self.weight, self.cluster]
        frame = drop_missing(frame, [c for c in dict.fromkeys(required) if c], ledger,
                             policy=missing, contract=CONTRACT, id_col=self.id)
        check_not_empty(frame, ledger, CONTRACT)
        check_unique(frame, [self.id], CONTRACT, "person id")
        check_outcomes_present(frame, self.outcomes, CONTRACT)
        if self.weight:
            check_weights(frame, self.weight, CONTRACT)
        return frame.reset_index(drop=True), ledger

    def _covariate(self, frame: pd.DataFrame, column: str) -> pd.Series:
        series = frame[column]
        if column in self.categorical or not (
            pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
        ):
            if series.dropna().map(type).nunique() > 1:
                series = series.map(lambda v: v if pd.isna(v) else str(v))
            return series.astype("category")
        return as_numeric(frame, column, "covariate", CONTRACT)

    @property
    def groups(self) -> list:
        """Sorted distinct group labels."""
        if self.group is None:
            return []
        return sorted(self.data[self.group].unique().tolist(), key=str)

    @property
    def n_persons(self) -> int:
        return len(self.data)

    def group_sizes(self) -> pd.Series:
        """Number of persons per group."""
        if self.group is None:
            return pd.Series({"all": len(self.data)})
        return self.data[self.group].value_counts().sort_index()

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{g}: {n}" for g, n in self.group_sizes().items())
        return (f"PersonTable({self.n_persons} persons; groups {sizes}; "
                f"{len(self.covariates)} covariates; outcomes {self.outcomes})")


def numeric_design(table: PersonTable, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Covariates as a numeric design: categoricals expanded to k-1 level dummies.

    Used by every cohort estimator, so all of them expand categories the same way.
    """
    columns = list(columns if columns is not None else table.covariates)
    frame = table.data[columns]
    categorical = [c for c in columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame.astype(float)
    return pd.get_dummies(frame, columns=categorical, drop_first=True, dtype=float).astype(
        np.float64)
