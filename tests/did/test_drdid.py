"""Two-period OR / IPW / DR DiD (Sant'Anna & Zhao 2020) against the ``drdid`` package.

``drdid`` 1.1.7 (PyPI, aligned with R ``DRDID`` 1.4.0) is the peer: point
estimates and influence functions must agree to 1e-8 on random data with
covariates and sampling weights, for panels and repeated cross-sections.
A small simulation checks bias and coverage with a known effect.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from evalkit.did.drdid import drdid_panel, drdid_rcs
from evalkit.errors import DataValidationError, EstimationError, OverlapError
from evalkit.options import OptionError

peer = pytest.importorskip("drdid._estimators")

PANEL_PEERS = {"or": "reg_did_panel", "ipw": "std_ipw_did_panel", "dr": "drdid_panel"}
RCS_PEERS = {"or": "reg_did_rc", "ipw": "std_ipw_did_rc", "dr": "drdid_rc"}


def panel_data(seed, n=1500):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.8 * x[:, 0])))).astype(float)
    y0 = x @ [1.0, 0.5] + rng.normal(size=n)
    y1 = y0 + 1 + 0.5 * d + 0.3 * x[:, 1] + 0.4 * x[:, 0] + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    return y1, y0, d, x, w


def rcs_data(seed, n=2000):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.8 * x[:, 0])))).astype(float)
    post = (rng.random(n) < 0.5).astype(float)
    y = x @ [1.0, 0.5] + post * (1 + 0.5 * d + 0.4 * x[:, 0]) + 0.2 * d + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    return y, post, d, x, w


@pytest.mark.parametrize("method", ["or", "ipw", "dr"])
@pytest.mark.parametrize("seed", [1, 2])
def test_panel_matches_drdid(method, seed):
    y1, y0, d, x, w = panel_data(seed)
    att, inf = getattr(peer, PANEL_PEERS[method])(
        y1, y0, d, covariates=np.column_stack([np.ones(len(d)), x]), i_weights=w)
    ours = drdid_panel(y1, y0, d, x, w, method=method)
    assert_allclose(ours.att, att, atol=1e-10)
    assert_allclose(ours.influence, inf, atol=1e-8)
    assert_allclose(ours.std_error, np.std(inf, ddof=1) / np.sqrt(len(d)), rtol=1e-8)


@pytest.mark.parametrize("method", ["or", "ipw", "dr"])
@pytest.mark.parametrize("seed", [1, 2])
def test_rcs_matches_drdid(method, seed):
    y, post, d, x, w = rcs_data(seed)
    att, inf = getattr(peer, RCS_PEERS[method])(
        y, post, d, covariates=np.column_stack([np.ones(len(d)), x]), i_weights=w)
    ours = drdid_rcs(y, post, d, x, w, method=method)
    assert_allclose(ours.att, att, atol=1e-10)
    assert_allclose(ours.influence, inf, atol=1e-8)


@pytest.mark.parametrize("method", ["or", "ipw", "dr"])
def test_without_covariates_all_methods_are_the_simple_did(method):
    y1, y0, d, _, w = panel_data(3)
    dy = y1 - y0
    wn = w / w.mean()
    m1 = np.average(dy[d == 1], weights=w[d == 1])
    m0 = np.average(dy[d == 0], weights=w[d == 0])
    res = drdid_panel(y1, y0, d, None, w, method=method)
    assert_allclose(res.att, m1 - m0, atol=1e-12)
    expected = (wn * d * (dy - m1) / np.mean(wn * d)
                - wn * (1 - d) * (dy - m0) / np.mean(wn * (1 - d)))
    assert_allclose(res.influence, expected, atol=1e-10)


def test_invalid_inputs():
    y1, y0, d, x, w = panel_data(4, n=200)
    with pytest.raises(DataValidationError, match="0/1"):
        drdid_panel(y1, y0, d * 2, x)
    with pytest.raises(EstimationError, match="both treated and comparison"):
        drdid_panel(y1, y0, np.ones_like(d), x)
    with pytest.raises(OptionError, match="method='aipw'.*'or', 'ipw', 'dr'"):
        drdid_panel(y1, y0, d, x, method="aipw")
    with pytest.raises(DataValidationError, match="length"):
        drdid_panel(y1, y0[:-1], d, x)
    with pytest.raises(DataValidationError, match="weights"):
        drdid_panel(y1, y0, d, x, -w)


def test_overlap_and_collinearity_errors():
    y1, y0, d, x, _ = panel_data(5, n=300)
    separating = np.column_stack([d * 10 + np.random.default_rng(0).normal(size=len(d)) * 0.01])
    with pytest.raises(OverlapError, match="separate"):
        drdid_panel(y1, y0, d, separating, method="dr")
    collinear = np.column_stack([x[:, 0], 2 * x[:, 0]])
    with pytest.raises(EstimationError, match="collinear"):
        drdid_panel(y1, y0, d, collinear, method="or")


def test_simulation_bias_and_coverage():
    # Known ATT = 0.5, selection on x0 that also drives trends: DR is unbiased.
    estimates, covered = [], []
    for seed in range(150):
        y1, y0, d, x, _ = panel_data(100 + seed, n=600)
        res = drdid_panel(y1, y0, d, x, method="dr")
        estimates.append(res.att)
        covered.append(abs(res.att - 0.5) <= 1.96 * res.std_error)
    estimates = np.asarray(estimates)
    mc_se = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean() - 0.5) < 3 * mc_se
    assert 0.89 <= np.mean(covered) <= 0.99
