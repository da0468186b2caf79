"""The HonestDiD report section: numbers in its prose come from the results it tabulates."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.honest_did import HonestDiD
from evalkit.report.elements import Figure, Table, Text
from evalkit.report.i18n import format_number
from evalkit.report.sections import InputData, SectionContext, get_section

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")
ROLES = {"id": "countyreal", "period": "year", "outcome": "lemp",
         "first_treated": "first.treat"}


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_section_matches_results(mpdta, lang):
    spec = get_section("honest_did")
    params = {**spec.defaults(), "restriction": "smoothness", "m_max": 0.02, "n_m": 3}
    ctx = SectionContext(lang=lang, texts=spec.text)
    section = spec.build(InputData("panel", mpdta, ROLES, "panel"), ctx, params)
    cs = CallawaySantAnna(mpdta, outcome="lemp", unit="countyreal", period="year",
                          first_treated="first.treat", base_period="universal").fit(
        bootstrap=False)
    res = HonestDiD(cs.aggregate("dynamic"), target="average").fit(
        restriction="smoothness", m=[0, 0.01, 0.02])
    texts = " ".join(b.body for b in section.content if isinstance(b, Text))
    assert format_number(res.original["estimate"], lang, 3) in texts
    if res.breakdown not in (None, 0.0):
        assert format_number(res.breakdown, lang, 2) in texts
    table = next(b for b in section.content if isinstance(b, Table))
    assert list(table.frame["upper"].round(10)) == \
        [round(res.original["upper"], 10), *res.table["upper"].round(10)]
    assert any(isinstance(b, Figure) for b in section.content)
    svg = next(b for b in section.content if isinstance(b, Figure)).figure
    assert ("Tendances parallèles" in svg) == (lang == "fr")
