"""Scan tests: no person identifier in reports, failed reports or logs (issue 17, finding 1).

The id column has a non-default name declared through the programme's id parameter
(``id = "nir"``), and the ids are numeric and NIR-like (13 digits), so that any leak
is visible to a scan. A successful and a failed run (duplicate ids, whose error lists
the offending rows) are both scanned: the HTML (with the SVG figures decoded), the
stdout/stderr and the log records.
"""

from __future__ import annotations

import base64
import logging
import re

import numpy as np
import pandas as pd
import pytest
from report_helpers import small_config

from evalkit.cli.main import main


def _nir_panel(sample_dir, folder, *, duplicate: bool):
    panel = pd.read_csv(sample_dir / "rsa_experiment_panel.csv")
    units = np.sort(panel["unit_id"].unique())
    rng = np.random.default_rng(17)
    nir = 1_000_000_000_000 + rng.choice(8_999_999_999_999, size=len(units), replace=False)
    panel["unit_id"] = panel["unit_id"].map(dict(zip(units, nir, strict=True)))
    panel = panel.rename(columns={"unit_id": "nir"})
    if duplicate:  # the same person twice in a quarter: the data layer lists the rows
        panel = pd.concat([panel, panel.iloc[[5, 40]]], ignore_index=True)
    folder.mkdir()
    panel.to_csv(folder / "rsa_experiment_panel.csv", index=False)
    return {str(v) for v in nir}


def _visible(html: str) -> str:
    svgs = [base64.b64decode(b).decode() for b in
            re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    return html + " ".join(svgs)


def _leaks(text: str, ids: set[str]) -> set[str]:
    return set(re.findall(r"\d{13}", text)) & ids


@pytest.mark.parametrize("duplicate", [False, True], ids=["success", "failure"])
def test_no_numeric_id_in_report_failed_report_or_logs(sample_dir, tmp_path, capsys, caplog,
                                                       duplicate):
    data = tmp_path / "data"
    ids = _nir_panel(sample_dir, data, duplicate=duplicate)
    out = tmp_path / "out"
    config = tmp_path / "c.toml"
    config.write_text(small_config(data, out, extra="").replace(
        "n_boot = 49", 'n_boot = 49\nid = "nir"'))
    with caplog.at_level(logging.INFO, logger="evalkit"):
        code = main(["report", str(config)])
    captured = capsys.readouterr()
    written = out / ("report.failed.html" if duplicate else "report.html")
    assert code == (1 if duplicate else 0)
    html = written.read_text(encoding="utf-8")
    if duplicate:
        # The failure is reported, with the offending rows' ids replaced.
        assert 'class="status failed"' in html and "DuplicateKeyError" in html
        assert "‹id›" in html and "‹id›" in captured.err
    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for where, text in {"report": _visible(html), "stdout": captured.out,
                        "stderr": captured.err, "logs": logs}.items():
        assert not _leaks(text, ids), f"ids in the {where}: {sorted(_leaks(text, ids))[:3]}"


def test_text_ids_under_a_custom_column_name_are_redacted_in_a_failed_report(sample_dir,
                                                                             tmp_path, capsys):
    survey = pd.read_csv(sample_dir / "hope_in_stations_survey.csv")
    survey = survey.rename(columns={"respondent_id": "identifiant"})
    survey = pd.concat([survey, survey.iloc[[3]]], ignore_index=True)  # duplicate respondent
    data = tmp_path / "data"
    data.mkdir()
    survey.to_csv(data / "hope_in_stations_survey.csv", index=False)
    out = tmp_path / "out"
    config = tmp_path / "c.toml"
    text = small_config(data, out, programmes=("hope_in_stations",)).replace(
        '["descriptives", "cohort", "robustness", "did", "attrition", "indicators", "network"]',
        '["descriptives"]').replace("n_perm = 49", 'id = "identifiant"')
    config.write_text(text)
    code = main(["report", str(config)])
    err = capsys.readouterr().err
    html = (out / "report.failed.html").read_text(encoding="utf-8")
    assert code == 1
    ids = set(survey["identifiant"])
    for where, body in {"report": _visible(html), "stderr": err}.items():
        found = set(re.findall(r"H\d{6}", body)) & ids
        assert not found, f"ids in the {where}: {sorted(found)[:3]}"


def test_missing_column_in_a_section_is_a_clear_error_naming_input_column_and_key(
        sample_dir, tmp_path, capsys):
    # Finding 8 of issue 17: a survey whose station column is called 'gare' gave a raw
    # "KeyError: 'station'" in the report.
    survey = pd.read_csv(sample_dir / "hope_in_stations_survey.csv").rename(
        columns={"station": "gare"})
    data = tmp_path / "data"
    data.mkdir()
    survey.to_csv(data / "hope_in_stations_survey.csv", index=False)
    out = tmp_path / "out"
    config = tmp_path / "c.toml"
    config.write_text(small_config(data, out, programmes=("hope_in_stations",)).replace(
        '["descriptives", "cohort", "robustness", "did", "attrition", "indicators", "network"]',
        '["descriptives"]'))
    code = main(["report", str(config), "-q"])
    err = capsys.readouterr().err
    html = (out / "report.failed.html").read_text(encoding="utf-8")
    assert code == 1
    for text in (err, html.replace("&#39;", "'")):
        assert "KeyError" not in text
        assert "MissingColumnError" in text
        # The station column plays the role 'site' of the programme definition: the
        # configuration points it at another column with the parameter named like the role.
        assert "no column 'station' (role 'site', parameter 'site')" in text
        assert "input 'survey' (hope_in_stations_survey.csv)" in text and "'gare'" in text
        assert "'hope_in_stations.parameters.site'" in text
        assert "'inputs.survey.roles.site' in the programme definition of " \
            "hope_in_stations.toml" in text
    # Following the advice builds the section.
    config.write_text(config.read_text().replace(
        "[hope_in_stations.parameters]\n", '[hope_in_stations.parameters]\nsite = "gare"\n'))
    assert main(["report", str(config), "-q"]) == 0
