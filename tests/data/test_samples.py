"""data_samples/ is exactly what the generators produce, and every file validates."""

from pathlib import Path

import pandas as pd
import pytest

from evalkit.datasets.samples import SAMPLES, check_samples, sample_files

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT / "data_samples"


def test_committed_samples_equal_regenerated():
    differing, n_files = check_samples(SAMPLES_DIR)
    assert n_files > 10
    assert differing == [], "regenerate with `evalkit samples --out data_samples`"


def test_sample_csvs_are_small():
    for path in SAMPLES_DIR.glob("*.csv"):
        assert path.stat().st_size < 5 * 2**20, path


def test_dictionary_documents_every_column():
    readme = (SAMPLES_DIR / "README.md").read_text()
    assert "(undocumented)" not in readme
    for path in SAMPLES_DIR.glob("*.csv"):
        assert f"`{path.name}`" in readme
        for column in pd.read_csv(path, nrows=0).columns:
            assert f"`{column}`" in readme, (path.name, column)


def test_generation_is_deterministic():
    first = sample_files(["rsa_experiment"])
    assert first == sample_files(["rsa_experiment"])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_registered_table_is_generated(name):
    files = sample_files([name])
    for table in SAMPLES[name]:
        assert f"{name}_{table}.csv" in files
