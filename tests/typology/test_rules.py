"""Tests of the CPAS rule typology: each rule on hand-made careers, a per-person
reference implementation, recovery of the generator's types, inputs and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from evalkit.data import Sequences
from evalkit.datasets import cpas_careers
from evalkit.errors import (
    ConfigError,
    DataValidationError,
    EmptyDataError,
    UnknownCategoryError,
)
from evalkit.options import OptionError
from evalkit.typology.rules import CareerRules, RuleTypology, classify_matrix
from evalkit.typology.states import CAREER_TYPE_CODES, CPAS_ALPHABET, STUDY_SHARES

A = {s: i for i, s in enumerate(CPAS_ALPHABET)}


def seq(*runs) -> list[int]:
    """A sequence from (state, months) runs."""
    return [A[s] for s, k in runs for _ in range(k)]


def classify(rows, rules=None):
    m = np.array(rows, dtype=np.int8)
    res = classify_matrix(m, CPAS_ALPHABET, rules)
    return [CAREER_TYPE_CODES[i] for i in res["career_type"]], res


# --- each rule on hand-made careers -------------------------------------------------------


CASES = {
    "sustainable": seq(("UB", 3), ("FT", 33)),
    "sustainable_one_month_gap": seq(("FT", 10), ("UB", 1), ("PT", 25)),
    "sustainable_interrupted": seq(("FT", 10), ("UB", 2), ("FT", 24)),
    "sustainable_interrupted_trailing": seq(("SE", 24), ("INA", 12)),
    "share_exactly_half": seq(("UB", 18), ("FT", 18)),
    "integration_income": seq(("PT", 3), ("RIS", 33)),
    "allowance": seq(("UB", 10), ("ALW", 26)),
    "onem_activation": seq(("UB", 2), ("ACT", 24), ("UB", 10)),
    "nonsustainable_never_employed": seq(("UB", 30), ("INA", 6)),
    "nonsustainable_short_job": seq(("UB", 2), ("FT", 4), ("UB", 30)),
    "nonsustainable_interrupted": seq(("FT", 3), ("UB", 6), ("PT", 3), ("UB", 8), ("FT", 2),
                                      ("UB", 14)),
    "search_before_job_is_not_interruption": seq(("UB", 20), ("FT", 16)),
}
EXPECTED = {
    "sustainable": "sustainable",
    "sustainable_one_month_gap": "sustainable",
    "sustainable_interrupted": "sustainable_interrupted",
    "sustainable_interrupted_trailing": "sustainable_interrupted",
    "share_exactly_half": "sustainable",
    "integration_income": "integration_income",
    "allowance": "allowance",
    "onem_activation": "onem_activation",
    "nonsustainable_never_employed": "nonsustainable",
    "nonsustainable_short_job": "nonsustainable",
    "nonsustainable_interrupted": "nonsustainable_interrupted",
    "search_before_job_is_not_interruption": "nonsustainable",
}


def test_each_rule_on_hand_made_careers():
    got, _ = classify(list(CASES.values()))
    assert dict(zip(CASES, got, strict=True)) == EXPECTED


def test_figures_on_a_hand_made_career():
    row = seq(("UB", 2), ("FT", 4), ("UB", 1), ("PT", 5), ("INA", 3), ("FT", 9), ("UB", 12))
    _, res = classify([row])
    assert_allclose(res["employment_share"], [18 / 36])
    assert res["n_interruptions"][0] == 2  # the 1-month gap is not an interruption
    assert res["longest_interruption"][0] == 12
    assert res["n_job_spells"][0] == 3
    assert res["first_job_month"][0] == 3
    assert res["months_observed"][0] == 36
    assert res["dominant_status"][0] == 0  # employment, 18 months
    assert_allclose(res["dominant_share"], [0.5])


def test_rules_round_trip_through_a_config_dict():
    rules = CareerRules(sustainable_min_share=0.6, employment_states=["FT", "PT"])
    assert rules.employment_states == ("FT", "PT")
    assert CareerRules(**rules.to_dict()) == rules
    hash(rules)


def test_thresholds_are_parameters():
    row = seq(("FT", 10), ("UB", 2), ("FT", 24))
    assert classify([row], CareerRules(min_interruption_months=3))[0] == ["sustainable"]
    half = seq(("UB", 18), ("FT", 18))
    assert classify([half], CareerRules(sustainable_min_share=0.6))[0] == ["nonsustainable"]
    alternating = CASES["nonsustainable_interrupted"]
    assert classify([alternating], CareerRules(nonsustainable_min_interruptions=4))[0] == [
        "nonsustainable"]


def test_dominant_status_ties_go_to_employment_then_alphabet_order():
    tie = seq(("FT", 12), ("RIS", 12), ("UB", 12))  # share 1/3: not sustainable
    assert classify([tie])[0] == ["nonsustainable"]
    tie_ris_alw = seq(("RIS", 18), ("ALW", 18))
    assert classify([tie_ris_alw])[0] == ["integration_income"]


def test_missing_months_are_skipped():
    full = seq(("FT", 10), ("UB", 2), ("FT", 24))
    holed = list(full)
    holed[5] = holed[20] = -1
    _, a = classify([full])
    _, b = classify([holed])
    assert b["months_observed"][0] == 34
    assert_allclose(b["employment_share"], [32 / 34])
    assert b["n_interruptions"][0] == a["n_interruptions"][0] == 1
    late = [-1, -1] + seq(("UB", 3), ("FT", 31))
    assert classify([late])[1]["first_job_month"][0] == 6
    # A missing month between two UB months does not split the interruption.
    split = seq(("FT", 10), ("UB", 1)) + [-1] + seq(("UB", 1), ("FT", 24))
    assert classify([split])[1]["n_interruptions"][0] == 1


# --- independent per-person implementation -------------------------------------------------


def reference_type(row, rules=None):
    """Literal per-person reading of the documented rules (plain Python loops)."""
    rules = rules or CareerRules()
    states = [CPAS_ALPHABET[c] for c in row if c >= 0]
    emp = [s in rules.employment_states for s in states]
    share = sum(emp) / len(states)
    runs, current, seen = [], 0, False
    for e in emp:
        if e:
            if current:
                runs.append(current)
            current, seen = 0, True
        elif seen:
            current += 1
    if current:
        runs.append(current)
    n_int = sum(r >= rules.min_interruption_months for r in runs)
    if share >= rules.sustainable_min_share:
        return ("sustainable_interrupted" if n_int else "sustainable"), n_int, max(runs, default=0)
    counts = {"EMP": sum(emp)}
    for s in CPAS_ALPHABET:
        if s not in rules.employment_states:
            counts[s] = states.count(s)
    dominant = max(counts, key=counts.get)  # first maximum: EMP, then alphabet order
    if dominant == rules.integration_state:
        kind = "integration_income"
    elif dominant in rules.allowance_states:
        kind = "allowance"
    elif dominant == rules.activation_state:
        kind = "onem_activation"
    elif n_int >= rules.nonsustainable_min_interruptions:
        kind = "nonsustainable_interrupted"
    else:
        kind = "nonsustainable"
    return kind, n_int, max(runs, default=0)


def check_against_reference(matrix, rules=None):
    rules = rules or CareerRules()
    res = classify_matrix(matrix, CPAS_ALPHABET, rules)
    for i, row in enumerate(matrix):
        kind, n_int, longest = reference_type(row, rules)
        assert CAREER_TYPE_CODES[res["career_type"][i]] == kind, (i, row)
        assert res["n_interruptions"][i] == n_int
        assert res["longest_interruption"][i] == longest


def test_vectorised_rules_equal_per_person_reference_on_generated_careers():
    data = cpas_careers.generate(seed=5, n_persons=700, n_months=30)
    check_against_reference(data.truth["matrix"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 7), min_size=14, max_size=14), min_size=1, max_size=30),
       st.integers(1, 3), st.integers(1, 3))
def test_vectorised_rules_equal_reference_on_random_sequences(rows, min_int, min_ns):
    m = np.array(rows, dtype=np.int8)
    m[:, :2] = np.where(m[:, :2] < 0, 4, m[:, :2])  # at least 2 observed months
    check_against_reference(m, CareerRules(min_interruption_months=min_int,
                                           nonsustainable_min_interruptions=min_ns, min_months=2))


# --- acceptance on the generator ---------------------------------------------------------


@pytest.fixture(scope="module")
def default_fit():
    data = cpas_careers.generate(seed=2024)  # default size: 20,000 persons x 36 months
    return data, RuleTypology(data["sequences"]).fit()


def test_rules_recover_true_types_and_study_shares(default_fit):
    data, res = default_fit
    truth = data.truth["career_type"]
    merged = res.types.merge(truth, on="person_id", suffixes=("", "_true"))
    recovery = (merged["career_type"].astype(str) == merged["career_type_true"].astype(str)).mean()
    assert recovery >= 0.95
    study = pd.Series(STUDY_SHARES)
    assert (res.params - study).abs().max() <= 0.01
    assert res.counts.sum() == 20_000


@pytest.mark.parametrize("months", [18, 24, 60])
def test_rules_recover_true_types_at_other_follow_up_lengths(months):
    data = cpas_careers.generate(seed=6, n_persons=5000, n_months=months)
    res = RuleTypology(data.truth["matrix"]).fit()
    truth = data.truth["career_type"]["career_type"].cat.codes.to_numpy()
    assert (res.types["career_type"].cat.codes.to_numpy() == truth).mean() >= 0.95


def test_sample_size_shares_within_one_point():
    for seed in (1, 2, 3):
        data = cpas_careers.generate(**{**cpas_careers.SAMPLE_KWARGS, "seed": seed})
        res = RuleTypology(data["sequences"]).fit()
        assert (res.params - pd.Series(STUDY_SHARES)).abs().max() <= 0.01


def test_standard_errors_match_statsmodels_normal_interval(default_fit):
    from statsmodels.stats.proportion import proportion_confint

    _, res = default_fit
    lower, upper = proportion_confint(res.counts.to_numpy(), res.counts.sum(), alpha=0.05,
                                      method="normal")
    ci = res.conf_int(0.95)
    assert_allclose(ci["lower"], lower, rtol=1e-12)
    assert_allclose(ci["upper"], upper, rtol=1e-12)
    # A rare type: statsmodels clips the normal interval at 0, so do we.
    m = np.full((40, 24), A["FT"], dtype=np.int8)
    m[0] = A["RIS"]
    rare = RuleTypology(m).fit()
    lower, upper = proportion_confint(rare.counts.to_numpy(), 40, alpha=0.05, method="normal")
    assert_allclose(rare.conf_int()["lower"], lower, atol=1e-15)
    assert rare.conf_int()["lower"].min() == 0.0


def test_weighted_shares_and_linearised_se():
    data = cpas_careers.generate(seed=9, n_persons=3000)
    w = np.random.default_rng(0).uniform(0.5, 2.0, 3000)
    res = RuleTypology(data["sequences"], weights_array=pd.Series(w, index=data["persons"]["person_id"]
                                                            )).fit()
    y = pd.get_dummies(res.types["career_type"]).to_numpy(dtype=float)
    assert_allclose(res.params, (w[:, None] * y).sum(0) / w.sum())
    # Weighted share as a ratio estimator: statsmodels WLS of the indicator on a constant
    # with HC0 errors gives the same linearised SE (times sqrt(n / (n)) = 1).
    import statsmodels.api as sm

    for j in range(y.shape[1]):
        fit = sm.WLS(y[:, j], np.ones(3000), weights=w).fit(cov_type="HC0")
        assert_allclose(res.params.iloc[j], fit.params[0], rtol=1e-12)
        assert_allclose(res.std_errors.iloc[j], fit.bse[0], rtol=1e-10)


# --- inputs, results and errors ----------------------------------------------------------


def test_inputs_sequences_frame_and_matrix_agree():
    data = cpas_careers.generate(seed=4, n_persons=500)
    long = data["sequences"]
    a = RuleTypology(long).fit()
    b = RuleTypology(Sequences(long, alphabet=CPAS_ALPHABET)).fit()
    c = RuleTypology(data.truth["matrix"]).fit()
    assert_array_equal(a.types["career_type"].cat.codes, b.types["career_type"].cat.codes)
    assert_array_equal(a.types["career_type"].cat.codes, c.types["career_type"].cat.codes)
    # String states (not categorical) and shuffled rows give the same answer.
    shuffled = long.sample(frac=1, random_state=0).astype({"state": str})
    d = RuleTypology(shuffled).fit()
    assert_array_equal(a.types["career_type"].cat.codes, d.types["career_type"].cat.codes)


def test_results_frame_summary_audit_plot(default_fit):
    _, res = default_fit
    frame = res.to_frame()
    assert list(frame.index) == list(CAREER_TYPE_CODES)
    assert_allclose(frame["share"].sum(), 1.0)
    # No benchmark unless one is given: a user's own study shows no CPAS column.
    assert "benchmark_share" not in frame and "study" not in str(res.summary())
    with_study = RuleTypology(res.sequences, benchmark=STUDY_SHARES,
                              benchmark_label="CPAS study").fit()
    frame = with_study.to_frame()
    assert_allclose(frame["benchmark_share"], [STUDY_SHARES[k] for k in CAREER_TYPE_CODES])
    assert "CPAS study %" in str(with_study.summary())
    with pytest.raises(ConfigError, match="education"):
        RuleTypology(res.sequences, benchmark={"education": 0.2})
    text = res.summary(lang="fr")
    assert "Carrière durable" in text and "person_id" not in text
    one = res.types.iloc[0]
    assert str(one["career_type"]) in res.audit(one["person_id"])
    fig = res.plot()
    assert len(fig.axes[0].patches) >= 7
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_state_outside_alphabet_raises():
    long = cpas_careers.generate(seed=0, n_persons=50)["sequences"].astype({"state": str})
    long.loc[3, "state"] = "JOB"
    with pytest.raises(UnknownCategoryError, match="JOB"):
        RuleTypology(long).fit()


def test_matrix_with_codes_outside_alphabet_raises():
    m = np.full((3, 24), 4, dtype=np.int8)
    m[1, 5] = 9
    with pytest.raises(DataValidationError, match="9"):
        RuleTypology(m)


def test_all_missing_and_too_short_sequences():
    m = np.full((4, 24), A["FT"], dtype=np.int8)
    m[1] = -1          # all missing
    m[2, 6:] = -1      # 6 months observed
    with pytest.raises(DataValidationError, match="fewer than 12 observed months"):
        RuleTypology(m).fit()
    res = RuleTypology(m, too_short="exclude").fit()
    assert res.counts.sum() == 2
    assert res.ledger.n_persons_dropped == 2
    assert list(res.types["person_id"]) == [1, 4]
    with pytest.raises(EmptyDataError):
        RuleTypology(np.full((2, 24), -1, dtype=np.int8)).fit()
    with pytest.raises(EmptyDataError, match="min_months"):
        RuleTypology(np.full((2, 6), 0, dtype=np.int8)).fit()


def test_bad_rule_parameters_raise():
    with pytest.raises(ConfigError):
        CareerRules(sustainable_min_share=1.5)
    with pytest.raises(ConfigError):
        CareerRules(min_interruption_months=0)
    with pytest.raises(ConfigError, match="two roles"):
        CareerRules(employment_states=("FT", "RIS"))
    with pytest.raises(UnknownCategoryError, match="employment_states"):
        RuleTypology(np.zeros((2, 24), dtype=np.int8), alphabet=["A", "B"])
    renamed = ["FT", "PT", "SE", "ACT", "UB", "RI", "ALW", "INA"]
    with pytest.raises(UnknownCategoryError, match=r"integration_state: \['RIS'\]"):
        RuleTypology(np.zeros((2, 24), dtype=np.int8), alphabet=renamed)
    ok = RuleTypology(np.full((2, 24), 5, dtype=np.int8), rules=CareerRules(integration_state="RI"),
                      alphabet=renamed).fit()
    assert list(ok.types["career_type"]) == ["integration_income"] * 2
    with pytest.raises(ConfigError):
        RuleTypology(np.zeros((2, 24), dtype=np.int8), too_short="drop")


def test_bad_weights_raise():
    m = np.zeros((3, 24), dtype=np.int8)
    with pytest.raises(DataValidationError, match="no weight"):
        RuleTypology(m, weights_array=pd.Series([1.0, 2.0], index=[1, 2]))
    with pytest.raises(DataValidationError, match="non-negative"):
        RuleTypology(m, weights_array=np.array([1.0, -1.0, 1.0]))


def test_long_table_with_missing_months_needs_a_policy():
    from evalkit.errors import PeriodGapError

    long = cpas_careers.generate(seed=0, n_persons=30)["sequences"]
    holed = long.drop(index=[5, 6]).reset_index(drop=True)
    with pytest.raises(PeriodGapError, match="pad"):
        RuleTypology(holed).fit()
    res = RuleTypology(holed, unequal_length="pad").fit()
    assert res.types.loc[0, "months_observed"] == 34


def test_threshold_sensitivity_equals_refits_and_is_monotone():
    data = cpas_careers.generate(seed=12, n_persons=3000)
    model = RuleTypology(data["sequences"]).fit()
    values = [0.3, 0.4, 0.5, 0.6, 0.7]
    table = model.sensitivity("sustainable_min_share", values)
    for v in values:
        refit = RuleTypology(data["sequences"], rules=CareerRules(sustainable_min_share=v)).fit()
        assert_allclose(table.loc[v, list(CAREER_TYPE_CODES)], refit.params)
    sustainable = table["sustainable"] + table["sustainable_interrupted"]
    assert (np.diff(sustainable.to_numpy()) <= 0).all()
    assert table.loc[0.5, "changed"] == 0.0
    with pytest.raises(OptionError, match="parameter='min_months'.*sustainable_min_share"):
        model.sensitivity("min_months", [6])


def test_profile_means_by_type(default_fit):
    _, res = default_fit
    prof = res.profile()
    assert prof["n"].sum() == 20_000
    sub = res.types[res.types["career_type"] == "sustainable"]
    assert_allclose(prof.loc["Sustainable career", "employment_share"],
                    sub["employment_share"].mean())
    # By the rules: sustainable careers have no interruption, sustainable ones >= 50 % work.
    assert prof.loc["Sustainable career", "n_interruptions"] == 0
    assert (prof.loc[["Sustainable career", "Sustainable, interrupted"],
                     "employment_share"] >= 0.5).all()
    assert "Carrière durable" in res.profile(lang="fr").index
