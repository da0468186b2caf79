"""Cohort estimators against independent implementations.

* statsmodels ``TreatmentEffect`` (GMM, HC0; validated by statsmodels against Stata
  ``teffects``) on the cattaneo2 birth-weight data shipped with statsmodels: IPW, RA (ATE and
  ATT) and AIPW (ATE) point estimates and standard errors. Definitions coincide when the
  propensity model is the same logit and no score is clipped (statsmodels clips scores to
  [0.01, 0.99] inside its GMM; on these covariates all scores lie in [0.058, 0.74]).
* DRDID (Python port of R ``DRDID``, ``drdid_panel`` / ``std_ipw_did_panel`` with a zero
  pre-period outcome): doubly robust and normalised-IPW ATT, with and without survey weights.
  Its influence function ``inf`` is scaled so that SE = sqrt(mean(inf^2) / n).
* statsmodels WLS with cluster-robust covariance for the (weighted, clustered) difference
  in means: the slope of y on [1, d] is the difference in means and its influence function
  is ours; statsmodels' ``use_correction=False`` omits the G/(G-1) factor we apply.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm
from numpy.testing import assert_allclose
from statsmodels.regression.linear_model import OLS
from statsmodels.treatment.treatment_effects import TreatmentEffect

from evalkit.cohort.comparison import CohortComparison, compare_methods

COVARIATES = ["mmarried_", "mage", "fbaby_", "medu", "prenatal1_"]


@pytest.fixture(scope="module")
def cattaneo():
    path = Path(statsmodels.__file__).parent / "treatment/tests/results/cataneo2.csv"
    df = pd.read_csv(path)
    rng = np.random.default_rng(20261126)
    df["w"] = rng.uniform(0.5, 3.0, len(df))
    df["site"] = rng.integers(0, 40, len(df))
    return df


@pytest.fixture(scope="module")
def statsmodels_te(cattaneo):
    y = cattaneo["bweight"].to_numpy(float)
    d = cattaneo["mbsmoke_"].to_numpy()
    x = sm.add_constant(cattaneo[COVARIATES].to_numpy(float))
    select = sm.Logit(d, x).fit(disp=0)
    assert 0.01 < select.predict().min() and select.predict().max() < 0.99
    return TreatmentEffect(OLS(y, x), d, results_select=select)


@pytest.mark.parametrize(
    ("method", "estimand", "effect_group"),
    [("ipw", "ATE", "all"), ("ipw", "ATT", 1), ("ra", "ATE", "all"), ("ra", "ATT", 1),
     ("aipw", "ATE", None)],
)
def test_matches_statsmodels_treatment_effect(cattaneo, statsmodels_te, method, estimand,
                                              effect_group):
    kwargs = {} if effect_group is None else {"effect_group": effect_group}
    ref = getattr(statsmodels_te, method)(**kwargs)
    ours = CohortComparison(cattaneo, group="mbsmoke_", outcome="bweight",
                            covariates=COVARIATES).fit(method=method, estimand=estimand)
    # point estimates are closed forms on both sides; statsmodels' SEs come from a GMM whose
    # parameters are polished by Nelder-Mead, hence 1e-6 on SEs
    assert_allclose(ours.params.iloc[0], ref.effect[0], rtol=1e-9)
    assert_allclose(ours.std_errors.iloc[0], ref.sd[0], rtol=1e-6)
    # potential-outcome mean of the comparison state (statsmodels' POM0)
    assert_allclose(ours.potential_outcomes["y0"].iloc[0], ref.effect[1], rtol=1e-9)


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("method", ["aipw", "ipw"])
def test_att_matches_drdid(cattaneo, weight, method):
    drdid = pytest.importorskip("drdid")
    from drdid.drdid import drdid_panel
    from drdid.ipwd_did import std_ipw_did_panel

    kernel = drdid_panel if method == "aipw" else std_ipw_did_panel
    y = cattaneo["bweight"].to_numpy(float)
    d = cattaneo["mbsmoke_"].to_numpy(float)
    w = None if weight is None else cattaneo[weight].to_numpy()
    att, inf = kernel(y, np.zeros_like(y), d, cattaneo[COVARIATES].to_numpy(float),
                      i_weights=w)
    ours = CohortComparison(cattaneo, group="mbsmoke_", outcome="bweight",
                            covariates=COVARIATES, weight=weight).fit(method=method, estimand="ATT")
    assert drdid is not None
    assert_allclose(ours.params.iloc[0], att, rtol=1e-10)
    assert_allclose(ours.std_errors.iloc[0], np.sqrt(np.mean(inf**2) / len(y)), rtol=1e-9)


@pytest.mark.parametrize("weight", [None, "w"])
def test_difference_in_means_clustered_matches_wls(cattaneo, weight):
    y = cattaneo["bweight"].to_numpy(float)
    d = cattaneo["mbsmoke_"].to_numpy(float)
    w = np.ones_like(y) if weight is None else cattaneo[weight].to_numpy()
    groups = cattaneo["site"].to_numpy()
    fit = sm.WLS(y, sm.add_constant(d), weights=w).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    ours = CohortComparison(cattaneo, group="mbsmoke_", outcome="bweight",
                            weight=weight, cluster="site").fit(method="dim")
    n_clusters = len(np.unique(groups))
    assert_allclose(ours.params.iloc[0], fit.params[1], rtol=1e-12)
    assert_allclose(ours.std_errors.iloc[0],
                    fit.bse[1] * np.sqrt(n_clusters / (n_clusters - 1)), rtol=1e-10)
    hc2 = sm.WLS(y, sm.add_constant(d), weights=w).fit(cov_type="HC2")
    unclustered = CohortComparison(cattaneo, group="mbsmoke_", outcome="bweight",
                                   weight=weight).fit(method="dim")
    assert_allclose(unclustered.std_errors.iloc[0], hc2.bse[1], rtol=1e-10)
    assert unclustered.info["Std. errors"].startswith("HC2 (Welch")
    if weight is None:  # Welch / Neyman: s1^2/n1 + s0^2/n0 with n - 1 denominators
        welch = np.sqrt(y[d == 1].var(ddof=1) / (d == 1).sum()
                        + y[d == 0].var(ddof=1) / (d == 0).sum())
        assert_allclose(unclustered.std_errors.iloc[0], welch, rtol=1e-12)


def test_integer_weights_equal_replicated_rows(cattaneo):
    """Survey weights enter point estimates like frequency weights (replicated rows)."""
    df = cattaneo.iloc[:1500].copy()
    df["k"] = np.random.default_rng(3).integers(1, 4, len(df))
    expanded = df.loc[df.index.repeat(df["k"])].reset_index(drop=True)
    for method in ["dim", "ra", "ipw", "aipw"]:
        for estimand in ["ATT", "ATE"]:
            weighted = CohortComparison(df, group="mbsmoke_", outcome="bweight",
                                        covariates=COVARIATES, weight="k").fit(method=method, estimand=estimand)
            replicated = CohortComparison(expanded, group="mbsmoke_", outcome="bweight",
                                          covariates=COVARIATES).fit(method=method, estimand=estimand)
            assert_allclose(weighted.params.iloc[0], replicated.params.iloc[0], rtol=1e-9)


def test_several_outcomes_equal_separate_fits(cattaneo):
    df = cattaneo.copy()
    df["lbw"] = df["lbweight"].astype(float)
    df.loc[df.index[:300], "lbw"] = np.nan  # outcome-specific missingness
    both = CohortComparison(df, group="mbsmoke_", outcome=["bweight", "lbw"],
                            covariates=COVARIATES, cluster="site").fit(method="aipw", estimand="ATT")
    for name in ["bweight", "lbw"]:
        single = CohortComparison(df.dropna(subset=[name]), group="mbsmoke_",
                                  outcome=name, covariates=COVARIATES,
                                  cluster="site").fit(method="aipw", estimand="ATT")
        assert_allclose(both.params[name], single.params.iloc[0], rtol=1e-10)
        assert_allclose(both.std_errors[name], single.std_errors.iloc[0], rtol=1e-10)
    ledger = both.ledger.to_frame()
    assert ledger.loc[ledger["step"] == "outcome lbw", "n_rows"].item() == 300
    # multiplier draws reproduce the clustered variance of every outcome
    draws = both.multiplier_draws(n_boot=4000, seed=1)
    assert_allclose(draws.std(ddof=0).to_numpy(), both.std_errors.to_numpy(), rtol=0.05)
    assert both.influence_frame().shape == (len(df), 2)


def test_compare_methods_tidy_frame(cattaneo):
    frame = compare_methods(cattaneo, group="mbsmoke_", outcome="bweight",
                            covariates=COVARIATES, methods=["dim", "ipw", "aipw", "matching"])
    assert list(frame["method"]) == ["dim", "ipw", "aipw", "matching"]
    assert {"outcome", "estimate", "std_error", "ci_lower", "ci_upper", "p_value",
            "n_treated", "n_control", "ess_control"} <= set(frame.columns)
    # all adjusted estimates agree on a birth-weight penalty of about 200-250 g
    adjusted = frame.set_index("method").loc[["ipw", "aipw", "matching"], "estimate"]
    assert adjusted.between(-280, -190).all()


@pytest.mark.parametrize("weight", [None, "w"])
@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_ra_pooled_is_lin_regression_with_hc2(cattaneo, weight, estimand):
    """Lin (2013): y on [1, d, x - xbar, d (x - xbar)], xbar the target population's means;
    the coefficient of d with its HC2 SE (statsmodels WLS), and the same point estimate as
    the per-group regression adjustment."""
    y = cattaneo["bweight"].to_numpy(float)
    d = cattaneo["mbsmoke_"].to_numpy(float)
    x = cattaneo[COVARIATES].to_numpy(float)
    w = np.ones_like(y) if weight is None else cattaneo[weight].to_numpy()
    target = w * d if estimand == "ATT" else w
    xc = x - target @ x / target.sum()
    design = np.column_stack([np.ones_like(y), d, xc, d[:, None] * xc])
    lin = sm.WLS(y, design, weights=w).fit(cov_type="HC2")
    model = CohortComparison(cattaneo, group="mbsmoke_", outcome="bweight",
                             covariates=COVARIATES, weight=weight)
    ours = model.fit(method="ra_pooled", estimand=estimand)
    assert_allclose(ours.params.iloc[0], lin.params[1], rtol=1e-10)
    assert_allclose(ours.std_errors.iloc[0], lin.bse[1], rtol=1e-8)
    assert_allclose(ours.params.iloc[0], model.fit(method="ra", estimand=estimand).params.iloc[0], rtol=1e-9)
    assert ours.info["Std. errors"].startswith("HC2")
