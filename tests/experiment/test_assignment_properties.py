"""Property-based checks of the design layer: enumeration and sampling respect the
declared design for any block/cluster layout."""

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.experiment import Assignment


@st.composite
def designs(draw):
    """Blocks of clusters (1-4 rows each) with at least one cluster in each arm per block."""
    n_blocks = draw(st.integers(1, 3))
    rows = []
    for b in range(n_blocks):
        n_clusters = draw(st.integers(2, 5))
        k = draw(st.integers(1, n_clusters - 1))
        for c in range(n_clusters):
            for _ in range(draw(st.integers(1, 4))):
                rows.append({"blk": f"b{b}", "site": f"b{b}-s{c}", "arm": int(c < k)})
    return pd.DataFrame(rows).sample(frac=1, random_state=0).reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(designs(), st.integers(0, 2**31 - 1))
def test_enumeration_and_sampling_respect_the_design(data, seed):
    design = Assignment(data, group="arm", block="blk", cluster="site")
    expected = math.prod(math.comb(len(g.site.unique()), g.groupby("site").arm.first().sum())
                         for _, g in data.groupby("blk"))
    assert design.n_assignments == expected
    every = design.enumerate()
    # Distinct rows, one of them the observed assignment.
    assert len({row.tobytes() for row in every}) == expected
    assert (every == design.observed).all(axis=1).any()
    draws = design.sample(50, np.random.default_rng(seed))
    for matrix in (every, draws):
        for b in range(len(design.blocks)):
            in_block = design.block_of_unit == b
            assert (matrix[:, in_block].sum(axis=1) == design.block_treated[b]).all()
        rows = design.rows(matrix)
        # Every row of a cluster gets its cluster's arm.
        for site in np.unique(design.unit_of_row):
            members = design.unit_of_row == site
            assert (rows[:, members] == rows[:, members][:, :1]).all()
