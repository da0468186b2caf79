"""Propensity score: logit vs statsmodels, Crump et al. trimming, overlap, errors."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.cohort.comparison import CohortComparison
from evalkit.cohort.propensity import PropensityScore, crump_alpha
from evalkit.errors import DataValidationError, EmptyDataError, OverlapError, OverlapWarning

COVARIATES = ["mmarried_", "mage", "fbaby_", "medu", "prenatal1_"]


@pytest.fixture(scope="module")
def cattaneo():
    df = pd.read_csv(Path(statsmodels.__file__).parent / "treatment/tests/results/cataneo2.csv")
    df["w"] = np.random.default_rng(0).uniform(0.2, 5.0, len(df))
    return df


def test_logit_matches_statsmodels_logit(cattaneo):
    res = PropensityScore(cattaneo, group="mbsmoke_", covariates=COVARIATES).fit()
    ref = sm.Logit(cattaneo["mbsmoke_"], sm.add_constant(cattaneo[COVARIATES])).fit(
        disp=0, cov_type="HC0")
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), ref.bse.to_numpy(), rtol=1e-6)
    assert_allclose(res.ps, ref.predict(), rtol=1e-8)


def test_weighted_logit_matches_weighted_glm(cattaneo):
    res = PropensityScore(cattaneo, group="mbsmoke_", covariates=COVARIATES, weight="w").fit()
    ref = sm.GLM(cattaneo["mbsmoke_"], sm.add_constant(cattaneo[COVARIATES]),
                 family=sm.families.Binomial(), var_weights=cattaneo["w"]).fit()
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)


def _crump_fixed_point(ps):
    """gamma = 2 E[g | g <= gamma] by fixed-point iteration from gamma = max g."""
    g = 1 / (ps * (1 - ps))
    if g.max() <= 2 * g.mean():
        return 0.0
    gamma = g.max()
    for _ in range(10_000):
        new = 2 * g[g <= gamma].mean()
        if new == gamma:
            break
        gamma = new
    return 0.5 - np.sqrt(0.25 - 1 / gamma)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crump_rule_solves_its_defining_equation(seed):
    rng = np.random.default_rng(seed)
    ps = 1 / (1 + np.exp(-rng.normal(0, 2.0, 5000)))
    alpha = crump_alpha(ps)
    assert_allclose(alpha, _crump_fixed_point(ps), rtol=1e-12)
    assert 0 < alpha < 0.5
    # no trimming when the scores stay away from 0 and 1
    assert crump_alpha(np.full(100, 0.5)) == 0.0


def test_crump_rule_close_to_published_rule_of_thumb():
    # Crump et al. (2009, Section 5) find alpha ~ 0.1 for a wide range of score
    # distributions; a Beta(0.5, 0.5)-like spread of scores is their hard case
    rng = np.random.default_rng(4)
    ps = rng.beta(1, 1, 200_000).clip(1e-4, 1 - 1e-4)
    assert 0.06 < crump_alpha(ps) < 0.14


def test_fixed_trimming_recorded_in_ledger(cattaneo):
    full = PropensityScore(cattaneo, group="mbsmoke_", covariates=COVARIATES).fit()
    trimmed = PropensityScore(cattaneo, group="mbsmoke_", covariates=COVARIATES).fit(trim=0.1)
    outside = int(((full.ps < 0.1) | (full.ps > 0.9)).sum())
    assert outside > 0
    entry = trimmed.ledger.to_frame().query("step == 'trimming'")
    assert entry["n_rows"].item() == outside
    assert len(trimmed.ps) == len(cattaneo) - outside
    assert trimmed.trim_bounds == (0.1, 0.9)


def test_overlap_table_and_plot(cattaneo):
    res = PropensityScore(cattaneo, group="mbsmoke_", covariates=COVARIATES).fit()
    table = res.overlap()
    low, high = res.common_support()
    t = res.d == 1
    assert table.loc[1, "n"] == t.sum()
    assert_allclose(table.loc[0, "share_outside_support"],
                    np.mean((res.ps[~t] < low) | (res.ps[~t] > high)))
    assert_allclose(table.loc[1, "mean_ps"], res.ps[t].mean())
    fig = res.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].patches) > 40


def test_perfect_separation_warns_names_covariate_and_estimators_refuse():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"d": np.r_[np.ones(50), np.zeros(50)],
                       "age": np.r_[rng.uniform(40, 60, 50), rng.uniform(20, 39, 50)],
                       "x": rng.normal(size=100), "y": rng.normal(size=100)})
    # the fit returns so that overlap can be looked at; the warning names the cause
    with pytest.warns(OverlapWarning, match="'age'"):
        res = PropensityScore(df, group="d", covariates=["x", "age"]).fit()
    assert res.ps[df["d"] == 1].min() > 0.99 and res.ps[df["d"] == 0].max() < 0.01
    assert res.overlap()["n"].tolist() == [50, 50]
    for estimand in ["ATT", "ATE"]:
        with pytest.raises(OverlapError, match="'age'"):
            CohortComparison(df, group="d", outcome="y", covariates=["x", "age"]).fit(method="ipw", estimand=estimand)
    # a dummy whose level 1 occurs only among the treated (quasi-separation)
    df["flag"] = np.r_[np.ones(10), np.zeros(90)]
    with pytest.warns(OverlapWarning, match="'flag'"):
        PropensityScore(df, group="d", covariates=["x", "flag"]).fit()
    with pytest.raises(OverlapError, match="'flag'.*trim='crump'"):
        CohortComparison(df, group="d", outcome="y", covariates=["x", "flag"]).fit(method="ipw", estimand="ATT")


def test_att_ignores_comparison_scores_at_zero_and_trimming_remedy_works():
    """Comparison persons without treated counterparts (score ~0) carry no ATT weight; the
    ATE refuses them, and the remedy its message gives (trim=) then works."""
    rng = np.random.default_rng(1)
    n = 400
    x0 = rng.normal(0, 1, n)
    x = np.r_[x0, rng.uniform(-14, -10, 100)]  # 100 comparison persons far out: e(x) < 1e-8
    d = np.r_[(rng.uniform(size=n) < 1 / (1 + np.exp(-2 * x0))).astype(float), np.zeros(100)]
    df = pd.DataFrame({"d": d, "x": x, "y": x + d + rng.normal(size=n + 100)})
    model = CohortComparison(df, group="d", outcome="y", covariates=["x"])
    att = model.fit(method="ipw", estimand="ATT")
    t = d == 1
    assert np.isfinite(att.params.iloc[0]) and abs(att.params.iloc[0] - 1) < 0.5
    with pytest.raises(OverlapError, match="trim="):
        model.fit(method="ipw", estimand="ATE")
    ate = model.fit(method="ipw", estimand="ATE", trim=0.01)
    assert "trimming" in set(ate.ledger.to_frame()["step"])
    assert ate.counts["n_control"].iloc[0] < (~t).sum()


def test_constant_covariate_and_empty_group_errors():
    df = pd.DataFrame({"d": [0, 1] * 20, "x": np.arange(40.0), "c": 3.0})
    with pytest.raises(DataValidationError, match="'c'.*no variance"):
        PropensityScore(df, group="d", covariates=["x", "c"]).fit()
    with pytest.raises(EmptyDataError, match="exactly two groups"):
        PropensityScore(df.assign(d=1), group="d", covariates=["x"]).fit()


def test_person_table_input(cattaneo):
    from evalkit.data.persons import PersonTable

    table = PersonTable(cattaneo.assign(pid=range(len(cattaneo))), id="pid", group="mbsmoke_",
                        covariates=COVARIATES, weight="w")
    from_table = PropensityScore(table).fit()
    from_frame = PropensityScore(cattaneo, group="mbsmoke_", covariates=COVARIATES, weight="w").fit()
    assert_allclose(from_table.params.to_numpy(), from_frame.params.to_numpy(), rtol=1e-12)
