"""The `experiment` report section: its randomisation p-value is the exact one of the
library over the 35 station assignments, quoted in the prose as in the table, and its
text is in the report's language."""

import re
import warnings

import numpy as np
import pytest

from evalkit.datasets import hope_in_stations
from evalkit.did.twoby2 import DiD2x2
from evalkit.errors import EvalkitWarning
from evalkit.experiment import mde_did, randomization_test
from evalkit.report.elements import Figure, Table
from evalkit.report.sections import InputData, SectionContext, get_section


@pytest.fixture(scope="module")
def survey():
    return hope_in_stations.generate(seed=7, n_per_station_wave=80)["survey"]


def _build(survey, lang):
    spec = get_section("experiment")
    data = InputData("survey", survey, {"group": "pilot", "cluster": "station",
                                        "period": "wave", "outcomes": ["slept_in_shelter"],
                                        "covariates": ["age", "health_problem"]})
    return spec.build(data, SectionContext(lang, seed=1, texts=spec.text), spec.defaults())


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_section_quotes_the_exact_randomisation_p_value(survey, lang):
    section = _build(survey, lang)
    table = next(b for b in section.content if isinstance(b, Table)).frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvalkitWarning)
        ri = randomization_test(
            survey.assign(t=(survey.pilot & (survey.wave == 2)).astype(int)),
            lambda d: DiD2x2(d, outcome="slept_in_shelter", group="pilot", period="wave",
                             covariates=["age", "health_problem"], cluster="station",
                             repeated_cross_section=True).fit(method="imputation"),
            group="pilot", cluster="station", outcome="slept_in_shelter", treatment="t",
            param="att", linear=True)
    assert ri.exact and ri.n_draws == 35
    row = table.iloc[0]
    assert row["ri_p_value"] == pytest.approx(ri.pvalue)
    assert row[["ri_ci_lower", "ri_ci_upper"]].tolist() == pytest.approx(
        ri.conf_int(0.95).iloc[0].tolist())
    intro = section.content[0].body
    p_text = f"{ri.pvalue:.3f}".replace(".", "," if lang == "fr" else ".")
    assert f"p = {p_text}" in intro and "35" in intro
    figures = [b for b in section.content if isinstance(b, Figure)]
    assert len(figures) == 2
    if lang == "fr":
        text = " ".join(str(getattr(b, "body", "")) for b in section.content)
        assert not re.search(r"\b(the|with|power|sites of)\b", text)
        assert "Observed" not in figures[0].figure and "Analytic" not in figures[1].figure


def test_section_states_the_mde_of_the_design(survey):
    section = _build(survey, "en")
    power_text = next(b.body for b in section.content
                      if hasattr(b, "body") and b.body.startswith("Power"))
    wave1 = survey[survey.wave == 1]
    mde = float(re.search(r"with 80% power is (-?[0-9.]+)", power_text).group(1))
    # The MDE in the text is mde_did on this design (the ICC is the section's estimate).
    icc = float(re.search(r"correlation of ([0-9.]+)", power_text).group(1))
    expected = mde_did(len(survey) / 2, n_clusters=7, icc=icc, share_treated=4 / 7,
                       sd=wave1.slept_in_shelter.std())
    assert mde == pytest.approx(expected, abs=6e-4)
    assert np.isfinite(mde)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_lee_bounds_section_reports_the_library_bounds(lang):
    from evalkit.datasets import activation_earnings
    from evalkit.experiment import LeeBounds

    persons = activation_earnings.generate(seed=4, n=1500)["persons"]
    spec = get_section("lee_bounds")
    data = InputData("persons", persons, {"group": "group", "responded": "employed",
                                          "outcome": "log_earnings"})
    params = {**spec.defaults(), "n_boot": 50, "cells": ["education"]}
    section = spec.build(data, SectionContext(lang, seed=3, texts=spec.text), params)
    row = next(b for b in section.content if isinstance(b, Table)).frame.iloc[0]
    res = LeeBounds(persons, group="group", outcome="log_earnings", observed="employed",
                    covariates=["education"]).fit(n_boot=50, seed=3)
    assert row[["lower", "upper"]].tolist() == pytest.approx(res.params.tolist())
    assert row[["im_lower", "im_upper"]].tolist() == pytest.approx(list(res.imbens_manski()))
    trimming = f"{100 * res.trimming_proportion:.1f}"
    intro = section.content[0].body
    assert (trimming.replace(".", ",") if lang == "fr" else trimming) in intro
