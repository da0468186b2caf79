"""Callaway–Sant'Anna on mpdta against R ``did``'s published output.

Reference numbers: ../shared/reference/did/README.md (R ``did`` README and
reference docs, ``att_gt``/``aggte`` on ``mpdta``). Point estimates and the
pre-test are deterministic and compared to the 4 (5) printed decimals;
bootstrap standard errors are random in R too and compared within 10 %.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.did.callaway_santanna import CallawaySantAnna

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")
PRINTED = 5e-5  # half a unit of the 4th printed decimal

# R did README, att_gt(xformla = ~1, est_method = "reg"): ATT(g,t) and bootstrap SE.
R_ATT_GT = pd.DataFrame(
    [
        (2004, 2004, -0.0105, 0.0241), (2004, 2005, -0.0704, 0.0313),
        (2004, 2006, -0.1373, 0.0380), (2004, 2007, -0.1008, 0.0337),
        (2006, 2004, 0.0065, 0.0223), (2006, 2005, -0.0028, 0.0196),
        (2006, 2006, -0.0046, 0.0188), (2006, 2007, -0.0412, 0.0202),
        (2007, 2004, 0.0305, 0.0154), (2007, 2005, -0.0027, 0.0168),
        (2007, 2006, -0.0311, 0.0190), (2007, 2007, -0.0261, 0.0182),
    ],
    columns=["group", "time", "att", "boot_se"],
).set_index(["group", "time"])
# Analytic (bstrap = FALSE) SEs, same rows (README: identical in csdid/moderndid/differences).
R_ANALYTIC_SE = [0.0233, 0.0310, 0.0364, 0.0344, 0.0233, 0.0196, 0.0178, 0.0202,
                 0.0150, 0.0164, 0.0179, 0.0167]
# att_gt(xformla = ~lpop) (default est_method = "dr"), t = 2004..2007 per group.
R_ATT_GT_LPOP = [-0.0145, -0.0764, -0.1404, -0.1069, -0.0005, -0.0062, 0.0010, -0.0413,
                 0.0267, -0.0046, -0.0284, -0.0288]
R_BOOT_SE_LPOP = [0.0222, 0.0303, 0.0382, 0.0358, 0.0231, 0.0188, 0.0204, 0.0210,
                  0.0140, 0.0170, 0.0187, 0.0161]

R_DYNAMIC = {-3: (0.0305, 0.0153), -2: (-0.0006, 0.0136), -1: (-0.0245, 0.0138),
             0: (-0.0199, 0.0115), 1: (-0.0510, 0.0174), 2: (-0.1373, 0.0356),
             3: (-0.1008, 0.0354)}
R_GROUP = {2004: (-0.0797, 0.0277), 2006: (-0.0229, 0.0172), 2007: (-0.0261, 0.0177)}
R_OVERALL = {  # overall ATT, bootstrap SE (README / docs), analytic SE
    "simple": (-0.0400, 0.0119, 0.0120),
    "dynamic": (-0.0772, 0.0196, 0.0200),
    "group": (-0.0310, 0.0123, 0.0124),
    "calendar": (-0.0417, 0.0175, 0.0160),
}
R_CALENDAR = [-0.0105, -0.0704, -0.0488, -0.0371]


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


def model(df, **kwargs):
    return CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                            first_treated="first.treat", **kwargs)


@pytest.fixture(scope="module")
def analytic(mpdta):
    return model(mpdta, method="or").fit(bootstrap=False)


@pytest.fixture(scope="module")
def boot(mpdta):
    # 9,999 draws make our Monte Carlo error (~1 %) small next to the 10 % tolerance,
    # which then mostly absorbs the randomness of R's own published bootstrap SEs.
    return model(mpdta, method="or").fit(bootstrap=True, n_boot=9999, seed=20210101)


def test_att_gt_points(analytic):
    assert list(analytic.params.index) == list(R_ATT_GT.index)
    assert_allclose(analytic.params.to_numpy(), R_ATT_GT["att"].to_numpy(), atol=PRINTED)


def test_att_gt_points_identical_across_estimation_methods_without_covariates(mpdta, analytic):
    for estimation in ("unconditional", "ipw", "dr"):
        res = model(mpdta, method=estimation).fit(bootstrap=False)
        assert_allclose(res.params.to_numpy(), analytic.params.to_numpy(), atol=1e-12)
        assert_allclose(res.std_errors.to_numpy(), analytic.std_errors.to_numpy(), atol=1e-12)


def test_att_gt_analytic_se(analytic):
    assert_allclose(analytic.std_errors.to_numpy(), R_ANALYTIC_SE, atol=PRINTED)


def test_pretest_unconditional(analytic):
    assert analytic.pretest.df == 5
    assert_allclose(analytic.pretest.pvalue, 0.16812, atol=5e-6)


def test_lpop_dr_points_and_pretest(mpdta):
    res = model(mpdta, method="dr", covariates=["lpop"]).fit(bootstrap=False)
    assert_allclose(res.params.to_numpy(), R_ATT_GT_LPOP, atol=PRINTED)
    assert_allclose(res.pretest.pvalue, 0.23267, atol=5e-6)


def test_lpop_dr_bootstrap_se_within_10_percent(mpdta):
    res = model(mpdta, method="dr", covariates=["lpop"]).fit(n_boot=9999, seed=7)
    assert_allclose(res.std_errors.to_numpy(), R_BOOT_SE_LPOP, rtol=0.10)


def test_att_gt_bootstrap_se_within_10_percent(boot):
    assert_allclose(boot.std_errors.to_numpy(), R_ATT_GT["boot_se"].to_numpy(), rtol=0.10)
    # The uniform band is wider than pointwise intervals but not absurdly so.
    crit = boot.critical_values.iloc[0]
    assert 1.96 < crit < 3.5


def test_dynamic_aggregation(analytic, boot):
    for res in (analytic, boot):
        agg = res.aggregate("dynamic")
        assert list(agg.params.index) == list(R_DYNAMIC)
        assert_allclose(agg.params.to_numpy(), [v[0] for v in R_DYNAMIC.values()], atol=PRINTED)
        assert_allclose(agg.overall_att, R_OVERALL["dynamic"][0], atol=PRINTED)
    agg = boot.aggregate("dynamic")
    assert_allclose(agg.std_errors.to_numpy(), [v[1] for v in R_DYNAMIC.values()], rtol=0.10)
    assert_allclose(agg.overall_se, R_OVERALL["dynamic"][1], rtol=0.10)
    # The R 2.5.1 docs print another bootstrap draw of the same SE: 0.0208.
    assert_allclose(agg.overall_se, 0.0208, rtol=0.10)


def test_group_aggregation(analytic, boot):
    for res in (analytic, boot):
        agg = res.aggregate("group")
        assert list(agg.params.index) == list(R_GROUP)
        assert_allclose(agg.params.to_numpy(), [v[0] for v in R_GROUP.values()], atol=PRINTED)
        assert_allclose(agg.overall_att, R_OVERALL["group"][0], atol=PRINTED)
    agg = boot.aggregate("group")
    assert_allclose(agg.std_errors.to_numpy(), [v[1] for v in R_GROUP.values()], rtol=0.10)
    assert_allclose(agg.overall_se, R_OVERALL["group"][1], rtol=0.10)
    assert_allclose(agg.overall_se, 0.0126, rtol=0.10)  # docs' draw


def test_simple_and_calendar_aggregation(analytic, boot):
    simple = analytic.aggregate("simple")
    assert_allclose(simple.overall_att, R_OVERALL["simple"][0], atol=PRINTED)
    calendar = analytic.aggregate("calendar")
    assert list(calendar.params.index) == [2004, 2005, 2006, 2007]
    assert_allclose(calendar.params.to_numpy(), R_CALENDAR, atol=PRINTED)
    assert_allclose(calendar.overall_att, R_OVERALL["calendar"][0], atol=PRINTED)
    for kind in ("simple", "calendar"):
        assert_allclose(boot.aggregate(kind).overall_se, R_OVERALL[kind][1], rtol=0.10)


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
def test_aggregate_analytic_se(analytic, kind):
    assert_allclose(analytic.aggregate(kind).overall_se, R_OVERALL[kind][2], atol=PRINTED)


def test_dynamic_balance_e(analytic):
    # did-basics vignette: aggte(type = "dynamic", balance_e = 1): -0.0288.
    agg = analytic.aggregate("dynamic", balance_e=1)
    assert_allclose(agg.overall_att, -0.0288, atol=PRINTED)
    # cohorts observed 1 period after treatment (2004, 2006), event times -2..1 as R
    assert list(agg.params.index) == [-2, -1, 0, 1]


def test_dynamic_window(analytic):
    agg = analytic.aggregate("dynamic", min_e=-1, max_e=2)
    full = analytic.aggregate("dynamic")
    assert list(agg.params.index) == [-1, 0, 1, 2]
    assert_allclose(agg.params.to_numpy(), full.params.loc[-1:2].to_numpy())
    assert_allclose(agg.overall_att, full.params.loc[0:2].mean())


def test_bootstrap_is_reproducible_for_a_seed(mpdta):
    m = model(mpdta, method="or")
    a, b = m.fit(n_boot=199, seed=3), m.fit(n_boot=199, seed=3)
    assert_allclose(a.std_errors, b.std_errors, rtol=0, atol=0)
    assert_allclose(a.aggregate("dynamic").std_errors, b.aggregate("dynamic").std_errors,
                    rtol=0, atol=0)
    c = m.fit(n_boot=199, seed=4)
    assert not np.allclose(a.std_errors, c.std_errors)


def test_mammen_multipliers_give_similar_se(mpdta, boot):
    res = model(mpdta, method="or").fit(n_boot=9999, seed=11, multiplier="mammen")
    assert_allclose(res.std_errors.to_numpy(), boot.std_errors.to_numpy(), rtol=0.08)
