"""The analysis sample shared by every cohort estimator: arrays built once from a PersonTable.

:class:`CohortSample` turns a :class:`~evalkit.data.persons.PersonTable` (or a DataFrame plus
column names, validated through a PersonTable) into the numpy arrays the estimators use:
treatment indicator ``d`` (1 = treated), covariate design ``x`` (categoricals expanded to
k-1 dummies, no intercept), survey weights ``s`` (ones when absent), cluster codes, and one
outcome vector per outcome (NaN where missing). Every estimator therefore validates and
expands its inputs the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.data.persons import PersonTable, numeric_design
from evalkit.data.validation import show_values
from evalkit.errors import ConfigError, DataValidationError, EmptyDataError

ROW_ID = "_evalkit_row"


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class CohortSample:
    """Validated arrays for a two-group comparison.

    Parameters
    ----------
    data
        A :class:`PersonTable`, or a DataFrame (validated through a PersonTable with the
        given column names; rows with missing group, covariate, weight or cluster are
        dropped into the ledger).
    group
        Group column (default: the PersonTable's ``group``). Two distinct values.
    covariates, outcomes, weight, cluster
        Column names; default to the PersonTable's roles.
    treated
        Label of the treated group. Optional when the labels are 0/1 or booleans.
    id
        Person id column of a DataFrame (optional: row positions are used otherwise).
    allow_no_outcome
        Accept an empty outcome list (propensity-score models).
    """

    def __init__(
        self,
        data: PersonTable | pd.DataFrame,
        *,
        group: str | None = None,
        covariates: Sequence[str] | None = None,
        outcomes: str | Sequence[str] | None = None,
        weight: str | None = None,
        cluster: str | None = None,
        treated=None,
        id: str | None = None,  # noqa: A002 - same name as PersonTable
        allow_no_outcome: bool = False,
    ) -> None:
        if isinstance(data, PersonTable):
            table = data
            if group is not None and group != table.group:
                raise ConfigError(
                    f"group={group!r} differs from the PersonTable's group column "
                    f"{table.group!r}; build the PersonTable with group={group!r}."
                )
            covariates = table.covariates if covariates is None else _as_list(covariates)
            outcomes = table.outcomes if outcomes is None else _as_list(outcomes)
            weight = table.weight if weight is None else weight
            cluster = table.cluster if cluster is None else cluster
            missing = [c for c in [*covariates, *outcomes, weight, cluster]
                       if c is not None and c not in table.data.columns]
            if missing:
                raise ConfigError(
                    f"column(s) {show_values(missing)} are not roles of this PersonTable "
                    f"(covariates={table.covariates}, outcomes={table.outcomes}); rebuild it "
                    "with these columns declared."
                )
            row_index = pd.RangeIndex(len(table.data))
        else:
            if group is None:
                raise ConfigError("group= (the column telling treated from comparison persons) "
                                  "is required with a DataFrame.")
            covariates, outcomes = _as_list(covariates), _as_list(outcomes)
            frame = data
            if id is None:
                frame = data.reset_index(drop=True).assign(**{ROW_ID: np.arange(len(data))})
            table = PersonTable(frame, id=id or ROW_ID, group=group, covariates=covariates,
                                outcomes=outcomes, weight=weight, cluster=cluster)
            row_index = (data.index[table.data[ROW_ID].to_numpy()] if id is None
                         else pd.Index(table.data[id]))
        if not outcomes and not allow_no_outcome:
            raise ConfigError("no outcome given: pass outcome='column' (or a list of columns).")
        self.table = table
        #: the caller's rows (all columns) and the position there of each row of
        #: ``table.data``, for matched_data()
        self.source = data.data if isinstance(data, PersonTable) else data
        if isinstance(data, PersonTable):
            self.source_positions = np.arange(len(table.data))
        elif id is None:
            self.source_positions = table.data[ROW_ID].to_numpy()
        else:
            self.source_positions = pd.Index(data[id]).get_indexer(table.data[id])
        self.group = table.group
        self.covariate_columns = list(covariates)
        self.outcome_names = list(outcomes)
        self.weight_column = weight
        self.cluster_column = cluster
        self.ledger: ExclusionLedger = table.ledger.copy()
        self.row_index = row_index
        self._set_groups(table.data[table.group], treated)
        design = numeric_design(table, self.covariate_columns) if covariates else None
        self.covariate_names = [] if design is None else [str(c) for c in design.columns]
        self.x = (np.empty((len(table.data), 0)) if design is None
                  else np.ascontiguousarray(design.to_numpy(dtype=float)))
        self.s = (np.ones(len(table.data)) if weight is None
                  else table.data[weight].to_numpy(dtype=float))
        if cluster is None:
            self.cluster = None
        else:
            self.cluster = pd.factorize(table.data[cluster], sort=True)[0].astype(np.int64)
        self.y = {name: table.data[name].to_numpy(dtype=float) for name in self.outcome_names}
        self.positions = np.arange(len(table.data))  # rows of table.data, kept by subset()

    def _set_groups(self, group: pd.Series, treated) -> None:
        labels = pd.unique(group)
        if len(labels) != 2:
            raise EmptyDataError(
                f"group column {self.group!r} must hold exactly two groups, found "
                f"{len(labels)}: {show_values(labels)}. A comparison needs treated and comparison "
                "persons; check the filter that built the table."
            )
        if treated is None:
            as_set = {bool(v) if isinstance(v, (bool, np.bool_)) else v for v in labels}
            if as_set == {0, 1} or as_set == {True, False}:
                treated = 1 if 1 in as_set else True
            else:
                raise ConfigError(
                    f"group column {self.group!r} has labels {show_values(labels)}; say "
                    "which one is treated with treated=<label>."
                )
        if treated not in set(labels.tolist()):
            raise ConfigError(
                f"treated={treated!r} is not a label of {self.group!r} "
                f"({show_values(labels)})."
            )
        self.treated_label = treated
        self.control_label = next(v for v in labels.tolist() if v != treated)
        self.d = (group.to_numpy() == treated).astype(float)

    @property
    def n(self) -> int:
        return len(self.d)

    def subset(self, keep: np.ndarray) -> CohortSample:
        """A view of the sample restricted to rows where ``keep`` is true (ledger shared)."""
        new = object.__new__(CohortSample)
        new.__dict__.update(self.__dict__)
        new.d, new.x, new.s = self.d[keep], self.x[keep], self.s[keep]
        new.cluster = None if self.cluster is None else self.cluster[keep]
        new.y = {k: v[keep] for k, v in self.y.items()}
        new.row_index = self.row_index[keep]
        new.positions = self.positions[keep]
        return new

    def strata(self, columns: Sequence[str]) -> np.ndarray:
        """Integer code of each row's combination of ``columns`` (exact-matching strata)."""
        missing = [c for c in columns if c not in self.table.data.columns]
        if missing:
            raise ConfigError(
                f"exact-matching column(s) {show_values(missing)} are not in the data: list "
                "them among the covariates (or roles) of the comparison.")
        frame = self.table.data.iloc[self.positions][list(columns)]
        return frame.groupby(list(columns), observed=True, sort=True).ngroup().to_numpy()

    def outcome_rows(self, name: str) -> np.ndarray:
        """Rows where outcome ``name`` is observed (and weight positive); raises if a group
        has none."""
        y = self.y[name]
        ok = ~np.isnan(y) & (self.s > 0)
        for value, label in ((1.0, self.treated_label), (0.0, self.control_label)):
            in_group = self.d == value
            if not (ok & in_group).any():
                raise EmptyDataError(
                    f"outcome {name!r} is missing (or has zero weight) for every person of group "
                    f"{label!r} ({int(in_group.sum())} persons): no effect can be estimated. "
                    "Check the outcome's coding or drop it from outcomes=."
                )
        return ok

    def check_covariates(self, rows: np.ndarray | None = None) -> None:
        """Raise when a covariate column is constant on the rows used (it cannot be adjusted
        for, and would make the design singular)."""
        x = self.x if rows is None else self.x[rows]
        if x.shape[0] == 0:
            raise EmptyDataError("no rows left to estimate on.")
        constant = np.ptp(x, axis=0) == 0 if x.shape[1] else np.array([], dtype=bool)
        if constant.any():
            names = [self.covariate_names[j] for j in np.flatnonzero(constant)]
            values = [x[0, j] for j in np.flatnonzero(constant)]
            raise DataValidationError(
                f"covariate(s) {show_values(names)} have no variance in the analysis sample "
                f"(constant value(s) {show_values(values)}). Drop them from covariates=, or check "
                "the filter that built the sample."
            )

    def check_groups(self, rows: np.ndarray | None = None) -> None:
        """Raise when a group has no member with positive weight."""
        d = self.d if rows is None else self.d[rows]
        s = self.s if rows is None else self.s[rows]
        for value, label in ((1.0, self.treated_label), (0.0, self.control_label)):
            if not ((d == value) & (s > 0)).any():
                raise EmptyDataError(
                    f"group {label!r} of {self.group!r} has no member with positive weight in "
                    "the analysis sample; a comparison needs both groups."
                )
