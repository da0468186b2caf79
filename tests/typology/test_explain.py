"""Multinomial logit of career type on covariates: equality with statsmodels used
directly (formula interface), recovery of the generator's true coefficients, marginal
effects checked by counterfactual prediction and a numerical delta method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.datasets import cpas_careers
from evalkit.errors import ConfigError, EstimationError, MissingColumnError
from evalkit.typology.explain import TypeMembershipModel
from evalkit.typology.rules import RuleTypology

COVS = ["sex", "age_band", "education", "nationality_group", "contract_months"]
SPEC = {"covariates": COVS, "base": "nonsustainable", "reference": {"age_band": "26-35"},
        "categorical": ["contract_months"]}


@pytest.fixture(scope="module")
def data():
    return cpas_careers.generate(seed=77, n_persons=8000)


@pytest.fixture(scope="module")
def fit(data):
    return TypeMembershipModel(data.truth["career_type"], data["persons"], **SPEC).fit()


def test_equals_statsmodels_formula_fit(data, fit):
    import statsmodels.formula.api as smf

    frame = data["persons"].merge(data.truth["career_type"], on="person_id")
    order = fit.types
    frame["y"] = pd.Categorical(frame["career_type"].astype(str), categories=order).codes
    frame["contract"] = frame["contract_months"].astype(str)
    formula = ("y ~ C(sex, Treatment('M')) + C(age_band, Treatment('26-35')) + "
               "C(education, Treatment('low')) + C(nationality_group, Treatment('Belgian')) + "
               "C(contract, Treatment('12'))")
    ref = smf.mnlogit(formula, frame).fit(method="newton", disp=False)
    ours = fit.coefficients()
    # Formula term order: same covariates and levels, in the same order.
    assert_allclose(ours.to_numpy(), np.asarray(ref.params), rtol=1e-7, atol=1e-9)
    assert_allclose(fit.std_errors.unstack("career_type").reindex(
        index=fit.terms, columns=fit.types[1:]).to_numpy(), np.asarray(ref.bse), rtol=1e-7)
    assert_allclose(fit.fitted.llf, ref.llf, rtol=1e-12)


def test_recovers_true_coefficients(fit):
    """Wald test of estimated = true coefficients (72 of them) does not reject."""
    true = cpas_careers.true_coefficients()
    est = fit.coefficients()
    diff = (est - true.reindex(index=est.index, columns=est.columns)).to_numpy().ravel(order="F")
    cov = np.asarray(fit.fitted.cov_params())
    assert_allclose(np.sqrt(np.diag(cov)), np.asarray(fit.fitted.bse).ravel(order="F"))
    wald = diff @ np.linalg.solve(cov, diff)
    assert stats.chi2.sf(wald, len(diff)) > 0.001
    z = diff / np.sqrt(np.diag(cov))
    assert np.abs(z).max() < 4.5


def test_derivative_effects_are_statsmodels_get_margeff(fit):
    ame = fit.marginal_effects(kind="derivative")
    ref = fit.fitted.get_margeff(at="overall", method="dydx")
    k = len(fit.types)
    assert_allclose(ame["ame"].unstack("career_type").reindex(
        index=fit.terms[1:], columns=fit.types).to_numpy(),
        np.asarray(ref.margeff).reshape(-1, k), rtol=1e-12)
    assert_allclose(ame["std_error"].unstack("career_type").reindex(
        index=fit.terms[1:], columns=fit.types).to_numpy(),
        np.asarray(ref.margeff_se).reshape(-1, k), rtol=1e-12)


def test_discrete_effects_by_counterfactual_prediction_and_numeric_delta(fit):
    ame = fit.marginal_effects()
    assert_allclose(ame.groupby("term")["ame"].sum(), 0.0, atol=1e-12)
    design = fit._model.design
    params = np.asarray(fit.fitted.params)
    cov = np.asarray(fit.fitted.cov_params())
    model = fit.fitted.model

    def change(flat, term, siblings):
        x0 = design.copy()
        x0[siblings] = 0.0
        x1 = x0.copy()
        x1[term] = 1.0
        b = flat.reshape(params.shape, order="F")
        return (np.asarray(model.predict(b, x1)) - np.asarray(model.predict(b, x0))).mean(0)

    for term, siblings in (("age_band[56-64]", fit._model.dummies["age_band"]),
                           ("education[high]", fit._model.dummies["education"]),
                           ("sex[F]", ["sex[F]"])):
        flat = params.ravel(order="F")
        point = change(flat, term, siblings)
        got = ame.xs(term, level="term").reindex(fit.types)
        assert_allclose(got["ame"], point, rtol=1e-10, atol=1e-14)
        h = 1e-6
        jac = np.empty((len(point), len(flat)))
        for j in range(len(flat)):
            step = np.zeros_like(flat)
            step[j] = h
            jac[:, j] = (change(flat + step, term, siblings)
                         - change(flat - step, term, siblings)) / (2 * h)
        se = np.sqrt(np.einsum("ka,ab,kb->k", jac, cov, jac))
        assert_allclose(got["std_error"], se, rtol=1e-5)


def test_marginal_effects_recover_truth_in_probability_terms(data, fit):
    """True AME of being 56-64 on 'allowance', computed from the true logit, lies in the CI."""
    true = cpas_careers.true_coefficients()
    design = fit._model.design.copy()
    design[fit._model.dummies["age_band"]] = 0.0
    beta = true.reindex(index=design.columns, columns=fit.types[1:]).to_numpy()

    def probs(x):
        eta = np.column_stack([np.zeros(len(x)), x @ beta])
        e = np.exp(eta - eta.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    older = design.copy()
    older["age_band[56-64]"] = 1.0
    true_ame = (probs(older.to_numpy()) - probs(design.to_numpy())).mean(0)
    got = fit.marginal_effects(level=0.999).xs("age_band[56-64]", level="term").reindex(fit.types)
    assert ((got["ci_lower"] <= true_ame) & (true_ame <= got["ci_upper"])).all()
    assert got.loc["allowance", "ame"] > 0.2


def test_accepts_rule_typology_results_and_records_missing_covariates(data):
    persons = data["persons"].copy()
    persons["education"] = persons["education"].astype(object)
    persons.loc[:49, "education"] = None
    rules = RuleTypology(data["sequences"]).fit()
    res = TypeMembershipModel(rules, persons, **SPEC).fit()
    assert res.fitted.nobs == 8000 - 50
    assert res.ledger.n_persons_dropped == 50
    # Persons missing from either table are dropped and recorded, not lost silently.
    partial = TypeMembershipModel(rules, persons.iloc[100:], **SPEC)
    typed_only = TypeMembershipModel(rules.types.iloc[:7900][["person_id", "career_type"]],
                                     persons, **SPEC)
    # The first 100 persons (the 50 with missing education among them) have no covariates.
    assert partial.table.ledger.n_persons_dropped == 100
    # The last 100 have no type; the first 50 have missing education.
    assert typed_only.table.ledger.n_persons_dropped == 100 + 50
    text = res.summary()
    assert "base: nonsustainable" in text
    frame = res.to_frame()
    assert {"estimate", "std_error", "ci_lower"} <= set(frame.columns)
    rrr = res.odds_ratios()
    assert_allclose(rrr["rrr"], np.exp(res.params))
    prob = res.predict()
    assert_allclose(prob.sum(axis=1), 1.0)
    # Mean fitted probabilities equal observed shares (MLE with an intercept).
    observed = res._model.table.data["career_type"].value_counts(normalize=True)
    assert_allclose(prob.mean(), observed.reindex(prob.columns), atol=1e-8)
    import matplotlib.pyplot as plt

    fig = res.plot()
    assert len(fig.axes) == 7
    plt.close(fig)


def test_clear_errors(data):
    types, persons = data.truth["career_type"], data["persons"]
    with pytest.raises(ConfigError, match="base type"):
        TypeMembershipModel(types, persons, covariates=["sex"], base="nope")
    with pytest.raises(ConfigError, match="reference level"):
        TypeMembershipModel(types, persons, covariates=["sex"], reference={"sex": "X"})
    with pytest.raises(MissingColumnError):
        TypeMembershipModel(types, persons, covariates=["income"])
    with pytest.raises(EstimationError, match="do not vary"):
        TypeMembershipModel(types, persons.assign(one=1.0), covariates=["sex", "one"])
    sparse = types.copy()
    sparse["career_type"] = sparse["career_type"].astype(str)
    old = persons["age_band"].astype(str) == "56-64"
    sparse.loc[old.to_numpy() & (sparse["career_type"] == "onem_activation").to_numpy(),
               "career_type"] = "nonsustainable"
    with pytest.raises(EstimationError, match="onem_activation x age_band=56-64"):
        TypeMembershipModel(sparse, persons, covariates=["age_band"]).fit()
    tiny = types.copy()
    tiny["career_type"] = tiny["career_type"].astype(str)
    tiny.loc[0, "career_type"] = "rare"
    with pytest.raises(EstimationError, match="fewer than 2"):
        TypeMembershipModel(tiny, persons, covariates=["sex"]).fit()


@pytest.mark.slow
def test_coverage_of_coefficient_intervals():
    """95 % Wald intervals of the 72 coefficients cover the truth ~95 % of the time."""
    true = cpas_careers.true_coefficients()
    hits = []
    # 10,000 persons: at a few thousand, some type x level cells (e.g. ONEM activation
    # at 56-64) are empty in some draws and the logit has no finite maximum.
    for rep in range(40):
        d = cpas_careers.generate(seed=1000 + rep, n_persons=10_000)
        res = TypeMembershipModel(d.truth["career_type"], d["persons"], **SPEC).fit()
        ci = res.conf_int()
        t = true.T.stack().reindex(ci.index)
        hits.append(((ci["lower"] <= t) & (t <= ci["upper"])).mean())
    assert abs(np.mean(hits) - 0.95) < 0.02


def test_cluster_robust_errors_match_statsmodels(data):
    import statsmodels.api as sm

    model = TypeMembershipModel(data.truth["career_type"], data["persons"], cluster="cpas",
                                covariates=["sex", "education"], base="nonsustainable")
    res = model.fit(se="cluster")
    y = pd.Categorical(model.table.data["career_type"], categories=res.types).codes
    groups = pd.factorize(model.table.data["cpas"])[0]
    ref = sm.MNLogit(y, model.design).fit(method="newton", disp=False, cov_type="cluster",
                                          cov_kwds={"groups": groups})
    assert_allclose(res.coefficients().to_numpy(), np.asarray(ref.params), rtol=1e-10)
    assert_allclose(res.std_errors.unstack("career_type").reindex(
        index=res.terms, columns=res.types[1:]).to_numpy(), np.asarray(ref.bse), rtol=1e-10)
    with pytest.raises(ConfigError, match="cluster"):
        TypeMembershipModel(data.truth["career_type"], data["persons"], covariates=["sex"]).fit(
            se="cluster")


def test_continuous_covariate_gets_the_statsmodels_derivative(data):
    model = TypeMembershipModel(data.truth["career_type"], data["persons"],
                                covariates=["age", "sex"], base="nonsustainable")
    res = model.fit()
    ame = res.marginal_effects()
    ref = res.fitted.get_margeff(at="overall", method="dydx")
    k = len(res.types)
    age_row = res.terms[1:].index("age")
    assert_allclose(ame.xs("age", level="term").reindex(res.types)["ame"],
                    np.asarray(ref.margeff).reshape(-1, k)[age_row], rtol=1e-12)
    # Older persons are more often on an allowance (pension, invalidity) in the generator.
    assert ame.loc[("allowance", "age"), "ame"] > 0
    assert ame.loc[("allowance", "age"), "p_value"] < 1e-6
