"""Shared inputs of the report tests: small synthetic programme data written as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.report.programme import PROGRAMMES, get_programme


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """``<programme>_<table>.csv`` files for the three programmes, drawn at seed 7."""
    folder = tmp_path_factory.mktemp("samples")
    for name in PROGRAMMES:
        for table, frame in get_programme(name).generate(7).items():
            frame.to_csv(folder / f"{name}_{table}.csv", index=False)
    return folder
