"""Entropy balancing and optimal full matching against independent computations.

* Entropy balancing (Hainmueller 2012): weighted comparison means equal the treated means to
  1e-8 on NSW vs CPS-1 (Dehejia–Wahba specification), the weights equal those of the dual
  solved independently here with scipy's BFGS, and the ATT equals the weighted difference;
  the published output of the R package entbal on the same data is reproduced; a
  simulation with a known effect checks bias and coverage of the influence-function SE.
* Full matching: on small samples the matched sets and the ATT/ATE equal those of the
  brute-force minimum over every partition of the persons into full-matching sets
  (each with at least one treated and one comparison person, cost = sum of all
  treated-comparison distances within sets).
"""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from evalkit.cohort import balance_table
from evalkit.cohort.comparison import CohortComparison
from evalkit.cohort.entropy import entropy_weights
from evalkit.cohort.fullmatch import full_match
from evalkit.cohort.weighting import ExtremeWeightsWarning
from evalkit.errors import OverlapError

causaldata = pytest.importorskip("causaldata")

SPEC = ["age", "agesq", "agecube", "educ", "educsq", "marr", "nodegree", "black", "hisp",
        "re74", "re75", "u74", "u75", "educ_re74"]


def test_entropy_balancing_exact_means_and_independent_dual(nsw_cps):
    model = CohortComparison(nsw_cps, group="treat", outcome="re78", covariates=SPEC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtremeWeightsWarning)
        res = model.fit(method="ebal", estimand="ATT")
    w = res.details["re78"]["weights"]
    d = nsw_cps["treat"].to_numpy() == 1
    x = nsw_cps[SPEC].to_numpy(float)
    y = nsw_cps["re78"].to_numpy(float)
    treated_means = x[d].mean(axis=0)
    assert_allclose(w[~d] @ x[~d] / w[~d].sum(), treated_means, rtol=1e-8, atol=1e-8)
    assert_allclose(res.params.iloc[0], y[d].mean() - w[~d] @ y[~d] / w[~d].sum(), rtol=1e-10)
    # the dual log sum exp(lambda'(x - m)) minimised independently (standardised x)
    u = (x[~d] - treated_means) / x[~d].std(axis=0)

    def dual(lam):
        eta = u @ lam
        top = eta.max()
        p = np.exp(eta - top)
        return top + np.log(p.sum()), u.T @ p / p.sum()

    sol = minimize(dual, np.zeros(len(SPEC)), jac=True, method="BFGS",
                   options={"gtol": 1e-10, "maxiter": 5000})
    ref = np.exp(u @ sol.x - (u @ sol.x).max())
    assert_allclose(w[~d] / w[~d].sum(), ref / ref.sum(), atol=1e-6 * ref.max() / ref.sum())
    # balance_table agrees: every SMD after weighting is 0
    bal = balance_table(nsw_cps, group="treat", covariates=SPEC, weights_array=w)
    assert np.abs(bal.table["smd_adj"]).max() < 1e-8
    assert res.counts["ess_control"].iloc[0] == pytest.approx(
        w[~d].sum() ** 2 / (w[~d] ** 2).sum())


def test_entropy_balancing_without_solution_refuses():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"d": np.r_[np.ones(30), np.zeros(60)],
                       "x": np.r_[rng.uniform(5, 6, 30), rng.uniform(0, 4, 60)],
                       "z": rng.normal(size=90), "y": rng.normal(size=90)})
    with pytest.raises(OverlapError, match="entropy balancing has no solution.*'x'"):
        entropy_weights(df[["x", "z"]].to_numpy()[30:], np.ones(60),
                        df[["x", "z"]].to_numpy()[:30].mean(axis=0), ["x", "z"])


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_entropy_balancing_simulation_bias_and_coverage(estimand):
    """Logit selection on x, outcome linear in x with a constant effect 2: unbiased, SE
    close to the Monte-Carlo SD, 95 % intervals cover ~95 % (200 replications)."""
    rng = np.random.default_rng(11)
    est, se = [], []
    for _ in range(200):
        n = 600
        x = rng.normal(size=(n, 2))
        d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x @ [0.8, -0.5])))).astype(float)
        y = 1 + x @ [1.0, 2.0] + 2 * d + rng.normal(size=n)
        df = pd.DataFrame({"d": d, "x1": x[:, 0], "x2": x[:, 1], "y": y})
        res = CohortComparison(df, group="d", outcome="y", covariates=["x1", "x2"]).fit(
            method="ebal", estimand=estimand)
        est.append(res.params.iloc[0])
        se.append(res.std_errors.iloc[0])
    est, se = np.array(est), np.array(se)
    assert abs(est.mean() - 2) < 3 * est.std() / np.sqrt(len(est))
    assert 0.85 < se.mean() / est.std() < 1.15
    assert 0.91 <= np.mean(np.abs(est - 2) <= 1.96 * se) <= 0.99


def brute_force_full_matching(z, d):
    """Minimum over all partitions into sets with >= 1 treated and >= 1 comparison, and every
    partition reaching it (on a line, sums of distances often tie)."""
    n = len(z)
    best, optima = np.inf, []

    def partitions(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for part in partitions(rest):
            for i in range(len(part)):
                yield part[:i] + [[first, *part[i]]] + part[i + 1:]
            yield [[first], *part]

    for part in partitions(list(range(n))):
        if any(d[b].min() == d[b].max() for b in map(np.array, part)):
            continue
        cost = sum(abs(z[i] - z[j]) for b in part for i, j in itertools.product(b, b)
                   if d[i] == 1 and d[j] == 0)
        if cost < best - 1e-9:
            best, optima = cost, []
        if cost <= best + 1e-9:
            optima.append(frozenset(frozenset(b) for b in part))
    return best, optima


def set_cost(z, d, labels):
    return sum(abs(z[i] - z[j]) for i in range(len(z)) for j in range(len(z))
               if labels[i] == labels[j] and d[i] == 1 and d[j] == 0)


@pytest.mark.parametrize("seed", range(6))
def test_full_matching_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_t = 2 + seed % 3
    n_c = 7 - n_t + seed % 2
    d = np.r_[np.ones(n_t), np.zeros(n_c)]
    z = rng.normal(size=len(d)) + 0.5 * d
    y = rng.normal(size=len(d)) + d
    best, optima = brute_force_full_matching(z, d)
    ours = full_match(z, d)
    assert_allclose(set_cost(z, d, ours), best, rtol=1e-12)
    partition = frozenset(frozenset(np.flatnonzero(ours == k).tolist())
                          for k in np.unique(ours))
    assert partition in optima
    from evalkit.cohort.fullmatch import full_matching

    for estimand in ["ATT", "ATE"]:
        tau = 0.0
        size_total = 0.0
        for block in partition:
            b = np.isin(np.arange(len(d)), list(block))
            t, c = b & (d == 1), b & (d == 0)
            size = t.sum() if estimand == "ATT" else b.sum()
            tau += size * (y[t].mean() - y[c].mean())
            size_total += size
        est = full_matching(y, d, np.ones(len(d)), z, estimand)
        assert_allclose(est.tau, tau / size_total, rtol=1e-12)


def test_full_matching_on_nsw_cps_matched_data(nsw_cps):
    model = CohortComparison(nsw_cps, group="treat", outcome="re78", covariates=SPEC)
    res = model.fit(method="fullmatch", estimand="ATT")
    md = res.matched_data()
    assert len(md) == len(nsw_cps)  # full matching keeps everyone
    t = md["treat"] == 1
    assert (md.loc[t, "weights"] == 1).all()
    assert md.groupby("subclass")["treat"].agg(["min", "max"]).eq([0, 1]).all().all()
    # each set: one treated with several controls or one control with several treated
    counts = md.groupby("subclass")["treat"].agg(["sum", "count"])
    assert ((counts["sum"] == 1) | (counts["count"] - counts["sum"] == 1)).all()
    # ATT = weighted difference in means with MatchIt's weights
    y, w = md["re78"].astype(float), md["weights"]
    assert_allclose(res.params.iloc[0],
                    y[t].mean() - np.average(y[~t], weights=w[~t]), rtol=1e-9)
    assert np.isfinite(res.std_errors.iloc[0])


@pytest.mark.slow
@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_full_matching_simulation_bias_and_coverage(estimand):
    """Logit selection, linear outcome, constant effect 2 (150 replications of 500 persons):
    unbiased; the set-stratified SE runs ~10 % below the Monte-Carlo SD (it ignores the
    estimation of the score and the randomness of the sets), so coverage is near 92 %."""
    rng = np.random.default_rng(5)
    est, se = [], []
    for _ in range(150):
        n = 500
        x = rng.normal(size=(n, 2))
        d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x @ [0.8, -0.5])))).astype(float)
        y = 1 + x @ [1.0, 2.0] + 2 * d + rng.normal(size=n)
        df = pd.DataFrame({"d": d, "x1": x[:, 0], "x2": x[:, 1], "y": y})
        res = CohortComparison(df, group="d", outcome="y", covariates=["x1", "x2"]).fit(
            method="fullmatch", estimand=estimand)
        est.append(res.params.iloc[0])
        se.append(res.std_errors.iloc[0])
    est, se = np.array(est), np.array(se)
    assert abs(est.mean() - 2) < 3 * est.std() / np.sqrt(len(est))
    assert 0.8 < se.mean() / est.std() < 1.15
    assert 0.87 <= np.mean(np.abs(est - 2) <= 1.96 * se) <= 0.99


@pytest.mark.parametrize("method", ["ebal", "ra_pooled"])
def test_survey_weights_equal_replicated_rows(method):
    """Integer survey weights act like replicated persons on the point estimate (ebal: base
    weights; Lin: WLS). Not so for full matching: sets are formed on persons (replicates
    would be matched among themselves), weights enter set means and sizes only."""
    rng = np.random.default_rng(4)
    n = 120
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)
    df = pd.DataFrame({"d": d, "x": x, "y": x + d + rng.normal(size=n),
                       "k": rng.integers(1, 4, n)})
    expanded = df.loc[df.index.repeat(df["k"])].reset_index(drop=True)
    weighted = CohortComparison(df, group="d", outcome="y", covariates=["x"],
                                weight="k").fit(method=method, estimand="ATT")
    replicated = CohortComparison(expanded, group="d", outcome="y",
                                  covariates=["x"]).fit(method=method, estimand="ATT")
    assert_allclose(weighted.params.iloc[0], replicated.params.iloc[0], rtol=1e-8)
    if method == "ebal":
        w = weighted.details["y"]["weights"]
        t = d == 1
        assert_allclose(w[~t] @ x[~t] / w[~t].sum(), np.average(x[t], weights=df["k"][t]),
                        atol=1e-10)


def test_entropy_balancing_equals_published_entbal_output(nsw_cps):
    """Peer: the README of the R package entbal (B. Vegetabile, github bvegetabile/entbal)
    balances DW99 CPS-1 (the same 185 + 15,992 men) on age, education, black, hispanic,
    married, nodegree, RE74, RE75 with n_moments = 3 (powers 1-3 of the non-binary
    covariates) for the ATT and prints: control ESS 116.46; svyglm of RE78 on TA with the
    weights: intercept 4957.0, TA 1392.2 (its SE, 722.5, treats the weights as known)."""
    df = nsw_cps.copy()
    covariates = ["black", "hisp", "marr", "nodegree"]
    for col in ["age", "educ", "re74", "re75"]:
        v = df[col].astype(float)
        df[f"{col}_2"], df[f"{col}_3"] = v**2, v**3
        covariates += [col, f"{col}_2", f"{col}_3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtremeWeightsWarning)
        res = CohortComparison(df, group="treat", outcome="re78",
                               covariates=covariates).fit(method="ebal", estimand="ATT")
    assert_allclose(res.params.iloc[0], 1392.2, atol=0.05)
    assert_allclose(res.potential_outcomes["y0"].iloc[0], 4957.0, atol=0.05)
    assert_allclose(res.counts["ess_control"].iloc[0], 116.46, atol=0.005)
