"""HonestDiD confidence sets against the ``honestdid`` PyPI package (a port of R HonestDiD).

The peer is deterministic except in two places, where it draws random numbers:
the folded-normal quantile of the FLCI (10^6 draws) and the least-favourable
critical value of the C-LF hybrid (1,000 draws). To compare everything else to
1e-6, those two functions of the peer are replaced by evalkit's (exact quantile;
the same draws as evalkit); the unpatched peer is then compared within its own
Monte Carlo error. Grids have 100 points here (R's 1,000 would take the peer
minutes); the ends of a conditional set are grid points, so they agree exactly.
The peer's own limits under numpy 2 / its extras: its one-post-period path and part of its
primal ARP path call float() on 1x1 arrays (TypeError), and its C-F hybrid needs the ECOS
solver; those paths are not compared. The peer is slow (minutes), so most comparisons are
marked slow.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.honest_arp import least_favorable_cv, normal_draws
from evalkit.did.honest_did import HonestDiD, robust_ci
from evalkit.did.honest_flci import folded_normal_quantile, optimal_flci

hd = pytest.importorskip("honestdid")
core = pytest.importorskip("honestdid.core")

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")
GRID = 100


@pytest.fixture(scope="module")
def mpdta_es():
    """CS dynamic aggregation on mpdta, universal base period: 3 pre, 4 post coefficients."""
    df = pd.read_csv(MPDTA)
    cs = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                          first_treated="first.treat", base_period="universal").fit(bootstrap=False)
    h = HonestDiD(cs.aggregate("dynamic"))
    return h.beta, h.sigma, h.n_pre, h.n_post


@pytest.fixture(scope="module")
def example():
    """A 3-pre / 3-post event study."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    sigma = (a @ a.T / 6 + np.eye(6)) * 1e-4
    beta = rng.normal(size=6) * 0.01
    beta[3:] += 0.03
    return beta, sigma, 3, 3


@pytest.fixture
def patched_peer(monkeypatch):
    """The peer with evalkit's exact folded-normal quantile and least-favourable draws."""
    def exact_quantile(p, mu=0.0, sd=1.0, numSims=None, seed=0):
        mus = np.atleast_1d(np.asarray(mu, dtype=float))
        out = np.array([folded_normal_quantile(p, m / sd) * sd for m in mus])
        return out if np.ndim(mu) else float(out[0])

    def same_draws(X_T, sigma, hybrid_kappa, sims=1000, rowsForARP=None, seed=0):
        sigma = np.asarray(sigma, dtype=float)
        X = None if X_T is None else np.asarray(X_T, dtype=float).reshape(len(sigma), -1)
        if rowsForARP is not None:
            rows = np.asarray(rowsForARP)
            sigma = sigma[np.ix_(rows, rows)]
            X = None if X is None else X[rows]
        return least_favorable_cv(X, sigma, hybrid_kappa, normal_draws(sigma, sims, seed))

    monkeypatch.setattr(core, "_qfoldednormal", exact_quantile)
    monkeypatch.setattr(core, "_compute_least_favorable_cv", same_draws)
    return core


def peer_ends(frame):
    accepted = frame.loc[frame["accept"] == 1, "grid"]
    return accepted.min(), accepted.max()


def ours(case, restriction, m, method, l_vec=None, search="grid"):
    beta, sigma, n_pre, n_post = case
    l_vec = np.eye(n_post)[0] if l_vec is None else l_vec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo, hi, _ = robust_ci(beta, sigma, n_pre, n_post, l_vec, restriction=restriction, m=m,
                              method=method, level=0.95, n_grid=GRID, search=search)
    return lo, hi


def peer_sd(case, M, flag, l_vec=None):
    beta, sigma, n_pre, n_post = case
    l_vec = np.eye(n_post)[0] if l_vec is None else l_vec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return peer_ends(core.computeConditionalCS_DeltaSD(
            beta, sigma, n_pre, n_post, l_vec=l_vec, M=M, alpha=0.05, hybrid_flag=flag,
            gridPoints=GRID))


def peer_rm(case, Mbar, flag, l_vec=None):
    beta, sigma, n_pre, n_post = case
    l_vec = np.eye(n_post)[0] if l_vec is None else l_vec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return peer_ends(core.computeConditionalCS_DeltaRM(
            beta, sigma, n_pre, n_post, l_vec=l_vec, Mbar=Mbar, alpha=0.05, hybrid_flag=flag,
            gridPoints=GRID))


@pytest.mark.parametrize("M", [0.0, 0.01])
def test_smoothness_conditional_example(example, M):
    assert_allclose(ours(example, "smoothness", M, "conditional"), peer_sd(example, M, "ARP"),
                    atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("Mbar", [0.5, 1.0])
def test_relative_magnitudes_conditional_example(example, Mbar):
    assert_allclose(ours(example, "relative_magnitudes", Mbar, "conditional"),
                    peer_rm(example, Mbar, "ARP"), atol=1e-6)


@pytest.mark.slow
def test_hybrids_example(example, patched_peer):
    assert_allclose(ours(example, "relative_magnitudes", 1.0, "c-lf"),
                    peer_rm(example, 1.0, "LF"), atol=1e-6)
    assert_allclose(ours(example, "smoothness", 0.01, "c-lf"), peer_sd(example, 0.01, "LF"),
                    atol=1e-6)


@pytest.mark.slow
def test_mpdta_relative_magnitudes(mpdta_es, patched_peer):
    """CS event study on mpdta (nuisance-parameter path): conditional and C-LF to 1e-6."""
    assert_allclose(ours(mpdta_es, "relative_magnitudes", 1.0, "conditional"),
                    peer_rm(mpdta_es, 1.0, "ARP"), atol=1e-6)
    assert_allclose(ours(mpdta_es, "relative_magnitudes", 0.5, "c-lf"),
                    peer_rm(mpdta_es, 0.5, "LF"), atol=1e-6)


@pytest.mark.slow
def test_bisection_search_equals_full_grid(mpdta_es, example):
    for case in (mpdta_es, example):
        for restriction, m, method in (("relative_magnitudes", 1.0, "c-lf"),
                                       ("smoothness", 0.01, "conditional")):
            assert ours(case, restriction, m, method, search="bisection") == \
                ours(case, restriction, m, method, search="grid")


def test_flci(mpdta_es, example, patched_peer):
    for case in (mpdta_es, example):
        beta, sigma, n_pre, n_post = case
        for M in (0.0, 0.01):
            for l_vec in (np.eye(n_post)[0], np.full(n_post, 1 / n_post)):
                mine = optimal_flci(beta, sigma, n_pre, n_post, l_vec, M, 0.05)
                peer = patched_peer.find_optimal_flci(beta, sigma, M=M, numPrePeriods=n_pre,
                                                      numPostPeriods=n_post, l_vec=l_vec)
                if M == 0:
                    # Minimum-variance estimator: closed form here, a conic solver's answer at
                    # the edge of its feasible set in the peer (agreement ~1e-3 of the half-length).
                    assert_allclose((mine.lower, mine.upper), peer["FLCI"],
                                    atol=1e-3 * mine.half_length)
                    assert_allclose(mine.weights, peer["optimalVec"], atol=2e-3)
                else:
                    # The peer stops its search over h at 1 % of the range: ours is at
                    # least as short, and within 0.5 % of its half-length.
                    assert mine.half_length <= peer["optimalHalfLength"] * (1 + 1e-6)
                    assert_allclose(mine.half_length, peer["optimalHalfLength"], rtol=5e-3)
                    assert_allclose(mine.estimate, np.mean(peer["FLCI"]),
                                    atol=5e-3 * peer["optimalHalfLength"])


@pytest.mark.slow
def test_unpatched_peer_within_monte_carlo(example):
    """The peer as shipped (random quantile and draws): same sets within a grid step or two."""
    beta, sigma, n_pre, n_post = example
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = hd.createSensitivityResults_relativeMagnitudes(
            beta, sigma, n_pre, n_post, Mbarvec=[1.0], gridPoints=GRID)
        flci = hd.find_optimal_flci(beta, sigma, M=0.0, numPrePeriods=n_pre,
                                    numPostPeriods=n_post)
    lo, hi = ours(example, "relative_magnitudes", 1.0, "c-lf")
    step = 40 * np.sqrt(sigma[3, 3]) / (GRID - 1)
    assert_allclose((lo, hi), peer[["lb", "ub"]].to_numpy()[0], atol=2.01 * step)
    mine = optimal_flci(beta, sigma, n_pre, n_post, np.eye(3)[0], 0.0, 0.05)
    assert_allclose(mine.half_length, flci["optimalHalfLength"], rtol=2e-3)
