"""Attrition: WWC boundary table and classification, response model and weights.

References: WWC *Standards Handbook* v4.1, Table II.1 (boundary values at published
points), and the documented examples of R ``baselinr::attrition_boundary`` (which
implements the same table): 8 % overall / 3 pp differential is low under the cautious
boundary; 30 % / 6 pp is high under the cautious and low under the optimistic (liberal)
boundary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.cohort.attrition import attrition, wwc_boundary, wwc_classify
from evalkit.datasets import hope_in_stations as hope
from evalkit.errors import ConfigError, DataValidationError, EmptyDataError


@pytest.mark.parametrize(("overall", "liberal", "cautious"), [
    (0.00, 0.100, 0.057),
    (0.10, 0.109, 0.063),
    (0.30, 0.082, 0.041),
    (0.50, 0.037, 0.010),
    (0.57, 0.021, 0.000),
    (0.65, 0.003, np.nan),
])
def test_wwc_boundary_points(overall, liberal, cautious):
    assert_allclose(wwc_boundary(overall, "liberal"), liberal, atol=1e-12)
    assert_allclose(wwc_boundary(overall, "cautious"), cautious, atol=1e-12)
    assert_allclose(wwc_boundary(overall, "optimistic"), liberal, atol=1e-12)


def test_wwc_classification_examples():
    assert wwc_classify(0.08, 0.03, "cautious") == "low"
    assert wwc_classify(0.30, 0.06, "cautious") == "high"
    assert wwc_classify(0.30, 0.06, "liberal") == "low"
    # On the boundary is low; just above is high; beyond the table is high.
    assert wwc_classify(0.20, 0.054, "cautious") == "low"
    assert wwc_classify(0.20, 0.0541, "cautious") == "high"
    assert wwc_classify(0.60, 0.0, "cautious") == "high"
    assert wwc_classify(0.70, 0.0, "liberal") == "high"
    # Rounded to the nearest whole percent of overall attrition.
    assert wwc_boundary(0.304, "liberal") == wwc_boundary(0.30, "liberal")
    with pytest.raises(ConfigError):
        wwc_boundary(1.5)
    with pytest.raises(ConfigError):
        wwc_boundary(0.2, "lenient")


def test_boundaries_are_monotone_and_ordered():
    from evalkit.cohort.attrition import WWC_CAUTIOUS, WWC_LIBERAL

    both = ~np.isnan(WWC_CAUTIOUS)
    assert (WWC_LIBERAL[both] > WWC_CAUTIOUS[both]).all()
    assert (np.diff(WWC_LIBERAL[20:]) <= 0).all() and (np.diff(WWC_CAUTIOUS[10:58]) <= 0).all()


def test_rates_by_hand():
    df = pd.DataFrame({"g": [1] * 10 + [0] * 10,
                       "responded": [1] * 9 + [0] + [1] * 7 + [0] * 3})
    res = attrition(df, group="g", responded="responded")
    assert_allclose(res.rates["attrition"].to_numpy(), [0.1, 0.3, 0.2])
    assert_allclose(res.differential, 0.2)
    assert res.classification.loc["liberal", "attrition"] == "high"
    assert res.ledger.n_rows_dropped == 4
    assert res.response_model is None and res.weights is None
    frame = res.to_frame()
    assert frame.loc["wwc_cautious", "classification"] == "high"


def test_survey_weights_weight_the_rates():
    df = pd.DataFrame({"g": [1, 1, 0, 0], "responded": [1, 0, 1, 0], "w": [3.0, 1.0, 1.0, 1.0]})
    res = attrition(df, group="g", responded="responded", weight="w")
    assert_allclose(res.rates["attrition"].to_numpy(), [0.25, 0.5, 2 / 6])


@pytest.fixture(scope="module")
def followup():
    ds = hope.generate(seed=21, n_per_station_wave=12_000, reinterview_fraction=0.5)
    base = ds["survey"].set_index("respondent_id")
    covs = ["age", "sex", "nationality_group", "months_homeless", "health_problem",
            "has_id_papers"]
    f = ds["followup"].join(base[covs], on="respondent_id")
    return ds, f, covs


def test_response_model_recovers_the_true_response_coefficients(followup):
    ds, f, covs = followup
    res = attrition(f, group="pilot", responded="responded", covariates=covs, id="respondent_id")
    truth = ds.truth["response_coef"]
    ours = res.response_model.params
    mapping = {"intercept": "intercept", "group[True]": "pilot", "age": "age",
               "sex_male": None, "nationality_group_national": None,
               "nationality_group_non-EU": "nationality_non-EU",
               "months_homeless": "months_homeless", "health_problem": "health_problem",
               "has_id_papers": "has_id_papers"}
    # Female is the reference level of sex here (categories sorted): sex_male = -female.
    expected = {k: truth[v] for k, v in mapping.items() if v is not None}
    expected["sex_male"] = -truth["female"]
    expected["nationality_group_national"] = -truth["nationality_EU"]
    expected["intercept"] = truth["intercept"] + truth["female"] + truth["nationality_EU"]
    z = (ours[list(expected)] - pd.Series(expected)) / res.response_model.std_errors[
        list(expected)]
    assert np.abs(z).max() < 4, z
    # And it is the statsmodels logit.
    x = pd.get_dummies(f[covs], drop_first=True, dtype=float)
    x.insert(0, "pilot", f["pilot"].astype(float))
    sm_fit = sm.Logit(f["responded"].astype(float), sm.add_constant(x)).fit(disp=0)
    assert_allclose(ours.to_numpy(), sm_fit.params.to_numpy(), rtol=1e-6, atol=1e-8)
    assert_allclose(res.response_model.std_errors.to_numpy(), sm_fit.bse.to_numpy(), rtol=1e-5)


def test_response_weights_remove_attrition_bias(followup):
    ds, f, covs = followup
    res = attrition(f, group="pilot", responded="responded", covariates=covs, id="respondent_id")
    assert res.rates.loc[True, "attrition"] < res.rates.loc[False, "attrition"]
    resp = res.weighted_respondents(f.set_index("respondent_id"))
    # Target: mean over everyone drawn (respondents or not) of E[Y_followup | x, group].
    x = pd.DataFrame({
        "age": f["age"], "female": (f["sex"] == "female").astype(float),
        "nationality_EU": (f["nationality_group"] == "EU").astype(float),
        "nationality_non-EU": (f["nationality_group"] == "non-EU").astype(float),
        "months_homeless": f["months_homeless"], "health_problem": f["health_problem"],
        "has_id_papers": f["has_id_papers"]}).to_numpy(float)
    mu0 = ds.truth["outcome_model"]
    tau = ds.truth["effect_model"]
    mean_y = (mu0["intercept"].to_numpy() + mu0["wave2"].to_numpy()
              + x @ mu0[list(hope.FEATURES)].to_numpy().T
              + f["pilot"].to_numpy()[:, None] * (tau["intercept"].to_numpy()
                                                   + x @ tau[list(hope.FEATURES)].to_numpy().T))
    target = pd.DataFrame(mean_y, columns=list(hope.OUTCOMES)).groupby(f["pilot"].to_numpy()).mean()
    for g in (True, False):
        sub = resp[resp["pilot"] == g]
        everyone = f[f["pilot"] == g]
        for outcome in hope.OUTCOMES:
            ipw = np.average(sub[outcome], weights=sub["response_weight"])
            se = sub[outcome].std() / np.sqrt(len(sub))
            assert abs(ipw - target.loc[g, outcome]) < 4 * se, (g, outcome)
        # Respondents hold papers more often than everyone drawn; the weights undo it.
        papers_cc = sub["has_id_papers"].mean()
        papers_ipw = np.average(sub["has_id_papers"], weights=sub["response_weight"])
        se = everyone["has_id_papers"].std() / np.sqrt(len(sub))
        assert papers_cc - everyone["has_id_papers"].mean() > 4 * se
        assert abs(papers_ipw - everyone["has_id_papers"].mean()) < 3 * se
    assert res.ledger.to_frame()["step"].iloc[-1] == "follow-up"
    assert res.ledger.n_rows_dropped == int((f["responded"] == 0).sum())


def test_attrition_errors():
    df = pd.DataFrame({"g": [1, 1, 0, 0], "responded": [1, 2, 1, 0], "x": [1.0, 2, 3, 4]})
    with pytest.raises(DataValidationError, match="0/1"):
        attrition(df, group="g", responded="responded")
    with pytest.raises(EmptyDataError):
        attrition(df.assign(g=1, responded=1), group="g", responded="responded")
    with pytest.raises(EmptyDataError, match="everyone"):
        attrition(df.assign(responded=1), group="g", responded="responded", covariates=["x"])
    with pytest.raises(DataValidationError):
        attrition(df.assign(responded=[1, 0, 1, 0], w=[-1.0, 1, 1, 1]), group="g", responded="responded",
                  weight="w")
