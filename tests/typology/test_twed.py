"""TWED distances equal sequenzo's (TraMineR's TWED recurrence) to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from mvad_reference import STATES, codes, load_mvad, month_columns, sequenzo_data
from numpy.testing import assert_allclose
from scipy.spatial.distance import squareform

from evalkit.errors import DataValidationError
from evalkit.typology.costs import constant_costs, trate_costs
from evalkit.typology.twed import twed_distances


@pytest.fixture(scope="module")
def mvad():
    frame = load_mvad().head(120)
    cols = month_columns(frame, tramineer_window=True)
    return frame, cols, codes(frame, cols)


@pytest.mark.parametrize(("costs", "nu", "h", "indel"), [
    ("constant", 0.5, 0.5, 1.0),
    ("constant", 0.3, 0.2, "auto"),
    ("trate", 1.0, 0.0, "auto"),
])
def test_twed_equals_sequenzo(mvad, costs, nu, h, indel):
    sequenzo = pytest.importorskip("sequenzo")
    frame, cols, x = mvad
    sm = constant_costs(6) if costs == "constant" else trate_costs(x, 6)
    ref = sequenzo.get_distance_matrix(sequenzo_data(frame, cols), method="TWED", sm=sm,
                                       indel=indel, nu=nu, h=h, norm="none")
    mine = twed_distances(x, sm, nu=nu, h=h, indel=indel, alphabet=STATES)
    assert_allclose(squareform(mine), np.asarray(ref), rtol=0, atol=1e-9)


def test_twed_by_hand_and_bad_input():
    # a = AB, b = BB with s(A, B) = 2, nu = 0.5, h = 0.5, indel = 1:
    # D(1,1) = s(A,B) = 2; D(1,2) = D(1,1) + s(B,B) + nu + h = 3; D(2,1) = D(1,1) + s(B,A)
    # + nu + h = 5; D(2,2) = min(D(1,1) + s(B,B) + s(A,B), D(2,1) + 1, D(1,2) + s(B,A) + 1)
    # = min(4, 6, 6) = 4.
    x = np.array([[0, 1], [1, 1]], dtype=np.int8)
    assert_allclose(twed_distances(x, constant_costs(2), nu=0.5, h=0.5, indel=1.0,
                                   alphabet=["A", "B"]), [4.0])
    with pytest.raises(DataValidationError, match="symmetric"):
        twed_distances(x, np.array([[0, 1], [2, 0]]), nu=1, h=0, alphabet=["A", "B"])
    with pytest.raises(DataValidationError, match="nu > 0"):
        twed_distances(x, constant_costs(2), nu=0, h=0, alphabet=["A", "B"])
    gap = np.array([[0, -1, 1], [1, 1, 1]], dtype=np.int8)
    with pytest.raises(DataValidationError, match="inner missing"):
        twed_distances(gap, constant_costs(2), nu=1, h=0, alphabet=["A", "B"])
