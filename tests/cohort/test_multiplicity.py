"""Multiplicity adjustments: BH and Holm vs statsmodels, Romano–Wolf vs a brute-force
implementation of the step-down algorithm (Romano & Wolf 2005, Algorithm 4.1) and its
family-wise error rate by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.multitest import multipletests

from evalkit.cohort.multiplicity import adjust_outcomes, bh_adjust, holm_adjust, romano_wolf
from evalkit.errors import ConfigError, DataValidationError


@pytest.mark.parametrize("seed", range(5))
def test_bh_and_holm_equal_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = np.r_[rng.uniform(size=15), rng.uniform(0, 0.01, 5), [0.02, 0.02, 1.0, 0.0]]
    rng.shuffle(p)
    assert_allclose(bh_adjust(p), multipletests(p, method="fdr_bh")[1], rtol=0, atol=1e-12)
    assert_allclose(holm_adjust(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-12)


def test_adjusters_keep_series_index():
    p = pd.Series([0.01, 0.04, 0.03], index=["a", "b", "c"])
    out = bh_adjust(p)
    assert list(out.index) == ["a", "b", "c"]
    assert_allclose(out, [0.03, 0.04, 0.04])


def _romano_wolf_brute_force(est, se, draws):
    """Romano & Wolf (2005) Algorithm 4.1 written out with explicit loops and sets."""
    k, b = len(est), draws.shape[0]
    t = [abs(est[j] / se[j]) for j in range(k)]
    remaining = list(range(k))
    p_adj = [0.0] * k
    previous = 0.0
    while remaining:
        best = max(remaining, key=lambda j: (t[j], -j))
        count = 0
        for r in range(b):
            m = max(abs(draws[r, j] / se[j]) for j in remaining)
            if m >= t[best]:
                count += 1
        p = max((count + 1) / (b + 1), previous)
        p_adj[best] = p
        previous = p
        remaining.remove(best)
    return np.array(p_adj)


@pytest.mark.parametrize("seed", range(3))
def test_romano_wolf_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    k = 5
    cov = 0.5 + 0.5 * np.eye(k)
    est = rng.normal([0.0, 0.5, 2.5, 3.0, 1.0], 1.0)
    draws = rng.multivariate_normal(np.zeros(k), cov, size=300)
    se = np.ones(k) * rng.uniform(0.8, 1.2, k)
    assert_allclose(romano_wolf(est, se, draws), _romano_wolf_brute_force(est, se, draws))


def _fwer(k, rho, effects, n_rep, n_boot, seed):
    rng = np.random.default_rng(seed)
    cov = rho + (1 - rho) * np.eye(k)
    chol = np.linalg.cholesky(cov)
    nulls = np.asarray(effects) == 0
    rejections = holm_rej = 0
    for _ in range(n_rep):
        est = np.asarray(effects) + chol @ rng.standard_normal(k)
        draws = rng.standard_normal((n_boot, k)) @ chol.T
        p = romano_wolf(est, np.ones(k), draws)
        rejections += bool((p[nulls] <= 0.05).any())
        from scipy import stats
        p_raw = 2 * stats.norm.sf(np.abs(est))
        holm_rej += bool((holm_adjust(p_raw)[nulls] <= 0.05).any())
    return rejections / n_rep, holm_rej / n_rep


def test_romano_wolf_controls_fwer_and_beats_holm_with_correlated_outcomes():
    # Complete null, 6 outcomes correlated 0.7: FWER at 5 %.
    fwer, fwer_holm = _fwer(6, 0.7, [0.0] * 6, n_rep=1500, n_boot=299, seed=1)
    se = np.sqrt(0.05 * 0.95 / 1500)
    assert abs(fwer - 0.05) < 3.5 * se + 0.005, fwer
    assert fwer_holm < fwer  # Holm ignores the correlation and is conservative
    # Partial null: two true effects, the four nulls still protected.
    fwer_partial, _ = _fwer(6, 0.7, [4.0, 3.0, 0, 0, 0, 0], n_rep=800, n_boot=299, seed=2)
    assert fwer_partial <= 0.05 + 3.5 * np.sqrt(0.05 * 0.95 / 800)


def test_romano_wolf_input_errors():
    with pytest.raises(DataValidationError):
        romano_wolf([1.0, 2.0], [1.0, 1.0], np.zeros((200, 3)))
    with pytest.raises(DataValidationError):
        romano_wolf([1.0, 2.0], [1.0, 0.0], np.zeros((200, 2)))
    with pytest.raises(ConfigError):
        romano_wolf([1.0, 2.0], [1.0, 1.0], np.zeros((20, 2)))
    with pytest.raises(DataValidationError):
        bh_adjust([0.1, np.nan])
    with pytest.raises(DataValidationError):
        holm_adjust([1.2])


def test_adjust_outcomes_on_cohort_comparison_results():
    from evalkit.cohort.comparison import CohortComparison
    from evalkit.datasets import hope_in_stations as hope

    ds = hope.generate(seed=3, n_per_station_wave=600)
    w2 = ds["survey"].query("wave == 2")
    covs = ["age", "sex", "nationality_group", "months_homeless", "health_problem",
            "has_id_papers"]
    res = CohortComparison(w2, group="integrated", outcome=list(hope.OUTCOMES),
                           covariates=covs, id="respondent_id").fit(method="aipw")
    frame = adjust_outcomes(res, n_boot=999, seed=1)
    assert list(frame.index) == list(hope.OUTCOMES)
    assert (frame["p_romano_wolf"] >= frame["p_value"] - 1e-12).all()
    assert (frame["p_holm"] >= frame["p_bh"] - 1e-12).all()
    # The multiplier draws reproduce the influence-function SEs the p-values come from.
    draws = res.multiplier_draws(n_boot=4000, seed=2)
    assert_allclose(draws.std(ddof=0), res.std_errors, rtol=0.06)
    # Strong effects on services used and social-worker contact survive any adjustment.
    assert (frame.loc[["n_services_used", "social_worker_contact"], "p_romano_wolf"] < 0.01).all()
