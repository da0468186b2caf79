"""The exclusion ledger: every row dropped from an analysis, and why.

A ledger starts from the rows and persons read, then records each exclusion
step (step name, reason, rows dropped, persons dropped). It travels with the
data contracts into estimators and results, and reports draw it as a
CONSORT-style flow diagram, so no row is ever lost silently.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Exclusion:
    """One exclusion step."""

    step: str
    reason: str
    n_rows: int
    n_persons: int
    rows_after: int
    persons_after: int


class ExclusionLedger:
    """Record of the rows and persons dropped at each step.

    Parameters
    ----------
    n_rows, n_persons
        Size of the input before any exclusion.
    source
        Where the rows came from (file name or description).

    Examples
    --------
    >>> ledger = ExclusionLedger.start(df, id_col="person_id", source="persons.csv")
    >>> df = ledger.drop(df, df["age"].isna(), step="validation", reason="age missing",
    ...                  id_col="person_id")
    >>> ledger.to_frame()
    """

    def __init__(self, n_rows: int, n_persons: int, source: str = "input") -> None:
        self.n_rows_start = int(n_rows)
        self.n_persons_start = int(n_persons)
        self.source = source
        self.entries: list[Exclusion] = []

    @classmethod
    def start(cls, frame: pd.DataFrame, id_col: str | None = None, source: str = "input"):
        """Open a ledger on ``frame`` (persons counted by ``id_col`` if given)."""
        n_persons = _count_persons(frame, id_col)
        return cls(len(frame), n_persons, source)

    @property
    def n_rows(self) -> int:
        """Rows remaining after all recorded exclusions."""
        return self.entries[-1].rows_after if self.entries else self.n_rows_start

    @property
    def n_persons(self) -> int:
        """Persons remaining after all recorded exclusions."""
        return self.entries[-1].persons_after if self.entries else self.n_persons_start

    @property
    def n_rows_dropped(self) -> int:
        return self.n_rows_start - self.n_rows

    @property
    def n_persons_dropped(self) -> int:
        return self.n_persons_start - self.n_persons

    def __len__(self) -> int:
        return len(self.entries)

    def record(
        self,
        step: str,
        reason: str,
        n_rows: int,
        n_persons: int,
        *,
        rows_after: int | None = None,
        persons_after: int | None = None,
    ) -> None:
        """Record an exclusion computed elsewhere (counts of dropped rows/persons).

        ``persons_after`` should be given when dropped rows do not remove whole
        persons (a person losing some of their rows is still in the data).
        """
        if n_rows < 0 or n_persons < 0:
            raise ValueError("exclusion counts must be non-negative")
        rows_after = self.n_rows - n_rows if rows_after is None else rows_after
        persons_after = self.n_persons - n_persons if persons_after is None else persons_after
        self.entries.append(
            Exclusion(step, reason, int(n_rows), int(n_persons), int(rows_after), int(persons_after))
        )

    def drop(
        self,
        frame: pd.DataFrame,
        mask,
        *,
        step: str,
        reason: str,
        id_col: str | None = None,
    ) -> pd.DataFrame:
        """Drop the rows of ``frame`` where ``mask`` is true and record it.

        A person counts as dropped when none of their rows remain. Nothing is
        recorded when the mask selects no row.
        """
        mask = np.asarray(mask, dtype=bool)
        n_drop = int(mask.sum())
        if n_drop == 0:
            return frame
        kept = frame.loc[~mask]
        persons_before = _count_persons(frame, id_col)
        persons_after = _count_persons(kept, id_col)
        if id_col is None:
            persons_before, persons_after = len(frame), len(kept)
        self.record(
            step,
            reason,
            n_drop,
            persons_before - persons_after,
            rows_after=self.n_rows - n_drop,
            persons_after=self.n_persons - (persons_before - persons_after),
        )
        return kept

    def copy(self) -> ExclusionLedger:
        """An independent copy (estimators extend a copy, never the caller's ledger)."""
        return copy.deepcopy(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per step, starting with the input, with counts remaining after it."""
        rows = [
            {
                "step": "input",
                "reason": self.source,
                "n_rows": self.n_rows_start,
                "n_persons": self.n_persons_start,
                "rows_after": self.n_rows_start,
                "persons_after": self.n_persons_start,
            }
        ]
        rows += [e.__dict__ for e in self.entries]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (
            f"ExclusionLedger(source={self.source!r}, start={self.n_rows_start} rows/"
            f"{self.n_persons_start} persons, {len(self.entries)} exclusions, "
            f"now {self.n_rows} rows/{self.n_persons} persons)"
        )

    def __str__(self) -> str:
        return self.to_frame().to_string(index=False)


def _count_persons(frame: pd.DataFrame, id_col: str | None) -> int:
    if id_col is None:
        return len(frame)
    return int(frame[id_col].nunique(dropna=True))
