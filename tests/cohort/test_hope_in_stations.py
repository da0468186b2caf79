"""The hope_in_stations generator: structure, determinism, and that its truth is the truth.

The truth checks estimate each true quantity from a large draw with an estimator
no one here wrote (statsmodels Logit/OLS, plain means) and compare within a few
standard errors.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal

from evalkit.datasets import hope_in_stations as hope
from evalkit.errors import ConfigError


@pytest.fixture(scope="module")
def big():
    return hope.generate(seed=11, n_per_station_wave=20_000)


def _features(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "age": df["age"],
        "female": (df["sex"] == "female").astype(float),
        "nationality_EU": (df["nationality_group"] == "EU").astype(float),
        "nationality_non-EU": (df["nationality_group"] == "non-EU").astype(float),
        "months_homeless": df["months_homeless"],
        "health_problem": df["health_problem"],
        "has_id_papers": df["has_id_papers"],
    }).astype(float)


def test_deterministic_and_seed_sensitive():
    a = hope.generate(seed=3, n_per_station_wave=50)
    b = hope.generate(seed=3, n_per_station_wave=50)
    c = hope.generate(seed=4, n_per_station_wave=50)
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["survey"]["age"].equals(c["survey"]["age"])


def test_structure_and_dictionary():
    ds = hope.generate(seed=1, n_per_station_wave=100)
    s = ds["survey"]
    assert len(s) == 7 * 2 * 100
    assert s["respondent_id"].is_unique
    assert s["respondent_id"].str.fullmatch(r"H\d{6}").all()
    assert set(s["station"]) == {st for st, _ in hope.STATIONS}
    assert s.groupby(["station", "wave"]).size().eq(100).all()
    assert_array_equal(s["integrated"], (s["pilot"] & (s["wave"] == 2)).astype(int))
    assert set(s.loc[s["integrated"] == 1, "cohort"]) == {"integrated"}
    assert set(s.loc[(s["wave"] == 2) & ~s["pilot"], "cohort"]) == {"comparison"}
    assert not s.loc[s["wave"] == 2, "reinterviewed"].any()
    f = ds["followup"]
    assert set(f["respondent_id"]) == set(s.loc[s["reinterviewed"], "respondent_id"])
    assert f.loc[f["responded"] == 0, list(hope.OUTCOMES)].isna().all().all()
    assert f.loc[f["responded"] == 1, list(hope.OUTCOMES)].notna().all().all()
    for name, table in ds.tables.items():
        assert list(table.columns) == list(ds.dictionary[name]), name
    assert s[list(hope.BINARY_OUTCOMES)].isin([0, 1]).all().all()
    assert (s["survey_weight"] > 0).all()
    assert s["age"].between(18, 75).all() and s["months_homeless"].between(0, 240).all()


def test_edges_are_a_valid_undirected_edge_list():
    ds = hope.generate(seed=5, n_per_station_wave=10)
    e, orgs = ds["edges"], ds["organisations"]
    assert (e["org_a"] < e["org_b"]).all()
    assert not e.duplicated(["station", "wave", "org_a", "org_b"]).any()
    known = set(zip(orgs["station"], orgs["org"], orgs["sector"], strict=True))
    for side in "ab":
        rows = zip(e["station"], e[f"org_{side}"], e[f"sector_{side}"], strict=True)
        assert set(rows) <= known
    assert set(e["tie_type"]) <= set(hope.TIE_TYPES)
    assert e["intensity"].between(1, 3).all()
    assert orgs.groupby("station").size().eq(14).all()


def test_network_density_rises_at_pilot_stations_in_wave_2():
    # Expected density from the truth vs realised density averaged over 40 draws.
    dens, cross = [], []
    for seed in range(40):
        ds = hope.generate(seed=seed, n_per_station_wave=1)
        e = ds["edges"].assign(cross=lambda f: f["sector_a"] != f["sector_b"])
        pilot_station = e["station"].isin([s for s, _ in hope.PILOT_STATIONS])
        cross.append(e.groupby([pilot_station.rename("pilot"), "wave"])["cross"].mean())
        n_pairs = ds["organisations"].groupby("station").size() * 13 / 2
        got = ds["edges"].groupby(["station", "wave"]).size() / n_pairs.reindex(
            ds["edges"].groupby(["station", "wave"]).size().index, level=0)
        dens.append(got)
    realised = pd.concat(dens, axis=1).fillna(0).mean(axis=1)
    expected = ds.truth["expected_density"].set_index(["station", "wave"])["expected_density"]
    # Expected density varies with each draw's organisation mix only through the number
    # of same-sector pairs; the pilot wave-2 jump is the point.
    pilot2 = expected.xs(2, level="wave")[list(s for s, _ in hope.PILOT_STATIONS)]
    assert (pilot2 > 0.35).all()
    jump = realised.xs(2, level="wave") - realised.xs(1, level="wave")
    assert (jump[[s for s, _ in hope.PILOT_STATIONS]] > 0.15).all()
    assert (jump[[s for s, _ in hope.COMPARISON_STATIONS]].abs() < 0.06).all()
    # Integration raises the share of cross-sector ties at pilot stations.
    share = pd.concat(cross, axis=1).mean(axis=1)
    assert share.loc[(True, 2)] - share.loc[(True, 1)] > 0.1
    assert abs(share.loc[(False, 2)] - share.loc[(False, 1)]) < 0.05


def test_means_stay_inside_zero_one_on_the_whole_support():
    corners = np.array([
        [age, f, nat == 1, nat == 2, m, h, i]
        for age, f, nat, m, h, i in itertools.product([18, 75], [0, 1], [0, 1, 2], [0, 240],
                                                      [0, 1], [0, 1])
    ], dtype=float)
    for wave2 in (False, True):
        mu0 = hope._untreated_means(corners, np.full(len(corners), wave2), np.zeros(len(corners)))
        mu1 = mu0 + hope._effects(corners)
        for mu in (mu0, mu1):
            assert mu[:, :4].min() >= 0.02 and mu[:, :4].max() <= 0.98
            assert mu[:, 4].min() > 0
            # Largest station level (|u| <= 1) keeps probabilities inside (0, 1).
            shifted = mu + hope._untreated_means(np.zeros((1, 7)), np.zeros(1, bool),
                                                 np.ones(1))[0] - hope._MU0["intercept"].to_numpy()
            assert shifted[:, :4].max() < 1
            assert (mu - (shifted - mu))[:, :4].min() > 0


def test_propensity_truth_recovered_by_logit(big):
    w2 = big["survey"].query("wave == 2")
    x = sm.add_constant(_features(w2))
    fit = sm.Logit(w2["integrated"].to_numpy(float), x).fit(disp=0)
    truth = big.truth["propensity_coef"].rename({"intercept": "const"})
    z = (fit.params - truth.reindex(fit.params.index)) / fit.bse
    assert np.abs(z).max() < 4, z


def test_response_truth_recovered_by_logit(big):
    s = big["survey"].set_index("respondent_id")
    f = big["followup"]
    x = _features(s.loc[f["respondent_id"]].reset_index())
    x.insert(0, "pilot", f["pilot"].astype(float).to_numpy())
    x = sm.add_constant(x)
    fit = sm.Logit(f["responded"].to_numpy(float), x).fit(disp=0)
    truth = big.truth["response_coef"].rename({"intercept": "const"})
    z = (fit.params - truth.reindex(fit.params.index)) / fit.bse
    assert np.abs(z).max() < 4, z


def test_outcome_model_truth_recovered_by_ols(big):
    s = big["survey"]
    untreated = s[s["integrated"] == 0]
    x = _features(untreated)
    x["wave2"] = (untreated["wave"] == 2).astype(float)
    x = sm.add_constant(x)
    truth = big.truth["outcome_model"].rename(columns={"intercept": "const"})
    for outcome in hope.OUTCOMES:
        fit = sm.OLS(untreated[outcome].to_numpy(float), x).fit(cov_type="HC1")
        z = (fit.params - truth.loc[outcome, fit.params.index]) / fit.bse
        assert np.abs(z).max() < 4.5, (outcome, z)


def test_att_truth(big):
    # Regression adjustment with the known linear control model is unbiased for the ATT;
    # compare with the truth using the sample SE of the treated mean.
    s = big["survey"]
    treated = s[s["integrated"] == 1]
    x = _features(treated).to_numpy()
    coef = big.truth["outcome_model"]
    mu0 = coef["intercept"].to_numpy() + x @ coef[list(hope.FEATURES)].to_numpy().T + coef[
        "wave2"].to_numpy()
    resid = treated[list(hope.OUTCOMES)].to_numpy(float) - mu0
    est = resid.mean(axis=0)
    se = resid.std(axis=0, ddof=1) / np.sqrt(len(resid))
    z = (est - big.truth["att"].to_numpy()) / se
    assert np.abs(z).max() < 4, z
    assert_allclose(big.truth["att_sample"], big.truth["att"], atol=0.02 * np.abs(big.truth["att"]).max())
    assert_allclose(big.truth["did_pilot_post"], big.truth["att"])


def test_att_pilot_both_waves_truth(big):
    # The effect on the covariate mix of all pilot-station respondents (both waves): the mean
    # of tau(x_i) over them, from the stated effect model, within 4 sampling SEs.
    pilot = big["survey"][big["survey"]["pilot"]]
    tau = big.truth["effect_model"]
    effects = tau["intercept"].to_numpy() + _features(pilot).to_numpy() @ tau[
        list(hope.FEATURES)].to_numpy().T
    se = effects.std(axis=0, ddof=1) / np.sqrt(len(effects))
    z = (effects.mean(axis=0) - big.truth["att_pilot_both_waves"].to_numpy()) / se
    assert np.abs(z).max() < 4, z
    # It differs from the integrated cohort's ATT (the pilot mix changed between waves).
    gap = (big.truth["att_pilot_both_waves"] - big.truth["att"]).abs()
    assert gap[["n_services_used", "perception_score"]].min() > 0.02


def test_naive_difference_is_biased_by_the_stated_amount(big):
    w2 = big["survey"].query("wave == 2")
    g = w2.groupby("integrated")[list(hope.OUTCOMES)]
    diff = g.mean().loc[1] - g.mean().loc[0]
    se = np.sqrt(g.var().loc[1] / g.size().loc[1] + g.var().loc[0] / g.size().loc[0])
    expected = big.truth["att"] + big.truth["naive_bias"]
    assert (np.abs((diff - expected) / se) < 4).all()
    # The bias is material for the outcomes driven by papers and nationality.
    assert (big.truth["naive_bias"][["access_to_care", "has_income"]].abs() > 4 * se[
        ["access_to_care", "has_income"]]).all()


def test_unadjusted_did_limit(big):
    s = big["survey"]
    m = s.groupby(["pilot", "wave"])[list(hope.OUTCOMES)].mean()
    did = (m.loc[(True, 2)] - m.loc[(True, 1)]) - (m.loc[(False, 2)] - m.loc[(False, 1)])
    v = s.groupby(["pilot", "wave"])[list(hope.OUTCOMES)].var() / s.groupby(
        ["pilot", "wave"]).size().to_numpy()[:, None]
    se = np.sqrt(v.sum())
    assert (np.abs((did - big.truth["did_unadjusted_limit"]) / se) < 4).all()


def test_followup_effect_truth(big):
    s = big["survey"].set_index("respondent_id")
    f = big["followup"]
    resp = f[f["responded"] == 1]
    x = _features(s.loc[resp["respondent_id"]].reset_index()).to_numpy()
    coef = big.truth["outcome_model"]
    mu0 = coef["intercept"].to_numpy() + x @ coef[list(hope.FEATURES)].to_numpy().T + coef[
        "wave2"].to_numpy()
    resid = resp[list(hope.OUTCOMES)].to_numpy(float) - mu0
    pilot = resp["pilot"].to_numpy()
    tau = big.truth["effect_model"]
    tau_i = tau["intercept"].to_numpy() + x @ tau[list(hope.FEATURES)].to_numpy().T
    # Among pilot respondents, resid - tau_i has mean 0; among comparison, resid does.
    for sel, target in ((pilot, tau_i), (~pilot, 0.0)):
        r = (resid - target)[sel] if np.ndim(target) else resid[sel]
        z = r.mean(axis=0) / (r.std(axis=0, ddof=1) / np.sqrt(sel.sum()))
        assert np.abs(z).max() < 4, z


def test_no_selection_means_no_naive_bias():
    ds = hope.generate(seed=2, n_per_station_wave=20, selection_strength=0.0, effect_scale=0.0)
    assert_allclose(ds.truth["naive_bias"], 0.0, atol=1e-12)
    assert_allclose(ds.truth["att"], 0.0, atol=1e-12)


@pytest.mark.parametrize("kwargs", [
    {"n_per_station_wave": 0}, {"reinterview_fraction": 1.5}, {"selection_strength": -1},
    {"effect_scale": 3}, {"followup_correlation": 1.0}, {"n_orgs": 3},
])
def test_bad_arguments_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        hope.generate(seed=0, **{"n_per_station_wave": 10, **kwargs})


def test_sample_tables_under_5_mb():
    ds = hope.generate(**hope.SAMPLE_KWARGS)
    for name, table in ds.tables.items():
        assert len(table.to_csv(index=False).encode()) < 5_000_000, name


def test_station_effects_bias_cohort_comparison_but_not_did():
    ds = hope.generate(seed=9, n_per_station_wave=8000, selection_strength=0.0,
                       station_effect_scale=1.0)
    s = ds["survey"]
    level = ds.truth["station_level"]
    assert level.abs().max() <= 1 and level.abs().gt(0).all()
    m = s.groupby(["pilot", "wave"])["perception_score"].mean()
    did = (m.loc[(True, 2)] - m.loc[(True, 1)]) - (m.loc[(False, 2)] - m.loc[(False, 1)])
    se = np.sqrt((s.groupby(["pilot", "wave"])["perception_score"].var()
                  / s.groupby(["pilot", "wave"]).size()).sum())
    att = ds.truth["att"]["perception_score"]
    assert abs(did - att) < 4 * se
    pilot = [st for st, _ in hope.PILOT_STATIONS]
    comp = [st for st, _ in hope.COMPARISON_STATIONS]
    shift = 0.3 * (level[pilot].mean() - level[comp].mean())
    w2 = m.loc[(True, 2)] - m.loc[(False, 2)]
    assert abs(w2 - (att + shift)) < 4 * se
