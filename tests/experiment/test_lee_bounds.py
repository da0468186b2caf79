"""Lee (2009) bounds: hand computations (trimming with a fractional observation,
covariate cells, Imbens-Manski critical value) and bracketing of the truth in the
activation_earnings generator, whose selection is known."""

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.datasets import activation_earnings
from evalkit.errors import DataValidationError, DesignError
from evalkit.experiment import LeeBounds
from evalkit.experiment.lee_bounds import imbens_manski_critical_value, trimmed_mean


def _small():
    """8 treated (6 observed: 1..6), 12 control (5 observed: 2..6)."""
    treated = [1, 2, 3, 4, 5, 6, np.nan, np.nan]
    control = [2, 3, 4, 5, 6] + [np.nan] * 7
    return pd.DataFrame({"arm": [1] * 8 + [0] * 12, "y": treated + control})


def test_bounds_equal_a_hand_computation_with_a_fractional_cut():
    res = LeeBounds(_small(), group="arm", outcome="y").fit(n_boot=50, seed=1)
    # q1 = 6/8, q0 = 5/12, p = 1 - q0/q1 = 4/9: keep 6 * 5/9 = 3 1/3 observations.
    assert_allclose(res.trimming_proportion, 4 / 9)
    assert res.trimmed_arm == "treated"
    lower_mean = (1 + 2 + 3 + 4 / 3) / (10 / 3)   # 2.2
    upper_mean = (6 + 5 + 4 + 3 / 3) / (10 / 3)   # 4.8
    assert_allclose(res.params["lower"], lower_mean - 4.0)
    assert_allclose(res.params["upper"], upper_mean - 4.0)
    assert_allclose([res.params["lower"], res.params["upper"]], [-1.8, 0.8])


def test_control_arm_is_trimmed_when_it_is_observed_more():
    data = _small().assign(arm=lambda d: 1 - d.arm)
    res = LeeBounds(data, group="arm", outcome="y").fit(n_boot=20, seed=1)
    assert res.trimmed_arm == "control"
    # Arms swapped: the control arm is trimmed and the bounds are those of -effect.
    assert_allclose([res.params["lower"], res.params["upper"]], [-0.8, 1.8])


def test_trimmed_mean_handles_ties_as_an_empirical_distribution():
    assert trimmed_mean(np.array([1.0, 2, 3]), 0.5, top=False) == pytest.approx(
        (1 + 0.5 * 2) / 1.5)
    assert trimmed_mean(np.array([0.0, 1, 1, 1]), 0.5, top=True) == 1.0


def test_tightened_bounds_average_cell_bounds_with_always_observed_weights():
    rng = np.random.default_rng(2)
    frames = []
    for cell, (n, q1, q0, shift) in {"a": (40, 0.9, 0.6, 0.0), "b": (60, 0.7, 0.5, 3.0)}.items():
        arm = np.repeat([1, 0], n // 2)
        seen = np.concatenate([np.arange(n // 2) < q1 * n / 2, np.arange(n // 2) < q0 * n / 2])
        y = np.where(seen, rng.normal(size=n) + shift, np.nan)
        frames.append(pd.DataFrame({"arm": arm, "cell": cell, "y": y}))
    data = pd.concat(frames, ignore_index=True)
    res = LeeBounds(data, group="arm", outcome="y", covariates=["cell"], min_cell=5).fit(
        n_boot=30, seed=0)
    lower = upper = weight_sum = 0.0
    for _cell, sub in data.groupby("cell"):
        alone = LeeBounds(sub, group="arm", outcome="y", min_cell=5).fit(n_boot=2, seed=0)
        weight = len(sub) / len(data) * sub.y[sub.arm == 0].notna().mean()
        lower += weight * alone.params["lower"]
        upper += weight * alone.params["upper"]
        weight_sum += weight
    assert_allclose(res.params["lower"], lower / weight_sum, rtol=1e-12)
    assert_allclose(res.params["upper"], upper / weight_sum, rtol=1e-12)
    assert list(res.cells.index) == ["a", "b"]
    # Cells predict the outcome, so the tightened bounds are narrower.
    plain = LeeBounds(data, group="arm", outcome="y").fit(n_boot=2, seed=0)
    assert np.diff(res.params.to_numpy())[0] < np.diff(plain.params.to_numpy())[0]


def test_imbens_manski_interval_by_hand():
    res = LeeBounds(_small(), group="arm", outcome="y").fit(n_boot=200, seed=3)
    lower, upper = res.params
    s_l, s_u = res.std_errors
    ratio = (upper - lower) / max(s_l, s_u)
    c = imbens_manski_critical_value(upper - lower, max(s_l, s_u), 0.9)
    assert_allclose(stats.norm.cdf(c + ratio) - stats.norm.cdf(-c), 0.9, atol=1e-10)
    assert_allclose(res.imbens_manski(0.9), (lower - c * s_l, upper + c * s_u))
    # Limits: a point-identified effect uses the two-sided quantile, a wide set the
    # one-sided one.
    assert_allclose(imbens_manski_critical_value(0.0, 1.0, 0.95), 1.959964, atol=1e-6)
    assert_allclose(imbens_manski_critical_value(50.0, 1.0, 0.95), 1.644854, atol=1e-6)
    assert "Imbens-Manski" in res.summary()


@pytest.mark.parametrize("covariates", [None, ["age_band", "education"]])
def test_bounds_bracket_the_effect_on_the_always_employed(covariates):
    reps, bracketed, covered, widths, naive = (30 if covariates is None else 12), 0, 0, [], []
    truth, trims = None, []
    for seed in range(reps):
        ds = activation_earnings.generate(seed=seed, n=3000)
        truth = ds.truth
        res = LeeBounds(ds["persons"], group="group", outcome="log_earnings",
                        observed="employed", covariates=covariates).fit(n_boot=30, seed=seed)
        lower, upper = res.params
        bracketed += lower <= truth["effect_always_employed"] <= upper
        lo, hi = res.imbens_manski(0.95)
        covered += lo <= truth["effect_always_employed"] <= hi
        widths.append(upper - lower)
        persons = ds["persons"]
        naive.append(persons.log_earnings[persons.group == 1].mean()
                     - persons.log_earnings[persons.group == 0].mean())
        trims.append(res.trimming_proportion)
    # The identified set strictly contains the truth, so the estimated bounds bracket it
    # in (nearly) every draw and the Imbens-Manski CI covers it at least nominally.
    assert bracketed >= reps - 2
    assert covered / reps >= 0.95 - 3 * math.sqrt(0.05 * 0.95 / reps)
    # The reported trimming proportion estimates the population one without bias.
    assert abs(np.mean(trims) - truth["trimming_proportion"]) < 4 * np.std(trims) / math.sqrt(reps)
    # The naive comparison is biased (its population value excludes the truth).
    assert abs(np.mean(naive) - truth["naive_difference"]) < 4 * np.std(naive) / math.sqrt(reps)
    assert truth["naive_difference"] < truth["effect_always_employed"] - 0.05


def test_generator_truth_is_the_population_value():
    ds = activation_earnings.generate(seed=0, n=400_000)
    persons = ds["persons"]
    employed = persons.groupby("group").employed.mean()
    assert_allclose(employed[1] - employed[0], ds.truth["employment_effect"], atol=4e-3)
    naive = persons.groupby("group").log_earnings.mean()
    assert_allclose(naive[1] - naive[0], ds.truth["naive_difference"], atol=4e-3)


def test_thin_cells_are_refused_with_their_counts():
    ds = activation_earnings.generate(seed=1, n=300)
    with pytest.raises(DesignError, match=r"age_band, education.*fewer than 30.*coarser"):
        LeeBounds(ds["persons"], group="group", outcome="log_earnings", observed="employed",
                  covariates=["age_band", "education"], min_cell=30)


def test_outcome_missing_where_observed_is_refused():
    data = _small().assign(seen=lambda d: d.y.notna().astype(int))
    data.loc[0, "y"] = np.nan
    with pytest.raises(DataValidationError, match=r"missing for 1 row\(s\) marked observed"):
        LeeBounds(data, group="arm", outcome="y", observed="seen")
