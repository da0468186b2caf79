"""Substitution costs vs sequenzo 0.1.42 (which reproduces TraMineR seqsubm/seqcost)."""

import contextlib
import io

import numpy as np
import pytest
from mvad_reference import codes, load_mvad, month_columns, sequenzo_data
from numpy.testing import assert_allclose

from evalkit.errors import DataValidationError
from evalkit.typology.costs import constant_costs, transition_rate_matrix, trate_costs


def _sequenzo_costs(sd, **kwargs):
    from sequenzo.dissimilarity_measures.get_substitution_cost_matrix import (
        get_substitution_cost_matrix,
    )

    with contextlib.redirect_stdout(io.StringIO()):
        return get_substitution_cost_matrix(sd, "TRATE", **kwargs)


@pytest.mark.parametrize("window", [False, True], ids=["72months", "Sep93-Jun99"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_trate_matches_sequenzo(window, weighted):
    df = load_mvad()
    cols = month_columns(df, window)
    w = df["weight"].to_numpy() if weighted else None
    sd = sequenzo_data(df, cols, weights=w)
    ref = _sequenzo_costs(sd)
    mine = trate_costs(codes(df, cols), 6, w)
    assert_allclose(mine, ref["sm"].to_numpy()[1:, 1:], rtol=0, atol=1e-12)
    # TraMineR's "auto" indel for TRATE is max(sm) / 2
    assert_allclose(mine.max() / 2, ref["indel"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_time_varying_trate_matches_sequenzo(weighted):
    df = load_mvad()
    cols = month_columns(df, False)
    w = df["weight"].to_numpy() if weighted else None
    ref = _sequenzo_costs(sequenzo_data(df, cols, weights=w), time_varying=True, cval=4)
    mine = trate_costs(codes(df, cols), 6, w, time_varying=True)
    assert mine.shape == (72, 6, 6)
    assert_allclose(mine, np.asarray(ref["sm"])[:, 1:, 1:], rtol=0, atol=1e-12)


def test_weights_change_trate_costs():
    df = load_mvad()
    x = codes(df, month_columns(df, False))
    diff = np.abs(trate_costs(x, 6) - trate_costs(x, 6, df["weight"].to_numpy())).max()
    assert diff > 1e-3


def test_transition_rates_hand_example():
    # A A B / A B B: transitions A->A, A->B, A->B, B->B
    x = np.array([[0, 0, 1], [0, 1, 1]])
    assert_allclose(transition_rate_matrix(x, 2), [[1 / 3, 2 / 3], [0.0, 1.0]])
    assert_allclose(trate_costs(x, 2), [[0.0, 2 - 2 / 3], [2 - 2 / 3, 0.0]])
    # missing ends are not transitions
    assert_allclose(transition_rate_matrix(np.array([[0, -1, 1]]), 2), np.zeros((2, 2)))


def test_constant_costs_and_errors():
    assert_allclose(constant_costs(3, 2.0), 2.0 * (1 - np.eye(3)))
    with pytest.raises(DataValidationError):
        constant_costs(3, -1.0)
    with pytest.raises(DataValidationError, match="0..1"):
        trate_costs(np.array([[0, 5]]), 2)
    with pytest.raises(DataValidationError, match="one value per sequence"):
        trate_costs(np.array([[0, 1]]), 2, weights_array=[1.0, 2.0])
