"""Monitoring indicators: values vs hand-computed pandas, intervals vs statsmodels, DuckDB = pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson
from statsmodels.stats.weightstats import DescrStatsW

from evalkit.data import PersonTable
from evalkit.datasets import cpas_careers, hope_in_stations
from evalkit.errors import (
    ColumnTypeError,
    ConfigError,
    DataValidationError,
    EmptyDataError,
    EstimationError,
    MissingColumnError,
)
from evalkit.indicators.cells import ALL, MISSING
from evalkit.indicators.definition import AgeBands, Disaggregations, Indicator
from evalkit.indicators.evaluate import IndicatorModel, evaluate_indicators
from evalkit.indicators.expressions import Expression
from evalkit.indicators.intervals import (
    newcombe_difference_interval,
    poisson_rate_interval,
    t_interval,
    wilson_interval,
)


# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def hope():
    return hope_in_stations.generate(**hope_in_stations.SAMPLE_KWARGS)


@pytest.fixture(scope="module")
def cpas():
    data = cpas_careers.generate(**cpas_careers.SAMPLE_KWARGS)
    seq = data["sequences"].sort_values(["person_id", "month"])
    prev = seq.groupby("person_id")["state"].shift().astype(object)
    seq = seq.assign(
        in_job=seq["state"].isin(["FT", "PT", "SE"]).astype(int),
        entry_ft=((seq["state"] == "FT") & (prev != "FT") & prev.notna()).astype(int),
        exposure=1.0,
    )
    return seq.merge(data["persons"], on="person_id", how="left")


HOPE_DISAGG = Disaggregations(sex="sex", age="age", territory="station", period="wave")

HOPE_INDICATORS = [
    Indicator("shelter", "A dormi en centre d'hébergement", "Slept in a shelter", "proportion",
              "slept_in_shelter", disaggregations=("territory", "period", "sex"), per=100,
              unit_fr="%", unit_en="%"),
    Indicator("care_adults", "Accès aux soins (25 ans et plus)", "Access to care (25+)",
              "proportion", "access_to_care == 1", filters=("age >= 25",),
              disaggregations=("age_band", "period")),
    Indicator("perception", "Score de perception", "Perception score", "mean", "perception_score",
              disaggregations=("territory", "period")),
    Indicator("services", "Services utilisés", "Services used per respondent", "rate",
              "n_services_used", denominator="1", disaggregations=("sex",)),
]


# ------------------------------------------------------------------- intervals
def test_wilson_equals_statsmodels():
    x = np.array([0, 1, 3, 10, 47, 99, 100])
    n = np.array([10, 10, 20, 40, 100, 100, 100])
    for level in (0.9, 0.95, 0.99):
        lo, hi = wilson_interval(x, n, level)
        ref_lo, ref_hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
        assert_allclose(lo, ref_lo, atol=1e-12)
        assert_allclose(hi, ref_hi, atol=1e-12)


def test_poisson_equals_statsmodels_exact():
    x = np.array([0, 1, 5, 30, 412])
    e = np.array([10.0, 3.5, 100.0, 1000.0, 12345.0])
    lo, hi = poisson_rate_interval(x, e)
    ref_lo, ref_hi = confint_poisson(x, e, method="exact-c")
    assert_allclose(lo, ref_lo, atol=1e-12)
    assert_allclose(hi, ref_hi, rtol=1e-10)


def test_t_interval_equals_statsmodels():
    y = np.random.default_rng(0).normal(3, 2, 37)
    lo, hi = t_interval(y.mean(), y.std(ddof=1), y.size, 0.9)
    ref = DescrStatsW(y).tconfint_mean(alpha=0.1)
    assert_allclose([lo, hi], ref, rtol=1e-12)


def test_newcombe_equals_statsmodels():
    lo, hi = newcombe_difference_interval(30, 100, 20, 90)
    ref = confint_proportions_2indep(30, 100, 20, 90, method="newcomb", compare="diff")
    assert_allclose([lo, hi], ref, rtol=1e-10)


# ---------------------------------------------------------- hope_in_stations
def _hand_hope(survey: pd.DataFrame):
    """Hand computation of the HOPE_INDICATORS full-cross cells with plain pandas."""
    shelter = survey.groupby(["station", "wave", "sex"])["slept_in_shelter"].agg(["sum", "size"])
    adults = survey[survey["age"] >= 25].copy()
    adults["band"] = pd.cut(adults["age"], [25, 35, 50, 65, np.inf], right=False,
                            labels=["25-34", "35-49", "50-64", "65+"]).astype(str)
    care = adults.groupby(["band", "wave"])["access_to_care"].agg(["sum", "size"])
    perc = survey.groupby(["station", "wave"])["perception_score"].agg(["mean", "std", "size"])
    serv = survey.groupby("sex")["n_services_used"].agg(["sum", "size"])
    return shelter, care, perc, serv


def test_hope_indicators_equal_hand_computation(hope):
    survey = hope["survey"]
    res = IndicatorModel(HOPE_INDICATORS, survey, disaggregations=HOPE_DISAGG,
                         id="respondent_id").fit()
    tidy = res.to_frame()
    shelter, care, perc, serv = _hand_hope(survey)

    sub = tidy[(tidy.indicator == "shelter") & (tidy.territory != ALL) & (tidy.period != ALL)
               & (tidy.sex != ALL)].set_index(["territory", "period", "sex"])
    ref = shelter.rename(index=str, level="wave")
    sub = sub.loc[ref.index]
    assert_allclose(sub["numerator"], ref["sum"])
    assert_allclose(sub["n"], ref["size"])
    assert_allclose(sub["estimate"], 100 * ref["sum"] / ref["size"])
    lo, hi = proportion_confint(ref["sum"], ref["size"], method="wilson")
    assert_allclose(sub["ci_lower"], 100 * lo, atol=1e-10)
    assert_allclose(sub["ci_upper"], 100 * hi, atol=1e-10)
    total = tidy[(tidy.indicator == "shelter") & (tidy.territory == ALL) & (tidy.period == ALL)
                 & (tidy.sex == ALL)].iloc[0]
    assert_allclose(total["estimate"], 100 * survey["slept_in_shelter"].mean())
    assert total["n_persons"] == survey["respondent_id"].nunique()

    sub = tidy[(tidy.indicator == "care_adults") & (tidy.age_band != ALL) & (tidy.period != ALL)]
    sub = sub.set_index(["age_band", "period"]).loc[care.rename(index=str, level="wave").index]
    assert_allclose(sub["estimate"], (care["sum"] / care["size"]).to_numpy())
    assert res.exclusions.set_index("indicator").loc["care_adults", "n_outside_population"] == (
        survey["age"] < 25).sum()

    sub = tidy[(tidy.indicator == "perception") & (tidy.territory != ALL) & (tidy.period != ALL)]
    sub = sub.set_index(["territory", "period"]).loc[perc.rename(index=str, level="wave").index]
    assert_allclose(sub["estimate"], perc["mean"].to_numpy())
    q = stats.t.ppf(0.975, perc["size"] - 1)
    assert_allclose(sub["ci_lower"], (perc["mean"] - q * perc["std"] / np.sqrt(perc["size"])).to_numpy())

    sub = tidy[(tidy.indicator == "services") & (tidy.sex != ALL)].set_index("sex").loc[serv.index]
    assert_allclose(sub["estimate"], (serv["sum"] / serv["size"]).to_numpy())
    lo, hi = confint_poisson(serv["sum"].to_numpy(), serv["size"].to_numpy(), method="exact-c")
    assert_allclose(sub["ci_upper"], hi, rtol=1e-10)


def test_hope_duckdb_equals_pandas(hope, tmp_path):
    survey = hope["survey"]
    kw = dict(disaggregations=HOPE_DISAGG, id="respondent_id")
    ref = IndicatorModel(HOPE_INDICATORS, survey, **kw).fit().to_frame()
    got = IndicatorModel(HOPE_INDICATORS, survey, engine="duckdb", **kw).fit().to_frame()
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-10, atol=1e-12)
    path = tmp_path / "survey.parquet"
    survey.to_parquet(path)
    got = IndicatorModel(HOPE_INDICATORS, path, engine="duckdb", **kw).fit().to_frame()
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-10, atol=1e-12)


def test_hope_spark_equals_pandas(hope, spark, tmp_path):
    # The same Ibis aggregation on Spark local (Parquet read by Spark): one weighted
    # indicator of each kind with two disaggregations keeps the Spark job count small.
    survey = hope["survey"]
    path = tmp_path / "survey.parquet"
    survey.to_parquet(path)
    from dataclasses import replace

    inds = [replace(HOPE_INDICATORS[1], disaggregations=("age_band", "territory")),
            replace(HOPE_INDICATORS[2], disaggregations=("sex",))]
    kw = dict(disaggregations=HOPE_DISAGG, id="respondent_id", weight="survey_weight")
    ref = IndicatorModel(inds, survey, **kw).fit().to_frame()
    got = IndicatorModel(inds, path, engine="spark", spark=spark, **kw).fit().to_frame()
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-10, atol=1e-12)


def test_person_table_contract(hope):
    survey = hope["survey"]
    pt = PersonTable(survey, id="respondent_id", group="pilot", outcomes=["slept_in_shelter"],
                     covariates=["sex", "age", "station", "wave"])
    res = evaluate_indicators(HOPE_INDICATORS[0], pt, disaggregations=HOPE_DISAGG)
    assert res.person_id == "respondent_id"
    assert res.ledger is not None
    assert_allclose(res.params["shelter"], 100 * survey["slept_in_shelter"].mean())


def test_trend_between_waves(hope):
    survey = hope["survey"]
    res = IndicatorModel(HOPE_INDICATORS[:3], survey, disaggregations=HOPE_DISAGG).fit()
    trend = res.trend()
    row = trend[(trend.indicator == "shelter") & (trend.territory == "Paris Nord")
                & (trend.sex == ALL)].iloc[0]
    paris = survey[survey.station == "Paris Nord"]
    x = paris.groupby("wave")["slept_in_shelter"].agg(["sum", "size"])
    ref = confint_proportions_2indep(x.loc[2, "sum"], x.loc[2, "size"], x.loc[1, "sum"],
                                     x.loc[1, "size"], method="newcomb", compare="diff")
    assert_allclose([row.ci_lower, row.ci_upper], 100 * np.asarray(ref), rtol=1e-10)
    row = trend[(trend.indicator == "perception") & (trend.territory == "Roma Termini")].iloc[0]
    roma = survey[survey.station == "Roma Termini"]
    welch = stats.ttest_ind(roma.loc[roma.wave == 2, "perception_score"],
                            roma.loc[roma.wave == 1, "perception_score"], equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert_allclose([row.ci_lower, row.ci_upper], [ci.low, ci.high], rtol=1e-10)


# ------------------------------------------------------------------ cpas_careers
CPAS_DISAGG = Disaggregations(sex="sex", age_band="age_band", territory="cpas", period="month",
                              status="state")


def test_cpas_person_month_indicators(cpas):
    inds = [
        Indicator("in_job", "En emploi", "In employment", "proportion", "in_job",
                  disaggregations=("sex", "age_band", "territory"), per=100),
        Indicator("entries_ft", "Entrées en temps plein", "Entries into full-time jobs", "rate",
                  "entry_ft", denominator="exposure", filters=("month > 1",),
                  disaggregations=("territory",), per=1000),
        Indicator("by_status", "Mois par statut", "Months by status", "proportion",
                  "state in ['RIS', 'ALW']", disaggregations=("sex", "period")),
    ]
    res = IndicatorModel(inds, cpas, disaggregations=CPAS_DISAGG, id="person_id").fit()
    tidy = res.to_frame()
    hand = cpas.groupby(["sex", "age_band", "cpas"], observed=True).agg(
        x=("in_job", "sum"), n=("in_job", "size"), persons=("person_id", "nunique"))
    sub = tidy[(tidy.indicator == "in_job") & (tidy.sex != ALL) & (tidy.age_band != ALL)
               & (tidy.territory != ALL)].set_index(["sex", "age_band", "territory"])
    sub = sub.loc[hand.index.set_levels([lvl.astype(str) for lvl in hand.index.levels])]
    assert_allclose(sub["estimate"], 100 * hand["x"] / hand["n"])
    assert_allclose(sub["n_persons"], hand["persons"])

    later = cpas[cpas.month > 1]
    hand = later.groupby("cpas", observed=True).agg(x=("entry_ft", "sum"), e=("exposure", "sum"))
    sub = tidy[(tidy.indicator == "entries_ft") & (tidy.territory != ALL)].set_index("territory")
    sub = sub.loc[hand.index.astype(str)]
    assert_allclose(sub["estimate"], 1000 * hand["x"] / hand["e"])
    lo, hi = confint_poisson(hand["x"].to_numpy(), hand["e"].to_numpy(), method="exact-c")
    assert_allclose(sub["ci_lower"], 1000 * lo, atol=1e-12)

    hand = cpas.assign(y=cpas["state"].isin(["RIS", "ALW"])).groupby(
        ["sex", "month"], observed=True)["y"].mean()
    sub = tidy[(tidy.indicator == "by_status") & (tidy.sex != ALL) & (tidy.period != ALL)]
    sub = sub.set_index(["sex", "period"]).loc[[(str(s), str(m)) for s, m in hand.index]]
    assert_allclose(sub["estimate"], hand.to_numpy())

    duck = IndicatorModel(inds, cpas, disaggregations=CPAS_DISAGG, id="person_id",
                          engine="duckdb").fit().to_frame()
    pd.testing.assert_frame_equal(duck, tidy, check_exact=False, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------- missing values / logic
def test_three_valued_logic_same_in_both_engines():
    df = pd.DataFrame({
        "age": [20.0, np.nan, 40.0, 70.0, np.nan, 33.0],
        "sex": ["F", None, "M", "F", "M", None],
        "y": [1.0, 0.0, np.nan, 1.0, 1.0, 0.0],
        "region": ["a", "b", "a", "b", "a", "b"],
    })
    exprs = ["not (age > 30)", "~(age > 30) | (sex == 'F')", "sex in ['F']", "sex not in ['F']",
             "isna(age) and y == 1", "age / (y - 1) > 0", "(age > 30) & (region != 'b')"]
    import ibis

    con = ibis.duckdb.connect()
    t = ibis.memtable(df.assign(row=range(len(df))))
    for text in exprs:
        e = Expression.parse(text)
        got = e.evaluate(df).astype(object).where(e.evaluate(df).notna(), None).tolist()
        out = con.execute(t.select("row", v=e.to_ibis(t)).order_by("row"))["v"]
        assert got == [None if pd.isna(v) else bool(v) for v in out], text


def test_missing_values_excluded_and_counted():
    df = pd.DataFrame({"y": [1, 0, np.nan, 1, np.nan], "sex": ["F", None, "M", "F", "M"]})
    ind = Indicator("p", "p", "p", "proportion", "y", disaggregations=("sex",))
    for engine in ("pandas", "duckdb"):
        res = IndicatorModel(ind, df, engine=engine, disaggregations=Disaggregations(age=None)).fit()
        ex = res.exclusions.iloc[0]
        assert ex["n_missing_value"] == 2
        tidy = res.to_frame().set_index("sex")
        assert tidy.loc[MISSING, "n"] == 1  # a missing disaggregation value is its own cell
        assert_allclose(tidy.loc[ALL, "estimate"], 2 / 3)


# ------------------------------------------------------------------ disclosure
def test_publishable_masks_small_person_counts(hope):
    survey = hope["survey"]
    ind = Indicator("shelter", "Hébergé", "Sheltered", "proportion", "slept_in_shelter",
                    disaggregations=("territory", "age_band"))
    disagg = Disaggregations(territory="station", age="age", age_bands=AgeBands((25, 35, 45, 55, 70)))
    res = IndicatorModel(ind, survey, disaggregations=disagg, id="respondent_id").fit()
    raw = res.to_frame()
    pub = res.publishable(threshold=11)
    small = raw["n_persons"] < 11
    assert small.any()
    assert pub.loc[small, "masked"].all()
    assert pub.loc[pub["masked"], ["n_persons", "estimate", "ci_lower"]].isna().all().all()
    published = pub.loc[~pub["masked"], "n_persons"]
    assert (published >= 11).all()
    # secondary suppression: no row or column of the two-way layout has a single masked cell
    cross = pub[(pub.territory != ALL) & (pub.age_band != ALL)]
    per_station = cross.groupby("territory")["masked"].sum()
    assert not (per_station == 1).any()
    table = res.to_report_table(lang="fr")
    assert "< 11" in set(table["N"])
    assert "Ensemble" in set(table["Territoire"])


# ---------------------------------------------------------------------- errors
def test_errors_are_clear():
    df = pd.DataFrame({"y": [1, 0, 1], "sex": ["F", "M", "F"], "months": [0.0, 0.0, 0.0],
                       "score": [1.0, 2.0, 3.0]})
    with pytest.raises(MissingColumnError, match="'z'"):
        evaluate_indicators(Indicator("a", "a", "a", "proportion", "z == 1"), df)
    with pytest.raises(MissingColumnError, match="'status'"):
        evaluate_indicators(Indicator("a", "a", "a", "proportion", "y", disaggregations=("status",)),
                            df, disaggregations=Disaggregations(status="status"))
    with pytest.raises(ConfigError, match="no column"):
        evaluate_indicators(Indicator("a", "a", "a", "proportion", "y", disaggregations=("territory",)), df)
    for engine in ("pandas", "duckdb"):
        with pytest.raises(EstimationError, match="sums to zero"):
            evaluate_indicators(Indicator("r", "r", "r", "rate", "y", denominator="months"), df,
                                engine=engine)
        with pytest.raises(EmptyDataError, match="denominator is zero"):
            evaluate_indicators(Indicator("p", "p", "p", "proportion", "y", filters=("y > 5",)), df,
                                engine=engine)
        with pytest.raises(DataValidationError, match="0/1"):
            evaluate_indicators(Indicator("p", "p", "p", "proportion", "score"), df, engine=engine)
    with pytest.raises(ColumnTypeError, match="numeric"):
        evaluate_indicators(Indicator("m", "m", "m", "mean", "sex"), df)
    for engine in ("pandas", "duckdb"):
        with pytest.raises(DataValidationError, match="weight"):
            evaluate_indicators(Indicator("m", "m", "m", "mean", "score"),
                                df.assign(w=[1.0, -2.0, 1.0]), weight="w", engine=engine)
    with pytest.raises(MissingColumnError, match="'w' \\(weight\\)"):
        evaluate_indicators(Indicator("m", "m", "m", "mean", "score"), df, weight="w")
    with pytest.raises(ConfigError, match="not allowed"):
        Indicator("x", "x", "x", "proportion", "__import__('os')")
    with pytest.raises(ConfigError, match="kind"):
        Indicator("x", "x", "x", "ratio", "y")
    with pytest.raises(ConfigError, match="denominator"):
        Indicator("x", "x", "x", "rate", "y")
    with pytest.raises(ConfigError, match="engine"):
        IndicatorModel(Indicator("a", "a", "a", "mean", "score"), df, engine="polars")


def test_age_bands_engine_matches_python():
    import ibis

    bands = AgeBands()
    ages = np.array([0, 17.9, 18, 24, 25, 49.5, 64.99, 65, 90, np.nan])
    t = ibis.memtable(pd.DataFrame({"age": ages, "i": range(len(ages))}))
    got = ibis.duckdb.connect().execute(t.select("i", band=bands.to_ibis(t.age)).order_by("i"))
    assert list(bands.assign(ages)) == [None if pd.isna(v) else v for v in got["band"]]
    assert bands.labels == ("<18", "18-24", "25-34", "35-49", "50-64", "65+")


def test_panel_contract_period_role(hope):
    from evalkit.data import Panel

    survey = hope["survey"].assign(female=lambda d: (d["sex"] == "female").astype(int))
    panel = Panel(survey, unit="respondent_id", period="wave", outcomes=["slept_in_shelter"],
                  first_treated="first_treated_wave", covariates=["female", "age"],
                  cluster="station", repeated_cross_section=True)
    ind = Indicator("shelter", "Hébergé", "Sheltered", "proportion", "slept_in_shelter",
                    disaggregations=("period", "sex"))
    # the period role is taken from the panel; Panel covariates are numeric (female 0/1)
    res = evaluate_indicators(ind, panel, disaggregations=Disaggregations(sex="female"))
    tidy = res.to_frame()
    hand = survey.groupby("wave")["slept_in_shelter"].mean()
    sub = tidy[(tidy.sex == ALL) & (tidy.period != ALL)].set_index("period")
    assert_allclose(sub.loc[["1", "2"], "estimate"], hand.loc[[1, 2]].to_numpy())
    assert res.person_id == "respondent_id"


def test_report_table_english_and_plot(hope):
    import matplotlib

    matplotlib.use("Agg")
    survey = hope["survey"]
    res = IndicatorModel(HOPE_INDICATORS[0], survey, disaggregations=HOPE_DISAGG,
                         id="respondent_id").fit(level=0.9)
    table = res.to_report_table(lang="en")
    assert list(table.columns) == ["Indicator", "Territory", "Period", "Sex", "N", "Value", "90% CI"]
    overall = table[(table.Territory == "All") & (table.Period == "All") & (table.Sex == "All")]
    assert overall["N"].iloc[0] == f"{survey['respondent_id'].nunique():,}".replace(",", " ")
    assert overall["Value"].iloc[0] == f"{100 * survey['slept_in_shelter'].mean():.1f} %"
    lo, hi = proportion_confint(survey["slept_in_shelter"].sum(), len(survey), alpha=0.1,
                                method="wilson")
    assert overall["90% CI"].iloc[0] == f"[{100 * lo:.1f} ; {100 * hi:.1f}]"
    assert "respondent_id" not in res.summary() and "H000001" not in res.summary()
    fig = res.plot(by="territory")
    assert len(fig.axes[0].get_yticklabels()) == survey["station"].nunique()
    matplotlib.pyplot.close(fig)


def test_indicator_from_config_mapping():
    spec = {"name": "job", "label": {"fr": "En emploi", "en": "In a job"}, "kind": "proportion",
            "numerator": "state in ['FT', 'PT']", "disaggregations": ["sex", "period"], "per": 100}
    ind = Indicator.from_dict(spec)
    assert ind.label("fr") == "En emploi" and ind.disaggregations == ("sex", "period")
    with pytest.raises(ConfigError, match="unknown indicator key"):
        Indicator.from_dict({**spec, "numerater": "x"})
    with pytest.raises(ConfigError, match="lacks"):
        Indicator.from_dict({"name": "a", "kind": "mean"})


def test_duckdb_input_errors(tmp_path):
    from evalkit.errors import InputFileError

    ind = Indicator("m", "m", "m", "mean", "y")
    with pytest.raises(InputFileError, match="does not exist"):
        evaluate_indicators(ind, tmp_path / "nope.parquet", engine="duckdb")
    csv = tmp_path / "x.csv"
    csv.write_text("y\n1\n")
    with pytest.raises(InputFileError, match="Parquet"):
        evaluate_indicators(ind, csv, engine="duckdb")
    with pytest.raises(InputFileError, match="no .parquet"):
        evaluate_indicators(ind, tmp_path, engine="duckdb")


def test_beneficiaries_by_status_sex_age_band(cpas):
    # EQUAL NEAR-style sheet: persons by status x sex x age band (counts come with every
    # indicator), here with the share of women by status and age band.
    ind = Indicator("women", "Part de femmes", "Share of women", "proportion", "sex == 'F'",
                    filters=("month == 12",), disaggregations=("status", "age_band"))
    kw = dict(disaggregations=CPAS_DISAGG, id="person_id")
    res = IndicatorModel(ind, cpas, **kw).fit()
    tidy = res.to_frame()
    month12 = cpas[cpas.month == 12]
    hand = month12.groupby(["state", "age_band"], observed=True).agg(
        persons=("person_id", "nunique"), women=("sex", lambda s: (s == "F").mean()))
    sub = tidy[(tidy.status != ALL) & (tidy.age_band != ALL)].set_index(["status", "age_band"])
    sub = sub.loc[[(str(a), str(b)) for a, b in hand.index]]
    assert_allclose(sub["n_persons"], hand["persons"])
    assert_allclose(sub["estimate"], hand["women"])
    duck = IndicatorModel(ind, cpas, engine="duckdb", **kw).fit().to_frame()
    pd.testing.assert_frame_equal(duck, tidy, check_exact=False, rtol=1e-10, atol=1e-12)


# ------------------------------------------------- engines agree on random data
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_EXPRESSIONS = {
    "proportion": ["flag", "x > 0.5", "not (x > 0.5) or s == 'a'", "s in ['a', 'b'] and k >= 2",
                   "isna(x)"],
    "rate": ["k", "k * 2 + 1"],
    "mean": ["x", "x * k - 3", "k / (x + 1)"],
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    kind=st.sampled_from(["proportion", "rate", "mean"]),
    which=st.integers(0, 4),
    dims=st.sampled_from([(), ("sex",), ("sex", "territory"), ("age_band", "period", "status")]),
    margins=st.booleans(),
    with_filter=st.booleans(),
    with_id=st.booleans(),
    with_weight=st.booleans(),
)
def test_engines_agree_on_random_frames(seed, n, kind, which, dims, margins, with_filter, with_id,
                                        with_weight):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "pid": rng.integers(0, max(1, n // 2), n),
        "x": np.where(rng.random(n) < 0.15, np.nan, rng.normal(0.5, 1, n)),
        "k": rng.integers(0, 4, n),
        "flag": rng.integers(0, 2, n).astype(float),
        "s": pd.array(rng.choice(["a", "b", "c", None], n), dtype="str"),
        "sex": rng.choice(["F", "M"], n),
        "age": np.where(rng.random(n) < 0.1, np.nan, rng.integers(10, 90, n)),
        "terr": rng.choice(["T1", "T2", "T3"], n),
        "wave": rng.integers(1, 4, n),
        "status": pd.Categorical(rng.choice(["job", "ris", "inactive"], n)),
        "expo": rng.integers(1, 13, n).astype(float),
        "wt": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0.2, 3, n)),
    })
    exprs = _EXPRESSIONS[kind]
    ind = Indicator(
        "i", "i", "i", kind, exprs[which % len(exprs)],
        denominator="expo" if kind == "rate" else None,
        filters=("k != 3",) if with_filter else (), disaggregations=dims,
    )
    disagg = Disaggregations(sex="sex", age="age", territory="terr", period="wave", status="status")
    kw = dict(disaggregations=disagg, margins=margins, id="pid" if with_id else None,
              weight="wt" if with_weight else None)
    outcomes = []
    for engine in ("pandas", "duckdb"):
        try:
            outcomes.append(IndicatorModel(ind, df, engine=engine, **kw).fit())
        except (EmptyDataError, EstimationError) as exc:
            outcomes.append(type(exc))
    if isinstance(outcomes[0], type) or isinstance(outcomes[1], type):
        assert outcomes[0] == outcomes[1]  # the same refusal in both engines
        return
    pd.testing.assert_frame_equal(outcomes[1].to_frame(), outcomes[0].to_frame(),
                                  check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(outcomes[1].exclusions, outcomes[0].exclusions)


def test_ledger_for_dataframe_input():
    df = pd.DataFrame({"pid": [1, 1, 2, 3], "y": [1.0, np.nan, 0.0, np.nan]})
    res = evaluate_indicators(Indicator("m", "m", "m", "mean", "y"), df, id="pid")
    ledger = res.ledger.to_frame()
    assert ledger.loc[0, "n_rows"] == 4 and ledger.loc[0, "n_persons"] == 3
    assert ledger.loc[1, "step"] == "indicator m" and ledger.loc[1, "n_rows"] == 2


# ------------------------------------------------------------------ survey weights
def _wls_hc1(y, w):
    """Weighted mean and its linearised SE via statsmodels (WLS on a constant, HC1)."""
    import statsmodels.api as sm

    fit = sm.WLS(np.asarray(y, float), np.ones(len(y)), weights=np.asarray(w, float)).fit(
        cov_type="HC1")
    return fit.params[0], fit.bse[0]


def test_weighted_indicators_equal_statsmodels(hope):
    survey = hope["survey"]
    inds = [
        Indicator("shelter", "s", "s", "proportion", "slept_in_shelter",
                  disaggregations=("territory",)),
        Indicator("perception", "p", "p", "mean", "perception_score",
                  disaggregations=("territory",)),
        Indicator("services", "v", "v", "rate", "n_services_used", denominator="months_homeless",
                  filters=("months_homeless > 0",), disaggregations=("territory",), per=12),
    ]
    kw = dict(disaggregations=HOPE_DISAGG, id="respondent_id", weight="survey_weight")
    res = IndicatorModel(inds, survey, **kw).fit()
    tidy = res.to_frame()
    for station, grp in survey.groupby("station"):
        row = tidy[(tidy.indicator == "shelter") & (tidy.territory == station)].iloc[0]
        p, se = _wls_hc1(grp["slept_in_shelter"], grp["survey_weight"])
        assert_allclose([row.estimate, row.std_error], [p, se], rtol=1e-9)
        n_eff = p * (1 - p) / se**2
        lo, hi = proportion_confint(p * n_eff, n_eff, method="wilson")
        assert_allclose([row.ci_lower, row.ci_upper], [lo, hi], rtol=1e-9)
        assert row.n_persons == len(grp)  # disclosure counts stay unweighted

        row = tidy[(tidy.indicator == "perception") & (tidy.territory == station)].iloc[0]
        m, se = _wls_hc1(grp["perception_score"], grp["survey_weight"])
        q = stats.t.ppf(0.975, len(grp) - 1)
        assert_allclose([row.estimate, row.std_error, row.ci_lower], [m, se, m - q * se],
                        rtol=1e-9)

        g = grp[grp.months_homeless > 0]
        row = tidy[(tidy.indicator == "services") & (tidy.territory == station)].iloc[0]
        r, se = _wls_hc1(g["n_services_used"] / g["months_homeless"],
                         g["survey_weight"] * g["months_homeless"])
        assert_allclose([row.estimate, row.std_error], [12 * r, 12 * se], rtol=1e-9)
    # the margin combines the cells' additive sums
    total = tidy[(tidy.indicator == "perception") & (tidy.territory == ALL)].iloc[0]
    m, se = _wls_hc1(survey["perception_score"], survey["survey_weight"])
    assert_allclose([total.estimate, total.std_error], [m, se], rtol=1e-9)
    duck = IndicatorModel(inds, survey, engine="duckdb", **kw).fit().to_frame()
    pd.testing.assert_frame_equal(duck, tidy, check_exact=False, rtol=1e-9, atol=1e-12)
    # a PersonTable's weight is used by default
    pt = PersonTable(survey, id="respondent_id", group="pilot", weight="survey_weight",
                     outcomes=["perception_score"], covariates=["station"])
    from_pt = evaluate_indicators(inds[1], pt, disaggregations=HOPE_DISAGG)
    assert_allclose(from_pt.params["perception"], m, rtol=1e-12)
    assert "survey weight" in from_pt.summary()


def test_weighted_trend(hope):
    survey = hope["survey"]
    ind = Indicator("perception", "p", "p", "mean", "perception_score",
                    disaggregations=("period",))
    res = IndicatorModel(ind, survey, disaggregations=HOPE_DISAGG, weight="survey_weight").fit()
    row = res.trend().iloc[0]
    m1, se1 = _wls_hc1(survey.loc[survey.wave == 1, "perception_score"],
                       survey.loc[survey.wave == 1, "survey_weight"])
    m2, se2 = _wls_hc1(survey.loc[survey.wave == 2, "perception_score"],
                       survey.loc[survey.wave == 2, "survey_weight"])
    half = stats.norm.ppf(0.975) * np.hypot(se1, se2)
    assert_allclose([row.difference, row.ci_lower, row.ci_upper],
                    [m2 - m1, m2 - m1 - half, m2 - m1 + half], rtol=1e-9)
