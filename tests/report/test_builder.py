"""The report builder: disclosure on count tables, no identifiers, determinism, i18n, layout."""

from __future__ import annotations

import re
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from report_helpers import table_hashes

from evalkit.data import ExclusionLedger
from evalkit.errors import ConfigError, EstimationError
from evalkit.report.builder import Report
from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.figures import figure_to_svg
from evalkit.report.guarded import build_section
from evalkit.report.i18n import NBSP
from evalkit.report.output import write_atomic
from evalkit.report.run import programme_section
from evalkit.results import EstimateResults


def cells(html: str) -> list[list[str]]:
    """Text of the body cells of every table."""
    out = []
    main = html.split("<main>", 1)[1].split("</main>", 1)[0]
    for table in re.findall(r"<tbody>(.*?)</tbody>", main, re.S):
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            out.append(re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
    return out


def test_count_tables_are_disclosure_controlled():
    frame = pd.DataFrame(
        {"territory": ["A", "B", "C"], "n": [7, 250, 310], "share": [0.4, 0.5, 0.6]}
    )
    report = Report("t", lang="en")
    report.add(Section("s").add(Table(frame, "counts", counts=["n"])))
    rows = cells(report.render())
    assert rows[0] == ["A", "s", "s"]  # primary: 7 < 11, and the share computed on them
    assert rows[1] == ["B", "s", "s"]  # secondary: 250 would give 7 back from the total
    assert rows[2] == ["C", "310", "0.600"]
    assert "fewer than 11 persons" in report.render()


def test_threshold_is_the_reports():
    frame = pd.DataFrame({"g": ["A", "B", "C"], "n": [7, 250, 310]})
    report = Report("t", lang="en", threshold=5)
    report.add(Section("s").add(Table(frame, counts=["n"])))
    assert [r[1] for r in cells(report.render())] == ["7", "250", "310"]
    with pytest.raises(ConfigError):
        Report("t", threshold=0)


def test_tables_without_counts_untouched_and_results_objects_accepted():
    res = EstimateResults(pd.Series({"att": 0.05}), pd.Series({"att": 0.01}), title="ATT")
    report = Report("t", lang="fr")
    report.add(Section("s").add(Table.from_results(res)))
    html = report.render()
    row = cells(html)[0]
    assert row[0] == "att" and row[1] == "0,050" and row[2] == "0,010"
    assert "<th scope=\"col\">Erreur type</th>" in html


def test_person_identifiers_never_rendered(sample_dir):
    report = Report("ids", lang="en")
    survey = pd.read_csv(sample_dir / "hope_in_stations_survey.csv")
    section = programme_section(
        "hope_in_stations", report, tables={"survey": survey},
        analyses=["descriptives"], params={"n_perm": 19}, seed=1,
    )
    report.add(section)
    html = report.render()
    assert section.status == "ok"
    leaked = [i for i in survey["respondent_id"] if i in html]
    assert leaked == []


def test_a_table_showing_identifiers_fails_its_section():
    report = Report("ids", lang="en")
    report.protect_identifiers(values=["H000001", "H000002"], columns=["respondent_id"])
    by_value = pd.DataFrame({"who": ["H000001", "x"], "n": [20, 30]})
    by_column = pd.DataFrame({"respondent_id": [1, 2], "y": [0.1, 0.2]})
    report.add(Section("one").add(Table(by_value)), Section("two").add(Table(by_column)),
               Section("three").add("Person H000002 said..."))
    html = report.render()
    assert "H000001" not in html and "H000002" not in html
    assert [s.title for s in report.failures] == ["one", "two", "three"]
    assert all("DisclosureError" in s.reason for s in report.failures)


def test_failing_and_unavailable_sections_are_marked_not_skipped():
    def crash():
        raise EstimationError("no overlap at all")

    def missing():
        import evalkit.not_landed_yet  # noqa: F401

    def ok():
        return Section("fine").add("All good.")

    report = Report("r", lang="en")
    report.add(build_section("Crash", crash), build_section("Missing", missing),
               build_section("Fine", ok))
    html = report.render()
    assert [s.title for s in report.failures] == ["Crash"]
    assert [s.title for s in report.unavailable] == ["Missing"]
    assert "Section failed" in html and "EstimationError: no overlap at all" in html
    assert "Section not available" in html and "evalkit.not_landed_yet" in html
    assert "All good." in html


def test_figures_are_deterministic_svg():
    def draw():
        fig, ax = plt.subplots()
        ax.plot(np.arange(10), np.arange(10) ** 2, label="y")
        ax.legend()
        return fig

    first, second = figure_to_svg(draw()), figure_to_svg(draw())
    assert first == second
    assert "<dc:date>" not in first


def test_ledger_flow_and_locale_in_both_languages():
    frame = pd.DataFrame({"pid": [f"P{i}" for i in range(1500)], "age": [np.nan] * 234 + [30.0] * 1266})
    ledger = ExclusionLedger.start(frame, "pid", "persons.csv")
    ledger.drop(frame, frame["age"].isna(), step="validation", reason="age missing", id_col="pid")
    for lang, number, word in (("fr", f"1{NBSP}266", "Sommaire"), ("en", "1,266", "Contents")):
        report = Report("r", lang=lang)
        report.add(Section("a").add(LedgerFlow(ledger)), Section("b").add("text"))
        html = report.render()
        assert f'<html lang="{lang}">' in html and word in html
        flow = re.search(r'<table class="ledger">.*?</table>', html, re.S).group(0)
        assert number in flow and "234" in flow


def test_self_contained_printable_and_tables_reproducible():
    def build():
        fig, ax = plt.subplots()
        ax.bar(["a", "b"], [1, 2])
        report = Report("r", lang="en")
        report.add(Section("s").add(Table(pd.DataFrame({"x": [1.5, 2.25]})), Figure(fig, "f")))
        return report.render()

    html, again = build(), build()
    assert table_hashes(html) == table_hashes(again)
    assert html.split("<main>")[1].split("</main>")[0] == again.split("<main>")[1].split("</main>")[0]
    assert "<script" not in html
    assert not re.search(r'(src|href)="https?:', html)
    assert "@import" not in html and "url(http" not in html
    assert "@media print" in html and "@page" in html


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old")

    write_atomic(target, "new")
    assert target.read_text() == "new"
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("evalkit.report.output.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "newer")  # the write fails midway
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temp file left



def test_cells_suppressed_upstream_are_never_shown():
    values = pd.DataFrame({"Wave 1": [41.6, 12.5], "Wave 2": [52.2, 60.0]},
                          index=pd.Index(["Paris Nord", "Roma"], name="Station"))
    flags = pd.DataFrame({"Wave 1": [False, True], "Wave 2": [False, True]}, index=values.index)
    report = Report("r", lang="en")
    report.add(Section("s").add(Table(values, "indicator", decimals=1, suppressed=flags)))
    html = report.render()
    assert cells(html) == [["Paris Nord", "41.6", "52.2"], ["Roma", "s", "s"]]
    assert "12.5" not in html and "60.0" not in html
    assert "fewer than 11 persons" in html
    with pytest.raises(Exception, match="shape"):
        Table(values, suppressed=flags.iloc[:1]).protected(11)


def test_optional_pdf(tmp_path, monkeypatch):
    report = Report("r", lang="fr")
    report.add(Section("s").add("Texte.", Table(pd.DataFrame({"x": [1.5]}))))
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(ConfigError, match="pip install weasyprint"):
        report.publish(tmp_path / "r.html", pdf=True)
    assert not (tmp_path / "r.html").exists()  # nothing half-published
    monkeypatch.undo()
    pytest.importorskip("weasyprint", reason="optional PDF output needs WeasyPrint")
    report.publish(tmp_path / "r.html", pdf=True)
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "r.html").exists()


def test_shares_that_reveal_small_numerators_are_masked():
    frame = pd.DataFrame({"group": ["A", "B", "C"], "n": [200, 300, 400],
                          "share": [0.02, 0.5, 0.99], "mean_age": [40.1, 41.2, 39.9]})
    report = Report("r", lang="en")
    report.add(Section("s").add(Table(frame, counts=["n"], dependent=["mean_age"],
                                      percent=["share"], shares={"share": "n"})))
    rows = cells(report.render())
    # 2% of 200 = 4 persons; 99% of 400 leaves 4 persons without the attribute.
    assert [r[2] for r in rows] == ["s", "50.0%", "s"]
    assert [r[1] for r in rows] == ["200", "300", "400"]
