"""One results surface (issue 11): Summary objects, LaTeX/CSV export, the shared
TestResult, side-by-side comparison and a plot for every results object the README lists."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from evalkit.results import EstimateResults, TestResult, compare
from evalkit.summary import Summary

matplotlib.use("Agg")


def _frame(seed=0, n=300):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({"d": d, "x": x, "y": x + 2 * d + rng.normal(size=n),
                         "y2": rng.normal(size=n)})


@pytest.fixture(scope="module")
def cohort_results():
    from evalkit.cohort import CohortComparison

    return CohortComparison(_frame(), group="d", outcome=["y", "y2"], covariates=["x"]).fit(
        method="aipw")


def test_summary_is_an_object_with_text_html_latex_and_csv(cohort_results):
    summary = cohort_results.summary()
    assert isinstance(summary, Summary) and not isinstance(summary, str)
    text = str(summary)
    assert text == repr(summary) and "aipw" in text.lower()
    n_treated = int(cohort_results.counts["n_treated"].iloc[0])
    # counts print as integers, not "185.0000" (effective sizes keep their decimals)
    assert summary.formatted()["n_treated"].tolist() == [str(n_treated)] * 2
    assert summary.formatted()["ess_control"].iloc[0].count(".") == 1
    html = summary._repr_html_()
    assert "<table" in html and f">{n_treated}<" in html
    latex = summary.as_latex()
    assert latex.startswith(r"\begin{table}") and r"\toprule" in latex and "n\\_treated" in latex
    csv = pd.read_csv(pd.io.common.StringIO(summary.as_csv()), index_col=0)
    np.testing.assert_allclose(csv["estimate"], cohort_results.params.to_numpy())
    assert cohort_results.to_latex() == summary.as_latex()


def test_summary_level_changes_the_interval(cohort_results):
    at90 = cohort_results.summary(0.9).table
    at95 = cohort_results.summary(0.95).table
    assert "[90%" in at90.columns and "[95%" in at95.columns
    assert (at90["[90%"] > at95["[95%"]).all()


def test_every_summary_is_a_summary_object():
    from evalkit.cohort import attrition, balance_table
    from evalkit.did import BaconDecomposition

    df = _frame()
    assert isinstance(balance_table(df, group="d", covariates=["x"]).summary(), Summary)
    follow = df.assign(responded=(np.arange(len(df)) % 5 != 0).astype(int))
    assert isinstance(attrition(follow, group="d", responded="responded").summary(), Summary)
    units = np.repeat(np.arange(30), 4)
    periods = np.tile(np.arange(1, 5), 30)
    first = np.repeat(np.select([np.arange(30) < 10, np.arange(30) < 20], [2, 3], 0), 4)
    panel = pd.DataFrame({"u": units, "t": periods, "g": first,
                          "y": np.random.default_rng(1).normal(size=units.size)})
    bacon = BaconDecomposition(panel, outcome="y", unit="u", period="t",
                               first_treated="g").fit(warn_forbidden=False)
    assert isinstance(bacon.summary(), Summary) and "TWFE coefficient" in bacon.summary()


def test_one_test_result_class():
    from evalkit.did.cs_results import PreTest
    from evalkit.did.event_study import PretrendTest
    from evalkit.did.wild_bootstrap import WildBootstrapResult

    for cls in (PreTest, PretrendTest, WildBootstrapResult):
        assert issubclass(cls, TestResult)
    test = TestResult(statistic=3.2, pvalue=0.2, method="Wald", df=2, null="b = 0")
    assert str(test) == "Wald (H0: b = 0): statistic(2) = 3.2000, p = 0.2"
    assert test.to_series()["df"] == 2


def test_wild_bootstrap_and_pretrend_report_their_statistic():
    from evalkit.did import TWFE, EventStudy

    rng = np.random.default_rng(3)
    n_units, n_t = 40, 6
    units = np.repeat(np.arange(n_units), n_t)
    periods = np.tile(np.arange(1, n_t + 1), n_units)
    first = np.repeat(np.select([np.arange(n_units) < 15, np.arange(n_units) < 30], [3, 5], 0),
                      n_t)
    y = rng.normal(size=units.size) + 0.5 * ((periods >= first) & (first > 0))
    panel = pd.DataFrame({"u": units, "t": periods, "g": first, "y": y})
    twfe = TWFE(panel, outcome="y", unit="u", period="t", first_treated="g").fit()
    wild = twfe.wild_cluster_bootstrap(n_boot=199, seed=1)
    assert isinstance(wild, TestResult) and wild.df is None
    t = twfe.params["treated"] / twfe.std_errors["treated"]
    assert wild.statistic == pytest.approx(t, rel=0.05)  # CRV1 small-sample factor cancels
    es = EventStudy(panel, outcome="y", unit="u", period="t", first_treated="g").fit()
    pre = es.pretrend_test()
    assert pre.statistic == pre.chi2 and pre.pvalue == pre.pvalue_chi2 and pre.df >= 1
    fig = twfe.plot()  # the README promises a plot for TWFE too
    assert fig.axes[0].get_yticklabels()[0].get_text() == "treated"


def test_compare_puts_results_side_by_side(cohort_results):
    a = EstimateResults(pd.Series([1.0, 2.0], index=["att", "x"]),
                        pd.Series([0.5, 0.25], index=["att", "x"]), title="A")
    b = EstimateResults(pd.Series([1.5], index=["att"]), pd.Series([0.5], index=["att"]),
                        title="B")
    table = compare({"model A": a, "model B": b}, stars=True, level=0.95)
    assert isinstance(table, Summary)
    frame = table.table
    assert list(frame.columns) == ["model A", "model B"]
    assert frame.loc[("att", "estimate"), "model A"] == "1.0000**"
    assert frame.loc[("att", "std. error"), "model B"] == "(0.5000)"
    assert frame.loc[("x", "estimate"), "model B"] == ""
    assert frame.loc[("att", "95% CI"), "model A"] == "[0.0200, 1.9800]"
    assert r"\begin{tabular}" in table.as_latex() and "<table" in table._repr_html_()
    assert list(compare([a, b]).table.columns) == ["A", "B"]
    assert ("Observations", "") not in frame.index  # neither knows its sample size
    a.n_obs, b.info["Observations"] = 1234, 56
    counts = compare({"model A": a, "model B": b}).table.loc[("Observations", "")]
    assert list(counts) == ["1234", "56"]
