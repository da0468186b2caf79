"""Report section trajectory_effects: effect of a programme on careers, fr and en."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.datasets import cpas_careers
from evalkit.report.elements import Figure, Table, Text
from evalkit.report.sections import InputData, SectionContext, get_section


@pytest.fixture(scope="module")
def inputs():
    data = cpas_careers.generate(seed=11, n_persons=800, n_months=24, programme_effect=0.5)
    sequences = InputData("sequences", data["sequences"],
                          {"id": "person_id", "period": "month", "state": "state"},
                          "sequences", options={"alphabet": "cpas"})
    persons = InputData("persons", data["persons"],
                        {"id": "person_id", "group": "arm",
                         "covariates": ["sex", "age_band", "education"]}, "persons")
    return data, sequences, persons


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_section_reports_effects_on_types_months_and_discrepancy(inputs, lang):
    data, sequences, persons = inputs
    spec = get_section("trajectory_effects")
    params = {**spec.defaults(), "treated": "programme", "n_perm": 49}
    ctx = SectionContext(lang, seed=1, texts=spec.text, inputs={"persons": persons})
    section = spec.build(sequences, ctx, params)
    tables = [e for e in section.content if isinstance(e, Table)]
    figures = [e for e in section.content if isinstance(e, Figure)]
    assert len(tables) == 3 and len(figures) == 2
    types = tables[0].frame
    # Career types in French in the French report, the effect in points of %.
    first = "Carrière durable" if lang == "fr" else "Sustainable career"
    assert types.index[0] == first
    assert 10 < types.iloc[0, 0] < 60  # half of the non-sustainable treated moved
    text = " ".join(e.body for e in section.content if isinstance(e, Text))
    # The number in the prose is the table's (same object, the report's decimal mark).
    shown = f"{types.iloc[0, 0]:.1f}"
    assert (shown.replace(".", ",") if lang == "fr" else shown) in text
    assert ("pseudo-R²" in text) and ("permutations" in text)
    # No person identifier anywhere in the tables.
    for t in tables:
        assert not set(map(str, data["persons"]["person_id"].head(50))) & set(
            map(str, t.frame.index))
    months = tables[1].frame
    assert np.isfinite(months.to_numpy(dtype=float)).all()
