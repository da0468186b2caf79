"""One figure for several event studies: every estimator's points and intervals are drawn."""

import os

import numpy as np
import pandas as pd

from evalkit.did import CallawaySantAnna, EventStudy, Imputation, SunAbraham
from evalkit.did.compare_plot import plot_event_studies

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


def test_plot_event_studies_draws_each_estimator():
    df = pd.read_csv(MPDTA)
    kw = dict(outcome="lemp", unit="countyreal", period="year", first_treated="first.treat")
    results = {
        "TWFE": EventStudy(df, **kw).fit(),
        "CS": CallawaySantAnna(df, base_period="universal", **kw).fit(
            bootstrap=False).aggregate("dynamic"),
        "SA": SunAbraham(df, **kw).fit(),
        "BJS": Imputation(df, **kw).fit(),
    }
    fig = plot_event_studies(results, text={"ylabel": "Effet (IC {level:.0%})"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(results)
    assert ax.get_ylabel() == "Effet (IC 95%)"
    # Points at the estimates (shifted sideways): BJS has post periods only.
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(lines) == 4
    bjs_y = lines[3].get_ydata()
    assert np.allclose(bjs_y, results["BJS"].params.to_numpy())
    cs_y = lines[1].get_ydata()
    assert len(cs_y) == len(results["CS"].params) - 1  # the normalised e = -1 has no interval
