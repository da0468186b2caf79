"""Null-model benchmarks of cluster quality (WeightedCluster seqnullcqi)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from evalkit.datasets import cpas_careers
from evalkit.errors import DataValidationError
from evalkit.typology.null_quality import _spells, null_cluster_quality, simulate_null

KS = range(2, 8)


@pytest.fixture(scope="module")
def careers():
    data = cpas_careers.generate(seed=2, n_persons=120, n_months=24)
    return data.truth["matrix"], data.truth["alphabet"]


def test_null_models_keep_what_they_say(careers):
    m, _ = careers
    rng = np.random.default_rng(0)
    seq = simulate_null(m, "sequencing", rng, 8)
    dur = simulate_null(m, "duration", rng, 8)
    for i in range(len(m)):
        states, lengths = _spells(m[i])
        s_states, s_lengths = _spells(seq[i])
        # sequencing: same time in each state and same spell lengths, in another order
        assert_array_equal(np.bincount(seq[i], minlength=8), np.bincount(m[i], minlength=8))
        assert sorted(s_lengths) == sorted(lengths) or len(s_states) < len(states)
        # duration: same succession of states, new spell lengths
        d_states, _ = _spells(dur[i])
        assert_array_equal(d_states, states)
    # stateindep and Markov reproduce the margins they are fitted to (large draw).
    big = np.repeat(m, 40, axis=0)
    ind = simulate_null(big, "stateindep", rng, 8)
    assert_allclose([np.bincount(ind[:, j], minlength=8) / len(big) for j in (0, 12, 23)],
                    [np.bincount(big[:, j], minlength=8) / len(big) for j in (0, 12, 23)],
                    atol=0.03)
    mk = simulate_null(big, "Markov", rng, 8)

    def rates(x):
        c = np.zeros((8, 8))
        np.add.at(c, (x[:, :-1].ravel(), x[:, 1:].ravel()), 1)
        return c / np.maximum(c.sum(axis=1, keepdims=True), 1)

    assert_allclose(rates(mk), rates(big), atol=0.02)
    with pytest.raises(DataValidationError, match="model"):
        simulate_null(m, "shuffle", rng, 8)


def test_structured_careers_beat_the_null_and_null_data_do_not(careers, tmp_path):
    m, alphabet = careers
    kwargs = dict(alphabet=alphabet, n_sim=12, ks=KS, method="HAM", sm=None, indel=1.0)
    real = null_cluster_quality(m, **kwargs)
    table = real.to_frame(index="ASW")
    # Seven generating types: ASW far above the Markov null from k = 4 on.
    assert (table.loc[4:, "standardised"] > 3).all()
    assert table["observed"].max() > table["threshold"].iloc[0]
    fig = real.plot("ASW")
    fig.savefig(tmp_path / "null_asw.png", dpi=70)
    plt.close(fig)
    # Data drawn from the null itself: the observed indices sit inside the null range.
    fake = simulate_null(m, "Markov", np.random.default_rng(5), len(alphabet))
    null = null_cluster_quality(fake, seed=1, **kwargs).to_frame(index="ASW")
    assert (null["standardised"].abs() < 3).all()
    assert (null["observed"] < null["threshold"]).all()
    with pytest.raises(DataValidationError, match="complete"):
        bad = m.copy()
        bad[0, 0] = -1
        null_cluster_quality(bad, **kwargs)
