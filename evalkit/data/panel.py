"""Panel: one row per unit x period (or respondent x wave for repeated cross-sections)."""

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
    show_rows,
    show_values,
    unexpected_errors_as_validation,
)
from evalkit.errors import (
    DataValidationError,
    PeriodGapError,
    TreatmentTimingError,
)
from evalkit.options import check_option

CONTRACT = "Panel"
NEVER = np.inf


class Panel:
    """Validated unit x period table for difference-in-differences.

    Treatment timing is held as the *first treated period* of each unit, the
    convention of Callaway & Sant'Anna (2021): after validation the column
    ``first_treated`` is float, with ``inf`` for never-treated units, so
    "not yet treated at t" is simply ``first_treated > t``.

    Parameters
    ----------
    data
        The raw table.
    unit, period
        Unit identifier and integer period (year, quarter index, wave...).
    outcomes
        Outcome columns (numeric). Missing outcomes are kept; estimators drop
        and record the rows they cannot use.
    first_treated
        First treated period per unit; ``never_treated_value`` (default 0) or
        missing means never treated. Must be constant within a unit.
    treatment
        Alternatively, a 0/1 treatment indicator per row from which
        ``first_treated`` is derived (it must never switch off).
    covariates, cluster, weight
        Optional columns; rows where they are missing are dropped (``missing="drop"``)
        and recorded, or refused (``missing="raise"``).
    repeated_cross_section
        Different respondents in each period (``unit`` is then the respondent,
        ``cluster`` usually the site). Gaps and balance are not checked.
    allow_gaps
        Accept units whose observed periods have holes (unbalanced panels
        always allow units entering late or leaving early).
    out_of_window
        What to do with first-treated periods outside the observed periods:
        ``"raise"`` (default), or ``"drop"`` those units into the ledger.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        unit: str = "unit_id",
        period: str = "period",
        outcomes: Sequence[str] | None = None,
        first_treated: str | None = "first_treated",
        treatment: str | None = None,
        covariates: Sequence[str] | None = None,
        cluster: str | None = None,
        weight: str | None = None,
        never_treated_value: float = 0,
        repeated_cross_section: bool = False,
        allow_gaps: bool = False,
        out_of_window: str = "raise",
        missing: str = "drop",
        source: str = "input",
        ledger: ExclusionLedger | None = None,
    ) -> None:
        if treatment is not None and first_treated == "first_treated" and (
            not isinstance(data, pd.DataFrame) or "first_treated" not in data.columns
        ):
            first_treated = None
        if first_treated is None and treatment is None:
            raise DataValidationError(
                f"{CONTRACT}: give either first_treated= (first treated period per unit) or "
                "treatment= (a 0/1 indicator per row)."
            )
        check_option("out_of_window", out_of_window, ("raise", "drop"), where=CONTRACT)
        self.unit = unit
        self.period = period
        self.outcomes = list(outcomes or [])
        self.treatment = treatment
        self.first_treated = first_treated or "first_treated"
        self.covariates = list(covariates or [])
        self.cluster = cluster
        self.weight = weight
        self.repeated_cross_section = bool(repeated_cross_section)
        with unexpected_errors_as_validation(CONTRACT):
            self.data, self.ledger = self._validate(
                data, first_treated, never_treated_value, allow_gaps, out_of_window, missing,
                source, ledger)

    @classmethod
    def from_file(cls, path, **kwargs) -> Panel:
        """Read ``path`` (CSV, Parquet, Stata, SPSS) and validate it."""
        kwargs.setdefault("source", str(path))
        return cls(read_table(path), **kwargs)

    # -- validation -----------------------------------------------------------------------
    def _validate(self, data, first_treated_in, never_value, allow_gaps, out_of_window,
                  missing, source, ledger):
        frame = check_frame(data, CONTRACT)
        require_columns(
            frame,
            {"unit": self.unit, "period": self.period, "outcomes": self.outcomes,
             "first_treated": first_treated_in, "treatment": self.treatment,
             "covariates": self.covariates, "cluster": self.cluster, "weight": self.weight},
            CONTRACT,
        )
        roles = [self.unit, self.period, first_treated_in, self.treatment, *self.outcomes,
                 *self.covariates, self.cluster, self.weight]
        frame = frame[list(dict.fromkeys(c for c in roles if c is not None))]
        ledger = ledger.copy() if ledger is not None else ExclusionLedger.start(
            frame, self.unit, source)

        frame[self.period] = as_numeric(frame, self.period, "period", CONTRACT, integer=True)
        for column in [*self.outcomes, *self.covariates]:
            role = "outcome" if column in self.outcomes else "covariate"
            frame[column] = as_numeric(frame, column, role, CONTRACT)
        if self.weight:
            frame[self.weight] = as_numeric(frame, self.weight, "weight", CONTRACT)
        if self.treatment:
            frame[self.treatment] = self._binary(frame, self.treatment)
        if first_treated_in is not None:
            ft = as_numeric(frame, first_treated_in, "first_treated", CONTRACT, integer=True)
            frame[self.first_treated] = ft.where(ft.notna() & (ft != never_value), NEVER)

        required = [self.unit, self.period, self.treatment, *self.covariates, self.cluster,
                    self.weight]
        # Units losing rows to a missing value, by column: a gap they leave is explained.
        dropped_units = {
            c: set(frame.loc[frame[c].isna(), self.unit].dropna())
            for c in dict.fromkeys(required) if c and c != self.unit and frame[c].isna().any()
        } if missing == "drop" else {}
        frame = drop_missing(frame, [c for c in dict.fromkeys(required) if c], ledger,
                             policy=missing, contract=CONTRACT, id_col=self.unit)
        check_not_empty(frame, ledger, CONTRACT)
        frame[self.period] = frame[self.period].astype(np.int64)
        check_unique(frame, [self.unit, self.period], CONTRACT, "unit x period")
        frame = frame.sort_values([self.unit, self.period], kind="stable").reset_index(drop=True)

        if self.treatment:
            derived = self._first_treated_from_indicator(frame)
            if first_treated_in is not None:
                self._check_consistent(frame, derived)
            frame[self.first_treated] = derived
        self._check_constant_within_unit(frame)
        frame = self._check_window(frame, out_of_window, ledger)
        check_not_empty(frame, ledger, CONTRACT)
        if not self.repeated_cross_section and not allow_gaps:
            self._check_gaps(frame, dropped_units)
        check_outcomes_present(frame, self.outcomes, CONTRACT)
        if self.weight:
            check_weights(frame, self.weight, CONTRACT)
        return frame, ledger

    def _binary(self, frame: pd.DataFrame, column: str) -> pd.Series:
        values = as_numeric(frame, column, "treatment", CONTRACT)
        bad = values.notna() & ~values.isin([0.0, 1.0])
        if bad.any():
            raise DataValidationError(
                f"{CONTRACT}: treatment column {column!r} must be 0/1 but holds "
                f"{show_values(values[bad])}.\n{show_rows(frame, bad.to_numpy(), [self.unit, self.period, column])}\n"
                "Recode treatment as 1 (treated in this period) / 0 (not treated)."
            )
        return values

    def _timing_key(self) -> str:
        """Column within which treatment timing is shared: the unit, or the site of
        repeated cross-sections (each respondent is seen once, the site is treated)."""
        if not self.repeated_cross_section:
            return self.unit
        if self.cluster is None:
            raise DataValidationError(
                f"{CONTRACT}: repeated cross-sections need cluster= (the site) to hold treatment "
                "timing: each respondent is seen once, so timing is a property of the site."
            )
        return self.cluster

    def _first_treated_from_indicator(self, frame: pd.DataFrame) -> pd.Series:
        """First period with treatment 1 per unit (per site for repeated cross-sections);
        refuses treatment that switches off or differs within a site and period."""
        key = self._timing_key()
        cells = frame.groupby([key, self.period], sort=True)[self.treatment].agg(["min", "max"])
        mixed = cells["min"] != cells["max"]
        if mixed.any():
            shown = cells[mixed].head(5).reset_index()
            raise TreatmentTimingError(
                f"{CONTRACT}: treatment {self.treatment!r} is 0 for some rows and 1 for others "
                f"within the same {key} and period:\n{shown.to_string(index=False)}\n"
                f"Treatment timing is shared by all rows of a {key} in a period; fix the "
                "indicator or choose the right cluster column."
            )
        d = cells["max"]
        step = d.groupby(level=0, sort=False).diff().fillna(0.0)
        off = (step < 0).to_numpy()
        if off.any():
            units = d.index.get_level_values(0)[off].unique()
            rows = frame[key].isin(units[:3]).to_numpy()
            raise TreatmentTimingError(
                f"{CONTRACT}: treatment {self.treatment!r} switches off (1 then 0) for "
                f"{len(units)} {key} value(s): {show_values(units)}.\n"
                f"{show_rows(frame, rows, [key, self.period, self.treatment])}\n"
                "Staggered DiD assumes treatment stays on once started. Correct the indicator, "
                "or drop these units, or analyse the first treatment episode only."
            )
        periods = frame[self.period].where(frame[self.treatment] == 1)
        first = periods.groupby(frame[key], sort=False).transform("min")
        return first.fillna(NEVER).astype(float)

    def _check_consistent(self, frame: pd.DataFrame, derived: pd.Series) -> None:
        given = frame[self.first_treated]
        bad = (given != derived).to_numpy()
        if bad.any():
            raise TreatmentTimingError(
                f"{CONTRACT}: first_treated and treatment={self.treatment!r} disagree on "
                f"{int(bad.sum())} row(s).\n"
                f"{show_rows(frame, bad, [self.unit, self.period, self.treatment, self.first_treated])}\n"
                "Give only one of them, or fix the inconsistent rows."
            )

    def _check_constant_within_unit(self, frame: pd.DataFrame) -> None:
        key = self.cluster if (self.repeated_cross_section and self.cluster) else self.unit
        n_values = frame.groupby(key, sort=False)[self.first_treated].transform("nunique")
        bad = (n_values > 1).to_numpy()
        if bad.any():
            raise TreatmentTimingError(
                f"{CONTRACT}: first_treated {self.first_treated!r} changes within "
                f"{frame.loc[bad, key].nunique()} {key} value(s).\n"
                f"{show_rows(frame, bad, [key, self.unit, self.period, self.first_treated])}\n"
                f"It must be the same on every row of a {key} (the period its treatment began)."
            )

    def _check_window(self, frame: pd.DataFrame, policy: str, ledger) -> pd.DataFrame:
        ft = frame[self.first_treated].to_numpy()
        lo, hi = frame[self.period].min(), frame[self.period].max()
        outside = np.isfinite(ft) & ((ft <= lo) | (ft > hi))
        if not outside.any():
            return frame
        if policy == "drop":
            return ledger.drop(frame, outside, step="validation",
                               reason="first treated period outside the observed window",
                               id_col=self.unit)
        raise TreatmentTimingError(
            f"{CONTRACT}: {len(np.unique(frame.loc[outside, self.unit]))} unit(s) have a first "
            f"treated period outside ({lo}, {hi}] (observed periods run from {lo} to {hi}): "
            f"values {show_values(np.unique(ft[outside]))}.\n"
            f"{show_rows(frame, outside, [self.unit, self.period, self.first_treated])}\n"
            "Units treated in or before the first period have no pre-treatment observation; "
            "units treated after the last period are never treated within the window. Recode "
            "the latter as never treated (0), or pass out_of_window='drop' to exclude both "
            "(they are counted in the exclusion ledger)."
        )

    def _check_gaps(self, frame: pd.DataFrame, dropped_units: dict | None = None) -> None:
        grid = np.sort(frame[self.period].unique())
        position = np.searchsorted(grid, frame[self.period].to_numpy())
        by_unit = pd.Series(position).groupby(frame[self.unit].to_numpy(), sort=False)
        span = by_unit.transform("max") - by_unit.transform("min") + 1
        count = by_unit.transform("size")
        bad = (span != count).to_numpy()
        if bad.any():
            units = pd.unique(frame.loc[bad, self.unit])
            rows = frame[self.unit].isin(units[:2]).to_numpy()
            gap_units = set(units)
            causes = [(c, len(gap_units & lost)) for c, lost in
                      (dropped_units or {}).items() if gap_units & lost]
            because = "".join(
                f"\nFor {k} of these unit(s) the gap comes from rows dropped because {c!r} is "
                f"missing there (see the exclusion ledger): fill in {c!r}, or make it a "
                "baseline value repeated on every row of the unit."
                for c, k in causes
            )
            raise PeriodGapError(
                f"{CONTRACT}: {len(units)} unit(s) have gaps between their periods "
                f"(e.g. {show_values(units)}).\n{show_rows(frame, rows, [self.unit, self.period])}"
                f"{because}\n"
                "Fill the missing unit x period rows (outcome missing is fine), or pass "
                "allow_gaps=True to treat the panel as unbalanced."
            )

    # -- accessors ------------------------------------------------------------------------
    @property
    def periods(self) -> np.ndarray:
        """Sorted distinct periods."""
        return np.sort(self.data[self.period].unique())

    @property
    def cohorts(self) -> np.ndarray:
        """Sorted distinct first-treated periods (never-treated excluded)."""
        ft = self.data[self.first_treated].to_numpy()
        return np.unique(ft[np.isfinite(ft)])

    @property
    def units(self) -> np.ndarray:
        return self.data[self.unit].unique()

    @property
    def n_units(self) -> int:
        return int(self.data[self.unit].nunique())

    @property
    def never_treated(self) -> pd.Series:
        """Boolean mask of rows belonging to never-treated units."""
        return pd.Series(np.isinf(self.data[self.first_treated].to_numpy()), index=self.data.index)

    @property
    def is_balanced(self) -> bool:
        """Every unit observed in every period (always False for repeated cross-sections)."""
        if self.repeated_cross_section:
            return False
        return len(self.data) == self.n_units * len(self.periods)

    def treated(self) -> pd.Series:
        """0/1 indicator: the unit is treated in this period (``period >= first_treated``)."""
        return (self.data[self.period] >= self.data[self.first_treated]).astype(int)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        kind = "repeated cross-sections" if self.repeated_cross_section else (
            "balanced panel" if self.is_balanced else "unbalanced panel")
        n_never = int(self.data.loc[self.never_treated, self.unit].nunique())
        return (f"Panel({kind}: {self.n_units} units x {len(self.periods)} periods, "
                f"cohorts {show_values(self.cohorts.astype(int).tolist(), 10)}, "
                f"{n_never} never-treated units)")

