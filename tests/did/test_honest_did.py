"""HonestDiD on evalkit event studies: inputs, properties of the robust sets, plot, errors.

Equality with the ``honestdid`` peer is in test_honest_did_peer.py.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.event_study import EventStudy
from evalkit.did.honest_did import HonestDiD
from evalkit.errors import ConfigError

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def cs_varying(mpdta):
    return CallawaySantAnna(mpdta, outcome="lemp", unit="countyreal", period="year",
                            first_treated="first.treat").fit(bootstrap=False)


def test_varying_base_cumulated_to_levels(cs_varying):
    agg = cs_varying.aggregate("dynamic")
    h = HonestDiD(agg)
    short = agg.params.loc[[-1, -2, -3]].to_numpy()
    # Levels relative to e = -1 at e = -2, -3, -4 are minus the cumulated changes.
    assert_allclose(h.beta[:3][::-1], -np.cumsum(short), atol=1e-12)
    assert list(h.event_times) == [-4, -3, -2, 0, 1, 2, 3]
    assert_allclose(h.beta[3:], agg.params.loc[[0, 1, 2, 3]].to_numpy())


def test_event_study_flci_widens_with_m_and_nests_original(mpdta, tmp_path):
    es = EventStudy(mpdta, outcome="lemp", unit="countyreal", period="year",
                    first_treated="first.treat", treatment=None, cluster="countyreal").fit()
    res = HonestDiD(es, target="average").fit(restriction="smoothness", m=[0, 0.01, 0.02])
    width = (res.table["upper"] - res.table["lower"]).to_numpy()
    assert np.all(np.diff(width) > 0)
    o = res.original
    assert_allclose(o["estimate"], es.params.loc[[0, 1, 2, 3]].mean())
    # The robust set at M = 0 (linear trends allowed) is wider than under parallel trends.
    assert width[0] > o["upper"] - o["lower"]
    fig = res.plot()
    path = tmp_path / "honest.png"
    fig.savefig(path)
    ax = fig.axes[0]
    assert ax.get_xticklabels()[0].get_text() == "PT"
    assert "Average post-period effect" in ax.get_ylabel()
    assert path.stat().st_size > 0


def test_relative_magnitudes_zero_is_pointwise(cs_varying):
    """Mbar = 0 forbids any post-period violation: the set is the original CI up to a grid step."""
    h = HonestDiD(cs_varying.aggregate("dynamic"))
    res = h.fit(restriction="relative_magnitudes", m=[0], method="conditional")
    sd = res.original["std_error"]
    lo, hi = res.table.loc[0, ["lower", "upper"]]
    # The conditional test is less powerful than the two-sided z-test at the edges.
    assert lo <= res.original["lower"] + 0.05 * sd and hi >= res.original["upper"] - 0.05 * sd
    assert hi - lo < 1.3 * (res.original["upper"] - res.original["lower"])


def test_errors(mpdta, cs_varying):
    with pytest.raises(ConfigError, match="group"):
        HonestDiD(cs_varying.aggregate("group"))
    with pytest.raises(ConfigError, match="not available"):
        HonestDiD(cs_varying.aggregate("dynamic")).fit(restriction="relative_magnitudes",
                                                      method="flci")
    with pytest.raises(ConfigError, match="post-period event time"):
        HonestDiD(cs_varying.aggregate("dynamic"), target=7)
    es = EventStudy(mpdta, outcome="lemp", unit="countyreal", period="year",
                    first_treated="first.treat", leads=2, lags=2).fit()
    with pytest.raises(ConfigError, match="binned"):
        HonestDiD(es)
