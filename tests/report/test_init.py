"""``evalkit init NAME --data FILE`` writes a definition and configuration that build a report
with no edit: on every file of data_samples/ and on renamed copies (accents, spaces, Parquet)."""

from __future__ import annotations

import pandas as pd
import pytest
from report_helpers import REPO, visible_text

from evalkit.cli.main import main

SAMPLES = sorted((REPO / "data_samples").glob("*.csv"))

RENAMED = {
    "rsa_experiment_panel": {"unit_id": "identifiant du foyer", "period": "période",
                             "first_treated": "première période traitée",
                             "return_to_work": "retour à l'emploi", "zone_id": "zone d'essai"},
    "hope_in_stations_survey": {"respondent_id": "numéro de dossier", "pilot": "antenne pilote",
                                "station": "lieu d'accueil", "wave": "vague d'enquête"},
    "cpas_careers_sequences": {"person_id": "identifiant personne", "month": "mois écoulé",
                               "state": "situation"},
}


def _init_and_report(name: str, data, folder) -> tuple[int, str, str]:
    assert main(["init", name, "--data", str(data), "--output-dir", str(folder)]) == 0
    definition = (folder / f"{name}.programme.toml").read_text(encoding="utf-8")
    code = main(["report", str(folder / f"{name}.toml"), "-q"])
    html_path = folder / "output" / f"{name}.html"
    return code, definition, html_path.read_text(encoding="utf-8") if html_path.exists() else ""


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_init_on_each_sample_builds_a_report_with_no_edit(path, tmp_path):
    code, definition, html = _init_and_report(path.stem, path, tmp_path)
    assert code == 0
    assert 'class="status failed"' not in html
    # Every guessed role is marked for the evaluator to check, with its reason.
    roles = [line for line in definition.splitlines()
             if "=" in line and not line.startswith(("#", "[", "contract", "doc", "name",
                                                      "section", "input", "title",
                                                      "parameters", "alphabet"))]
    assert all("# CHECK: guessed from" in line for line in roles)
    assert roles or "no role guessed" in definition
    assert "Description des données" in visible_text(html)


@pytest.mark.parametrize("stem", sorted(RENAMED))
def test_init_on_a_renamed_parquet_copy_builds_the_same_analyses(stem, tmp_path):
    frame = pd.read_csv(REPO / "data_samples" / f"{stem}.csv").rename(columns=RENAMED[stem])
    data = tmp_path / "mes données.parquet"
    frame.to_parquet(data, index=False)
    code, definition, html = _init_and_report("mon_programme", data, tmp_path)
    assert code == 0 and 'class="status failed"' not in html
    original = tmp_path / "original"
    original.mkdir()
    _, original_definition, _ = _init_and_report(stem, REPO / "data_samples" / f"{stem}.csv",
                                                 original)
    sections = [line for line in definition.splitlines() if line.startswith("section")]
    assert sections == [line for line in original_definition.splitlines()
                        if line.startswith("section")]
    assert len(sections) >= 2
    for column in RENAMED[stem].values():
        assert f'"{column}"' in definition
