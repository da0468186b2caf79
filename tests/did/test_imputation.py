"""Borusyak–Jaravel–Spiess imputation (and Gardner two-stage) on mpdta and in simulation.

Independent computations written here: the point estimates by an explicit-dummy
statsmodels regression on the untreated observations (imputation) and by
Gardner's two-stage regression; the BJS variance with dense dummy matrices and a
pseudo-inverse instead of evalkit's block elimination.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.datasets import rsa_experiment
from evalkit.did.checks import FewClustersWarning
from evalkit.did.imputation import Imputation
from evalkit.did.sun_abraham import SunAbraham

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta():
    df = pd.read_csv(MPDTA)
    df["treated"] = (df["first.treat"] > 0) & (df["year"] >= df["first.treat"])
    df["e"] = np.where(df["treated"], df["year"] - df["first.treat"], -1)
    return df


@pytest.fixture(scope="module")
def bjs(mpdta):
    return Imputation(mpdta, outcome="lemp", unit="countyreal", period="year",
                      first_treated="first.treat").fit()


def dummies(df):
    return pd.concat([pd.get_dummies(df["countyreal"], prefix="u", dtype=float),
                      pd.get_dummies(df["year"], prefix="y", drop_first=True, dtype=float)],
                     axis=1)


def test_point_estimates_equal_explicit_imputation_and_two_stage(bjs, mpdta):
    Z = dummies(mpdta)
    untreated = ~mpdta["treated"]
    first = sm.OLS(mpdta.loc[untreated, "lemp"], Z[untreated]).fit()
    y0_hat = Z @ first.params
    tau = (mpdta["lemp"] - y0_hat)[mpdta["treated"]]
    by_e = tau.groupby(mpdta.loc[mpdta["treated"], "e"]).mean()
    assert_allclose(bjs.params, by_e.loc[bjs.params.index], atol=1e-10)
    assert_allclose(bjs.overall.params.iloc[0], tau.mean(), atol=1e-10)
    # Gardner two-stage: residualised outcome on event-time dummies of the treated rows.
    second = sm.OLS(mpdta["lemp"] - y0_hat,
                    pd.get_dummies(mpdta["e"].where(mpdta["treated"]), dtype=float)).fit()
    assert_allclose(second.params.to_numpy(), bjs.params.to_numpy(), atol=1e-10)


def test_bjs_variance_by_dense_algebra(bjs, mpdta):
    Z = dummies(mpdta).to_numpy()
    d = mpdta["treated"].to_numpy()
    Z0, Z1 = Z[~d], Z[d]
    e = mpdta["e"].to_numpy()[d]
    targets = [(e == k) / (e == k).sum() for k in bjs.params.index] + [np.full(d.sum(), 1 / d.sum())]
    w1 = np.column_stack(targets)
    v = np.zeros((len(d), w1.shape[1]))
    v[d] = w1
    v[~d] = -Z0 @ np.linalg.pinv(Z0.T @ Z0) @ Z1.T @ w1
    beta0 = np.linalg.pinv(Z0.T @ Z0) @ Z0.T @ mpdta["lemp"].to_numpy()[~d]
    resid = mpdta["lemp"].to_numpy() - Z @ beta0
    tau = resid[d]
    cell_mean = pd.Series(tau).groupby([mpdta["first.treat"].to_numpy()[d], e]).transform("mean")
    eps = resid.copy()
    eps[d] = tau - cell_mean.to_numpy()
    scores = pd.DataFrame(v * eps[:, None]).groupby(mpdta["countyreal"].to_numpy()).sum()
    cov = scores.T.to_numpy() @ scores.to_numpy()
    assert_allclose(bjs.std_errors, np.sqrt(np.diag(cov))[:-1], rtol=1e-8)
    assert_allclose(bjs.overall.std_errors.iloc[0], np.sqrt(cov[-1, -1]), rtol=1e-8)
    assert_allclose(bjs.cov.to_numpy(), cov[:-1, :-1], rtol=1e-8, atol=1e-14)


def _simulate(n_draws, n_units, seed0=500):
    rows = []
    for i in range(n_draws):
        ds = rsa_experiment.generate(seed=seed0 + i, n_units=n_units, n_zones=60)
        panel = ds["panel"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            bjs = Imputation(panel, outcome="return_to_work", unit="unit_id", period="period",
                             first_treated="first_treated", cluster="zone_id").fit()
            sa = SunAbraham(panel, outcome="return_to_work", unit="unit_id", period="period",
                            first_treated="first_treated", cluster="zone_id").fit()
        truth = ds.truth["att_simple"]
        truth_e0 = ds.truth["att_dynamic"].set_index("event_time").loc[0, "att"]
        lo, hi = bjs.overall.conf_int(0.95).iloc[0]
        s_lo, s_hi = sa.conf_int(0.95).loc[0]
        rows.append({"truth": truth, "bjs": bjs.overall.params.iloc[0], "bjs_cover": lo <= truth <= hi,
                     "truth_e0": truth_e0, "sa_e0": sa.params.loc[0],
                     "sa_cover": s_lo <= truth_e0 <= s_hi})
    return pd.DataFrame(rows)


def test_recovers_rsa_truth_fast():
    """10 draws of 2,000 recipients: BJS overall and SA at e = 0 within a few MC SEs of the
    truth (coverage checked loosely; the 200-draw study is marked slow)."""
    sims = _simulate(10, 2000)
    for est, truth in (("bjs", "truth"), ("sa_e0", "truth_e0")):
        err = sims[est] - sims[truth]
        assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(len(err)) + 0.002
    assert sims["bjs_cover"].mean() >= 0.8 and sims["sa_cover"].mean() >= 0.8


@pytest.mark.slow
def test_recovers_rsa_truth_200_draws():
    sims = _simulate(200, 10_000)
    for est, truth, cover in (("bjs", "truth", "bjs_cover"), ("sa_e0", "truth_e0", "sa_cover")):
        err = sims[est] - sims[truth]
        assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(len(err))
        assert 0.92 <= sims[cover].mean() <= 0.98
