"""Common shape of the synthetic data generators.

Every generator is a function ``generate(*, seed, ...) -> SyntheticDataset``
that is deterministic for a seed and sized by its arguments. It returns the
tables (as analysts would receive them) and the truth the tables were drawn
from (true effects, true types), so estimators can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ColumnDoc:
    """Data-dictionary entry for one column of a generated table."""

    dtype: str
    meaning: str
    allowed: str = ""


@dataclass
class SyntheticDataset:
    """Tables drawn from a known data-generating process, with that truth.

    Attributes
    ----------
    name
        Generator name (``"rsa_experiment"``, ...).
    tables
        Table name -> DataFrame, as an analyst would receive them.
    truth
        Name -> true quantity (DataFrames of true effects or types, scalars).
    params
        Arguments the generator was called with, seed included.
    dictionary
        Table name -> column name -> :class:`ColumnDoc`.
    """

    name: str
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    params: dict[str, Any]
    dictionary: dict[str, dict[str, ColumnDoc]] = field(default_factory=dict)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {v.shape[0]}x{v.shape[1]}" for k, v in self.tables.items())
        return f"SyntheticDataset({self.name!r}, {shapes}, truth={sorted(self.truth)})"
