"""Every number in a section's prose comes from the object behind its table or figure; --pdf
checks its prerequisite before any analysis runs."""

from __future__ import annotations

import re
import sys
import textwrap
import warnings

import pytest

from evalkit.cli.main import main
from evalkit.report.elements import Figure, Section, Table, Text
from evalkit.report.elements import _svg_text as svg_text
from evalkit.report.i18n import format_number
from evalkit.report.programme import get_programme

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def sections():
    """rSa (TWFE, Callaway-Sant'Anna) and CPAS (clustering) sections on small data."""
    import matplotlib.pyplot as plt

    rsa = get_programme("rsa_experiment")
    cpas = get_programme("cpas_careers")
    built = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few clusters: these small samples are for wiring
        built.update({s.key: s for s in rsa.build(
            rsa.generate(7), analyses=["twfe", "callaway_santanna"], params={"n_boot": 49},
            lang="fr", seed=1).walk()})
        built.update({s.key: s for s in cpas.build(
            cpas.generate(7), analyses=["clustering"],
            params={"n_clusters": 5, "quality_sample": 150}, lang="fr", seed=1).walk()})
    plt.close("all")
    return built


def _texts(section: Section) -> str:
    return " ".join(b.body for b in section.content if isinstance(b, Text))


def _tables(section: Section) -> list[Table]:
    return [b for b in section.content if isinstance(b, Table)]


def test_callaway_santanna_prose_quotes_the_figure_legend(sections):
    section = sections["rsa_experiment-callaway_santanna"]
    assert section.status == "ok", section.reason
    figure = next(b for b in section.content if isinstance(b, Figure))
    legend = re.search(r"effet moyen global (−?\d+,\d{3})", svg_text(figure.figure)).group(1)
    assert f"**{legend} (IC à 95{NBSP}%" in _texts(section)


def test_twfe_prose_quotes_its_table(sections):
    section = sections["rsa_experiment-twfe"]
    row = _tables(section)[0].frame.iloc[0]
    text = _texts(section)
    shown = f"{row['estimate']:.3f}".replace(".", ",").replace("-", "−")
    lower = f"{row['ci_lower']:.3f}".replace(".", ",").replace("-", "−")
    assert f"{shown} (IC à 95{NBSP}%{NBSP}: {lower} à" in text


def test_clustering_prose_names_the_k_of_its_tables(sections):
    section = sections["cpas_careers-clustering"]
    assert section.status == "ok", section.reason
    quality, clusters = _tables(section)
    text = _texts(section)
    used = int(re.search(r"regroupées en (\d+) classes", text).group(1))
    assert used == 5 == len(clusters.frame)
    best = int(re.search(r"maximale pour k = (\d+)", text).group(1))
    assert best == quality.frame["ASW"].idxmax()
    asw = format_number(quality.frame.loc[used, "ASW"], "fr", 2)
    assert f"ce rapport utilise k = {used} (ASW {asw})" in text


def test_pdf_prerequisite_is_checked_before_any_analysis(tmp_path, capsys, monkeypatch):
    import evalkit.report.run as run_module

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as if not installed

    def never(*args, **kwargs):
        raise AssertionError("an analysis ran before the PDF prerequisite was checked")

    monkeypatch.setattr(run_module, "build_report", never)
    config = tmp_path / "c.toml"
    config.write_text(textwrap.dedent(f"""
        output_dir = "{tmp_path / 'out'}"
        [rsa_experiment.inputs]
        panel = "panel.csv"
    """))
    assert main(["report", str(config), "--pdf", "-q"]) == 1
    err = capsys.readouterr().err
    assert "PDF output needs WeasyPrint" in err and "No analysis was run" in err
    assert "previous report" not in err  # there is none
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "c.html").write_text("previous")
    assert main(["report", str(config), "--pdf", "-q"]) == 1
    assert f"the previous report {tmp_path / 'out' / 'c.html'} is unchanged" in \
        capsys.readouterr().err
