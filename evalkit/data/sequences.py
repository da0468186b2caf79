"""Sequences: one state per person and period, from a declared alphabet.

Internally a :class:`Sequences` is a dense ``int8`` person x period matrix of
state codes (``-1`` = no state observed). That layout, not the engine, is what
makes per-person computations fast (design notes: numpy on the dense matrix is
~15x faster than ``groupby.apply`` for a typology of 1 M persons).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.data.readers import read_table
from evalkit.data.validation import (
    as_numeric,
    check_frame,
    check_not_empty,
    require_columns,
    show_rows,
    show_values,
    unexpected_errors_as_validation,
)
from evalkit.errors import (
    DataValidationError,
    DuplicateKeyError,
    PeriodGapError,
    UnknownCategoryError,
)
from evalkit.options import check_option

CONTRACT = "Sequences"
MISSING = -1
POLICIES = ("raise", "pad", "truncate")
# A spell or a person's follow-up longer than a century is a unit error (days or
# dates read as months), and would otherwise exhaust memory when expanded.
MAX_SPAN_MONTHS = 1200


class Sequences:
    """Validated state sequences (long person x period input).

    Parameters
    ----------
    data
        Long table, one row per person and period.
    id, period, state
        Column names. ``period`` holds integers (month index since entry,
        calendar month number...) or dates / monthly periods (converted to
        calendar months).
    alphabet
        Allowed states in display order; inferred (sorted) when omitted. A state
        outside it raises :class:`~evalkit.errors.UnknownCategoryError`.
    labels
        Optional state -> readable label mapping, used by every plot and table of the
        sequences (states without one show their code).
    colors
        Optional state -> colour mapping (any matplotlib colour) used by every plot;
        states without one take the default colour-blind-safe palette
        (:func:`evalkit.typology.palette.default_colors`).
    unequal_length
        Policy when persons are not observed in every period:
        ``"raise"`` (default) refuses, ``"pad"`` keeps the absent cells as
        missing (code ``-1``), ``"truncate"`` cuts every sequence to the longest
        window observed for all persons from the first period (the person-months
        cut off are recorded in the ledger).

    Rows with a missing id, period or state are dropped and recorded in the ledger.

    Attributes
    ----------
    matrix : numpy.ndarray
        ``int8`` array (n_persons x n_periods), codes index :attr:`alphabet`, ``-1`` missing.
    ids : numpy.ndarray
        Person identifiers, one per matrix row (sorted).
    periods : pandas.Index
        Period labels, one per matrix column.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        id: str = "person_id",  # noqa: A002
        period: str = "month",
        state: str = "state",
        alphabet: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        colors: Mapping[str, str] | None = None,
        unequal_length: str = "raise",
        source: str = "input",
        ledger: ExclusionLedger | None = None,
    ) -> None:
        check_option("unequal_length", unequal_length, POLICIES, where=CONTRACT)
        self.id, self.period, self.state = id, period, state
        with unexpected_errors_as_validation(CONTRACT):
            frame = check_frame(data, CONTRACT)
            require_columns(frame, {"id": id, "period": period, "state": state}, CONTRACT)
            frame = frame[[id, period, state]]
            self.ledger = ledger.copy() if ledger is not None else ExclusionLedger.start(
                frame, id, source)
            for column, what in ((id, "person id"), (period, "period"), (state, "state")):
                frame = self.ledger.drop(frame, frame[column].isna().to_numpy(),
                                         step="validation", reason=f"{what} missing", id_col=id)
            check_not_empty(frame, self.ledger, CONTRACT)
            self.alphabet = _alphabet(frame[state], alphabet)
            codes = _encode_states(frame, state, self.alphabet, id, period)
            time, self.periods = _period_positions(frame, period)
            person, self.ids = _factorize_sorted(frame[id])
            self.matrix = _dense(person, time, codes, len(self.ids), len(self.periods),
                                 frame, [id, period])
            self._apply_length_policy(unequal_length)
        self.labels = dict(labels or {})
        self.colors = dict(colors or {})
        unknown = [s for s in (*self.labels, *self.colors) if s not in self.alphabet]
        if unknown:
            raise UnknownCategoryError(
                f"{CONTRACT}: labels/colors name state(s) {show_values(unknown)} that are not "
                f"in the alphabet {show_values(self.alphabet, 20)}; name alphabet states only.")

    # -- alternative constructors --------------------------------------------------------
    @classmethod
    def from_file(cls, path, **kwargs) -> Sequences:
        """Read a long table from ``path`` (CSV, Parquet, Stata, SPSS) and validate it."""
        kwargs.setdefault("source", str(path))
        return cls(read_table(path), **kwargs)

    @classmethod
    def from_wide(cls, data: pd.DataFrame, *, id: str, columns: Sequence[str],  # noqa: A002
                  alphabet: Sequence[str] | None = None, **kwargs) -> Sequences:
        """Sequences from a wide table, one column per period (e.g. TraMineR's ``mvad``).

        The period labels are the column names, in the given order.
        """
        with unexpected_errors_as_validation(CONTRACT):
            frame = check_frame(data, CONTRACT)
            require_columns(frame, {"id": id, "periods": list(columns)}, CONTRACT)
            long = frame[[id, *columns]].melt(id_vars=id, var_name="_period", value_name="_state")
            order = {c: i for i, c in enumerate(columns)}
            long["_period"] = long["_period"].map(order).astype(np.int64)
        kwargs.setdefault("source", "wide table")
        seq = cls(long, id=id, period="_period", state="_state", alphabet=alphabet, **kwargs)
        seq.periods = pd.Index([columns[i] for i in seq.periods], name="period")
        seq.period, seq.state = "period", "state"
        return seq

    @classmethod
    def from_spells(cls, spells: pd.DataFrame, *, id: str, state: str, start: str,  # noqa: A002
                    end: str, alphabet: Sequence[str] | None = None,
                    fill_state: str | None = None, horizon: int | None = None,
                    **kwargs) -> Sequences:
        """Monthly sequences from spells ``(person, state, start, end)``, ends inclusive.

        ``start``/``end`` are month numbers or dates (converted to calendar
        months). Months between spells get ``fill_state`` (e.g. ``"INA"``,
        inactive/unknown) or stay missing. With ``horizon``, each person's clock
        starts at their first spell (period 1) and runs ``horizon`` months;
        otherwise periods are calendar months. Overlapping spells are refused.
        """
        with unexpected_errors_as_validation(CONTRACT):
            frame = check_frame(spells, CONTRACT)
            require_columns(frame, {"id": id, "state": state, "start": start, "end": end},
                            CONTRACT)
            s = _months(frame, start)
            e = _months(frame, end)
            bad = np.isnan(s) | np.isnan(e) | (e < s)
            if bad.any():
                raise DataValidationError(
                    f"{CONTRACT}: {int(bad.sum())} spell(s) have a missing start/end or end "
                    f"before start.\n{show_rows(frame, bad, [id, state, start, end])}\n"
                    "Fix these spells (ends are inclusive months) or remove them."
                )
            s, e = s.astype(np.int64), e.astype(np.int64)
            length = e - s + 1
            _check_span(frame, length, [id, state, start, end], "spell(s)")
            row = np.repeat(np.arange(len(frame)), length)
            offset = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
            month = s[row] + offset
            person = frame[id].to_numpy()[row]
            long = pd.DataFrame({"_id": person, "_month": month,
                                 "_state": frame[state].to_numpy()[row]})
            dup = long.duplicated(["_id", "_month"], keep=False).to_numpy()
            if dup.any():
                who = show_values(pd.unique(long.loc[dup, "_id"]))
                raise DuplicateKeyError(
                    f"{CONTRACT}: spells overlap for person(s) {who} (a month falls in two "
                    "spells). Make spells of one person disjoint (ends are inclusive)."
                )
            if horizon is not None:
                first = long.groupby("_id", sort=False)["_month"].transform("min")
                long["_month"] = long["_month"] - first + 1
                long = long[long["_month"] <= horizon]
            if fill_state is not None:
                long = _fill_gaps(long, fill_state, horizon)
        kwargs.setdefault("source", "spells")
        if fill_state is not None and alphabet is not None and fill_state not in alphabet:
            raise UnknownCategoryError(
                f"{CONTRACT}: fill_state {fill_state!r} is not in the alphabet "
                f"{show_values(alphabet, 20)}.")
        seq = cls(long, id="_id", period="_month", state="_state", alphabet=alphabet, **kwargs)
        seq.id, seq.period, seq.state = id, "month", state
        dated = frame[start].dtype
        if horizon is None and (isinstance(dated, pd.PeriodDtype)
                                or pd.api.types.is_datetime64_any_dtype(dated)):
            seq.periods = _calendar_months(seq.periods.to_numpy())
        return seq

    # -- policy and accessors ------------------------------------------------------------
    def _apply_length_policy(self, policy: str) -> None:
        absent = self.matrix == MISSING
        if not absent.any() or policy == "pad":
            return
        if policy == "raise":
            lengths = (~absent).sum(axis=1)
            short = np.flatnonzero(absent.any(axis=1))
            raise PeriodGapError(
                f"{CONTRACT}: {len(short)} of {len(self.ids)} person(s) are not observed in all "
                f"{len(self.periods)} periods (e.g. ids {show_values(self.ids[short])} with "
                f"{show_values(lengths[short])} months). Choose a policy: unequal_length='pad' "
                "keeps absent months as missing, 'truncate' cuts every sequence to the common "
                "window; or build sequences from spells with fill_state=..."
            )
        # truncate: the longest prefix of periods in which everybody is observed
        complete = ~absent.any(axis=0)
        width = len(complete) if complete.all() else int(np.argmin(complete))
        if width == 0:
            raise PeriodGapError(
                f"{CONTRACT}: truncating leaves no period observed for every person. "
                "Use unequal_length='pad' instead."
            )
        cut = self.matrix[:, width:]
        n_cells = int((cut != MISSING).sum())
        inner = self.matrix[:, :width]
        self.matrix = np.ascontiguousarray(inner)
        self.periods = self.periods[:width]
        self.ledger.record("validation", f"months after period {self.periods[-1]} (truncation)",
                           n_cells, 0, persons_after=self.ledger.n_persons)

    @property
    def n_persons(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_periods(self) -> int:
        return self.matrix.shape[1]

    def state_label(self, state: str) -> str:
        return self.labels.get(state, state)

    def relabel(self, labels: Mapping[str, str] | None = None,
                colors: Mapping[str, str] | None = None) -> Sequences:
        """The same sequences with state labels and/or colours replaced (e.g. another
        language for a report); states not named keep theirs."""
        out = self.subset(np.ones(self.n_persons, dtype=bool))
        unknown = [s for s in (*(labels or {}), *(colors or {})) if s not in self.alphabet]
        if unknown:
            raise UnknownCategoryError(
                f"{CONTRACT}: labels/colors name state(s) {show_values(unknown)} that are not "
                f"in the alphabet {show_values(self.alphabet, 20)}.")
        out.labels = {**self.labels, **(labels or {})}
        out.colors = {**self.colors, **(colors or {})}
        return out

    def to_long(self) -> pd.DataFrame:
        """Back to a long table ``(id, period, state)``, missing cells left out."""
        present = self.matrix != MISSING
        person, time = np.nonzero(present)
        states = pd.Categorical.from_codes(self.matrix[present].astype(np.int64),
                                           categories=list(self.alphabet))
        return pd.DataFrame({self.id: self.ids[person], self.period: self.periods[time],
                             self.state: states})

    def subset(self, mask) -> Sequences:
        """The persons selected by a boolean mask (same alphabet and periods)."""
        out = object.__new__(Sequences)
        out.__dict__.update(self.__dict__)
        mask = np.asarray(mask, dtype=bool)
        out.matrix, out.ids = self.matrix[mask], self.ids[mask]
        return out

    def __len__(self) -> int:
        return self.n_persons

    def __repr__(self) -> str:
        return (f"Sequences({self.n_persons} persons x {self.n_periods} periods, "
                f"alphabet {list(self.alphabet)})")


def _alphabet(states: pd.Series, alphabet) -> tuple[str, ...]:
    if alphabet is None:
        if isinstance(states.dtype, pd.CategoricalDtype):
            observed = states.cat.remove_unused_categories().cat.categories
        else:
            observed = pd.unique(states.to_numpy())
        values = tuple(sorted(str(v) for v in observed))
    else:
        values = tuple(str(v) for v in alphabet)
    if len(set(values)) != len(values):
        raise DataValidationError(f"{CONTRACT}: the alphabet repeats a state: {values}.")
    if not 0 < len(values) <= 127:
        raise DataValidationError(
            f"{CONTRACT}: the alphabet must have 1 to 127 states, got {len(values)}.")
    return values


def _encode_states(frame, column, alphabet, id_col, period_col) -> np.ndarray:
    states = frame[column]
    if isinstance(states.dtype, pd.CategoricalDtype):
        categories = [str(c) for c in states.cat.categories]
        lookup = np.array([alphabet.index(c) if c in alphabet else MISSING for c in categories],
                          dtype=np.int8)
        codes = lookup[states.cat.codes.to_numpy()]
    else:
        # Factorising first keeps the string work proportional to the distinct states.
        position, uniques = pd.factorize(states)
        lookup = pd.Index(list(alphabet)).get_indexer([str(u) for u in uniques])
        codes = lookup.astype(np.int8)[position]
    unknown = codes == MISSING
    if unknown.any():
        counts = frame.loc[unknown, column].astype(str).value_counts()
        listing = ", ".join(f"{v!r} ({n} rows)" for v, n in counts.head(5).items())
        raise UnknownCategoryError(
            f"{CONTRACT}: column {column!r} holds state(s) outside the alphabet: {listing}.\n"
            f"{show_rows(frame, unknown, [id_col, period_col, column])}\n"
            f"Allowed states: {show_values(alphabet, 20)}. Recode them, or add them to alphabet=."
        )
    return codes


def _months(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Month numbers: integers as given, dates as calendar months (year * 12 + month - 1)."""
    series = frame[column]
    if isinstance(series.dtype, pd.PeriodDtype):
        monthly = pd.PeriodIndex(series).asfreq("M")
        months = (monthly.asi8 + 1970 * 12).astype(float)
        months[monthly.isna()] = np.nan
        return months
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return (series.dt.year * 12 + series.dt.month - 1).to_numpy(dtype=float)
    return as_numeric(frame, column, "month", CONTRACT, integer=True).to_numpy()


def _period_positions(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
    series = frame[column]
    if isinstance(series.dtype, pd.PeriodDtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        values = _months(frame, column).astype(np.int64)
        grid = np.unique(values)
        return np.searchsorted(grid, values), _calendar_months(grid)
    values = as_numeric(frame, column, "period", CONTRACT, integer=True).to_numpy().astype(
        np.int64)
    grid = np.unique(values)
    return np.searchsorted(grid, values), pd.Index(grid, name="period")


def _check_span(frame: pd.DataFrame, length: np.ndarray, columns: list[str], what: str) -> None:
    too_long = length > MAX_SPAN_MONTHS
    if too_long.any():
        raise DataValidationError(
            f"{CONTRACT}: {int(too_long.sum())} {what} span more than {MAX_SPAN_MONTHS} months "
            f"(up to {int(length.max()):,}).\n{show_rows(frame, too_long, columns)}\n"
            "Starts and ends must be month numbers or dates; check the units of these columns."
        )


def _calendar_months(months: np.ndarray) -> pd.Index:
    """Monthly period labels from month numbers ``year * 12 + month - 1``."""
    return pd.Index(pd.PeriodIndex.from_ordinals(months - 1970 * 12, freq="M"), name="period")


def _factorize_sorted(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    try:
        codes, uniques = pd.factorize(ids, sort=True)
    except TypeError:  # mixed id types (e.g. 12 and "A12") cannot be sorted together
        codes, uniques = pd.factorize(ids.astype(str), sort=True)
    return codes, np.asarray(uniques)


def _dense(person, time, codes, n_persons, n_periods, frame, key_cols) -> np.ndarray:
    key = person.astype(np.int64) * n_periods + time
    counts = np.bincount(key, minlength=n_persons * n_periods)
    if (counts > 1).any():
        dup = counts[key] > 1
        raise DuplicateKeyError(
            f"{CONTRACT}: {int((counts > 1).sum())} person x period value(s) appear on more than "
            f"one row:\n{show_rows(frame, dup, key_cols)}\n"
            "Each person may have one state per period: remove duplicates or decide which "
            "state wins before building sequences."
        )
    matrix = np.full((n_persons, n_periods), MISSING, dtype=np.int8)
    matrix[person, time] = codes
    return matrix


def _fill_gaps(long: pd.DataFrame, fill_state: str, horizon: int | None) -> pd.DataFrame:
    """Add rows with ``fill_state`` for months between a person's first and last spell."""
    bounds = long.groupby("_id", sort=False)["_month"].agg(["min", "max"])
    if horizon is not None:
        bounds["max"] = horizon
    length = (bounds["max"] - bounds["min"] + 1).to_numpy()
    _check_span(bounds.reset_index(), length, ["_id", "min", "max"], "person(s)' follow-up")
    ids = np.repeat(bounds.index.to_numpy(), length)
    months = np.repeat(bounds["min"].to_numpy(), length) + (
        np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length))
    grid = pd.DataFrame({"_id": ids, "_month": months})
    out = grid.merge(long, on=["_id", "_month"], how="left")
    out["_state"] = out["_state"].astype(object).where(out["_state"].notna(), fill_state)
    return out
