"""Clustered pre-test of parallel trends: Hotelling's T² scaling keeps its size sane.

On the rSa design (60 zones, ~10 treated zones per cohort, 24 pre-period ATT(g,t)) the
chi-square Wald test on the cluster-robust covariance rejects a true null most of the
time; the Hotelling F(q, G - q) version of the same statistic is far closer to its level.
With so few treated clusters it still over-rejects somewhat (cell SEs are themselves too
small, cf. the coverage comment in test_callaway_santanna_simulation.py), hence the bound.
"""

import warnings

import numpy as np
import pytest
from scipy import stats

from evalkit.datasets import rsa_experiment
from evalkit.did import CallawaySantAnna


def fit(panel, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CallawaySantAnna(panel, outcome="return_to_work", unit="unit_id", period="period",
                                first_treated="first_treated", method="unconditional",
                                **kwargs).fit(bootstrap=False)


def test_hotelling_scaling_and_p_value():
    panel = rsa_experiment.generate(seed=0, n_units=1500, n_zones=60).tables["panel"]
    test = fit(panel, cluster="zone_id").pretest
    g, q = 60, test.df
    assert test.n_clusters == g
    np.testing.assert_allclose(test.f_statistic, test.statistic * (g - q) / (q * (g - 1)))
    np.testing.assert_allclose(test.pvalue, stats.f.sf(test.f_statistic, q, g - q))
    assert "Hotelling F" in str(test)


def test_size_under_true_parallel_trends():
    rejections = {"hotelling": 0, "chi2": 0, "unclustered": 0}
    draws = 60
    for seed in range(draws):
        panel = rsa_experiment.generate(seed=seed, n_units=1500, n_zones=60).tables["panel"]
        clustered = fit(panel, cluster="zone_id").pretest
        rejections["hotelling"] += clustered.pvalue < 0.05
        rejections["chi2"] += stats.chi2.sf(clustered.statistic, clustered.df) < 0.05
        rejections["unclustered"] += fit(panel).pretest.pvalue < 0.05
    size = {k: v / draws for k, v in rejections.items()}
    assert size["chi2"] > 0.4
    assert size["hotelling"] < 0.25
    assert size["unclustered"] < 0.12


def test_more_pre_periods_than_clusters_is_explained():
    panel = rsa_experiment.generate(seed=1, n_units=600, n_zones=12).tables["panel"]
    with pytest.warns(UserWarning, match="only 12 clusters"):
        res = CallawaySantAnna(panel, outcome="return_to_work", unit="unit_id",
                               period="period", first_treated="first_treated",
                               method="unconditional", cluster="zone_id").fit(bootstrap=False)
    assert res.pretest is None
