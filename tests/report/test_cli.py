"""Acceptance tests of ``evalkit report``: the annual report from the repository, rerun
reproducibility, rendering in a browser, and the three failure modes of a batch run."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from report_helpers import REPO, small_config, table_hashes

from evalkit.cli.main import main

ANNUAL = REPO / "reports" / "configs" / "annual_report.toml"
PREVIOUS = "<html><body>previous good report</body></html>"


@pytest.fixture(scope="module")
def annual(tmp_path_factory):
    """The README's main job: the annual report (fr) from data_samples/, built once."""
    out = tmp_path_factory.mktemp("annual")
    code = main(["report", str(ANNUAL), "--output-dir", str(out), "-q"])
    return code, out / "annual_report.html"


def test_annual_report_builds_from_the_repository(annual, capsys):
    code, path = annual
    assert code == 0
    html = path.read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "Sommaire" in html
    for key in ("hope_in_stations", "rsa_experiment", "cpas_careers"):
        assert f'id="{key}"' in html
    # Every analysis ran: nothing failed; a section is "not available" only if its
    # estimator module is missing, and each says so.
    assert 'class="status failed"' not in html
    assert len(re.findall(r'<figure class="table"', html)) >= 12
    # No person identifier of any input anywhere in the file. The survey's ids are text
    # (H000123); numeric ids (rSa units, CPAS persons) cannot be told from other numbers,
    # so for them the builder refuses any column named like the id column.
    ids = pd.read_csv(REPO / "data_samples" / "hope_in_stations_survey.csv",
                      usecols=["respondent_id"])["respondent_id"]
    assert ids.str.match(r"H\d+").all()
    svgs = [base64.b64decode(b).decode() for b in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    visible = re.sub(r'src="data:[^"]+"', "", html) + " ".join(svgs)
    tokens = set(re.findall(r"H\d{6}", visible))
    assert tokens.isdisjoint(ids)
    # Inputs are hashed into the provenance block.
    assert "hope_in_stations/survey: hope_in_stations_survey.csv" in html
    assert re.search(r"<code>[0-9a-f]{64}</code>", html)


def test_rerun_with_same_inputs_and_seed_gives_identical_tables(annual, tmp_path):
    _, first = annual
    code = main(["report", str(ANNUAL), "--output-dir", str(tmp_path), "-q"])
    assert code == 0
    one = first.read_text(encoding="utf-8")
    two = (tmp_path / "annual_report.html").read_text(encoding="utf-8")
    assert table_hashes(one) == table_hashes(two)
    assert len(table_hashes(one)) >= 12
    # Figures too: the whole body is identical; only the provenance times differ.
    assert one.split("<main>")[1].split("</main>")[0] == two.split("<main>")[1].split("</main>")[0]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")


def _chromium(path, profile):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom",
         path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_renders_in_headless_chromium_without_console_errors(annual, tmp_path):
    # The check itself sees console errors (else the assertion below proves nothing).
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom')</script></body></html>")
    assert _console_messages(_chromium(bad, tmp_path / "p0").stderr)

    _, path = annual
    run = _chromium(path, tmp_path / "p1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console_messages(run.stderr) == []
    assert "Rapport annuel d" in run.stdout and "Provenance" in run.stdout


def _previous_report(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(PREVIOUS)
    return path


def test_corrupted_input_exits_1_and_keeps_previous_report(sample_dir, tmp_path, capsys):
    broken = tmp_path / "data"
    shutil.copytree(sample_dir, broken)
    panel = broken / "rsa_experiment_panel.csv"
    lines = panel.read_text().splitlines()
    panel.write_text("\n".join(lines[:50] + ["1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"]
                               + lines[50:60]) + "\n")
    out = tmp_path / "out"
    previous = _previous_report(out)
    config = tmp_path / "c.toml"
    config.write_text(small_config(broken, out))

    code = main(["report", str(config), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "section failed" in err and "rsa_experiment_panel.csv" in err
    assert "InputFileError" in err
    assert previous.read_text() == PREVIOUS
    failed = (out / "report.failed.html").read_text(encoding="utf-8")
    assert 'class="status failed"' in failed


def test_bad_config_key_exits_1_with_line_and_keeps_previous_report(sample_dir, tmp_path, capsys):
    out = tmp_path / "out"
    previous = _previous_report(out)
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, out).replace("n_boot = 49", "n_bot = 49"))

    code = main(["report", str(config), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"line \d+: key 'rsa_experiment.parameters.n_bot' is not a known key; "
                     r"did you mean 'n_boot'\?", err)
    assert previous.read_text() == PREVIOUS
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_crashing_analysis_exits_1_names_section_and_keeps_previous(sample_dir, tmp_path,
                                                                    capsys, monkeypatch):
    from evalkit.did.twfe import TWFE

    def crash(*args, **kwargs):
        raise ZeroDivisionError("simulated crash in the estimator")

    monkeypatch.setattr(TWFE, "fit", crash)
    out = tmp_path / "out"
    previous = _previous_report(out)
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, out))

    code = main(["report", str(config), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "section failed: Effets fixes à deux dimensions (TWFE): ZeroDivisionError: " \
           "simulated crash in the estimator" in err
    assert previous.read_text() == PREVIOUS
    failed = (out / "report.failed.html").read_text(encoding="utf-8")
    # The failure is in the report, and the other sections were still built.
    assert "simulated crash in the estimator" in failed
    assert "Callaway et Sant&#39;Anna (2021)" in failed


def test_success_replaces_report_and_removes_stale_failure(sample_dir, tmp_path, capsys):
    out = tmp_path / "out"
    previous = _previous_report(out)
    (out / "report.failed.html").write_text("stale")
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, out, programmes=("rsa_experiment", "cpas_careers")))

    code = main(["report", str(config), "--lang", "en", "-q"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.strip() == str(previous)
    html = previous.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Contents" in html
    assert not (out / "report.failed.html").exists()


def test_command_line_entry_point_exit_code(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('titel = "x"\n')
    run = subprocess.run([sys.executable, "-m", "evalkit.cli.main", "report", str(config)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 1
    assert "line 1: key 'titel' is not a known key; did you mean 'title'?" in run.stderr
    assert run.stdout == ""


def test_missing_estimator_module_degrades_to_a_marked_section(sample_dir, tmp_path, capsys,
                                                              monkeypatch):
    # An estimator module that has not landed (or is not installed) makes its section
    # "not available", naming the module; the rest of the report is built.
    monkeypatch.setitem(sys.modules, "evalkit.did.twfe", None)
    out = tmp_path / "out"
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, out))

    assert main(["report", str(config), "-q"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Section non disponible" in html and "evalkit.did.twfe" in html
    assert "Callaway et Sant&#39;Anna (2021)" in html and 'class="status failed"' not in html
    assert "section not available" in capsys.readouterr().err

    assert main(["report", str(config), "-q", "--strict"]) == 1


def test_unwritable_output_is_a_clear_error(sample_dir, tmp_path, capsys):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the output directory should be")
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, blocker / "out", programmes=("cpas_careers",)))
    assert main(["report", str(config), "-q"]) == 1
    assert "cannot write the report" in capsys.readouterr().err


def test_french_and_english_reports_show_the_same_numbers(sample_dir, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, tmp_path / "out", programmes=("rsa_experiment",)))

    def numbers(lang):
        assert main(["report", str(config), "--lang", lang, "-q",
                     "--output-dir", str(tmp_path / lang)]) == 0
        html = (tmp_path / lang / "report.html").read_text(encoding="utf-8")
        body = html.split("<main>")[1].split("</main>")[0]
        cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', body)
        cells = [c.replace("\u00a0", "") for c in cells]
        if lang == "fr":  # 1 234,5 -> 1234.5
            return [c.replace(",", ".") for c in cells]
        return [c.replace(",", "") for c in cells]

    fr, en = numbers("fr"), numbers("en")
    assert len(fr) > 100
    assert fr == en
