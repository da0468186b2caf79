"""`evalkit validate` accepts every sample file and rejects corrupted copies readably."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
CONTRACT_FILES = sorted(p.name for p in SAMPLES.glob("*.csv")
                        if (SAMPLES / "schemas" / f"{p.stem}.toml").exists())


@pytest.mark.parametrize("name", CONTRACT_FILES)
def test_sample_files_validate(name, capsys):
    assert main(["validate", str(SAMPLES / name)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "Exclusion ledger" in out


def corrupt_copy(tmp_path, name, change):
    target = tmp_path / name
    (tmp_path / "schemas").mkdir()
    shutil.copy(SAMPLES / "schemas" / f"{Path(name).stem}.toml", tmp_path / "schemas")
    frame = pd.read_csv(SAMPLES / name)
    change(frame).to_csv(target, index=False)
    return target


def test_corrupted_panel_fails_readably(tmp_path, capsys):
    def text_periods(frame):
        frame["period"] = frame["period"].astype(str)
        frame.loc[frame.index[:3], "period"] = "1x"
        return frame
    path = corrupt_copy(tmp_path, "rsa_experiment_panel.csv", text_periods)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "ColumnTypeError" in err and "'period'" in err and "1x" in err


def test_unknown_state_fails_readably(tmp_path, capsys):
    def bad_state(frame):
        frame.loc[5, "state"] = "JOB"
        return frame
    path = corrupt_copy(tmp_path, "cpas_careers_sequences.csv", bad_state)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "UnknownCategoryError" in err and "'JOB' (1 rows)" in err


def test_duplicated_person_fails(tmp_path, capsys):
    path = corrupt_copy(tmp_path, "hope_in_stations_survey.csv",
                        lambda f: pd.concat([f, f.iloc[[10]]]))
    assert main(["validate", str(path)]) == 1
    assert "DuplicateKeyError" in capsys.readouterr().err


def test_missing_file_and_unknown_option(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.csv"), "--contract", "panel"]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["validate", str(SAMPLES / "rsa_experiment_panel.csv"), "--group", "x"]) == 1
    assert "do not apply to the panel contract" in capsys.readouterr().err


def test_truncated_parquet_is_an_input_error(tmp_path, capsys):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1not really parquet")
    assert main(["validate", str(path), "--contract", "persons"]) == 1
    assert "InputFileError" in capsys.readouterr().err


def test_edge_naming_unknown_organisation_fails(tmp_path, capsys):
    shutil.copy(SAMPLES / "hope_in_stations_organisations.csv", tmp_path)

    def unknown_org(frame):
        frame.loc[0, "org_b"] = "Ghost NGO"
        return frame
    path = corrupt_copy(tmp_path, "hope_in_stations_edges.csv", unknown_org)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "UnknownCategoryError" in err and "Ghost NGO" in err
