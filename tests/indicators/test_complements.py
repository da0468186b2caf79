"""Indicator tables do not publish small complements (issue 17, finding 2d): 68 % of 25
persons says 8 are without access to care."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.indicators.cells import ALL
from evalkit.indicators.definition import Disaggregations, Indicator
from evalkit.indicators.evaluate import IndicatorModel


def test_small_complement_of_a_proportion_is_masked():
    # Station A: 25 persons, 17 with access (68 %): 8 without. Station B and C: large.
    rows = [("A", 1)] * 17 + [("A", 0)] * 8 + [("B", 1)] * 30 + [("B", 0)] * 30 \
        + [("C", 1)] * 40 + [("C", 0)] * 25
    frame = pd.DataFrame(rows, columns=["station", "access"])
    frame["person"] = np.arange(len(frame))
    ind = Indicator("care", "Accès aux soins", "Access to care", "proportion", "access == 1",
                    disaggregations=("territory",))
    res = IndicatorModel(ind, frame, disaggregations=Disaggregations(territory="station"),
                         id="person").fit()
    pub = res.publishable(threshold=11).set_index("territory")
    assert pub.loc["A", "masked"]
    # Secondary suppression keeps A's complement from following from the total.
    assert pub.loc[[t for t in pub.index if t != ALL], "masked"].sum() >= 2
    published = pub[~pub["masked"]]
    without = published["denominator"] - published["numerator"]
    assert ((without == 0) | (without >= 11)).all()
    # Every published row, with the total, leaves each small complement unrecoverable:
    # the only published station values are those of stations with large complements.
    assert "A" not in published.index
