"""Shared loader for the mvad reference data (../shared/reference/typology/mvad.csv beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MVAD = Path(os.environ["EVALKIT_REFERENCE"]) / "typology" / "mvad.csv"
STATES = ["employment", "FE", "HE", "joblessness", "school", "training"]
FIRST_MONTH = 14  # columns 0..13 are id, weight and covariates; 14.. are Jul.93 .. Jun.99


def load_mvad() -> pd.DataFrame:
    if not MVAD.exists():
        pytest.skip(f"reference data {MVAD} not available")
    return pd.read_csv(MVAD)


def month_columns(frame: pd.DataFrame, tramineer_window: bool) -> list[str]:
    """All 72 months, or TraMineR's documented window Sep.93-Jun.99 (R columns 17:86, 70 months)."""
    cols = list(frame.columns[FIRST_MONTH:])
    return cols[2:] if tramineer_window else cols


def codes(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    mapping = {s: i for i, s in enumerate(STATES)}
    return np.column_stack([frame[c].map(mapping).to_numpy() for c in cols]).astype(np.int8)


def sequenzo_data(frame: pd.DataFrame, cols: list[str], weights=None):
    sequenzo = pytest.importorskip("sequenzo")
    return sequenzo.SequenceData(frame, time=cols, id_col="id", states=STATES, weights=weights)
