"""Wald tests of differences between cohorts from the stored influence functions."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.errors import ConfigError

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def group_agg():
    df = pd.read_csv(MPDTA)
    cs = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                          first_treated="first.treat").fit(bootstrap=False)
    return cs.aggregate("group")


def test_pairwise_contrast_is_the_squared_z_of_the_difference(group_agg):
    """theta(2004) - theta(2006) by hand from the two columns of influence functions.

    The cohorts share the never-treated comparison units, so their estimates are
    positively correlated: treating them as independent (se1^2 + se2^2) would
    understate the evidence of a difference.
    """
    test = group_agg.contrast_test([[1, -1, 0]])
    psi = group_agg.influence
    n = psi.shape[0]
    diff = group_agg.params.loc[2004] - group_agg.params.loc[2006]
    se = np.sqrt(np.sum((psi[:, 0] - psi[:, 1]) ** 2)) / n
    assert_allclose(test.statistic, (diff / se) ** 2, rtol=1e-10)
    assert_allclose(test.pvalue, 2 * stats.norm.sf(abs(diff / se)), rtol=1e-8)
    assert np.sum(psi[:, 0] * psi[:, 1]) > 0
    independent = np.hypot(group_agg.std_errors.loc[2004], group_agg.std_errors.loc[2006])
    assert se < independent


def test_all_equal_and_errors(group_agg):
    test = group_agg.contrast_test()
    assert test.df == 2 and 0 < test.pvalue < 1
    assert "3 group estimates equal" in str(test)
    with pytest.raises(ConfigError, match="3 columns"):
        group_agg.contrast_test([[1, -1]])
