"""The three seed programmes compute the same tables as before they became TOML definitions.

``seed_table_hashes.json`` was written from the Python programme modules
(commit fbb213c, before any change) by :func:`report_helpers.frame_hashes` over the configurations in
``reports/configs/``: one hash of the data of every table (header, row labels,
cells to 9 significant digits, before disclosure control and formatting; headers are wording, not hashed).
"""

from __future__ import annotations

import json

import pytest
from report_helpers import REPO, frame_hashes

from evalkit.report import build_report, load_config

EXPECTED = json.loads((REPO / "tests" / "report" / "seed_table_hashes.json").read_text())


@pytest.mark.parametrize("name", ["annual_report"])
def test_seed_programmes_give_the_tables_they_gave_before(name):
    report = build_report(load_config(REPO / "reports" / "configs" / f"{name}.toml"))
    assert report.failures == []
    got = frame_hashes(report)
    expected = EXPECTED[f"{name}/fr"]
    assert sorted(got) == sorted(expected)
    changed = [key for key in expected if got[key] != expected[key]]
    assert changed == []
