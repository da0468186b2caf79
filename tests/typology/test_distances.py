"""Sequence distances vs sequenzo 0.1.42 (TraMineR seqdist) on mvad, and vs a plain reference DP."""

import contextlib
import io

import numpy as np
import pytest
from mvad_reference import STATES, codes, load_mvad, month_columns, sequenzo_data
from numpy.testing import assert_allclose
from scipy.spatial.distance import squareform

from evalkit.errors import DataValidationError, EmptyDataError, UnknownCategoryError
from evalkit.options import OptionError
from evalkit.typology.costs import trate_costs
from evalkit.typology.distances import (
    DistanceMatrixTooLargeError,
    cross_distances,
    prepare_sequences,
    resolve_costs,
    sequence_distances,
    unique_sequence_distances,
)

WINDOWS = pytest.mark.parametrize("window", [False, True], ids=["72months", "Sep93-Jun99"])
# The default run compares the first 250 persons for the costly peer calls (sequenzo's general
# OM takes ~5 s on mvad on a busy 2-core box); the slow run compares all 712.
SIZES = pytest.mark.parametrize(
    "n", [250, pytest.param(712, marks=pytest.mark.slow)], ids=["n250", "n712"])


def _sequenzo_dist(sd, **kwargs):
    from sequenzo import get_distance_matrix

    with contextlib.redirect_stdout(io.StringIO()):
        return np.asarray(get_distance_matrix(sd, full_matrix=False, **kwargs), dtype=float)


def reference_om(x, y, sm, indel):
    """Textbook O(mn) optimal matching, no tricks."""
    m, n = len(x), len(y)
    d = np.zeros((m + 1, n + 1))
    d[:, 0] = np.arange(m + 1) * indel
    d[0, :] = np.arange(n + 1) * indel
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            d[i, j] = min(d[i - 1, j] + indel, d[i, j - 1] + indel,
                          d[i - 1, j - 1] + sm[x[i - 1], y[j - 1]])
    return d[m, n]


def reference_lcs(x, y):
    m, n = len(x), len(y)
    c = np.zeros((m + 1, n + 1), dtype=int)
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            c[i, j] = c[i - 1, j - 1] + 1 if x[i - 1] == y[j - 1] else max(c[i - 1, j], c[i, j - 1])
    return m + n - 2 * c[m, n]


@pytest.fixture(scope="module")
def mvad():
    return load_mvad()


@SIZES
@WINDOWS
@pytest.mark.parametrize("cost", [2.0, 1.999], ids=["cost2-LCSroute", "cost1.999-generalDP"])
def test_om_constant_matches_sequenzo(mvad, window, cost, n):
    mvad = mvad.head(n)
    cols = month_columns(mvad, window)
    sd = sequenzo_data(mvad, cols)
    ref = _sequenzo_dist(sd, method="OM", sm=cost * (1 - np.eye(6)), indel=1.0)
    mine = sequence_distances(codes(mvad, cols), method="OM", sm="CONSTANT", indel=1.0, cval=cost, alphabet=STATES)
    assert_allclose(mine, ref, rtol=0, atol=1e-9)


@SIZES
@WINDOWS
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_om_trate_matches_sequenzo(mvad, window, weighted, n):
    mvad = mvad.head(n)
    cols = month_columns(mvad, window)
    w = mvad["weight"].to_numpy() if weighted else None
    # indel "auto" = max(sm) / 2 (TraMineR and sequenzo default for TRATE)
    ref = _sequenzo_dist(sequenzo_data(mvad, cols, weights=w), method="OM", sm="TRATE")
    mine = sequence_distances(codes(mvad, cols), method="OM", sm="TRATE", indel="auto", weights_array=w)
    assert_allclose(mine, ref, rtol=0, atol=1e-9)


def test_om_trate_indel1_matches_sequenzo(mvad):
    cols = month_columns(mvad, False)
    ref = _sequenzo_dist(sequenzo_data(mvad.head(200), cols), method="OM", sm="TRATE", indel=1.0)
    mine = sequence_distances(codes(mvad.head(200), cols), method="OM", sm="TRATE", indel=1.0)
    assert_allclose(mine, ref, rtol=0, atol=1e-9)


@WINDOWS
def test_hamming_matches_sequenzo(mvad, window):
    cols = month_columns(mvad, window)
    sd = sequenzo_data(mvad, cols)
    assert_allclose(sequence_distances(codes(mvad, cols), method="HAM"), _sequenzo_dist(sd, method="HAM"),
                    rtol=0, atol=1e-9)
    sm = trate_costs(codes(mvad, cols), 6)
    assert_allclose(sequence_distances(codes(mvad, cols), method="HAM", sm=sm),
                    _sequenzo_dist(sd, method="HAM", sm=sm), rtol=0, atol=1e-9)


@SIZES
@WINDOWS
def test_lcs_matches_sequenzo(mvad, window, n):
    mvad = mvad.head(n)
    cols = month_columns(mvad, window)
    ref = _sequenzo_dist(sequenzo_data(mvad, cols), method="LCS")
    assert_allclose(sequence_distances(codes(mvad, cols), method="LCS"), ref, rtol=0, atol=1e-9)


@WINDOWS
def test_dhd_matches_sequenzo_costs(mvad, window):
    # sequenzo 0.1.42's DHD kernel segfaults on this machine (even on 20 sequences), so the
    # reference is sum_t sm_t(x_t, y_t) with sequenzo's own time-varying TRATE costs.
    from sequenzo.dissimilarity_measures.get_substitution_cost_matrix import (
        get_substitution_cost_matrix,
    )

    cols = month_columns(mvad, window)
    x = codes(mvad, cols)[:150]
    with contextlib.redirect_stdout(io.StringIO()):
        sm = np.asarray(get_substitution_cost_matrix(
            sequenzo_data(mvad, cols), "TRATE", time_varying=True, cval=4)["sm"])[:, 1:, 1:]
    t = np.arange(x.shape[1])
    ref = np.array([[sm[t, a, b].sum() for b in x] for a in x])
    full = codes(mvad, cols)
    mine = squareform(sequence_distances(full, method="DHD"))[:150, :150]
    assert_allclose(mine, ref, rtol=0, atol=1e-9)


def test_om_kernel_against_plain_dp_unequal_lengths():
    rng = np.random.default_rng(3)
    n, width, k = 29, 17, 4  # 29 rows: blocks of 8 lanes do not divide evenly
    x = rng.integers(0, k, size=(n, width)).astype(np.int8)
    lengths = rng.integers(1, width + 1, size=n)
    x[np.arange(width)[None, :] >= lengths[:, None]] = -1
    sm = rng.uniform(0.2, 3.0, size=(k, k))
    sm = (sm + sm.T) / 2
    np.fill_diagonal(sm, 0)
    got = squareform(sequence_distances(x, method="OM", sm=sm, indel=0.9, missing="trailing"))
    seqs = [row[row >= 0] for row in x]
    for i in range(n):
        for j in range(i + 1, n):
            assert got[i, j] == pytest.approx(reference_om(seqs[i], seqs[j], sm, 0.9), abs=1e-12)
    lcs = squareform(sequence_distances(x, method="LCS", missing="trailing"))
    assert lcs[0, 1] == reference_lcs(seqs[0], seqs[1])
    assert lcs[5, 20] == reference_lcs(seqs[5], seqs[20])


def test_om_routes_to_lcs_when_substitution_is_dear():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, size=(12, 10)).astype(np.int8)
    spec = resolve_costs(prepare_sequences(x), "OM", "CONSTANT", 1.5, cval=3.5)
    assert spec.kernel == "LCS" and spec.scale == 1.5
    got = squareform(sequence_distances(x, method="OM", sm="CONSTANT", indel=1.5, cval=3.5))
    sm = 3.5 * (1 - np.eye(3))
    for i, j in [(0, 1), (2, 7), (5, 11)]:
        assert got[i, j] == pytest.approx(reference_om(x[i], x[j], sm, 1.5))
        assert got[i, j] == pytest.approx(1.5 * reference_lcs(x[i], x[j]))


def test_dedup_and_cross_distances_agree():
    rng = np.random.default_rng(5)
    base = rng.integers(0, 4, size=(6, 12)).astype(np.int8)
    x = base[rng.integers(0, 6, size=40)]
    res = unique_sequence_distances(x, method="OM", sm="TRATE", indel="auto")
    assert res.n_unique <= 6 and res.counts.sum() == 40
    full = squareform(res.expand())
    same = res.inverse[:, None] == res.inverse[None, :]
    assert np.all(full[same] == 0) and np.all(full[~same] > 0)
    lengths = np.full(len(x), x.shape[1])
    cross = cross_distances(x, lengths, x[:7], lengths[:7], res.spec)
    assert_allclose(cross, full[:, :7], atol=1e-12)
    ham = resolve_costs(prepare_sequences(x), "HAM")
    assert_allclose(cross_distances(x, lengths, x[:3], lengths[:3], ham),
                    squareform(sequence_distances(x, method="HAM"))[:, :3])


def test_missing_as_state_matches_sequenzo(mvad):
    mvad = mvad.head(200)
    cols = month_columns(mvad, False)
    frame = mvad.copy()
    frame.loc[[3, 10, 11], cols[5:9]] = np.nan
    x = codes(mvad, cols)
    x[[3, 10, 11], 5:9] = -1
    ref = _sequenzo_dist(sequenzo_data(frame, cols), method="OM", sm="CONSTANT", indel=1.0)
    mine = sequence_distances(x, method="OM", sm="CONSTANT", indel=1.0, cval=1.999, missing="state", alphabet=STATES)
    ref_1999 = _sequenzo_dist(sequenzo_data(frame, cols), method="OM",
                              sm=1.999 * (1 - np.eye(7)), indel=1.0)
    assert_allclose(mine, ref_1999, rtol=0, atol=1e-9)
    assert_allclose(sequence_distances(x, method="OM", missing="state", alphabet=STATES), ref, atol=1e-9)


def test_clear_errors():
    x = np.array([[0, 1, 2], [1, 1, 0]], dtype=np.int8)
    with pytest.raises(UnknownCategoryError, match=r"\[2\]"):
        sequence_distances(x, alphabet=["a", "b"])
    with pytest.raises(DataValidationError, match="missing='state'"):
        sequence_distances(np.array([[0, -1, 1], [0, 1, 1]]))
    with pytest.raises(EmptyDataError, match="entirely missing"):
        sequence_distances(np.array([[-1, -1], [0, 1]]), missing="state")
    with pytest.raises(DataValidationError, match="end of a sequence"):
        sequence_distances(np.array([[0, -1, 1], [0, 1, 1]]), missing="trailing")
    with pytest.raises(DataValidationError, match="equal length"):
        sequence_distances(np.array([[0, 1, -1], [0, 1, 1]]), method="HAM", missing="trailing")
    with pytest.raises(DataValidationError, match="symmetric"):
        sequence_distances(x, sm=np.array([[0, 1, 2], [2, 0, 1], [1, 1, 0]]))
    with pytest.raises(DataValidationError, match="not relevant for DHD"):
        sequence_distances(x, method="DHD", sm="CONSTANT")
    with pytest.raises(OptionError, match="method='EUCLID'.*'OM', 'HAM'"):
        sequence_distances(x, method="EUCLID")
    with pytest.raises(DistanceMatrixTooLargeError, match="clara"):
        sequence_distances(np.zeros((5000, 3), dtype=np.int8), max_bytes=10_000_000)
    with pytest.raises(DataValidationError, match="integers"):
        sequence_distances(np.array([[0.5, 1.0]]))


def test_bit_parallel_lcs_multiword_matches_dp():
    # 150 positions = 3 machine words: checks the carry between words and the length masks
    from evalkit.typology.distances import lcs_condensed, om_condensed

    rng = np.random.default_rng(11)
    n, width = 21, 150
    x = rng.integers(0, 5, size=(n, width)).astype(np.int8)
    x[:, 60:] = np.where(rng.uniform(size=(n, 90)) < 0.7, x[:, :1], x[:, 60:])  # long runs
    lengths = rng.integers(1, width + 1, size=n).astype(np.int64)
    lengths[:3] = [64, 128, 150]
    x[np.arange(width)[None, :] >= lengths[:, None]] = -1
    bits, dp = np.empty(n * (n - 1) // 2), np.empty(n * (n - 1) // 2)
    lcs_condensed(x, lengths, 5, bits)
    om_condensed(x, lengths, 2.0 * (1 - np.eye(5)), 1.0, dp)
    assert_allclose(bits, dp, rtol=0, atol=0)
    # at most 128 positions: the two-register path, including lengths 64 and 128
    short, short_len = np.ascontiguousarray(x[:, :128]), np.minimum(lengths, 128)
    lcs_condensed(short, short_len, 5, bits)
    om_condensed(short, short_len, 2.0 * (1 - np.eye(5)), 1.0, dp)
    assert_allclose(bits, dp, rtol=0, atol=0)
    seqs = [row[row >= 0] for row in x]
    assert squareform(bits)[0, 1] == reference_lcs(seqs[0], seqs[1])


def test_accepts_sequences_contract(mvad):
    from evalkit.data.sequences import Sequences

    mvad = mvad.head(150)
    cols = month_columns(mvad, False)
    seq = Sequences.from_wide(mvad, id="id", columns=cols, alphabet=STATES)
    assert seq.matrix.shape == (150, 72)
    ref = _sequenzo_dist(sequenzo_data(mvad, cols), method="OM", sm="TRATE")
    assert_allclose(sequence_distances(seq, method="OM", sm="TRATE", indel="auto"), ref, rtol=0, atol=1e-9)


def test_missing_state_costs_are_fixed():
    # TraMineR seqcost(miss.cost.fixed = TRUE): substituting the missing state costs cval
    x = np.array([[0, 1, -1, 1], [1, 1, 0, -1], [0, 0, 1, 1]])
    prepared = prepare_sequences(x, missing="state")
    assert prepared.missing_state and prepared.n_states == 3
    trate = resolve_costs(prepared, "OM", "TRATE", "auto")
    assert_allclose(trate.sm[2, :2], [2.0, 2.0])
    assert_allclose(trate.sm[:2, :2], trate_costs(prepared.codes, 3)[:2, :2])
    fixed = resolve_costs(prepared, "OM", "CONSTANT", 1.0, miss_cost=0.5)
    assert_allclose(fixed.sm, [[0, 2, 0.5], [2, 0, 0.5], [0.5, 0.5, 0]])
    dhd = resolve_costs(prepare_sequences(x, missing="state"), "DHD")
    assert_allclose(dhd.sm[:, 2, :2], 4.0)


@pytest.mark.parametrize("norm", ["maxlength", "gmean", "maxdist", "YujianBo", "auto"])
def test_normalisations_match_sequenzo(mvad, norm):
    mvad = mvad.head(120)
    cols = month_columns(mvad, False)
    x = codes(mvad, cols)
    sd = sequenzo_data(mvad, cols)
    for method, sm, indel in [("OM", "TRATE", "auto"), ("OM", "CONSTANT", 1.0),
                              ("OM", 1.5 * (1 - np.eye(6)), 1.0), ("LCS", None, 1.0),
                              ("HAM", None, 1.0)]:
        kwargs = {} if sm is None else {"sm": sm}
        if method == "OM":
            kwargs["indel"] = indel
        ref = _sequenzo_dist(sd, method=method, norm=norm, **kwargs)
        ours = sequence_distances(x, method=method, sm=sm, indel=indel, norm=norm)
        assert_allclose(ours, ref, rtol=0, atol=1e-9, err_msg=f"{method} {sm}")
    # sequences with a missing state (sequenzo adds it for NaN): constant costs and LCS
    frame = mvad.copy()
    frame.loc[frame.index[:30], cols[50:]] = np.nan
    x[:30, 50:] = -1
    sdm = sequenzo_data(frame, cols)
    for method, kwargs in [("OM", {"sm": "CONSTANT", "indel": 1.0}), ("LCS", {})]:
        ref = _sequenzo_dist(sdm, method=method, norm=norm, **kwargs)
        ours = sequence_distances(x, method=method, norm=norm, missing="state", alphabet=STATES)
        assert_allclose(ours, ref, rtol=0, atol=1e-9, err_msg=f"missing {method}")


def test_normalisation_of_unequal_lengths():
    # trailing voids: lengths 3 and 5, OM indel 1 sub 1.5 -> raw d = 2 + 1.5 = 3.5
    x = np.array([[0, 1, 1, -1, -1], [0, 0, 1, 1, 1]], dtype=np.int8)
    sm = 1.5 * (1 - np.eye(2))
    raw = sequence_distances(x, method="OM", sm=sm, indel=1.0, missing="trailing")[0]
    assert raw == pytest.approx(reference_om([0, 1, 1], [0, 0, 1, 1, 1], sm, 1.0))
    dmax = 2 * 1.0 + 1.5 * 3  # |5 - 3| indels + max substitution x min length
    expected = {"maxlength": raw / 5, "maxdist": raw / dmax, "YujianBo": 2 * raw / (raw + 8),
                "gmean": 1 - (dmax - raw) / (2 * np.sqrt(3 * 5))}
    for norm, value in expected.items():
        got = sequence_distances(x, method="OM", sm=sm, indel=1.0, norm=norm, missing="trailing")[0]
        assert got == pytest.approx(value, rel=1e-12), norm
