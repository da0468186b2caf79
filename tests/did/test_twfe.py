"""TWFE: reference values (fixest/pyfixest, linearmodels, R bacondecomp), simulation, errors."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from evalkit.datasets import rsa_experiment
from evalkit.did.checks import FewClustersWarning, SmallGroupWarning
from evalkit.did.twfe import TWFE
from evalkit.errors import DataValidationError, EmptyDataError, TreatmentTimingError

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


def _mpdta_model(df, **kw):
    return TWFE(df, outcome="lemp", unit="countyreal", period="year",
                first_treated="first.treat", **kw)


def test_mpdta_matches_fixest_crv1(mpdta):
    """Reference README: beta -0.0365, clustered-by-county SE 0.0133 (fixest/pyfixest CRV1)."""
    res = _mpdta_model(mpdta).fit()
    assert_allclose(res.att, -0.0365, atol=5e-5)
    assert_allclose(res.std_errors["treated"], 0.0133, atol=5e-5)
    assert res.df_resid == 499  # t(G-1)
    assert res.se_type == "CRV1"


def test_mpdta_linearmodels_convention(mpdta):
    """Reference README: 0.0148 with linearmodels' default clustered covariance."""
    res = _mpdta_model(mpdta).fit(se="linearmodels")
    assert_allclose(res.att, -0.0365, atol=5e-5)
    assert_allclose(res.std_errors["treated"], 0.0148, atol=5e-5)


def castle_as_in_r():
    """causaldata's castle with adoption coded as in R ``bacondecomp::castle``.

    R's copy dates each law one year before causaldata's ``post`` switches on
    (first treated year = first post year - 1); with that coding the TWFE
    coefficient reproduces the vignette's 0.0818116169306475 to 1e-12, which
    identifies the data.
    """
    castle = pytest.importorskip("causaldata").castle.load_pandas().data
    first_post = castle.loc[castle["post"] == 1].groupby("sid")["year"].min()
    castle = castle[["sid", "year", "l_homicide"]].copy()
    castle["first_treated"] = castle["sid"].map(first_post - 1).fillna(0).astype(int)
    return castle


def test_castle_doctrine_matches_r():
    """R bacondecomp vignette: lm(l_homicide ~ post + factor(state) + factor(year)) = 0.0818116169306475."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        res = TWFE(castle_as_in_r(), outcome="l_homicide", unit="sid", period="year").fit()
    assert_allclose(res.att, 0.0818116169306475, rtol=1e-10)


def test_kernel_matches_panelols_and_statsmodels_on_unbalanced_panel():
    """Unbalanced panel with a time-varying covariate: our within kernel vs PanelOLS (estimates)
    and vs statsmodels OLS with explicit unit/period dummies (estimates and cluster meat)."""
    ds = rsa_experiment.generate(seed=11, n_units=250, n_zones=32, attrition=0.08)
    df = ds["panel"].copy()
    rng = np.random.default_rng(0)
    df["x"] = rng.normal(size=len(df)) + 0.1 * df["period"]
    model = TWFE(df, outcome="return_to_work", covariates=["x"], cluster="zone_id")
    ours = model.fit()
    lm = model.fit(se="linearmodels")
    assert_allclose(ours.params.to_numpy(), lm.params.to_numpy(), rtol=1e-8)

    df["treated"] = (df["first_treated"].gt(0) & (df["period"] >= df["first_treated"])).astype(float)
    sm = smf.ols("return_to_work ~ treated + x + C(unit_id) + C(period)", data=df).fit(
        cov_type="cluster", cov_kwds={"groups": df["zone_id"].to_numpy()})
    assert_allclose(ours.params["treated"], sm.params["treated"], rtol=1e-8)
    # statsmodels counts every dummy in K; ours drops the unit effects nested in zones.
    n, g = len(df), df["zone_id"].nunique()
    k_sm, k_ours = sm.df_model + 1, 2 + df["period"].nunique() - 1
    rescale = np.sqrt((n - k_sm) / (n - k_ours))
    assert_allclose(ours.std_errors["treated"], sm.bse["treated"] * rescale, rtol=1e-6)
    assert g == ours.n_clusters


def _homogeneous_panel(rng, n_units=120, n_periods=6, effect=0.5):
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    first = rng.choice([0, 3, 5], size=n_units)[unit]
    alpha = rng.normal(size=n_units)[unit]
    gamma = rng.normal(size=n_periods)[period - 1]
    # AR(1) errors within unit: clustering by unit is needed.
    e = np.zeros((n_units, n_periods))
    shocks = rng.normal(size=(n_units, n_periods))
    for t in range(n_periods):
        e[:, t] = (0.5 * e[:, t - 1] if t else 0) + shocks[:, t]
    d = (first > 0) & (period >= first)
    y = alpha + gamma + effect * d + e.ravel()
    return pd.DataFrame({"unit_id": unit, "period": period, "first_treated": first, "y": y})


def test_coverage_homogeneous_effect():
    """Homogeneous effect 0.5: TWFE unbiased and 95 % CRV1 intervals cover ~95 %."""
    rng = np.random.default_rng(2024)
    est, cover = [], []
    for _ in range(300):
        res = TWFE(_homogeneous_panel(rng), outcome="y").fit()
        ci = res.conf_int().loc["treated"]
        est.append(res.att)
        cover.append(ci["lower"] <= 0.5 <= ci["upper"])
    assert abs(np.mean(est) - 0.5) < 0.01
    assert 0.92 <= np.mean(cover) <= 0.98


def test_missing_outcomes_go_to_ledger(mpdta):
    df = mpdta.copy()
    df.loc[[0, 7, 9], "lemp"] = np.nan
    res = _mpdta_model(df).fit()
    assert res.n_obs == 2497
    assert res.ledger.n_rows_dropped == 3
    assert "lemp missing" in res.ledger.to_frame()["reason"].tolist()


def test_no_comparison_units():
    df = _homogeneous_panel(np.random.default_rng(1))
    df["first_treated"] = 3
    with pytest.raises(EmptyDataError, match="no untreated comparison units"):
        TWFE(df, outcome="y").fit()


def test_treatment_reversal_is_refused():
    df = _homogeneous_panel(np.random.default_rng(1))
    df["d"] = ((df["first_treated"] > 0) & (df["period"] >= df["first_treated"])).astype(int)
    df.loc[(df["unit_id"] == df.loc[df["d"] == 1, "unit_id"].iloc[0]) & (df["period"] == 6), "d"] = 0
    with pytest.raises(TreatmentTimingError, match="switches off"):
        TWFE(df.drop(columns="first_treated"), outcome="y", first_treated=None, treatment="d")


def test_few_clusters_warns_with_advice():
    df = _homogeneous_panel(np.random.default_rng(1))
    df["region"] = df["unit_id"] % 12
    with pytest.warns(FewClustersWarning, match="wild cluster bootstrap"):
        TWFE(df, outcome="y", cluster="region").fit()


def test_time_invariant_covariate_is_refused(mpdta):
    with pytest.raises(DataValidationError, match="constant within every 'countyreal'"):
        _mpdta_model(mpdta, covariates=["lpop"]).fit()


def test_single_unit_cohort_warns(mpdta):
    df = mpdta.copy()
    lone = df.loc[df["first.treat"] == 0, "countyreal"].iloc[0]
    df.loc[df["countyreal"] == lone, "first.treat"] = 2005
    with pytest.warns(SmallGroupWarning, match="single unit"):
        _mpdta_model(df).fit()


def test_accepts_a_panel_contract(mpdta):
    from evalkit.data import Panel

    panel = Panel(mpdta, unit="countyreal", period="year", outcomes=["lemp"],
                  first_treated="first.treat")
    assert_allclose(TWFE(panel).fit().att, -0.0365, atol=5e-5)


def test_cluster_missing_from_panel_contract(mpdta):
    from evalkit.data import Panel
    from evalkit.errors import MissingColumnError

    panel = Panel(mpdta, unit="countyreal", period="year", outcomes=["lemp"],
                  first_treated="first.treat")
    with pytest.raises(MissingColumnError, match="'state'"):
        TWFE(panel, cluster="state")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), keep=st.floats(0.5, 1.0))
def test_within_kernel_equals_dummy_lstsq_on_unbalanced_panels(seed, keep):
    """Alternating projections (unbalanced) vs explicit unit/period dummies (numpy lstsq)."""
    rng = np.random.default_rng(seed)
    df = _homogeneous_panel(rng, n_units=40, n_periods=6)
    df["x"] = rng.normal(size=len(df))
    df = df[rng.random(len(df)) < keep].reset_index(drop=True)
    units, unit_codes = np.unique(df["unit_id"], return_inverse=True)
    periods, period_codes = np.unique(df["period"], return_inverse=True)
    d = ((df["first_treated"] > 0) & (df["period"] >= df["first_treated"])).to_numpy(float)
    design = np.column_stack([d, df["x"], np.eye(len(units))[unit_codes],
                              np.eye(len(periods))[period_codes][:, 1:]])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return
    beta = np.linalg.lstsq(design, df["y"].to_numpy(), rcond=None)[0][:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = TWFE(df, outcome="y", covariates=["x"]).fit()
    assert_allclose(res.params[["treated", "x"]].to_numpy(), beta, rtol=1e-7, atol=1e-9)
