"""Sequence descriptives against sequenzo (Python port of TraMineR) on mvad, plus small
hand-computed cases, groups, weights, missing months and errors."""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.data import Sequences
from evalkit.errors import DataValidationError, UnknownCategoryError
from evalkit.typology import descriptives as D

MVAD = os.path.join(os.environ["EVALKIT_REFERENCE"], "typology", "mvad.csv")
STATES = ["employment", "FE", "HE", "joblessness", "school", "training"]

# sequenzo's own numpy warning when it divides the state counts.
pytestmark = pytest.mark.filterwarnings("ignore:'where' used without 'out'")


@pytest.fixture(scope="module")
def mvad():
    df = pd.read_csv(MVAD)
    periods = list(df.columns[14:])
    assert len(periods) == 72 and len(df) == 712
    return df, periods, Sequences.from_wide(df, id="id", columns=periods, alphabet=STATES)


def sequenzo_data(df, periods, weights=None):
    sq = pytest.importorskip("sequenzo")  # noqa: F841
    from sequenzo.define_sequence_data import SequenceData

    with contextlib.redirect_stdout(io.StringIO()):
        return SequenceData(df, time=periods, states=STATES, id_col="id", weights=weights)


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


@pytest.mark.parametrize("weighted", [False, True])
def test_state_distribution_and_its_entropy_equal_sequenzo(mvad, weighted):
    from sequenzo.sequence_characteristics_indicators import get_cross_sectional_entropy

    df, periods, seq = mvad
    w = df["weight"].to_numpy() if weighted else None
    ref = quiet(get_cross_sectional_entropy, sequenzo_data(df, periods, w), weighted=weighted,
                return_format="wide", round_decimals=15)
    ours = D.state_distribution(seq, weights_array=w)
    assert list(ours.index) == periods
    assert_allclose(ours.to_numpy(), ref["Frequencies"].T.to_numpy(), atol=1e-12)
    assert_allclose(ours.sum(axis=1), 1.0)
    entropy = D.cross_sectional_entropy(seq, weights_array=w)
    assert_allclose(entropy.to_numpy(), ref["per_time_entropy_norm"].to_numpy(), atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_modal_states_equal_sequenzo(mvad, weighted):
    from sequenzo.sequence_characteristics_indicators.cross_sectional_indicators import (
        get_modal_state_sequence,
    )

    df, periods, seq = mvad
    w = df["weight"].to_numpy() if weighted else None
    ref = quiet(get_modal_state_sequence, sequenzo_data(df, periods, w), weighted=weighted)
    ours = D.modal_states(seq, weights_array=w)
    assert (ours["state"].cat.codes.to_numpy() + 1 == ref.iloc[0].to_numpy()).all()
    total = len(df) if not weighted else w.sum()
    assert_allclose(ours["share"].to_numpy(), ref.attrs["Frequencies"] / total, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_transition_rates_equal_sequenzo(mvad, weighted):
    from sequenzo.visualization.plot_transition_matrix import compute_transition_matrix

    df, periods, seq = mvad
    w = df["weight"].to_numpy() if weighted else None
    ref = compute_transition_matrix(sequenzo_data(df, periods, w), weights=w)
    ours = D.transition_rates(seq, weights_array=w)
    assert_allclose(ours.to_numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_mean_time_in_state_equals_sequenzo(mvad, weighted):
    from sequenzo.sequence_characteristics_indicators import get_mean_time_in_states

    df, periods, seq = mvad
    w = df["weight"].to_numpy() if weighted else None
    ref = quiet(get_mean_time_in_states, sequenzo_data(df, periods, w), weighted=weighted)
    ours = D.mean_time_in_state(seq, weights_array=w)
    assert_allclose(ours["all"].to_numpy(), ref["Mean"].to_numpy(), atol=1e-10)
    assert_allclose(ours["all"].sum(), 72)
    ref = quiet(get_mean_time_in_states, sequenzo_data(df, periods, w), weighted=weighted,
                serr=True)
    ours = D.mean_time_in_state(seq, weights_array=w, se=True)["all"]
    for ours_col, ref_col in (("mean", "Mean"), ("var", "Var"), ("sd", "Stdev"), ("se", "SE")):
        assert_allclose(ours[ours_col].to_numpy(), ref[ref_col].to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("norm", [True, False])
def test_longitudinal_entropy_equals_sequenzo(mvad, norm):
    from sequenzo.sequence_characteristics_indicators import get_within_sequence_entropy

    df, periods, seq = mvad
    ref = quiet(get_within_sequence_entropy, sequenzo_data(df, periods), norm=norm)
    ours = D.longitudinal_entropy(seq, norm=norm)
    assert (ours.index.to_numpy() == ref["ID"].to_numpy()).all()
    assert_allclose(ours.to_numpy(), ref["Entropy"].to_numpy(), atol=1e-9)


@pytest.mark.parametrize("norm", [False, True])
def test_turbulence_equals_sequenzo(mvad, norm):
    from sequenzo.sequence_characteristics_indicators import get_turbulence

    df, periods, seq = mvad
    ref = quiet(get_turbulence, sequenzo_data(df, periods), norm=norm)
    ours = D.turbulence(seq, norm=norm)
    assert_allclose(ours.to_numpy(), ref["Turbulence"].to_numpy(), atol=1e-9)


def test_grouped_results_equal_per_group_sequenzo(mvad):
    from sequenzo.sequence_characteristics_indicators import get_cross_sectional_entropy
    from sequenzo.visualization.plot_transition_matrix import compute_transition_matrix

    df, periods, seq = mvad
    groups = pd.Series(df["male"].to_numpy(), index=df["id"])
    w = df["weight"].to_numpy()
    dist = D.state_distribution(seq, groups=groups, weights_array=w)
    rates = D.transition_rates(seq, groups=groups, weights_array=w)
    for label in ("no", "yes"):
        part = df[df["male"] == label]
        sd = sequenzo_data(part, periods, part["weight"].to_numpy())
        ref = quiet(get_cross_sectional_entropy, sd, return_format="wide",
                    round_decimals=15)["Frequencies"]
        assert_allclose(dist.xs(label, level="group").to_numpy(), ref.T.to_numpy(), atol=1e-12)
        ref_rates = compute_transition_matrix(sd, weights=part["weight"].to_numpy())
        assert_allclose(rates.xs(label, level="group").to_numpy(), ref_rates, atol=1e-12)


# --- hand-computed cases -----------------------------------------------------------------


def test_turbulence_and_entropy_by_hand():
    # A B B A over alphabet {A, B, C}: DSS A B A, distinct subsequences
    # {}, A, B, AB, BA, AA, ABA -> 7; durations 1, 2, 1: mean 4/3, var 2/9,
    # var_max = 2 (1 - 4/3)^2 = 2/9 -> T = log2(7).
    m = np.array([[0, 1, 1, 0], [2, 2, 2, 2]], dtype=np.int8)
    t = D.turbulence(m, alphabet=["A", "B", "C"])
    assert_allclose(t.to_numpy(), [np.log2(7), 1.0])
    h = D.longitudinal_entropy(m, alphabet=["A", "B", "C"], norm=False)
    assert_allclose(h.to_numpy(), [np.log(2), 0.0])


def test_missing_months_are_left_out():
    m = np.array([[0, 0, -1, 1], [0, 1, 1, 1]], dtype=np.int8)
    dist = D.state_distribution(m, alphabet=["A", "B"])
    assert_allclose(dist.to_numpy(), [[1, 0], [0.5, 0.5], [0, 1], [0, 1]])
    rates = D.transition_rates(m, alphabet=["A", "B"])
    # Pairs: row 1 (A,A); row 2 (A,B), (B,B), (B,B) -> A: 1/2 A, 1/2 B; B: all B.
    assert_allclose(rates.to_numpy(), [[0.5, 0.5], [0.0, 1.0]])
    # Person 1 observed A A B: entropy of (2/3, 1/3); turbulence of A A B.
    h = D.longitudinal_entropy(m, alphabet=["A", "B"], norm=False)
    assert_allclose(h.iloc[0], -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3)))
    same = D.turbulence(np.array([[0, 0, 1]], dtype=np.int8), alphabet=["A", "B"]).iloc[0]
    assert_allclose(D.turbulence(m, alphabet=["A", "B"]).iloc[0], same)


def test_indicators_by_group_weighted_means():
    m = np.array([[0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1]], dtype=np.int8)
    ind = D.sequence_indicators(m, alphabet=["A", "B"])
    assert list(ind["n_spells"]) == [2, 4, 1]
    w = np.array([1.0, 3.0, 2.0])
    out = D.indicators_by_group(m, alphabet=["A", "B"], groups=np.array(["x", "x", "y"]),
                                weights_array=w)
    assert_allclose(out.loc["x", "n_spells_mean"], (1 * 2 + 3 * 4) / 4)
    assert out.loc["y", "n"] == 1
    import statsmodels.api as sm

    desc = sm.stats.DescrStatsW(ind["entropy"].to_numpy()[:2], weights=w[:2])
    assert_allclose(out.loc["x", "entropy_mean"], desc.mean)


def test_descriptives_accept_long_frames_and_check_states():
    long = pd.DataFrame({"person_id": [1, 1, 2, 2], "month": [1, 2, 1, 2],
                         "state": ["FT", "UB", "UB", "UB"]})
    dist = D.state_distribution(long)
    assert_allclose(dist.loc[1, "FT"], 0.5)
    bad = long.assign(state=["FT", "XX", "UB", "UB"])
    with pytest.raises(UnknownCategoryError, match="XX"):
        D.state_distribution(bad, alphabet=["FT", "UB"])
    with pytest.raises(DataValidationError, match="groups"):
        D.state_distribution(long, groups=np.array(["a"]))


def _brute_force_turbulence(states: list[int]) -> float:
    """Turbulence from its definition: distinct subsequences enumerated as a set."""
    import itertools

    dss, durations = [], []
    for s in states:
        if dss and dss[-1] == s:
            durations[-1] += 1
        else:
            dss.append(s)
            durations.append(1)
    subsequences = {tuple(dss[i] for i in keep) for r in range(len(dss) + 1)
                    for keep in itertools.combinations(range(len(dss)), r)}
    d, mean = len(dss), np.mean(durations)
    var = np.mean((np.array(durations) - mean) ** 2)
    var_max = (d - 1) * (1 - mean) ** 2
    return float(np.log2(len(subsequences) * (var_max + 1) / (var + 1)))


def test_turbulence_equals_brute_force_on_random_sequences_with_gaps():
    rng = np.random.default_rng(3)
    m = rng.integers(0, 3, size=(200, 12)).astype(np.int8)
    stay = rng.random(m.shape) < 0.6  # spells longer than one month
    for j in range(1, 12):
        m[stay[:, j], j] = m[stay[:, j], j - 1]
    m[:, 1:][rng.random((200, 11)) < 0.1] = -1  # gaps, first month always observed
    ours = D.turbulence(m, alphabet=["A", "B", "C"]).to_numpy()
    for i, row in enumerate(m):
        assert_allclose(ours[i], _brute_force_turbulence([int(s) for s in row if s >= 0]),
                        rtol=1e-12)


def test_distribution_and_rates_with_gaps_weights_groups_equal_pandas_long_form():
    """Same tables computed the plain pandas way on the long form (missing rows absent)."""
    rng = np.random.default_rng(5)
    n, t = 300, 10
    m = rng.integers(0, 4, size=(n, t)).astype(np.int8)
    m[rng.random(m.shape) < 0.15] = -1
    w = rng.uniform(0.2, 3.0, n)
    g = rng.choice(["a", "b", "c"], n)
    person, period = np.indices(m.shape)
    long = pd.DataFrame({"p": person.ravel(), "t": period.ravel(), "s": m.ravel(),
                         "w": w[person.ravel()], "g": g[person.ravel()]})
    obs = long[long["s"] >= 0]
    expected = (obs.pivot_table(index=["g", "t"], columns="s", values="w", aggfunc="sum",
                                fill_value=0.0))
    expected = expected.div(expected.sum(axis=1), axis=0)
    ours = D.state_distribution(m, alphabet=list("ABCD"), weights_array=w, groups=g)
    assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-12)

    nxt = long.assign(t=long["t"] - 1).rename(columns={"s": "s_next"})[["p", "t", "s_next"]]
    pairs = long.merge(nxt, on=["p", "t"])
    pairs = pairs[(pairs["s"] >= 0) & (pairs["s_next"] >= 0)]
    expected = pairs.pivot_table(index=["g", "s"], columns="s_next", values="w",
                                 aggfunc="sum", fill_value=0.0)
    expected = expected.div(expected.sum(axis=1), axis=0)
    ours = D.transition_rates(m, alphabet=list("ABCD"), weights_array=w, groups=g)
    assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-12)

    # Time-varying rates: one matrix per starting period t.
    expected = pairs.pivot_table(index=["g", "t", "s"], columns="s_next", values="w",
                                 aggfunc="sum", fill_value=0.0)
    expected = expected.div(expected.sum(axis=1), axis=0)
    ours = D.transition_rates(m, alphabet=list("ABCD"), weights_array=w, groups=g, time_varying=True)
    ours = ours.dropna()  # from-states absent at a period (pandas has no row for them)
    assert ours.index.names == ["group", "period", "from_state"]
    assert len(ours) == len(expected)
    assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-12)

    counts = obs.assign(one=1).pivot_table(index="p", columns="s", values="one",
                                           aggfunc="sum", fill_value=0)
    expected = counts.mul(w, axis=0).groupby(g).sum().div(pd.Series(w).groupby(g).sum(), axis=0)
    ours = D.mean_time_in_state(m, alphabet=list("ABCD"), weights_array=w, groups=g)
    assert_allclose(ours.to_numpy(), expected.T.to_numpy(), atol=1e-12)
    grouped = D.mean_time_in_state(m, alphabet=list("ABCD"), weights_array=w, groups=g, se=True)
    alone = D.mean_time_in_state(m[g == "b"], alphabet=list("ABCD"), weights_array=w[g == "b"],
                                 se=True)
    assert_allclose(grouped["b"].to_numpy(), alone["all"].to_numpy(), rtol=1e-12)
