"""Bad input to the cohort estimators: evalkit errors and warnings with useful messages."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.cohort.comparison import CohortComparison
from evalkit.cohort.weighting import ExtremeWeightsWarning
from evalkit.data.persons import PersonTable
from evalkit.errors import (
    ConfigError,
    DataValidationError,
    EmptyDataError,
    EstimationError,
    EvalkitWarning,
    FewClustersWarning,
    OverlapError,
)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({
        "pid": np.arange(n), "group": np.where(d == 1, "integrated", "comparison"),
        "x": x, "age": rng.integers(18, 70, n).astype(float),
        "y": x + d + rng.normal(size=n), "w": rng.uniform(0.5, 2, n),
        "site": rng.integers(0, 8, n),
    })


def test_string_labels_need_treated(frame):
    with pytest.raises(ConfigError, match="treated=<label>"):
        CohortComparison(frame, group="group", outcome="y", covariates=["x"])
    with pytest.raises(ConfigError, match="not a label"):
        CohortComparison(frame, group="group", outcome="y", treated="pilot")
    res = CohortComparison(frame, group="group", outcome="y", covariates=["x"],
                           treated="integrated").fit(method="dim")
    t = frame["group"] == "integrated"
    assert_allclose(res.params.iloc[0], frame.y[t].mean() - frame.y[~t].mean())


def test_person_table_and_dataframe_agree(frame):
    table = PersonTable(frame, id="pid", group="group", covariates=["x", "age"],
                        outcomes=["y"], weight="w", cluster="site")
    with pytest.warns(FewClustersWarning, match="only 8 clusters in 'site'"):
        a = CohortComparison(table, treated="integrated").fit(method="aipw", estimand="ATT")
    with pytest.warns(FewClustersWarning):
        b = CohortComparison(frame, group="group", outcome="y", covariates=["x", "age"],
                             weight="w", cluster="site", treated="integrated").fit(method="aipw", estimand="ATT")
    assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)
    assert_allclose(a.std_errors.to_numpy(), b.std_errors.to_numpy(), rtol=1e-12)
    assert "clustered by site (8 clusters)" in a.summary()


def test_single_cluster_refused(frame):
    model = CohortComparison(frame.assign(site=1), group="group", outcome="y",
                             cluster="site", treated="integrated")
    with pytest.raises(DataValidationError, match="single cluster"):
        model.fit(method="dim")


def test_one_group_only(frame):
    with pytest.raises(EmptyDataError, match="exactly two groups"):
        CohortComparison(frame.assign(group="integrated"), group="group", outcome="y")


def test_outcome_missing_for_a_whole_group(frame):
    frame.loc[frame["group"] == "comparison", "y"] = np.nan
    model = CohortComparison(frame, group="group", outcome="y", treated="integrated")
    with pytest.raises(EmptyDataError, match="outcome 'y' is missing.*'comparison'"):
        model.fit(method="dim")


def test_missing_outcome_and_covariate_rows_are_in_the_ledger(frame):
    frame.loc[:9, "y"] = np.nan
    frame.loc[10:14, "x"] = np.nan
    res = CohortComparison(frame, group="group", outcome="y", covariates=["x"],
                           treated="integrated").fit(method="ipw", estimand="ATT")
    ledger = res.ledger.to_frame()
    assert ledger["n_rows"].iloc[1:].sum() == 15
    assert res.counts[["n_treated", "n_control"]].sum(axis=1).iloc[0] == len(frame) - 15


def test_bad_weights(frame):
    with pytest.raises(DataValidationError, match="negative"):
        CohortComparison(frame.assign(w=-frame["w"]), group="group", outcome="y",
                         weight="w", treated="integrated")
    with pytest.raises(DataValidationError, match="zero on every row"):
        CohortComparison(frame.assign(w=0.0), group="group", outcome="y", weight="w",
                         treated="integrated")
    frame.loc[:19, "w"] = 0.0
    res = CohortComparison(frame, group="group", outcome="y", weight="w",
                           treated="integrated").fit(method="dim")
    assert res.ledger.to_frame().query("step == 'zero weight'")["n_rows"].item() == 20


def test_extreme_weights_warn_with_effective_sample_size(frame):
    frame.loc[0, "w"] = 5000.0
    model = CohortComparison(frame, group="group", outcome="y", covariates=["x"],
                             weight="w", treated="integrated")
    with pytest.warns(ExtremeWeightsWarning, match=r"effective sample size \d+\.\d of \d+"):
        res = model.fit(method="ipw", estimand="ATE")
    assert issubclass(ExtremeWeightsWarning, EvalkitWarning)
    assert res.counts.filter(like="ess").min(axis=1).iloc[0] < 5


def test_scores_at_zero_or_one(frame):
    # x separates the groups perfectly -> scores at 0/1
    frame["group"] = np.where(frame["x"] > 0, "integrated", "comparison")
    model = CohortComparison(frame, group="group", outcome="y", covariates=["x", "age"],
                             treated="integrated")
    for method in ["ipw", "aipw", "matching"]:
        with pytest.raises(OverlapError, match="'x'"):
            model.fit(method=method)


def test_bad_options(frame):
    model = CohortComparison(frame, group="group", outcome="y", covariates=["x"],
                             treated="integrated")
    with pytest.raises(ConfigError, match="method="):
        model.fit(method="psm")
    with pytest.raises(ConfigError, match="estimand="):
        model.fit(method="ipw", estimand="ATC")
    with pytest.raises(ConfigError, match="without replacement"):
        model.fit(method="matching", estimand="ATE", replace=False)
    with pytest.raises(ConfigError, match="trim="):
        model.fit(method="ipw", trim=0.7)
    with pytest.raises(ConfigError, match="no outcome"):
        CohortComparison(frame, group="group", treated="integrated")


def test_constant_covariate_within_comparison_group(frame):
    frame["pilot_only"] = np.where(frame["group"] == "integrated", frame["age"], 0.0)
    model = CohortComparison(frame, group="group", outcome="y",
                             covariates=["x", "pilot_only"], treated="integrated")
    with pytest.raises(EstimationError, match="pilot_only.*constant within"):
        model.fit(method="ra", estimand="ATT")


def test_results_frame_summary_and_plot(frame):
    import matplotlib

    matplotlib.use("Agg")
    frame["y2"] = frame["y"] * 2
    res = CohortComparison(frame, group="group", outcome=["y", "y2"], covariates=["x"],
                           treated="integrated").fit(method="aipw", estimand="ATE")
    out = res.to_frame()
    assert list(out.index) == ["y", "y2"]
    # a doubled outcome doubles the estimate and its standard error
    assert_allclose(out.loc["y2", ["estimate", "std_error"]].to_numpy(),
                    2 * out.loc["y", ["estimate", "std_error"]].to_numpy(), rtol=1e-10)
    assert_allclose(out["ci_upper"] - out["estimate"], 1.959963984540054 * out["std_error"])
    text = res.summary()
    assert "ATE by augmented IPW" in text and "pid" not in text
    fig = res.plot()
    assert len(fig.axes[0].get_yticklabels()) == 2
