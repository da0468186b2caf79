"""OMspell distances equal sequenzo's (TraMineR's OMspell) to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from mvad_reference import STATES, codes, load_mvad, month_columns, sequenzo_data
from numpy.testing import assert_allclose
from scipy.spatial.distance import squareform

from evalkit.errors import DataValidationError
from evalkit.typology.costs import constant_costs, trate_costs
from evalkit.typology.omspell import omspell_distances


@pytest.fixture(scope="module")
def mvad():
    frame = load_mvad().head(120)
    cols = month_columns(frame, tramineer_window=True)
    return frame, cols, codes(frame, cols)


@pytest.mark.parametrize(("costs", "indel", "expcost", "tpow"), [
    ("constant", 1.0, 0.5, 1.0),     # TraMineR's defaults for expcost and tpow
    ("trate", "auto", 1.0, 1.0),
    ("constant", 1.0, 0.5, 0.5),     # durations compressed
])
def test_omspell_equals_sequenzo(mvad, costs, indel, expcost, tpow):
    sequenzo = pytest.importorskip("sequenzo")
    frame, cols, x = mvad
    sm = constant_costs(6) if costs == "constant" else trate_costs(x, 6)
    ref = sequenzo.get_distance_matrix(sequenzo_data(frame, cols), method="OMspell", sm=sm,
                                       indel=indel, expcost=expcost, tpow=tpow, norm="none")
    mine = omspell_distances(x, sm, indel=indel, expcost=expcost, tpow=tpow, alphabet=STATES)
    assert_allclose(squareform(mine), np.asarray(ref), rtol=0, atol=1e-9)


def test_omspell_by_hand_and_bad_input():
    # AAAB vs ABBB, s = 2, indel 1, lambda 0.5: spells (A,3)(B,1) vs (A,1)(B,3);
    # substituting same-state spells costs 0.5 * |3 - 1| twice = 2 (cheaper than any indel).
    x = np.array([[0, 0, 0, 1], [0, 1, 1, 1]], dtype=np.int8)
    assert_allclose(omspell_distances(x, constant_costs(2), indel=1.0, alphabet=["A", "B"]),
                    [2.0])
    # Without the duration cost only the order of states matters: identical spells orders.
    assert_allclose(omspell_distances(x, constant_costs(2), indel=1.0, expcost=0.0,
                                      alphabet=["A", "B"]), [0.0])
    with pytest.raises(DataValidationError, match="expcost"):
        omspell_distances(x, constant_costs(2), expcost=-1, alphabet=["A", "B"])
    with pytest.raises(DataValidationError, match="inner missing"):
        omspell_distances(np.array([[0, -1, 1], [1, 1, 1]], dtype=np.int8), constant_costs(2),
                          alphabet=["A", "B"])
