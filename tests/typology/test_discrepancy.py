"""Discrepancy analysis (TraMineR dissassoc): hand computation, the classical ANOVA,
TraMineR's published mvad values and sequenzo."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from mvad_reference import codes, load_mvad, month_columns
from numpy.testing import assert_allclose
from scipy import stats
from scipy.spatial.distance import pdist, squareform

from evalkit.errors import DataValidationError
from evalkit.typology.discrepancy import STATISTICS, discrepancy_analysis
from evalkit.typology.distances import sequence_distances


def test_pseudo_f_and_r2_equal_a_hand_computation():
    # Five points on a line, d = |x_i - x_j|; groups a = {0, 1, 3}, b = {7, 10}.
    x = np.array([0.0, 1.0, 3.0, 7.0, 10.0])
    d = pdist(x[:, None])
    res = discrepancy_analysis(d, ["a", "a", "a", "b", "b"], n_perm=0)
    # SS_T = (1/5) * 52 (all pairs: 21 + 17 + 11 + 3); SS_a = (1 + 3 + 2) / 3 = 2;
    # SS_b = 3 / 2 = 1.5; SS_W = 3.5; SS_B = 10.4 - 3.5 = 6.9.
    ss_t, ss_w = 52 / 5, 2 + 1.5
    assert_allclose(res.pseudo_f, ((ss_t - ss_w) / 1) / (ss_w / 3), rtol=1e-12)
    assert_allclose(res.pseudo_r2, (ss_t - ss_w) / ss_t, rtol=1e-12)
    assert_allclose(res.pseudo_f, 6.9 / (3.5 / 3), rtol=1e-12)
    assert_allclose(res.groups["discrepancy"], [2 / 3, 1.5 / 2, 10.4 / 5])


def test_squared_euclidean_distances_give_the_classical_anova_and_levene():
    rng = np.random.default_rng(3)
    x = rng.normal(size=40) + np.repeat([0.0, 0.5, 1.5, 1.0], 10)
    group = np.repeat(list("ABCD"), 10)
    res = discrepancy_analysis(pdist(x[:, None]), group, squared=True, n_perm=0)
    parts = [x[group == g] for g in "ABCD"]
    assert_allclose(res.pseudo_f, stats.f_oneway(*parts).statistic, rtol=1e-10)
    # Distance to the group centre is the squared deviation from the group mean: Levene
    # on squared deviations.
    sq = [(p - p.mean()) ** 2 for p in parts]
    assert_allclose(res.stats.loc["Levene", "t0"], stats.f_oneway(*sq).statistic, rtol=1e-10)
    # Bartlett with discrepancies s_g^2 = SS_g / n_g (TraMineR's), by hand.
    n_g, n, m = np.array([10.0] * 4), 40.0, 4
    s2 = np.array([p.var() for p in parts]) / 2   # SS_g / n_g = var/2 for squared distances
    pooled = ((n_g - 1) * s2).sum() / (n - m)
    c = 1 + ((1 / (n_g - 1)).sum() - 1 / (n - m)) / (3 * (m - 1))
    bartlett = ((n - m) * np.log(pooled) - ((n_g - 1) * np.log(s2)).sum()) / c
    assert_allclose(res.stats.loc["Bartlett", "t0"], bartlett, rtol=1e-10)


@pytest.fixture(scope="module")
def mvad_om():
    frame = load_mvad()
    cols = month_columns(frame, tramineer_window=True)  # TraMineR's mvad[, 17:86]
    return frame, sequence_distances(codes(frame, cols), method="OM", sm="TRATE", indel=1.0)


def test_mvad_gcse5eq_equals_traminer_published_values(mvad_om):
    # TraMineR's discrepancy preview (traminer.unige.ch/preview-diss.shtml): OM with TRATE
    # substitution costs and indel 1 on mvad.seq, dissassoc(group = mvad$gcse5eq, R = 5000):
    # Pseudo F 64.058, Pseudo Fbf 62.101, Pseudo R2 0.083, Bartlett 1.311, Levene 14.773,
    # every p-value 2e-04 (= 1/R).
    frame, d = mvad_om
    res = discrepancy_analysis(d, frame["gcse5eq"].to_numpy(), n_perm=199, seed=1)
    published = [64.058, 62.101, 0.083, 1.311, 14.773]
    assert_allclose(res.stats["t0"], published, rtol=0, atol=5e-4)  # half a printed digit
    # No permutation reaches the observed value: p = 1 / (n_perm + 1), as TraMineR's 1/R.
    assert_allclose(res.stats["p_value"], 1 / 200)
    fig = res.plot()
    fig.canvas.draw()
    # Far beyond the permutations: marked by a labelled arrow, not squeezed onto the axis.
    assert any(f"{res.pseudo_f:.3g}" in t.get_text() for t in fig.findobj(plt.Text))
    assert fig.axes[0].get_xlim()[1] < res.pseudo_f
    plt.close(fig)
    assert "Pseudo R2" in res.summary()


@pytest.mark.parametrize("weighted", [False, True])
def test_mvad_equals_sequenzo(mvad_om, weighted):
    module = pytest.importorskip("sequenzo.discrepancy_analysis.stats.single_factor_association")
    frame, d = mvad_om
    w = frame["weight"].to_numpy() if weighted else None
    ref = module.single_factor_association(squareform(d), frame["gcse5eq"].to_numpy(),
                                           weights=w, R=1)["stat"]["Value"]
    mine = discrepancy_analysis(d, frame["gcse5eq"].to_numpy(), weights_array=w, n_perm=0)
    assert_allclose(mine.stats["t0"], ref.loc[list(STATISTICS)].to_numpy(), rtol=1e-9)


def test_permutation_p_value_is_uniform_under_no_association():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    d = pdist(x)
    p = [discrepancy_analysis(d, rng.integers(0, 2, 60), n_perm=49, seed=s).p_value
         for s in range(60)]
    # P(p <= 0.1) = 5/50 exactly for a valid permutation test; 60 draws: binomial SD 0.039.
    assert abs(np.mean(np.array(p) <= 0.1) - 0.1) < 0.12
    assert 0.35 < np.mean(p) < 0.65


def test_bad_input_is_refused():
    d = pdist(np.arange(4.0)[:, None])
    with pytest.raises(DataValidationError, match="one label per sequence"):
        discrepancy_analysis(d, ["a", "b"])
    with pytest.raises(DataValidationError, match="single label"):
        discrepancy_analysis(d, ["a"] * 4)
    with pytest.raises(DataValidationError, match="missing"):
        discrepancy_analysis(d, ["a", None, "b", "b"])
    with pytest.raises(DataValidationError, match="total weight of 1"):
        discrepancy_analysis(d, ["a", "b", "b", "b"])
