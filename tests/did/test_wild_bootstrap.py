"""Wild cluster restricted bootstrap: brute force, peer wildboottest, size with few clusters."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.did.checks import FewClustersWarning
from evalkit.did.fixed_effects import clustered_ols, factorize
from evalkit.did.twfe import TWFE
from evalkit.did.twoby2 import DiD2x2
from evalkit.did.wild_bootstrap import wild_cluster_bootstrap
from evalkit.errors import ConfigError


def _sites(rng, n_sites=8, per_cell=40, effect=0.0, shock_sd=0.15):
    """Two-wave repeated cross-sections with site x wave shocks (few clusters)."""
    site = np.repeat(np.arange(n_sites), 2 * per_cell)
    wave = np.tile(np.repeat([0, 1], per_cell), n_sites)
    pilot = (site % 2 == 0).astype(float)
    x = rng.normal(size=len(site))
    shock = rng.normal(0, shock_sd, (n_sites, 2))[site, wave]
    y = 0.3 * x + 0.2 * wave + shock + effect * pilot * wave + rng.normal(size=len(site))
    return pd.DataFrame({"site": site, "wave": wave, "pilot": pilot, "x": x, "y": y})


def _design(df):
    X = np.column_stack([df["pilot"] * df["wave"], df["pilot"], df["wave"],
                         np.ones(len(df)), df["x"]])
    return df["y"].to_numpy(), X, df["site"].to_numpy()


def test_enumeration_equals_brute_force():
    """All 2^8 sign patterns, each regression re-run explicitly: same p-value."""
    df = _sites(np.random.default_rng(4), effect=0.3)
    y, X, cl = _design(df)
    ours = wild_cluster_bootstrap(y, X, cl, 0, weight_type="rademacher", level=None)
    assert ours.enumerated and ours.n_boot == 256
    codes, g = factorize(cl)
    restricted = X[:, 1:] @ np.linalg.lstsq(X[:, 1:], y, rcond=None)[0]
    resid = y - restricted

    def t_of(values):
        fit = clustered_ols(values, X, cl)
        return fit.params[0] / np.sqrt(fit.cov_cr0[0, 0])

    t_obs = t_of(y)
    t_star = np.array([t_of(restricted + np.array(v)[codes] * resid)
                       for v in itertools.product([-1.0, 1.0], repeat=g)])
    assert_allclose(ours.pvalue, np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-9)))


@pytest.mark.parametrize("seed", [1, 2])
def test_matches_peer_wildboottest(seed):
    peer = pytest.importorskip("wildboottest.wildboottest")
    df = _sites(np.random.default_rng(seed), effect=0.15)
    y, X, cl = _design(df)
    model = sm.OLS(y, pd.DataFrame(X, columns=["d", "pilot", "wave", "const", "x"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_rad = peer.wildboottest(model, param="d", cluster=cl, B=9999,
                                    weights_type="rademacher", seed=1, show=False)
        ref_webb = peer.wildboottest(model, param="d", cluster=cl, B=9999, weights_type="webb",
                                     seed=1, show=False)
    rad = wild_cluster_bootstrap(y, X, cl, 0, weight_type="rademacher", level=None)
    webb = wild_cluster_bootstrap(y, X, cl, 0, weight_type="webb", seed=1, level=None)
    # Enumeration is exact; the peer may drop the two tied draws (identity, sign flip) to rounding.
    assert abs(rad.pvalue - ref_rad["p-value"].iloc[0]) <= 2 / 256 + 1e-12
    assert abs(webb.pvalue - ref_webb["p-value"].iloc[0]) < 0.03  # independent random draws


def test_size_with_eight_clusters():
    """No effect, 8 sites with site x wave shocks: WCR rejects about 5 % at the 5 % level."""
    rng = np.random.default_rng(10)
    rejections = []
    for _ in range(200):
        y, X, cl = _design(_sites(rng))
        res = wild_cluster_bootstrap(y, X, cl, 0, n_boot=399, seed=rng, level=None)
        rejections.append(res.pvalue < 0.05)
    assert 0.01 <= np.mean(rejections) <= 0.09


def test_interval_inverts_the_test():
    df = _sites(np.random.default_rng(5), effect=0.4)
    y, X, cl = _design(df)
    res = wild_cluster_bootstrap(y, X, cl, 0, n_boot=999, seed=3)
    lo, hi = res.conf_int
    assert lo < res.estimate < hi
    inside = wild_cluster_bootstrap(y, X, cl, 0, null=lo + 0.01 * (hi - lo), n_boot=999, seed=3,
                                    level=None)
    outside = wild_cluster_bootstrap(y, X, cl, 0, null=lo - 0.01 * (hi - lo), n_boot=999, seed=3,
                                     level=None)
    assert inside.pvalue > 0.05 >= outside.pvalue


def test_results_objects_expose_it():
    df = _sites(np.random.default_rng(6), effect=0.3)
    with pytest.warns(FewClustersWarning, match="wild_cluster_bootstrap"):
        res = DiD2x2(df, outcome="y", group="pilot", period="wave", cluster="site",
                     covariates=["x"], repeated_cross_section=True).fit()
    direct = wild_cluster_bootstrap(*_design(df), 0, weight_type="rademacher", level=None)
    assert_allclose(res.wild_cluster_bootstrap(weight_type="rademacher", level=None).pvalue,
                    direct.pvalue)
    with pytest.warns(FewClustersWarning):
        dr = DiD2x2(df, outcome="y", group="pilot", period="wave", cluster="site",
                    covariates=["x"], repeated_cross_section=True).fit(method="dr")
    with pytest.raises(ConfigError, match="method='reg'"):
        dr.wild_cluster_bootstrap()


def test_twfe_within_design_equals_dummy_regression():
    """FWL: bootstrapping the within-transformed TWFE equals bootstrapping the dummy model."""
    peer = pytest.importorskip("wildboottest.wildboottest")
    rng = np.random.default_rng(2)
    n_units, n_periods = 60, 5
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    region = unit % 10
    first = np.where(region < 5, np.where(region % 2 == 0, 3, 4), 0)
    y = rng.normal(size=n_units)[unit] + 0.1 * period + rng.normal(size=len(unit))
    df = pd.DataFrame({"unit_id": unit, "period": period, "first_treated": first, "y": y,
                       "region": region})
    with pytest.warns(FewClustersWarning):
        res = TWFE(df, outcome="y", cluster="region").fit()
    ours = res.wild_cluster_bootstrap(weight_type="rademacher", level=None)
    d = ((first > 0) & (period >= first)).astype(float)
    dummies = pd.get_dummies(pd.DataFrame({"u": unit.astype(str), "t": period.astype(str)}),
                             drop_first=True, dtype=float)
    exog = pd.concat([pd.DataFrame({"d": d, "const": 1.0}), dummies], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = peer.wildboottest(sm.OLS(y, exog), param="d", cluster=region, B=9999,
                                weights_type="rademacher", seed=1, show=False)
    assert abs(ours.pvalue - ref["p-value"].iloc[0]) <= 2 / 1024 + 1e-12


def test_refuses_many_clusters():
    df = _sites(np.random.default_rng(1), n_sites=8, per_cell=100)
    y, X, _ = _design(df)
    with pytest.raises(ConfigError, match="few clusters"):
        wild_cluster_bootstrap(y, X, np.arange(len(y)), 0)
