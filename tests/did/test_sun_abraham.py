"""Sun–Abraham interaction-weighted event study on mpdta.

Post-period effects equal R ``did``'s published dynamic aggregation (the same
estimand: cohort effects relative to g-1 with never-treated controls, averaged
with cohort shares); every cohort x event-time coefficient and the clustered
covariance equal an independent statsmodels regression with explicit unit,
year and interaction dummies written here (CRV1 in the fixest convention).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.honest_did import HonestDiD
from evalkit.did.sun_abraham import SunAbraham

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")
# R did README, aggte(type = "dynamic"), e = 0..3 (4 printed decimals)
R_DYNAMIC_POST = [-0.0199, -0.0510, -0.1373, -0.1008]


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def sa(mpdta):
    return SunAbraham(mpdta, outcome="lemp", unit="countyreal", period="year",
                      first_treated="first.treat").fit()


def test_post_effects_equal_r_did(sa):
    assert_allclose(sa.params.loc[[0, 1, 2, 3]], R_DYNAMIC_POST, atol=5e-5)


def test_equals_callaway_santanna_universal_base(sa, mpdta):
    cs = CallawaySantAnna(mpdta, outcome="lemp", unit="countyreal", period="year",
                          first_treated="first.treat", base_period="universal").fit(
        bootstrap=False)
    dyn = cs.aggregate("dynamic").params.drop(-1)
    assert_allclose(sa.params.to_numpy(), dyn.loc[sa.params.index].to_numpy(), atol=1e-12)


def test_cells_and_covariance_equal_explicit_dummy_regression(sa, mpdta):
    df = mpdta.copy()
    treated = df["first.treat"] > 0
    df["e"] = np.where(treated, df["year"] - df["first.treat"], -999)
    cols = []
    for g, e in sa.cells[["group", "event_time"]].itertuples(index=False):
        name = f"d_{int(g)}_{e}"
        df[name] = ((df["first.treat"] == g) & (df["e"] == e)).astype(float)
        cols.append(name)
    X = pd.concat([df[cols], pd.get_dummies(df["countyreal"], prefix="u", drop_first=True,
                                            dtype=float),
                   pd.get_dummies(df["year"], prefix="y", drop_first=True, dtype=float)], axis=1)
    fit = sm.OLS(df["lemp"], sm.add_constant(X)).fit(
        cov_type="cluster", cov_kwds={"groups": df["countyreal"], "use_correction": False})
    G, N = df["countyreal"].nunique(), len(df)
    # fixest CRV1: unit effects nested in the county clusters do not count in K.
    K = len(cols) + df["year"].nunique() - 1
    V = fit.cov_params().loc[cols, cols].to_numpy() * G / (G - 1) * (N - 1) / (N - K)
    assert_allclose(sa.cells["estimate"], fit.params[cols], atol=1e-10)
    assert_allclose(sa.cells["std_error"], np.sqrt(np.diag(V)), rtol=1e-8)
    # Interaction weights: cohort shares of the observations at each event time.
    W = np.zeros((len(sa.params), len(cols)))
    for i, e in enumerate(sa.params.index):
        at = (sa.cells["event_time"] == e).to_numpy()
        n = sa.cells["n_obs"].to_numpy()
        W[i, at] = n[at] / n[at].sum()
    assert_allclose(sa.cov.to_numpy(), W @ V @ W.T, rtol=1e-8)
    assert_allclose(sa.params, W @ fit.params[cols].to_numpy(), atol=1e-10)


def test_last_cohort_as_control_without_never_treated(mpdta):
    df = mpdta[mpdta["first.treat"] > 0]
    res = SunAbraham(df, outcome="lemp", unit="countyreal", period="year",
                     first_treated="first.treat").fit()
    assert "last treated cohort" in res.info["Control"]
    assert res.ledger.n_rows_dropped >= (df["year"] >= 2007).sum()
    assert set(res.cells["group"]) == {2004.0, 2006.0}


def test_honest_did_takes_sun_abraham(sa):
    h = HonestDiD(sa, target="average")
    assert h.n_pre == 3 and h.n_post == 4
    res = h.fit(restriction="smoothness", m=[0])
    assert res.table.loc[0, "lower"] < res.original["estimate"] < res.table.loc[0, "upper"]
