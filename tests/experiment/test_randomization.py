"""Randomisation inference: exact p-values against independent enumeration (scipy's
permutation_test, a brute-force loop in the test), Monte Carlo error, size under the
null with the Hope in stations generator, CI coverage, and design errors."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.datasets import hope_in_stations
from evalkit.did.twoby2 import DiD2x2
from evalkit.errors import DesignError, EvalkitError
from evalkit.experiment import Assignment, randomization_test


def _individual(n=9, seed=0):
    rng = np.random.default_rng(seed)
    group = np.zeros(n, dtype=int)
    group[rng.choice(n, 4, replace=False)] = 1
    return pd.DataFrame({"arm": group, "y": rng.normal(size=n) + 0.8 * group})


def test_individual_exact_p_equals_scipy_permutation_test():
    data = _individual()
    ri = randomization_test(data, group="arm", outcome="y", alternative="greater")
    treated, control = data.y[data.arm == 1], data.y[data.arm == 0]
    ref = stats.permutation_test(
        (treated, control), lambda a, b: np.mean(a) - np.mean(b), permutation_type="independent",
        alternative="greater", n_resamples=np.inf)
    assert ri.exact and ri.n_assignments == math.comb(9, 4) == 126
    assert_allclose(ri.statistic, ref.statistic, rtol=1e-12)
    assert_allclose(ri.pvalue, ref.pvalue, rtol=1e-12)
    assert_allclose(np.sort(ri.distribution), np.sort(ref.null_distribution), rtol=1e-10)


def _block_cluster_data(seed=1):
    """Clusters of unequal size randomised within two blocks (3 of 6 and 2 of 4)."""
    rng = np.random.default_rng(seed)
    rows = []
    arms = {0: [1, 1, 1, 0, 0, 0], 1: [1, 1, 0, 0]}
    for block, arm_list in arms.items():
        for c, arm in enumerate(arm_list):
            for _ in range(rng.integers(2, 6)):
                rows.append({"blk": f"B{block}", "site": f"s{block}{c}", "arm": arm,
                             "y": rng.normal() + 0.5 * arm})
    return pd.DataFrame(rows)


def _brute_force(data, block, cluster):
    """Independent enumeration: loop over every within-block choice of treated clusters."""
    units = data.groupby(cluster)[[block, "arm"]].first()
    n = len(data)
    weights = data.groupby(block).size() / n
    per_block = []
    for _block, sub in units.groupby(block):
        per_block.append([set(c) for c in itertools.combinations(sub.index, sub.arm.sum())])

    def stat(treated_sites):
        d = data.assign(t=data[cluster].isin(treated_sites))
        return sum(w * (d.y[(d[block] == b) & d.t].mean() - d.y[(d[block] == b) & ~d.t].mean())
                   for b, w in weights.items())
    observed = stat(set(units.index[units.arm == 1]))
    dist = [stat(set().union(*choice)) for choice in itertools.product(*per_block)]
    return observed, np.array(dist)


def test_block_cluster_exact_p_equals_brute_force_enumeration():
    data = _block_cluster_data()
    ri = randomization_test(data, group="arm", outcome="y", block="blk", cluster="site")
    observed, dist = _brute_force(data, "blk", "site")
    assert ri.n_assignments == math.comb(6, 3) * math.comb(4, 2) == len(dist) == 120
    assert_allclose(ri.statistic, observed, rtol=1e-12)
    assert_allclose(np.sort(ri.distribution), np.sort(dist), rtol=1e-10)
    assert ri.pvalue == np.mean(np.abs(dist) >= abs(observed) - 1e-12)
    assert 0 < ri.pvalue < 1


def test_callable_statistic_gives_the_same_exact_p_as_the_built_in_one():
    data = _block_cluster_data()

    blocks = [(data.blk == b).to_numpy() for b in sorted(data.blk.unique())]

    def weighted_dim(frame):
        y, arm = frame.y.to_numpy(), frame.arm.to_numpy() == 1
        return sum(b.mean() * (y[b & arm].mean() - y[b & ~arm].mean()) for b in blocks)
    built_in = randomization_test(data, group="arm", outcome="y", block="blk", cluster="site")
    called = randomization_test(data, weighted_dim, group="arm", outcome="y", block="blk",
                                cluster="site")
    assert called.pvalue == built_in.pvalue
    # Refitting at each tau gives the interval of the linear shortcut.
    assert_allclose(called.conf_int(0.9).to_numpy(), built_in.conf_int(0.9).to_numpy(),
                    atol=1e-7)


def test_monte_carlo_p_within_its_error_of_the_exact_p():
    data = _individual(n=16, seed=3)
    exact = randomization_test(data, group="arm", outcome="y")
    mc = randomization_test(data, group="arm", outcome="y", n_perm=1500, seed=7)
    assert exact.exact and not mc.exact and mc.n_draws == 1500
    se = math.sqrt(exact.pvalue * (1 - exact.pvalue) / 1500)
    assert abs(mc.pvalue - exact.pvalue) < 4 * se
    again = randomization_test(data, group="arm", outcome="y", n_perm=1500, seed=7)
    assert again.pvalue == mc.pvalue


def test_test_inversion_interval_is_where_the_p_value_crosses_alpha():
    data = _individual(n=12, seed=5)
    ri = randomization_test(data, group="arm", outcome="y")
    lower, upper = ri.conf_int(0.9).iloc[0]
    for tau, inside in ((lower + 1e-6, True), (upper - 1e-6, True), (lower - 1e-3, False),
                        (upper + 1e-3, False)):
        shifted = data.assign(y=data.y - tau * data.arm)
        p = randomization_test(shifted, group="arm", outcome="y").pvalue
        assert (p > 0.1) == inside


def test_interval_covers_a_constant_effect_at_its_level():
    rng = np.random.default_rng(11)
    covered = 0
    reps = 200
    for _ in range(reps):
        arm = rng.permutation(np.repeat([0, 1], 20))
        y = rng.standard_t(5, 40) + 0.7 * arm
        ri = randomization_test(pd.DataFrame({"arm": arm, "y": y}), group="arm", outcome="y",
                                n_perm=199, seed=int(rng.integers(1 << 31)))
        lower, upper = ri.conf_int(0.9).iloc[0]
        covered += lower <= 0.7 <= upper
    # 90 % nominal; binomial SE with 200 draws is 0.021.
    assert abs(covered / reps - 0.90) < 3 * math.sqrt(0.09 / reps)


def test_size_under_the_null_on_hope_stations_is_exact():
    """No effect and no selection: the pilot label is irrelevant, so the exact cluster RI
    p-value is uniform on {1/35, ..., 35/35} and P(p <= k/35) = k/35."""
    reps = 60
    pvalues = []
    for seed in range(reps):
        survey = hope_in_stations.generate(seed=seed, n_per_station_wave=30, effect_scale=0,
                                           selection_strength=0)["survey"]
        ri = randomization_test(survey, group="pilot", cluster="station",
                                outcome="perception_score")
        assert ri.exact and ri.n_assignments == 35
        pvalues.append(ri.pvalue)
    pvalues = np.array(pvalues)
    for k in (2, 7, 18):
        rate, nominal = np.mean(pvalues <= k / 35 + 1e-12), k / 35
        assert abs(rate - nominal) < 3 * math.sqrt(nominal * (1 - nominal) / reps)


def test_monte_carlo_size_under_the_null():
    rng = np.random.default_rng(21)
    reps, rejected = 300, 0
    for _ in range(reps):
        data = pd.DataFrame({"arm": rng.permutation(np.repeat([0, 1], 25)),
                             "y": rng.exponential(size=50)})
        rejected += randomization_test(data, group="arm", outcome="y", n_perm=99,
                                       seed=int(rng.integers(1 << 31))).pvalue <= 0.05
    assert abs(rejected / reps - 0.05) < 3 * math.sqrt(0.05 * 0.95 / reps)


def _hope_did(frame, covariates=("age", "months_homeless", "health_problem")):
    return DiD2x2(frame, outcome="slept_in_shelter", group="pilot", period="wave",
                  covariates=list(covariates), cluster="station",
                  repeated_cross_section=True).fit(method="imputation")


@pytest.mark.filterwarnings("ignore::evalkit.errors.FewClustersWarning")
def test_hope_did_exact_p_over_the_35_station_assignments():
    survey = hope_in_stations.generate(seed=2024, n_per_station_wave=80)["survey"]
    ri = randomization_test(survey, _hope_did, group="pilot", cluster="station",
                            outcome="slept_in_shelter", treatment="integrated", linear=True,
                            param="att")
    # Independent enumeration: refit the DiD with every choice of 4 pilot stations.
    stations = sorted(survey.station.unique())
    observed = _hope_did(survey).params["att"]
    dist = []
    for pilots in itertools.combinations(stations, 4):
        dist.append(_hope_did(survey.assign(pilot=survey.station.isin(pilots))).params["att"])
    dist = np.array(dist)
    assert ri.exact and ri.n_assignments == 35
    assert_allclose(ri.statistic, observed, rtol=1e-12)
    assert_allclose(np.sort(ri.distribution), np.sort(dist), rtol=1e-9)
    assert ri.pvalue == pytest.approx(np.mean(np.abs(dist) >= abs(observed) - 1e-12))
    lower, upper = ri.conf_int(0.9).iloc[0]
    assert lower < observed < upper


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::evalkit.errors.FewClustersWarning")
def test_linear_shortcut_equals_refitting_for_the_did():
    survey = hope_in_stations.generate(seed=5, n_per_station_wave=60)["survey"]
    kwargs = dict(group="pilot", cluster="station", outcome="slept_in_shelter",
                  treatment="integrated", param="att")
    fast = randomization_test(survey, _hope_did, linear=True, **kwargs)
    slow = randomization_test(survey, _hope_did, linear=False, **kwargs)
    assert fast.pvalue == slow.pvalue
    assert_allclose(fast.conf_int(0.8).to_numpy(), slow.conf_int(0.8).to_numpy(), atol=1e-6)


def test_string_arms_are_reassigned_with_their_labels():
    data = _individual().assign(arm=lambda d: np.where(d.arm == 1, "programme", "contrôle"))
    seen = set()

    def stat(frame):
        seen.update(frame.arm.unique())
        return frame.y[frame.arm == "programme"].mean() - frame.y[frame.arm != "programme"].mean()
    ri = randomization_test(data, stat, group="arm", outcome="y", treated="programme")
    assert seen == {"programme", "contrôle"}
    assert ri.pvalue == randomization_test(_individual(), group="arm", outcome="y").pvalue


def test_missing_outcomes_are_dropped_into_the_ledger():
    data = _individual(n=10)
    data.loc[[0, 5], "y"] = np.nan
    ri = randomization_test(data, group="arm", outcome="y")
    assert ri.ledger.n_rows_dropped == 2
    assert len(ri.assignment.units) == 8


def test_block_with_one_unit_is_refused():
    data = pd.DataFrame({"arm": [1, 0, 1, 0, 1], "blk": ["a", "a", "b", "b", "Liège"],
                         "y": [1.0, 2, 3, 4, 5]})
    with pytest.raises(DesignError, match=r"block\(s\) 'Liège'.*single unit"):
        randomization_test(data, group="arm", outcome="y", block="blk")


def test_block_with_one_arm_is_refused():
    data = pd.DataFrame({"arm": [1, 0, 1, 1], "blk": ["a", "a", "b", "b"], "y": [1.0, 2, 3, 4]})
    with pytest.raises(DesignError, match=r"'b'.*same arm"):
        Assignment(data, group="arm", block="blk")


def test_cluster_with_mixed_assignment_is_refused():
    data = pd.DataFrame({"arm": [1, 1, 0, 0, 1, 0], "gare": ["Nord", "Nord", "Midi", "Midi",
                                                              "Termini", "Termini"]})
    with pytest.raises(DesignError, match=r"'Termini'.*more than one arm"):
        Assignment(data, group="arm", cluster="gare")


def test_more_permutations_than_the_design_allows_is_refused():
    survey = hope_in_stations.generate(seed=1, n_per_station_wave=20)["survey"]
    with pytest.raises(DesignError, match=r"n_perm=999.*35 possible assignments.*n_perm=None"):
        randomization_test(survey, group="pilot", cluster="station", outcome="age", n_perm=999)


def test_group_that_is_not_binary_needs_treated():
    data = pd.DataFrame({"arm": ["a", "b", "c", "a"], "y": [1.0, 2, 3, 4]})
    with pytest.raises(DesignError, match="treated="):
        randomization_test(data, group="arm", outcome="y")
    with pytest.raises(EvalkitError, match="'z' is not a value"):
        randomization_test(data, group="arm", outcome="y", treated="z")


def test_too_few_assignments_give_an_unbounded_interval():
    data = pd.DataFrame({"arm": [1, 0, 1, 0], "y": [3.0, 1, 4, 0]})
    ri = randomization_test(data, group="arm", outcome="y")
    # 6 assignments: the smallest two-sided p-value is 2/6 > 0.05.
    assert ri.pvalue == pytest.approx(2 / 6)
    assert np.isinf(ri.conf_int(0.95).to_numpy()).all()


def test_plot_draws_the_distribution_and_the_observed_value():
    ri = randomization_test(_individual(), group="arm", outcome="y")
    ax = ri.plot()
    assert ax.lines[0].get_xdata()[0] == pytest.approx(ri.statistic)
    assert "Observed" in ax.get_legend().get_texts()[0].get_text()


def test_monte_carlo_draws_are_uniform_over_the_assignments():
    data = _block_cluster_data()
    design = Assignment(data, group="arm", block="blk", cluster="site")
    every = {row.tobytes(): i for i, row in enumerate(design.enumerate())}
    draws = design.sample(12_000, np.random.default_rng(3))
    counts = np.bincount([every[row.tobytes()] for row in draws], minlength=len(every))
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::evalkit.errors.FewClustersWarning")
def test_did_randomisation_test_size_on_hope_stations():
    """The imputation DiD as the statistic, no effect and no selection: exact size."""
    reps, pvalues = 200, []
    for seed in range(reps):
        survey = hope_in_stations.generate(seed=seed, n_per_station_wave=60, effect_scale=0,
                                           selection_strength=0)["survey"]
        pvalues.append(randomization_test(survey, _hope_did, group="pilot", cluster="station",
                                          param="att").pvalue)
    pvalues = np.array(pvalues)
    for k in (2, 7):
        rate, nominal = np.mean(pvalues <= k / 35 + 1e-12), k / 35
        assert abs(rate - nominal) < 3 * math.sqrt(nominal * (1 - nominal) / reps)
