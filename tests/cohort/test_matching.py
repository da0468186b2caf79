"""Nearest-neighbour matching: published Abadie–Imbens output and a brute-force reference."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
from numpy.testing import assert_allclose

from evalkit.cohort.comparison import CohortComparison
from evalkit.cohort.matching import match_1d, match_brute, match_kd, nn_matching
from evalkit.errors import FewClustersWarning


def _brute_sets(z, pool, queries, m, exclude_self=False):
    """Matched sets by full distance computation: m nearest plus all ties."""
    sets = []
    for i in queries:
        cand = [j for j in pool if not (exclude_self and j == i)]
        dist = np.array([np.sqrt(np.sum((np.atleast_1d(z[j]) - np.atleast_1d(z[i])) ** 2))
                         for j in cand])
        dm = np.sort(dist)[min(m, len(cand)) - 1]
        sets.append([c for c, dd in zip(cand, dist, strict=True) if dd <= dm + 1e-9])
    return sets


def _brute_matching(y, d, s, z, estimand, m, j_var, variance):
    """Abadie–Imbens (2006) estimator and variance written out with loops (weighted form)."""
    n = len(y)
    t, c = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    yhat = y.copy()
    k_w, q_w = np.zeros(n), np.zeros(n)
    pairs = [(t, c)] if estimand == "ATT" else [(t, c), (c, t)]
    for queries, pool in pairs:
        for i, match in zip(queries, _brute_sets(z, pool, queries, m), strict=True):
            total = sum(s[j] for j in match)
            yhat[i] = sum(s[j] * y[j] for j in match) / total
            for j in match:
                k_w[j] += s[i] * s[j] / total
                q_w[j] += (s[i] * s[j] / total) ** 2
    y1 = np.where(d == 1, y, yhat)
    y0 = np.where(d == 1, yhat, y)
    used = d == 1 if estimand == "ATT" else np.ones(n, bool)
    big_s = s[used].sum()
    tau = np.sum(s[used] * (y1 - y0)[used]) / big_s
    sigma2 = np.zeros(n)
    for g in (t, c):
        for i, nb in zip(g, _brute_sets(z, g, g, j_var, exclude_self=True), strict=True):
            sigma2[i] = len(nb) / (len(nb) + 1) * (y[i] - np.mean(y[nb])) ** 2
    own = np.where(used, s, 0.0)
    if variance == "sample":
        var = np.sum((own + k_w) ** 2 * sigma2)
    elif estimand == "ATT":
        var = (np.sum(s[t] ** 2 * (y1 - y0 - tau)[t] ** 2)
               + np.sum(sigma2[c] * (k_w[c] ** 2 - q_w[c])))
    else:
        var = (np.sum(s ** 2 * (y1 - y0 - tau) ** 2)
               + np.sum(sigma2 * (k_w ** 2 + 2 * s * k_w - q_w)))
    return tau, np.sqrt(var) / big_s


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(11)
    n = 150
    z = rng.integers(0, 25, n).astype(float)  # many exact ties
    d = (rng.uniform(size=n) < 0.4).astype(float)
    y = 2.0 * d + 0.3 * z + rng.normal(size=n)
    s = rng.uniform(0.5, 2.0, n)
    return y, d, s, z


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("variance", ["population", "sample"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matching_equals_brute_force(small, estimand, m, variance, weighted):
    y, d, s, z = small
    s = s if weighted else np.ones_like(s)
    ref_tau, ref_se = _brute_matching(y, d, s, z, estimand, m, 2, variance)
    for zz in (z, z[:, None]):  # sorted-search kernel and KD-tree kernel
        est, unmatched = nn_matching(y, d, s, zz, estimand, n_neighbors=m, variance=variance)
        assert not unmatched.any()
        assert_allclose(est.tau, ref_tau, rtol=1e-12)
        assert_allclose(np.sqrt(np.sum(est.psi ** 2)), ref_se, rtol=1e-10)


def test_kernels_agree_on_continuous_data():
    rng = np.random.default_rng(5)
    pool, queries = rng.normal(size=2000), rng.normal(size=500)
    one_d = match_1d(pool, queries, 4)
    kd = match_kd(pool[:, None], queries[:, None], 4)
    assert_allclose(one_d.sizes, 4)
    for i in range(0, 500, 37):
        a = np.sort(one_d.idx[one_d.ptr[i]:one_d.ptr[i + 1]])
        b = np.sort(kd.idx[kd.ptr[i]:kd.ptr[i + 1]])
        assert_allclose(a, b)
        brute = np.sort(np.argsort(np.abs(pool - queries[i]))[:4])
        assert_allclose(a, brute)


@pytest.mark.parametrize("exclude_self", [False, True])
def test_blocked_brute_force_equals_kd_tree_with_ties(exclude_self):
    rng = np.random.default_rng(6)
    pool = rng.integers(0, 3, (700, 8)).astype(float)  # many exact ties in 8 dimensions
    queries = pool if exclude_self else rng.integers(0, 3, (300, 8)).astype(float)
    for m in (1, 3):
        a = match_brute(pool, queries, m, exclude_self=exclude_self)
        b = match_kd(pool, queries, m, exclude_self=exclude_self)
        assert_allclose(a.sizes, b.sizes)
        for i in range(0, len(queries), 17):
            assert_allclose(np.sort(a.idx[a.ptr[i]:a.ptr[i + 1]]),
                            np.sort(b.idx[b.ptr[i]:b.ptr[i + 1]]))


def test_without_replacement_equals_greedy_brute_force():
    rng = np.random.default_rng(8)
    n_t, n_c = 40, 120
    z = np.concatenate([rng.normal(0.5, 1, n_t), rng.normal(0, 1, n_c)])
    d = np.r_[np.ones(n_t), np.zeros(n_c)]
    y = z + d + rng.normal(size=n_t + n_c)
    available = set(range(n_t, n_t + n_c))
    diffs = {}
    for i in np.argsort(-z[:n_t], kind="stable"):
        j = min(available, key=lambda k: (abs(z[k] - z[i]), z[k]))
        available.remove(j)
        diffs[i] = y[i] - y[j]
    est, _ = nn_matching(y, d, np.ones_like(y), z, "ATT", replace=False)
    assert_allclose(est.tau, np.mean(list(diffs.values())), rtol=1e-12)
    assert est.details["max_times_used"] == 1.0


def test_caliper_drops_and_records_unmatched():
    rng = np.random.default_rng(2)
    n = 600
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-2.5 * x))).astype(int)
    df = pd.DataFrame({"d": d, "x": x, "y": x + d + rng.normal(size=n)})
    model = CohortComparison(df, group="d", outcome="y", covariates=["x"])
    res = model.fit(method="matching", estimand="ATT", caliper=0.01)
    dropped = res.ledger.to_frame().query("step == 'unmatched y'")["n_rows"].item()
    assert dropped > 0
    assert res.counts["n_treated"].iloc[0] == d.sum() - dropped
    # the estimate is the brute-force matching estimate on the treated with a match
    logit = res.propensity.logit
    width = 0.01 * logit.std(ddof=1)
    t, c = np.flatnonzero(d == 1), np.flatnonzero(d == 0)
    diffs = []
    for i in t:
        dist = np.abs(logit[c] - logit[i])
        if dist.min() <= width:
            diffs.append(df["y"][i] - df["y"].to_numpy()[c[dist <= dist.min() + 1e-9]].mean())
    assert len(diffs) == d.sum() - dropped
    assert_allclose(res.params.iloc[0], np.mean(diffs), rtol=1e-10)


# Abadie–Imbens' own Stata ``match`` (nnmatch) log on the 445-person experimental Lalonde
# (Dehejia–Wahba) sample, G. Imbens, lalonde_exper_04feb2.smcl (3 Feb 2004):
#   match re78 t age                   -> SATE 1785.191 (686.7167)
#   match re78 t age educ re74 re75    -> SATE 1714.407 (740.1292), inverse-variance metric
NNMATCH = [(["age"], 1785.191, 686.7167), (["age", "educ", "re74", "re75"], 1714.407, 740.1292)]


@pytest.mark.parametrize(("covariates", "estimate", "se"), NNMATCH)
def test_matches_abadie_imbens_nnmatch_on_lalonde(covariates, estimate, se):
    causaldata = pytest.importorskip("causaldata")
    nsw = causaldata.nsw_mixtape.load_pandas().data
    res = CohortComparison(nsw, group="treat", outcome="re78", covariates=covariates).fit(
        method="matching", estimand="ATE", match_on="covariates", metric="ivariance", se="sample")
    # causaldata stores earnings as float32: 3 decimals printed by Stata, $0.005 rounding
    assert_allclose(res.params.iloc[0], estimate, atol=5e-3)
    # nnmatch's default variance assumes homoskedasticity; ours is the heteroskedasticity-
    # robust one (Stata's vce(robust, nn(2))): they differ by design, here by < 7 %
    assert_allclose(res.std_errors.iloc[0], se, rtol=0.07)


def test_matches_stata_teffects_psmatch_on_cattaneo2():
    """Stata manual [TE] teffects psmatch, Example 1:
    ``teffects psmatch (bweight) (mbsmoke mmarried c.mage##c.mage fbaby medu)`` gives
    ATE = -210.9683 (logit score, 1 neighbour on the probability scale, ties kept). The figure
    is quoted from the manual (the manual page itself was not retrievable here); reproducing it
    to 7 significant digits leaves little doubt. Stata's SE is not compared: it was not
    available."""
    df = pd.read_csv(Path(statsmodels.__file__).parent / "treatment/tests/results/cataneo2.csv")
    df["mage2"] = df["mage"] ** 2
    res = CohortComparison(df, group="mbsmoke_", outcome="bweight",
                           covariates=["mmarried_", "mage", "mage2", "fbaby_", "medu"]).fit(
        method="matching", estimand="ATE", ps_scale="probability")
    assert_allclose(res.params.iloc[0], -210.9683, atol=5e-5)
    # the Abadie-Imbens (2016) adjustment for the estimated score is applied and finite
    assert np.isfinite(res.details["bweight"]["ps_adjustment"])


def test_clustered_matching_variance_reduces_to_unclustered():
    """With one person per cluster the clustered variance is the unclustered one times
    G/(G-1); with few large clusters it is larger when outcomes share a cluster effect."""
    rng = np.random.default_rng(9)
    n = 800
    site = rng.integers(0, 10, n)
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    y = x + d + rng.normal(size=10)[site] + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "x": x, "y": y, "site": site, "own": np.arange(n)})
    kwargs = {"group": "d", "outcome": "y", "covariates": ["x"]}
    plain = CohortComparison(df, **kwargs).fit(method="matching", estimand="ATT")
    singletons = CohortComparison(df, cluster="own", **kwargs).fit(method="matching", estimand="ATT")
    with pytest.warns(FewClustersWarning):
        sites = CohortComparison(df, cluster="site", **kwargs).fit(method="matching", estimand="ATT")
    assert_allclose(singletons.std_errors.iloc[0],
                    plain.std_errors.iloc[0] * np.sqrt(n / (n - 1)), rtol=1e-10)
    assert_allclose(sites.params.iloc[0], plain.params.iloc[0])
    assert sites.std_errors.iloc[0] > plain.std_errors.iloc[0]
    assert "heuristic" in sites.info["Std. errors"]


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_bias_corrected_matching_equals_brute_force(small, estimand):
    """Abadie-Imbens (2011): imputed outcomes shifted by mu_w(x_i) - mu_w(x_j), mu_w the
    weighted least-squares fit in group w; conditional variances from the fit's residuals."""
    y, d, s, z = small
    rng = np.random.default_rng(1)
    x = np.column_stack([z, rng.normal(size=len(y))])
    y = y + 0.7 * x[:, 1]

    def fit(group):
        rows = d == group
        design = np.column_stack([np.ones(rows.sum()), x[rows]])
        sw = np.sqrt(s[rows])
        beta = np.linalg.lstsq(design * sw[:, None], y[rows] * sw, rcond=None)[0]
        return np.column_stack([np.ones(len(y)), x]) @ beta

    mu = {1: fit(1), 0: fit(0)}
    pairs = [(1, 0)] if estimand == "ATT" else [(1, 0), (0, 1)]
    contributions = np.zeros(len(y))
    for group, other in pairs:
        queries, pool = np.flatnonzero(d == group), np.flatnonzero(d == other)
        for i, match in zip(queries, _brute_sets(z, pool, queries, 2), strict=True):
            c = s[match] / s[match].sum()
            imputed = np.sum(c * (y[match] + mu[other][i] - mu[other][match]))
            contributions[i] = (y[i] - imputed) if group == 1 else (imputed - y[i])
    used = d == 1 if estimand == "ATT" else np.ones(len(y), bool)
    expected = np.sum(s[used] * contributions[used]) / s[used].sum()
    est, _ = nn_matching(y, d, s, z, estimand, n_neighbors=2, bias_x=x, variance="sample")
    assert_allclose(est.tau, expected, rtol=1e-12)
    resid = y - np.where(d == 1, mu[1], mu[0])
    _, se = _brute_matching(resid, d, s, z, estimand, 2, 2, "sample")
    assert_allclose(np.sqrt(np.sum(est.psi ** 2)), se, rtol=1e-10)


@pytest.mark.parametrize("match_on", ["covariates", "ps"])
def test_exact_matching_within_strata_equals_brute_force(match_on):
    rng = np.random.default_rng(21)
    n = 500
    station = rng.integers(0, 5, n)
    x = rng.normal(size=n) + 0.3 * station
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int)
    d[station == 4] = 1  # station 4 has no comparison person: its treated stay unmatched
    y = x + d + station + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "x": x, "y": y, "station": station})
    res = CohortComparison(df, group="d", outcome="y", covariates=["x", "station"]).fit(
        method="matching", estimand="ATT", n_neighbors=2, match_on=match_on, metric="euclidean",
        exact=["station"])
    z = res.propensity.logit if match_on == "ps" else np.column_stack([x, station])
    diffs = []
    for i in np.flatnonzero(d == 1):
        pool = np.flatnonzero((d == 0) & (station == station[i]))
        if len(pool) == 0:
            continue
        dist = np.abs(z[pool] - z[i]) if z.ndim == 1 else np.linalg.norm(z[pool] - z[i], axis=1)
        dm = np.sort(dist)[min(2, len(pool)) - 1]
        diffs.append(y[i] - y[pool[dist <= dm + 1e-9]].mean())
    assert_allclose(res.params.iloc[0], np.mean(diffs), rtol=1e-10)
    n_station4 = int(((station == 4) & (d == 1)).sum())
    entry = res.ledger.to_frame().query("step == 'unmatched y'")
    assert entry["n_rows"].item() == n_station4
    assert res.counts["n_treated"].iloc[0] == d.sum() - n_station4
    assert "exactly on station" in res.summary()
