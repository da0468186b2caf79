"""Design-based estimators against peers (scipy's Welch t-test, statsmodels OLS HC2) and
on simulated experiments with a known average effect (bias, coverage)."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.data import PersonTable
from evalkit.errors import DesignError
from evalkit.experiment import DifferenceInMeans, LinAdjustment


def _experiment(n=120, seed=0, effect=0.5):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 3, size=n)
    arm = rng.permutation(np.arange(n) < n // 3).astype(int)
    y = 1 + x1 + 0.5 * x2 + arm * (effect + 0.4 * x1) + rng.normal(size=n) * (1 + arm)
    return pd.DataFrame({"arm": arm, "x1": x1, "zone": np.array(["nord", "sud", "est"])[x2],
                         "y": y, "bloc": np.where(x1 > 0, "haut", "bas")})


def test_difference_in_means_equals_welch_t_test_and_hc2():
    data = _experiment()
    res = DifferenceInMeans(data, group="arm", outcome="y").fit()
    welch = stats.ttest_ind(data.y[data.arm == 1], data.y[data.arm == 0], equal_var=False)
    ols = sm.OLS(data.y, sm.add_constant(data.arm.astype(float))).fit(cov_type="HC2")
    assert_allclose(res.ate, ols.params["arm"], rtol=1e-12)
    assert_allclose(res.std_errors["ate"], ols.bse["arm"], rtol=1e-10)
    assert_allclose(res.tstats["ate"], welch.statistic, rtol=1e-10)
    assert_allclose(res.pvalues["ate"], welch.pvalue, rtol=1e-8)
    assert_allclose(res.df_resid, welch.df, rtol=1e-10)


def test_block_weighted_estimate_by_hand_and_fixed_effects_equal_statsmodels():
    data = _experiment(seed=2)
    res = DifferenceInMeans(data, group="arm", outcome="y", block="bloc").fit()
    est, var = 0.0, 0.0
    for _, b in data.groupby("bloc"):
        w = len(b) / len(data)
        t, c = b.y[b.arm == 1], b.y[b.arm == 0]
        est += w * (t.mean() - c.mean())
        var += w**2 * (t.var() / len(t) + c.var() / len(c))
    assert_allclose(res.ate, est, rtol=1e-12)
    assert_allclose(res.std_errors["ate"], math.sqrt(var), rtol=1e-12)
    assert res.df_resid == len(data) - 4

    fe = DifferenceInMeans(data, group="arm", outcome="y", block="bloc").fit(
        method="fixed_effects")
    X = sm.add_constant(pd.DataFrame({"arm": data.arm.astype(float),
                                      "haut": (data.bloc == "haut").astype(float)}))
    ols = sm.OLS(data.y, X).fit(cov_type="HC2")
    assert_allclose(fe.ate, ols.params["arm"], rtol=1e-12)
    assert_allclose(fe.std_errors["ate"], ols.bse["arm"], rtol=1e-10)


def test_matched_pairs_variance():
    rng = np.random.default_rng(4)
    pairs = np.repeat(np.arange(8), 2)
    arm = np.tile([1, 0], 8)
    y = rng.normal(size=16) + pairs * 0.3 + arm
    res = DifferenceInMeans(pd.DataFrame({"p": pairs, "arm": arm, "y": y}), group="arm",
                            outcome="y", block="p").fit()
    diffs = y[arm == 1] - y[arm == 0]
    assert_allclose(res.ate, diffs.mean())
    # Paired t-test: the same estimate, SE and J - 1 degrees of freedom.
    paired = stats.ttest_rel(y[arm == 1], y[arm == 0])
    assert_allclose(res.tstats["ate"], paired.statistic, rtol=1e-10)
    assert_allclose(res.pvalues["ate"], paired.pvalue, rtol=1e-8)


def test_cluster_level_estimate_is_welch_on_cluster_means():
    rng = np.random.default_rng(6)
    sizes = rng.integers(5, 40, size=14)
    site = np.repeat([f"gare {i}" for i in range(14)], sizes)
    arm_site = rng.permutation(np.arange(14) < 6)
    arm = np.repeat(arm_site, sizes)
    y = np.repeat(rng.normal(size=14), sizes) + rng.normal(size=len(site)) + 0.3 * arm
    data = pd.DataFrame({"site": site, "pilot": arm, "y": y})
    res = DifferenceInMeans(data, group="pilot", outcome="y", cluster="site").fit()
    means = data.groupby("site").agg(y=("y", "mean"), pilot=("pilot", "first"))
    welch = stats.ttest_ind(means.y[means.pilot], means.y[~means.pilot], equal_var=False)
    assert (res.n_treated, res.n_control) == (6, 8)
    assert_allclose(res.tstats["ate"], welch.statistic, rtol=1e-10)
    assert_allclose(res.pvalues["ate"], welch.pvalue, rtol=1e-8)


def test_lin_equals_statsmodels_interacted_ols_hc2():
    data = _experiment(seed=3)
    res = LinAdjustment(data, group="arm", outcome="y", covariates=["x1", "zone"]).fit()
    X = pd.get_dummies(data[["x1", "zone"]], columns=["zone"], drop_first=True, dtype=float)
    X = X - X.mean()
    design = pd.concat([data.arm.astype(float).rename("arm"), X,
                        X.mul(data.arm, axis=0).add_prefix("arm_x_")], axis=1)
    ols = sm.OLS(data.y, sm.add_constant(design)).fit(cov_type="HC2")
    assert_allclose(res.ate, ols.params["arm"], rtol=1e-10)
    assert_allclose(res.std_errors["ate"], ols.bse["arm"], rtol=1e-10)
    assert res.df_resid == len(data) - design.shape[1] - 1


def test_lin_takes_a_person_table_and_records_dropped_rows():
    data = _experiment(seed=8).reset_index(names="id")
    data.loc[[3, 9], "x1"] = np.nan
    table = PersonTable(data, id="id", group="arm", covariates=["x1", "zone"], outcomes=["y"])
    res = LinAdjustment(table, group="arm", outcome="y", covariates=["x1", "zone"]).fit()
    assert res.ledger.n_rows_dropped == 2
    assert res.n_treated + res.n_control == len(data) - 2


@pytest.mark.parametrize("estimator", ["dim", "lin", "block", "cluster"])
def test_unbiased_and_nominal_coverage_under_randomisation(estimator):
    """Fixed finite population (heterogeneous effects), re-randomised: the estimate is
    unbiased for the sample ATE and the conservative 95 % CI covers at least nominally."""
    rng = np.random.default_rng(10)
    n = 200
    x = rng.normal(size=n)
    y0 = x + rng.normal(size=n)
    y1 = y0 + 0.5 + 0.5 * x
    blocks = np.where(x > 0, "b1", "b0")
    sites = np.arange(n) // 5
    site_effect = rng.normal(size=sites.max() + 1)[sites]
    truth = np.mean(y1 - y0)
    estimates, covered = [], 0
    reps = 150
    for _ in range(reps):
        if estimator == "cluster":
            arm = rng.permutation(np.arange(40) < 20)[sites]
        elif estimator == "block":
            arm = np.zeros(n, dtype=bool)
            for b in ("b0", "b1"):
                idx = np.flatnonzero(blocks == b)
                arm[rng.choice(idx, len(idx) // 2, replace=False)] = True
        else:
            arm = rng.permutation(np.arange(n) < n // 2)
        shift = site_effect if estimator == "cluster" else 0
        data = pd.DataFrame({"arm": arm, "y": np.where(arm, y1, y0) + shift, "x": x,
                             "blk": blocks, "site": sites})
        if estimator == "lin":
            res = LinAdjustment(data, group="arm", outcome="y", covariates=["x"]).fit()
        else:
            res = DifferenceInMeans(data, group="arm", outcome="y",
                                    block="blk" if estimator == "block" else None,
                                    cluster="site" if estimator == "cluster" else None).fit()
        estimates.append(res.ate)
        lo, hi = res.conf_int(0.95).iloc[0]
        covered += lo <= truth <= hi
    estimates = np.array(estimates)
    assert abs(estimates.mean() - truth) < 4 * estimates.std() / math.sqrt(reps)
    assert covered / reps > 0.95 - 3 * math.sqrt(0.05 * 0.95 / reps)


def test_blocks_with_a_single_treated_unit_among_larger_blocks_are_refused():
    data = pd.DataFrame({"b": list("aaaabbbb"), "arm": [1, 0, 0, 0, 1, 1, 0, 0],
                         "y": np.arange(8.0)})
    with pytest.raises(DesignError, match="single treated or control unit.*fixed_effects"):
        DifferenceInMeans(data, group="arm", outcome="y", block="b").fit()
    fe = DifferenceInMeans(data, group="arm", outcome="y", block="b").fit(method="fixed_effects")
    assert np.isfinite(fe.ate)
