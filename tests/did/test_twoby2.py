"""2x2 DiD: R did / DRDID reference values on mpdta, peer drdid, statsmodels, coverage, errors."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from numpy.testing import assert_allclose

from evalkit.did.checks import FewClustersWarning
from evalkit.did.twoby2 import DiD2x2
from evalkit.errors import DataValidationError, EmptyDataError

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta_2004():
    """Cohort 2004 vs never treated, years 2003-2004: the 2x2 behind R's ATT(2004, 2004)."""
    df = pd.read_csv(MPDTA)
    df = df[df["first.treat"].isin([0, 2004])].copy()
    df["g"] = (df["first.treat"] == 2004).astype(int)
    return df


@pytest.mark.parametrize("method", ["reg", "or", "ipw", "dr"])
def test_mpdta_att_2004_2004(mpdta_2004, method):
    """R did (xformla=~1): ATT(2004,2004) = -0.0105, analytic SE 0.0233 (reference README)."""
    res = DiD2x2(mpdta_2004, outcome="lemp", group="g", period="year", unit="countyreal",
                 periods=(2003, 2004)).fit(method=method)
    assert_allclose(res.att, -0.0105, atol=5e-5)
    assert_allclose(res.std_errors["att"], 0.0233, atol=1e-4)
    assert res.ledger.to_frame()["step"].tolist() == ["input", "period selection"]
    assert res.n_obs == 2 * 329


def test_mpdta_dr_with_covariate(mpdta_2004):
    """R did xformla=~lpop (DR): ATT(2004,2004) = -0.0145, bootstrap SE 0.0222 (within 10 %)."""
    res = DiD2x2(mpdta_2004, outcome="lemp", group="g", period="year", unit="countyreal",
                 covariates=["lpop"], periods=(2003, 2004)).fit(method="dr")
    assert_allclose(res.att, -0.0145, atol=5e-5)
    assert_allclose(res.std_errors["att"], 0.0222, rtol=0.10)


def _stations(rng, n_stations=40, per_wave=60, effect=0.08):
    """Repeated cross-sections: pilot vs comparison stations, two waves, station shocks."""
    station = np.repeat(np.arange(n_stations), 2 * per_wave)
    wave = np.tile(np.repeat([1, 2], per_wave), n_stations)
    pilot = (station % 2 == 0).astype(int)
    age = rng.normal(40, 12, len(station))
    level = rng.normal(0, 0.08, n_stations)[station]
    shock = rng.normal(0, 0.03, (n_stations, 2))[station, wave - 1]
    p = 0.35 + level + 0.05 * (wave == 2) + shock - 0.003 * (age - 40) + effect * pilot * (wave == 2)
    y = (rng.random(len(station)) < np.clip(p, 0, 1)).astype(float)
    return pd.DataFrame({"station": station, "wave": wave, "pilot": pilot, "age": age, "y": y})


def test_rcs_matches_statsmodels_and_peer_drdid():
    df = _stations(np.random.default_rng(3))
    model = DiD2x2(df, outcome="y", group="pilot", period="wave", cluster="station",
                   covariates=["age"], repeated_cross_section=True)
    reg = model.fit()
    sm = smf.ols("y ~ pilot * C(wave) + age", data=df).fit(
        cov_type="cluster", cov_kwds={"groups": df["station"].to_numpy()})
    assert_allclose(reg.att, sm.params["pilot:C(wave)[T.2]"], rtol=1e-10)
    # Same CRV1 convention: statsmodels' default cluster correction is G/(G-1)(N-1)/(N-K).
    assert_allclose(reg.std_errors["att"], sm.bse["pilot:C(wave)[T.2]"], rtol=1e-8)
    peer = pytest.importorskip("drdid._estimators")
    post = (df["wave"] == 2).to_numpy(dtype=float)
    ref = peer.drdid_rc(df["y"].to_numpy(), post, df["pilot"].to_numpy(dtype=float),
                        df[["age"]].to_numpy())
    ours = model.fit(method="dr")
    ref_att = ref["ATT"] if isinstance(ref, dict) else ref[0]
    assert_allclose(ours.att, ref_att, rtol=1e-8)


def test_rcs_coverage_with_station_clusters():
    """200 draws, true effect 0.08: regression and DR 2x2 unbiased, ~95 % coverage."""
    rng = np.random.default_rng(11)
    hits = {"reg": [], "dr": []}
    est = {"reg": [], "dr": []}
    for _ in range(200):
        model = DiD2x2(_stations(rng), outcome="y", group="pilot", period="wave",
                       cluster="station", covariates=["age"], repeated_cross_section=True)
        for method in hits:
            res = model.fit(method=method)
            ci = res.conf_int().loc["att"]
            hits[method].append(ci["lower"] <= 0.08 <= ci["upper"])
            est[method].append(res.att)
    for method in hits:
        assert abs(np.mean(est[method]) - 0.08) < 0.006
        assert 0.91 <= np.mean(hits[method]) <= 0.99


def test_panel_coverage():
    """Panel 2x2 with unit effects and a covariate-dependent trend: DR covers ~95 %."""
    rng = np.random.default_rng(5)
    hits, est = [], []
    for _ in range(200):
        n = 400
        x = rng.normal(size=n)
        d = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(int)
        a = rng.normal(size=n) + 0.5 * d
        y0 = a + rng.normal(size=n)
        y1 = a + 0.3 + 0.4 * x + 1.0 * d + rng.normal(size=n)
        df = pd.DataFrame({"id": np.r_[np.arange(n), np.arange(n)], "t": np.repeat([0, 1], n),
                           "d": np.r_[d, d], "x": np.r_[x, x], "y": np.r_[y0, y1]})
        res = DiD2x2(df, outcome="y", group="d", period="t", unit="id", covariates=["x"]).fit(
            method="dr")
        ci = res.conf_int().loc["att"]
        hits.append(ci["lower"] <= 1.0 <= ci["upper"])
        est.append(res.att)
    assert abs(np.mean(est) - 1.0) < 0.02
    assert 0.92 <= np.mean(hits) <= 0.98


def test_errors_and_ledger(mpdta_2004):
    kw = dict(outcome="lemp", period="year", unit="countyreal")
    with pytest.raises(DataValidationError, match="exactly two periods"):
        DiD2x2(mpdta_2004, group="g", **kw)
    two = mpdta_2004[mpdta_2004["year"].isin([2003, 2004])].copy()
    bad = two.assign(g=two["g"] * 2)
    with pytest.raises(DataValidationError, match="must be 0/1"):
        DiD2x2(bad, group="g", **kw)
    flip = two.copy()
    flip.loc[flip.index[0], "g"] = 1 - flip.loc[flip.index[0], "g"]
    with pytest.raises(DataValidationError, match="changes within"):
        DiD2x2(flip, group="g", **kw)
    lone = two[(two["g"] == 1) | (two["countyreal"] == two.loc[two["g"] == 0, "countyreal"].iloc[0])]
    with pytest.raises(DataValidationError, match="single unit"):
        DiD2x2(lone, group="g", **kw).fit()  # one comparison unit: nothing to compare with
    with pytest.raises(EmptyDataError, match="comparison"):
        DiD2x2(two.assign(g=1), group="g", **kw).fit()
    missing = two.copy()
    missing.loc[missing.index[:3], "lemp"] = np.nan
    res = DiD2x2(missing, group="g", **kw).fit()
    reasons = res.ledger.to_frame()["reason"].tolist()
    assert "lemp missing" in reasons
    assert any("one period only" in r for r in reasons)
    with pytest.raises(DataValidationError, match="collinear with the treated-group"):
        DiD2x2(two.assign(z=two["g"] * 3.0), group="g", covariates=["z"], **kw).fit()


def test_few_clusters_warning():
    df = _stations(np.random.default_rng(1), n_stations=8)
    with pytest.warns(FewClustersWarning, match="only 8 clusters"):
        DiD2x2(df, outcome="y", group="pilot", period="wave", cluster="station",
               repeated_cross_section=True).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewClustersWarning)
        DiD2x2(df, outcome="y", group="pilot", period="wave", repeated_cross_section=True).fit()


HOPE_COVARIATES = ["age", "sex", "nationality_group", "months_homeless", "health_problem",
                   "has_id_papers"]


@pytest.fixture(scope="module")
def hope_survey():
    hope = pytest.importorskip("evalkit.datasets.hope_in_stations")
    return hope.generate(seed=3, n_per_station_wave=5000, station_effect_scale=1.0)


def test_hope_in_stations_composition_change(hope_survey):
    """Pilot stations reach other people after integration (covariate composition changes).
    Regression imputation recovers the true pilot x post effect; the unadjusted 2x2 converges
    to the generator's stated limit (ATT + composition bias)."""
    survey, truth = hope_survey["survey"], hope_survey.truth
    for outcome in ["slept_in_shelter", "access_to_care", "has_income"]:
        with pytest.warns(FewClustersWarning, match="only 7 clusters"):
            adjusted = DiD2x2(survey, outcome=outcome, group="pilot", period="wave",
                              cluster="station", covariates=HOPE_COVARIATES,
                              repeated_cross_section=True).fit(method="imputation")
            raw = DiD2x2(survey, outcome=outcome, group="pilot", period="wave", cluster="station",
                         repeated_cross_section=True).fit()
        assert abs(adjusted.att - truth["did_pilot_post"][outcome]) < 0.02
        assert abs(raw.att - truth["did_unadjusted_limit"][outcome]) < 0.02
        if outcome != "slept_in_shelter":  # composition bias of 0.05-0.08 in these two
            assert abs(raw.att - truth["did_pilot_post"][outcome]) > 0.03


def test_imputation_equals_two_step_statsmodels(hope_survey):
    """One-regression imputation == fit Y(0) on untreated cells (statsmodels), average residuals."""
    survey = hope_survey["survey"].iloc[::10].reset_index(drop=True)
    res = DiD2x2(survey, outcome="access_to_care", group="pilot", period="wave",
                 covariates=["age", "months_homeless", "health_problem"],
                 repeated_cross_section=True).fit(method="imputation")
    df = survey.assign(post=(survey["wave"] == 2).astype(int), treated=survey["pilot"].astype(int))
    untreated = df[~((df["treated"] == 1) & (df["post"] == 1))]
    y0 = smf.ols("access_to_care ~ treated + post + age + months_homeless + health_problem",
                 data=untreated).fit()
    cell = df[(df["treated"] == 1) & (df["post"] == 1)]
    assert_allclose(res.att, (cell["access_to_care"] - y0.predict(cell)).mean(), rtol=1e-10)


def test_accepts_a_panel_contract(mpdta_2004):
    from evalkit.data import Panel

    two = mpdta_2004[mpdta_2004["year"].isin([2003, 2004])]
    panel = Panel(two, unit="countyreal", period="year", outcomes=["lemp"],
                  first_treated="first.treat", covariates=["lpop"])
    assert_allclose(DiD2x2(panel).fit().att, -0.0105, atol=5e-5)
    assert_allclose(DiD2x2(panel).fit(method="dr").att, -0.0145, atol=5e-5)
    with pytest.raises(DataValidationError, match="exactly two periods"):
        DiD2x2(Panel(mpdta_2004, unit="countyreal", period="year", outcomes=["lemp"],
                     first_treated="first.treat"))


def test_survey_weights_match_statsmodels_wls_and_peer_drdid():
    rng = np.random.default_rng(8)
    df = _stations(rng)
    df["w"] = rng.uniform(0.2, 3.0, len(df))
    model = DiD2x2(df, outcome="y", group="pilot", period="wave", cluster="station",
                   covariates=["age"], weight="w", repeated_cross_section=True)
    ours = model.fit()
    sm = smf.wls("y ~ pilot * C(wave) + age", data=df, weights=df["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": df["station"].to_numpy()})
    assert_allclose(ours.att, sm.params["pilot:C(wave)[T.2]"], rtol=1e-10)
    assert_allclose(ours.std_errors["att"], sm.bse["pilot:C(wave)[T.2]"], rtol=1e-8)
    cell = df[(df["pilot"] == 1) & (df["wave"] == 2)]
    assert_allclose(ours.means.loc["treated", "post"], np.average(cell["y"], weights=cell["w"]))
    peer = pytest.importorskip("drdid._estimators")
    ref = peer.drdid_rc(df["y"].to_numpy(), (df["wave"] == 2).to_numpy(dtype=float),
                        df["pilot"].to_numpy(dtype=float), df[["age"]].to_numpy(),
                        i_weights=df["w"].to_numpy())
    ref_att = ref["ATT"] if isinstance(ref, dict) else ref[0]
    assert_allclose(model.fit(method="dr").att, ref_att, rtol=1e-8)


def test_panel_weight_must_be_constant_within_unit(mpdta_2004):
    two = mpdta_2004[mpdta_2004["year"].isin([2003, 2004])].copy()
    two["w"] = np.where(two["year"] == 2003, 1.0, 2.0)
    with pytest.raises(DataValidationError, match="changes within"):
        DiD2x2(two, outcome="lemp", group="g", period="year", unit="countyreal", weight="w")


def test_plot_shows_counterfactual(mpdta_2004):
    import matplotlib

    matplotlib.use("Agg")
    res = DiD2x2(mpdta_2004, outcome="lemp", group="g", period="year", unit="countyreal",
                 periods=(2003, 2004)).fit()
    fig = res.plot()
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    # Treated post minus counterfactual end point = the unadjusted DiD.
    assert_allclose(lines[1].get_ydata()[1] - lines[2].get_ydata()[1], res.att, rtol=1e-10)
