"""Event study: independent statsmodels computation on mpdta, binning, pre-trend test, coverage."""

import os

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

from evalkit.did.event_study import EventStudy
from evalkit.errors import ConfigError, EstimationError

matplotlib.use("Agg")
MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def mpdta_half(mpdta):
    """Every other county: statsmodels with explicit dummies is O(N K^2), keep it quick."""
    counties = np.sort(mpdta["countyreal"].unique())[::2]
    return mpdta[mpdta["countyreal"].isin(counties)].reset_index(drop=True)


def _statsmodels_event_study(df, event_times, *, lo=None, hi=None, drop_never=False):
    """Independent computation: OLS with explicit unit/year dummies, cluster by county."""
    d = df.copy()
    treated = d["first.treat"] > 0
    e = np.where(treated, d["year"] - d["first.treat"], -999)
    if lo is not None:
        e = np.where(treated, np.clip(e, lo, hi), e)
    names = []
    for k in event_times:
        name = f"e_{'m' if k < 0 else 'p'}{abs(k)}"
        d[name] = (e == k).astype(float)
        names.append(name)
    fit = smf.ols(f"lemp ~ {' + '.join(names)} + C(countyreal) + C(year)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": d["countyreal"].to_numpy()})
    n, k_sm = len(d), fit.df_model + 1
    k_crv1 = len(names) + d["year"].nunique() - 1  # unit effects nested in county clusters
    rescale = np.sqrt((n - k_sm) / (n - k_crv1))
    return fit, names, rescale


def test_mpdta_matches_statsmodels_dummies(mpdta_half):
    mpdta = mpdta_half
    res = EventStudy(mpdta, outcome="lemp", unit="countyreal", period="year",
                     first_treated="first.treat").fit()
    times = [-4, -3, -2, 0, 1, 2, 3]
    assert list(res.params.index) == times
    fit, names, rescale = _statsmodels_event_study(mpdta, times)
    assert_allclose(res.params.to_numpy(), fit.params[names].to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), fit.bse[names].to_numpy() * rescale, rtol=1e-6)
    # Joint pre-trend Wald test against statsmodels' wald_test on the same leads.
    test = res.pretrend_test()
    sm = fit.wald_test(", ".join(f"{n} = 0" for n in names[:3]), use_f=False, scalar=True)
    assert_allclose(test.chi2, float(sm.statistic) * rescale**-2, rtol=1e-6)
    assert test.df == 3 and test.df_denom == mpdta["countyreal"].nunique() - 1


def test_binned_endpoints_match_statsmodels(mpdta_half):
    mpdta = mpdta_half
    res = EventStudy(mpdta, outcome="lemp", unit="countyreal", period="year",
                     first_treated="first.treat", leads=2, lags=1).fit()
    assert list(res.params.index) == [-2, 0, 1]
    assert res.binned == {-2: "-2 or earlier", 1: "1 or later"}
    fit, names, rescale = _statsmodels_event_study(mpdta, [-2, 0, 1], lo=-2, hi=1)
    assert_allclose(res.params.to_numpy(), fit.params[names].to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), fit.bse[names].to_numpy() * rescale, rtol=1e-6)


def test_dropped_endpoints_are_recorded(mpdta):
    res = EventStudy(mpdta, outcome="lemp", unit="countyreal", period="year",
                     first_treated="first.treat", leads=2, lags=1, endpoints="drop").fit()
    dropped = res.ledger.to_frame().iloc[-1]
    e = mpdta["year"] - mpdta["first.treat"]
    expected = int(((mpdta["first.treat"] > 0) & ((e < -2) | (e > 1))).sum())
    assert dropped["n_rows"] == expected
    assert "outside event window" in dropped["reason"]


def test_without_never_treated_needs_two_references(mpdta_half):
    treated_only = mpdta_half[mpdta_half["first.treat"] > 0]
    kwargs = dict(outcome="lemp", unit="countyreal", period="year", first_treated="first.treat")
    with pytest.raises(EstimationError, match="second reference period"):
        EventStudy(treated_only, **kwargs).fit()
    res = EventStudy(treated_only, reference=(-1, -4), **kwargs).fit()
    fit, names, _ = _statsmodels_event_study(treated_only, [-3, -2, 0, 1, 2, 3])
    assert_allclose(res.params.to_numpy(), fit.params[names].to_numpy(), rtol=1e-8)
    # Same fit when the never-treated are dropped by the estimator (and recorded).
    dropped = EventStudy(mpdta_half, reference=(-1, -4), never_treated="drop", **kwargs).fit()
    assert_allclose(dropped.params.to_numpy(), res.params.to_numpy(), rtol=1e-10)
    assert "never-treated" in dropped.ledger.to_frame()["reason"].iloc[-1]


def test_bad_configuration(mpdta):
    kwargs = dict(outcome="lemp", unit="countyreal", period="year", first_treated="first.treat")
    with pytest.raises(ConfigError, match="outside the event window"):
        EventStudy(mpdta, reference=-3, leads=2, **kwargs).fit()
    with pytest.raises(ConfigError, match="endpoints"):
        EventStudy(mpdta, endpoints="trim", **kwargs)
    res = EventStudy(mpdta, leads=0, reference=0, **kwargs).fit()
    with pytest.raises(EstimationError, match="pre-trends cannot"):
        res.pretrend_test()


def test_plot(mpdta):
    res = EventStudy(mpdta, outcome="lemp", unit="countyreal", period="year",
                     first_treated="first.treat").fit()
    fig = res.plot()
    assert fig.axes[0].get_xlabel() == "Periods relative to first treatment"


def _dynamic_panel(rng, n_units=150, n_periods=8):
    """Effect depends on event time only (same in every cohort): the event study is correct."""
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    first = rng.choice([0, 4, 6], size=n_units)[unit]
    e = period - first
    effect = np.where((first > 0) & (e >= 0), 0.3 + 0.2 * np.minimum(e, 2), 0.0)
    y = rng.normal(size=n_units)[unit] + 0.1 * period + effect + rng.normal(size=len(unit))
    return pd.DataFrame({"unit_id": unit, "period": period, "first_treated": first, "y": y})


def test_coverage_and_pretrend_size():
    """True b_e = 0 before, 0.3 + 0.2 min(e, 2) after (so the binned "2 or later" dummy is
    correctly specified): CIs cover ~95 %, the pre-trend test rejects ~5 %."""
    rng = np.random.default_rng(7)
    covered, rejected = [], []
    for _ in range(150):
        res = EventStudy(_dynamic_panel(rng), outcome="y", leads=3, lags=2).fit()
        truth = np.array([0.0 if e < 0 else 0.3 + 0.2 * min(e, 2) for e in res.params.index])
        ci = res.conf_int()
        covered.append(((ci["lower"] <= truth) & (truth <= ci["upper"])).to_numpy())
        rejected.append(res.pretrend_test().pvalue_f < 0.05)
    covered = np.array(covered)
    assert 0.91 <= covered.mean() <= 0.98
    assert covered.mean(axis=0).min() > 0.88
    assert np.mean(rejected) <= 0.11
