"""Goodman-Bacon decomposition: R bacondecomp castle vignette, exact TWFE identity, warnings."""

import os
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from evalkit.datasets import rsa_experiment
from evalkit.did.bacon import (
    EARLIER_VS_LATER,
    LATER_VS_EARLIER,
    TREATED_VS_UNTREATED,
    BaconDecomposition,
    ForbiddenComparisonWarning,
)
from evalkit.did.checks import SmallGroupWarning
from evalkit.did.twfe import TWFE
from evalkit.errors import ConfigError, DataValidationError

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def castle():
    from test_twfe import castle_as_in_r

    return castle_as_in_r()


@pytest.fixture(scope="module")
def castle_bacon(castle):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        warnings.simplefilter("ignore", ForbiddenComparisonWarning)
        return BaconDecomposition(castle, outcome="l_homicide", unit="sid", period="year").fit()


def test_castle_matches_r_bacondecomp(castle_bacon):
    """R bacondecomp vignette (bacon(l_homicide ~ post, castle)):
    Earlier vs Later 0.05976 / -0.00554, Later vs Earlier 0.03190 / 0.07032,
    Treated vs Untreated 0.90834 / 0.08796; TWFE 0.0818116169306475;
    heaviest 2x2: 2006 vs never, estimate 0.06823587, weight 0.5923947."""
    by_type = castle_bacon.by_type()
    assert_allclose(by_type.loc[[EARLIER_VS_LATER, LATER_VS_EARLIER, TREATED_VS_UNTREATED],
                                "weight"], [0.05976, 0.03190, 0.90834], atol=5e-6)
    assert_allclose(by_type.loc[[EARLIER_VS_LATER, LATER_VS_EARLIER, TREATED_VS_UNTREATED],
                                "avg_estimate"], [-0.00554, 0.07032, 0.08796], atol=5e-6)
    top = castle_bacon.to_frame().iloc[0]
    assert top["treated"] == 2006 and np.isinf(top["control"])
    assert_allclose([top["estimate"], top["weight"]], [0.06823587, 0.5923947], atol=5e-9)
    assert_allclose(castle_bacon.twfe, 0.0818116169306475, rtol=1e-10)
    assert_allclose(castle_bacon.weighted_sum, castle_bacon.twfe, rtol=1e-12)
    assert_allclose(castle_bacon.comparisons["weight"].sum(), 1.0, rtol=1e-12)


def test_forbidden_weight_warning_says_how_much(castle):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        with pytest.warns(ForbiddenComparisonWarning, match=r"3\.2% of the TWFE weight"):
            BaconDecomposition(castle, outcome="l_homicide", unit="sid", period="year").fit()


def test_weighted_sum_equals_twfe_on_rsa_and_mpdta():
    ds = rsa_experiment.generate(seed=3, n_units=4_000, n_zones=40)
    with pytest.warns(ForbiddenComparisonWarning):
        res = BaconDecomposition(ds["panel"], outcome="return_to_work").fit()
    twfe = TWFE(ds["panel"], outcome="return_to_work", cluster="zone_id").fit().att
    assert_allclose(res.weighted_sum, twfe, rtol=1e-10)
    assert res.forbidden_weight > 0.05
    mpdta = pd.read_csv(os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv"))
    res = BaconDecomposition(mpdta, outcome="lemp", unit="countyreal", period="year",
                             first_treated="first.treat").fit(warn_forbidden=False)
    assert_allclose(res.weighted_sum, -0.0365489366740672, rtol=1e-10)
    assert len(res.comparisons) == 3 + 2 * 3


def test_homogeneous_effect_every_comparison_is_unbiased():
    """With a constant effect and no noise every 2x2 equals it, forbidden ones included."""
    rng = np.random.default_rng(0)
    n, t = 90, 8
    unit = np.repeat(np.arange(n), t)
    period = np.tile(np.arange(1, t + 1), n)
    first = np.array([0, 3, 6])[unit % 3]
    y = rng.normal(size=n)[unit] + rng.normal(size=t)[period - 1] + 2.0 * ((first > 0) & (period >= first))
    df = pd.DataFrame({"unit_id": unit, "period": period, "first_treated": first, "y": y})
    res = BaconDecomposition(df, outcome="y").fit(warn_forbidden=False)
    assert_allclose(res.comparisons["estimate"], 2.0, rtol=1e-10)


def test_plot_and_frame(castle_bacon):
    fig = castle_bacon.plot()
    assert fig.axes[0].get_xlabel() == "Weight"
    assert list(castle_bacon.to_frame().columns) == ["treated", "control", "type", "estimate", "weight"]
    assert "forbidden" in castle_bacon.summary()


def test_unbalanced_panel_and_covariates_are_refused():
    ds = rsa_experiment.generate(seed=3, n_units=500, n_zones=40, attrition=0.1)
    with pytest.raises(DataValidationError, match="balanced panel"):
        BaconDecomposition(ds["panel"], outcome="return_to_work").fit()
    with pytest.raises(ConfigError, match="covariates"):
        BaconDecomposition(ds["panel"], outcome="return_to_work", covariates=["age"])


@settings(max_examples=40, deadline=None)
@given(
    n_periods=st.integers(3, 9),
    cohort_draws=st.lists(st.integers(2, 9), min_size=1, max_size=4),
    with_never=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_identity_on_random_balanced_panels(n_periods, cohort_draws, with_never, seed):
    """Theorem 1 on arbitrary designs: weights sum to one and the weighted 2x2s equal the TWFE
    coefficient of a dummy-variable least-squares fit (numpy lstsq, no shared code)."""
    cohorts = sorted({min(c, n_periods) for c in cohort_draws})
    groups = cohorts + ([0] if with_never else [])
    if len(groups) < 2:
        return
    rng = np.random.default_rng(seed)
    n_units = 4 * len(groups)
    first = np.array(groups)[np.arange(n_units) % len(groups)]
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    ft = first[unit]
    d = ((ft > 0) & (period >= ft)).astype(float)
    y = rng.normal(size=len(unit)) + d * rng.normal(1, 1, size=len(unit))
    df = pd.DataFrame({"unit_id": unit, "period": period, "first_treated": ft, "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = BaconDecomposition(df, outcome="y").fit(warn_forbidden=False)
    dummies = np.column_stack([d, np.eye(n_units)[unit], np.eye(n_periods)[period - 1][:, 1:]])
    beta = np.linalg.lstsq(dummies, y, rcond=None)[0][0]
    assert_allclose(res.comparisons["weight"].sum(), 1.0, rtol=1e-10)
    assert_allclose(res.weighted_sum, beta, rtol=1e-8, atol=1e-10)
