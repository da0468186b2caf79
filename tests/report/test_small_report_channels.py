"""A 60-person report (issue 17, finding 2): every channel derived from a protected table
-- the table, the figure drawn from it (values read from the data behind it), the sentence
quoting a share and the messages -- goes through the table's disclosure decision."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_disclosure_attack import T, assert_protected

import evalkit.typology.plots as typology_plots
from evalkit.datasets import cpas_careers
from evalkit.report import Report
from evalkit.report.run import programme_section
from evalkit.typology.states import career_type_labels


@pytest.fixture(scope="module")
def small_report():
    tables = dict(cpas_careers.generate(seed=5, n_persons=60, n_months=36).tables)
    drawn = []
    original = typology_plots.plot_type_shares
    typology_plots.plot_type_shares = lambda frame, **kw: (drawn.append(frame.copy()),
                                                            original(frame, **kw))[1]
    try:
        report = Report("Rapport", lang="fr", threshold=T)
        section = programme_section("cpas_careers", report, tables=tables,
                                    analyses=["rule_typology", "membership"])
        report.add(section)
        html = report.render()
    finally:
        typology_plots.plot_type_shares = original
    return report, section, html, drawn


def _typology(section):
    return next(s for s in section.walk() if s.title == "Typologie des carrières")


def test_type_table_resists_the_lp_attacker(small_report):
    report, section, _, _ = small_report
    table = next(b for b in _typology(section).content if hasattr(b, "protected"))
    raw = table._flat()
    shown, mask = table.protected(report.threshold)
    truth = raw["n"].to_numpy(float)[:, None]
    published = shown["n"].to_numpy(dtype=float, na_value=np.nan)[:, None]
    assert mask["n"].any(), "the 60-person report should have small types"
    assert_protected(truth, published)


def test_figure_draws_only_published_types(small_report):
    report, section, _, drawn = small_report
    table = next(b for b in _typology(section).content if hasattr(b, "protected"))
    _, mask = table.protected(report.threshold)
    (frame,) = drawn
    hidden = mask["n"].to_numpy()
    assert frame.loc[hidden, ["n", "share", "ci_lower", "ci_upper"]].isna().all().all()
    # What is drawn, times the known total, gives only published counts.
    total = table._flat()["n"].sum()
    counts = np.round(frame["share"].dropna() * total)
    assert ((counts == 0) | (counts >= T)).all()


def test_sentences_quote_no_share_of_a_masked_type(small_report):
    report, section, html, _ = small_report
    table = next(b for b in _typology(section).content if hasattr(b, "protected"))
    raw = table._flat()
    _, mask = table.protected(report.threshold)
    text = " ".join(b.body for b in _typology(section).content if hasattr(b, "body"))
    names = career_type_labels("fr")
    durable = raw.iloc[:, 0].isin([names["sustainable"], names["sustainable_interrupted"]])
    if (mask["n"] & durable).any():
        assert "n'est pas publiée" in text and "Carrières durables" not in text
    total = raw["n"].sum()
    for pct in re.findall(r"(\d+(?:,\d+)?)\s*%", text):
        count = float(pct.replace(",", ".")) / 100 * total
        assert round(count) == 0 or round(count) >= T, f"{pct} % of {total} is a small count"


def test_messages_name_no_small_type(small_report):
    _, section, html, _ = small_report
    membership = next(s for s in section.walk() if s.title == "Qui suit quel type de carrière ?")
    assert membership.status == "ok"
    assert not re.search(r"(fewer|moins) (than|de) 2 ", html)
    body = " ".join(getattr(b, "body", "") for b in membership.content)
    assert f"moins de {T} personnes" in body
    for code in ("sustainable", "allowance", "onem_activation", "integration_income"):
        assert code not in body


def test_cohort_rate_figure_draws_only_published_cohorts():
    # The repro: the rSa cohort-rate figure drew cohorts of 7 and 4 units that the table
    # masked (their rates move in steps of 1/7 and 1/4).
    from evalkit.datasets import rsa_experiment
    from evalkit.report.elements import Figure, Table, _svg_text

    panel = dict(rsa_experiment.generate(seed=2, n_units=600, n_zones=12).tables)["panel"]
    units = panel.drop_duplicates("unit_id")
    cohorts = units.groupby("first_treated")["unit_id"].apply(list)
    keep = set(units["unit_id"])
    small = [g for g in cohorts.index if g != 0][:2]
    for g, n in zip(small, (7, 4), strict=True):
        keep -= set(cohorts[g][n:])
    tables = {"panel": panel[panel["unit_id"].isin(keep)]}
    report = Report("Rapport", lang="fr", threshold=T)
    section = programme_section("rsa_experiment", report, tables=tables,
                                analyses=["descriptives"])
    blocks = [b for s in section.walk() for b in s.content]
    table = next(b for b in blocks if isinstance(b, Table))
    shown, mask = table.protected(T)
    names = table._flat().iloc[:, 0]
    hidden = set(names[mask["n"].to_numpy()])
    assert len(hidden) >= 2
    figure = next(b for b in blocks if isinstance(b, Figure))
    text = _svg_text(figure.figure)
    for name in hidden:
        assert str(name) not in text, f"masked cohort {name} drawn"
    for name in set(names) - hidden:
        assert str(name) in text
