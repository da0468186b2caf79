"""read_table reads the four formats to the same frame and turns failures into InputFileError."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.data import Panel, read_table
from evalkit.errors import InputFileError

MPDTA = Path(os.environ["EVALKIT_REFERENCE"]) / "did" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta():
    frame = pd.read_csv(MPDTA)
    frame.columns = [c.replace(".", "_") for c in frame.columns]  # Stata/SPSS names
    return frame


def write(frame, path):
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".dta":
        frame.to_stata(path, write_index=False)
    elif suffix == ".sav":
        pyreadstat = pytest.importorskip("pyreadstat")
        pyreadstat.write_sav(frame, str(path))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".dta", ".sav"])
def test_formats_read_identically(tmp_path, mpdta, suffix):
    path = tmp_path / f"mpdta{suffix}"
    write(mpdta, path)
    back = read_table(path)
    np.testing.assert_allclose(back[mpdta.columns].to_numpy(float), mpdta.to_numpy(float))
    panel = Panel(back, unit="countyreal", period="year", outcomes=["lemp"],
                  first_treated="first_treat")
    assert panel.is_balanced and panel.n_units == 500


def test_columns_subset(tmp_path, mpdta):
    path = tmp_path / "m.parquet"
    write(mpdta, path)
    assert list(read_table(path, columns=["year", "lemp"]).columns) == ["year", "lemp"]


@pytest.mark.parametrize("name,content,match", [
    ("data.xlsx", b"x", "Cannot tell the format"),
    ("data.parquet", b"PAR1garbage", "Could not read"),
    ("data.dta", b"\x00\x01garbage", "Could not read"),
    ("data.sav", b"garbage", "Could not read"),
])
def test_unreadable_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=match):
        read_table(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(InputFileError, match="directory"):
        read_table(tmp_path)
