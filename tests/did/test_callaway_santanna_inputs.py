"""Callaway–Sant'Anna: input handling, exclusion ledger, errors and warnings, output objects."""

from __future__ import annotations

import os
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.data import Panel
from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.errors import (
    ConfigError,
    DataValidationError,
    EstimationError,
    EvalkitWarning,
    OverlapError,
    TreatmentTimingError,
)

matplotlib.use("Agg")
MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


def model(df, **kwargs):
    return CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                            first_treated="first.treat", **kwargs)


def test_panel_contract_input_equals_dataframe_input(mpdta):
    panel = Panel(mpdta, unit="countyreal", period="year", outcomes=["lemp"],
                  first_treated="first.treat", covariates=["lpop"])
    a = CallawaySantAnna(panel, covariates=["lpop"]).fit(bootstrap=False)
    b = model(mpdta, covariates=["lpop"]).fit(bootstrap=False)
    assert_allclose(a.params, b.params, atol=1e-12)
    assert_allclose(a.std_errors, b.std_errors, atol=1e-12)


def test_treatment_indicator_gives_same_cohorts(mpdta):
    df = mpdta.assign(d=((mpdta["year"] >= mpdta["first.treat"]) & (mpdta["first.treat"] > 0))
                      .astype(int))
    a = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                         treatment="d").fit(bootstrap=False)
    assert_allclose(a.params, model(mpdta).fit(bootstrap=False).params, atol=1e-12)


def test_treatment_reversal_is_refused(mpdta):
    df = mpdta.assign(d=((mpdta["year"] >= mpdta["first.treat"]) & (mpdta["first.treat"] > 0))
                      .astype(int))
    unit = df.loc[df["first.treat"] == 2004, "countyreal"].iloc[0]
    df.loc[(df["countyreal"] == unit) & (df["year"] == 2007), "d"] = 0
    with pytest.raises(TreatmentTimingError, match="switches off"):
        CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year", treatment="d")


def test_ledger_records_missing_outcomes_and_always_treated(mpdta):
    df = mpdta.copy()
    df.loc[[0, 7, 12], "lemp"] = np.nan
    always = mpdta[mpdta["countyreal"].isin(mpdta["countyreal"].unique()[:3])].assign(
        countyreal=lambda d: d["countyreal"] + 100000, **{"first.treat": 2003})
    df = pd.concat([df, always], ignore_index=True)
    res = model(df).fit(bootstrap=False)
    ledger = res.ledger.to_frame()
    assert ledger.loc[0, "n_rows"] == len(df)
    always_row = ledger[ledger["reason"].str.contains("always treated")]
    assert always_row["n_rows"].sum() == 15 and always_row["n_persons"].sum() == 3
    missing_row = ledger[ledger["reason"].str.contains("lemp missing")]
    assert missing_row["n_rows"].sum() == 3 and missing_row["n_persons"].sum() == 0
    assert res.ledger.n_rows == len(df) - 18
    # Missing outcomes unbalance the panel: handled as in R's allow_unbalanced_panel.
    assert res.info["Data"].startswith("unbalanced panel, n = 500")
    assert "Rows excluded: 18" in res.summary()


def test_anticipation_drops_units_without_pre_period(mpdta):
    res = model(mpdta, anticipation=1).fit(bootstrap=False)
    # cohort 2004 with one period of anticipation has no clean pre-period (2003 + 1 >= 2004).
    assert 2004 not in res.cells["group"].to_numpy()
    entry = res.ledger.to_frame()
    assert entry["reason"].str.contains("anticipation 1").any()
    assert entry.loc[entry["reason"].str.contains("anticipation 1"), "n_persons"].item() == 20


def test_cohorts_after_window_are_never_treated(mpdta):
    df = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(2007, 2010)})
    res = model(df).fit(bootstrap=False)
    assert sorted(res.cells["group"].unique()) == [2004, 2006]
    assert any("after the last period" in str(v) for v in res.info.values())


def test_no_never_treated_with_nevertreated_controls(mpdta):
    with pytest.raises(EstimationError, match="notyettreated"):
        model(mpdta[mpdta["first.treat"] != 0])


def test_single_unit_cohort_warns(mpdta):
    first_2004 = mpdta.loc[mpdta["first.treat"] == 2004, "countyreal"].iloc[0]
    df = mpdta[(mpdta["first.treat"] != 2004) | (mpdta["countyreal"] == first_2004)]
    with pytest.warns(EvalkitWarning, match="single unit"):
        model(df)


def test_few_clusters_warn(mpdta):
    df = mpdta.assign(state=mpdta["countyreal"] // 1000)
    with pytest.warns(EvalkitWarning, match="only 29 clusters"):
        res = model(df, cluster="state").fit(bootstrap=False)
    assert "clustered (29 clusters)" in res.info["Std. errors"]


def test_categorical_covariate_is_one_hot_encoded(mpdta):
    df = mpdta.assign(size=pd.cut(mpdta["lpop"], [-np.inf, 3, 4, np.inf],
                                  labels=["small", "mid", "large"]).astype(str))
    res = model(df, covariates=["size"], method="or").fit(bootstrap=False)
    assert res.info["Method"] == "or on size[mid], size[small]"
    dummies = df.assign(mid=(df["size"] == "mid") * 1.0, small=(df["size"] == "small") * 1.0)
    ref = model(dummies, covariates=["mid", "small"], method="or").fit(bootstrap=False)
    assert_allclose(res.params, ref.params, atol=1e-12)


def test_cluster_must_contain_whole_units(mpdta):
    df = mpdta.assign(site=np.arange(len(mpdta)) % 40)
    with pytest.raises(ConfigError, match="changes over time"):
        model(df, cluster="site")


def test_constant_covariate(mpdta):
    with pytest.raises(DataValidationError, match="single value"):
        model(mpdta.assign(c=1.0), covariates=["c"])


def test_covariate_constant_within_comparison_group(mpdta):
    df = mpdta.assign(c=np.where(mpdta["first.treat"] == 0, 1.0, mpdta["lpop"]))
    with pytest.raises(EstimationError, match=r"Cohort 2004, period 2004: covariate\(s\) \['c'\]"):
        model(df, covariates=["c"], method="or").fit(bootstrap=False)


def test_propensity_scores_at_one_name_cohort_and_period(mpdta):
    noise = np.random.default_rng(0).normal(size=len(mpdta)) * 0.01
    df = mpdta.assign(x=np.where(mpdta["first.treat"] == 2004, 10.0, 0.0) + noise)
    with pytest.raises(OverlapError, match="Cohort 2004, period 2004"):
        model(df, covariates=["x"], method="dr").fit(bootstrap=False)


@pytest.mark.parametrize("kwargs,match", [
    ({"control_group": "never"}, "control_group"),
    ({"method": "unconditional", "covariates": ["lpop"]}, "unconditional"),
    ({"base_period": "fixed"}, "base_period"),
    ({"anticipation": -1}, "anticipation"),
    ({"unbalanced": "drop"}, "unbalanced"),
])
def test_bad_options(mpdta, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        model(mpdta, **kwargs)


def test_bad_aggregation_options(mpdta):
    res = model(mpdta).fit(bootstrap=False)
    with pytest.raises(ConfigError, match="kind"):
        res.aggregate("cohort")
    with pytest.raises(ConfigError, match="balance_e"):
        res.aggregate("group", balance_e=1)
    with pytest.raises(ConfigError, match="window"):
        res.aggregate("dynamic", min_e=10)


def test_repeated_cross_sections_need_first_treated(mpdta):
    df = mpdta.assign(d=(mpdta["year"] >= mpdta["first.treat"]) * 1,
                      countyreal=np.arange(len(mpdta)))
    with pytest.raises(ConfigError, match="first_treated"):
        CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year", treatment="d",
                         repeated_cross_section=True)


def test_dataframe_needs_column_names(mpdta):
    with pytest.raises(ConfigError, match="outcome"):
        CallawaySantAnna(mpdta)


def test_universal_base_period_reference_cells(mpdta):
    res = model(mpdta, base_period="universal").fit(n_boot=99, seed=1)
    ref = res.cells["time"] == res.cells["group"] - 1
    assert (res.cells.loc[ref, "att"] == 0).all()
    assert res.std_errors[ref.to_numpy()].isna().all()
    dyn = res.aggregate("dynamic")
    assert dyn.params.loc[-1] == 0 and np.isnan(dyn.std_errors.loc[-1])
    # Reference cells are a normalisation and left out of the pre-test; the 5 remaining
    # pre-period cells span the same pre-trends as the varying-base ones, so the Wald
    # statistic is invariant: R's published p-value again.
    assert res.pretest.df == 5
    assert_allclose(res.pretest.pvalue, 0.16812, atol=5e-6)


def test_outputs(mpdta):
    res = model(mpdta, covariates=["lpop"]).fit(n_boot=199, seed=2)
    frame = res.to_frame()
    assert list(frame.columns) == ["post", "estimate", "std_error", "t_stat", "p_value",
                                   "ci_lower", "ci_upper"]
    # uniform band: every interval uses the same sup-t critical value
    half = (frame["ci_upper"] - frame["estimate"]) / frame["std_error"]
    assert_allclose(half, res.critical_values.iloc[0])
    text = res.summary()
    assert "p = 0.23267" in text and "uniform 95% band" in text and "lpop" in text
    fig = res.plot()
    assert len(fig.axes) == 3 and fig.axes[0].get_title(loc="left") == "cohort 2004"
    for kind in ("simple", "dynamic", "group", "calendar"):
        agg = res.aggregate(kind)
        assert "Overall ATT" in agg.summary()
        assert agg.influence.shape == (500, len(agg.params))
        fig = agg.plot()
        assert fig.axes[0].get_ylabel().startswith("ATT")
    dyn = res.aggregate("dynamic")
    assert dyn.overall.conf_int().shape == (1, 2)
    assert dyn.critical_values is not None and res.aggregate("simple").critical_values is None


def test_analytic_fit_has_pointwise_intervals(mpdta):
    res = model(mpdta).fit(bootstrap=False)
    assert res.critical_values is None
    ci = res.conf_int(0.95)
    assert_allclose(ci["upper"] - res.params, 1.959964 * res.std_errors, rtol=1e-6)


def test_no_unhandled_warnings_on_clean_data(mpdta):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(mpdta, covariates=["lpop"]).fit(n_boot=99, seed=1).aggregate("dynamic")
