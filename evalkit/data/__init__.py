"""Validated inputs: the three data contracts, file readers and the exclusion ledger.

- :class:`PersonTable` — one row per person (cohort comparisons);
- :class:`Panel` — one row per unit x period, or repeated cross-sections (DiD);
- :class:`Sequences` — one state per person x period (typologies), also from spells
  or wide tables.

Every constructor validates its input and raises an :class:`evalkit.errors.EvalkitError`
subclass naming the column, a few offending rows and the fix; rows it drops are
recorded in its :class:`ExclusionLedger`.
"""

from evalkit.data.ledger import Exclusion, ExclusionLedger
from evalkit.data.panel import Panel
from evalkit.data.persons import PersonTable, numeric_design
from evalkit.data.readers import read_table
from evalkit.data.sequences import Sequences

__all__ = [
    "Exclusion",
    "ExclusionLedger",
    "Panel",
    "PersonTable",
    "Sequences",
    "numeric_design",
    "read_table",
]
