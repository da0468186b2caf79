"""Multiplier bootstrap used by Callaway–Sant'Anna: SEs, sup-t critical values, clusters.

Checks against closed forms: for influence functions ``psi`` the bootstrap
SE must approach ``sqrt(sum psi^2) / n`` and, for independent columns, the
uniform critical value the quantile of the maximum of |N(0, 1)| variables,
``Phi^-1((1 + (1 - alpha)^(1/K)) / 2)``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.stats import norm

from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.multiplier_bootstrap import (
    bootstrap_se,
    multiplier_draws,
    uniform_critical_value,
)


@pytest.mark.parametrize("multiplier", ["rademacher", "mammen"])
def test_bootstrap_se_and_sup_t_critical_value(multiplier):
    rng = np.random.default_rng(0)
    n, k = 3000, 6
    psi = rng.normal(size=(n, k)) * np.arange(1, k + 1)
    draws = multiplier_draws(psi, 4000, n=n, seed=1, multiplier=multiplier)
    se = bootstrap_se(draws)
    assert_allclose(se, np.sqrt((psi ** 2).sum(axis=0)) / n, rtol=0.06)
    crit = uniform_critical_value(draws, se, 0.05)
    assert_allclose(crit, norm.ppf((1 + 0.95 ** (1 / k)) / 2), rtol=0.05)


def test_multipliers_have_mean_zero_unit_variance():
    for multiplier in ("rademacher", "mammen"):
        draws = multiplier_draws(np.eye(5000), 400, n=1, seed=2, multiplier=multiplier)
        assert abs(draws.mean()) < 0.01
        assert_allclose(draws.var(), 1.0, rtol=0.02)


def test_streaming_blocks_do_not_change_the_draw_distribution():
    # More units than one block holds: result still matches the analytic SE.
    rng = np.random.default_rng(3)
    n = 20_000
    psi = rng.normal(size=(n, 2))
    se = bootstrap_se(multiplier_draws(psi, 1000, n=n, seed=4))
    assert_allclose(se, np.sqrt((psi ** 2).sum(axis=0)) / n, rtol=0.08)


def test_degenerate_columns_get_nan_and_are_left_out_of_the_band():
    draws = np.column_stack([np.random.default_rng(5).normal(size=999), np.zeros(999)])
    se = bootstrap_se(draws)
    assert np.isnan(se[1]) and np.isfinite(se[0])
    assert_allclose(uniform_critical_value(draws, se, 0.05), 1.96, rtol=0.1)


def test_cluster_bootstrap_agrees_with_clustered_analytic_se():
    df = pd.read_csv(os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv"))
    df["state"] = df["countyreal"] // 1000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 29 clusters: the few-clusters warning
        model = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                                 first_treated="first.treat", cluster="state")
        analytic = model.fit(bootstrap=False)
        boot = model.fit(n_boot=4999, seed=1)
    # With 29 clusters the IQR-based bootstrap SE runs a few % above the analytic one.
    assert_allclose(boot.std_errors, analytic.std_errors, rtol=0.15)
    assert_allclose(boot.aggregate("dynamic").overall_se,
                    analytic.aggregate("dynamic").overall_se, rtol=0.15)
    unclustered = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                                   first_treated="first.treat").fit(bootstrap=False)
    assert not np.allclose(analytic.std_errors, unclustered.std_errors, rtol=0.01)


@pytest.mark.parametrize("layout", ["unbalanced", "rcs"])
def test_bootstrap_matches_analytic_for_long_layouts(layout):
    df = pd.read_csv(os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv"))
    if layout == "rcs":
        df = df.assign(countyreal=np.arange(len(df)))
    else:
        df = df.drop(index=np.random.default_rng(1).choice(len(df), 200, replace=False))
    model = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                             first_treated="first.treat", covariates=["lpop"],
                             repeated_cross_section=layout == "rcs")
    analytic, boot = model.fit(bootstrap=False), model.fit(n_boot=4999, seed=2)
    assert analytic.info["Data"].startswith({"rcs": "repeated", "unbalanced": "unbalanced"}[layout])
    assert_allclose(boot.std_errors, analytic.std_errors, rtol=0.12)
    assert_allclose(boot.aggregate("group").overall_se, analytic.aggregate("group").overall_se,
                    rtol=0.12)
