"""Callaway–Sant'Anna against the Python port ``csdid`` 0.4.3 (R ``did`` 2.5.1 conventions).

Same file (mpdta), bootstrap off: every ATT(g,t), analytic SE, the Wald
pre-test and the four aggregations (overall and per level, with SEs) must
agree to 1e-6. Variants: unconditional / OR / IPW / DR with ``lpop``,
never- and not-yet-treated controls, varying and universal base periods,
anticipation, sampling weights, clustering, unbalanced panels (as repeated
cross-sections, or balanced by dropping units) and repeated cross-sections.

No disagreement between csdid 0.4.3 and R was found where R publishes numbers:
csdid reproduces every R value checked in test_callaway_santanna_reference.py
(points, analytic SEs, pre-test, aggregations), so no comparison is skipped.
Bootstrap SEs are random and compared with R's published ones only."""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.did.callaway_santanna import CallawaySantAnna

csdid_att_gt = pytest.importorskip("csdid.att_gt")

MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")
TOL = 1e-6
KINDS = ["simple", "dynamic", "group", "calendar"]


@pytest.fixture(scope="module")
def mpdta():
    df = pd.read_csv(MPDTA)
    df["state"] = (df["countyreal"] // 1000).astype(int)  # FIPS state of the county
    rng = np.random.default_rng(0)
    units = np.sort(df["countyreal"].unique())
    df["w"] = df["countyreal"].map(pd.Series(rng.uniform(0.5, 2.0, len(units)), index=units))
    return df


def run_csdid(df, *, est_method="dr", base_period="varying", **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = csdid_att_gt.ATTgt(yname="lemp", gname="first.treat", idname="countyreal",
                                    tname="year", data=df, **kwargs).fit(
            est_method=est_method, base_period=base_period, bstrap=False)
        aggs = {kind: dict(fitted.aggte(typec=kind, bstrap=False).atte) for kind in KINDS}
    return fitted, aggs


def run_ours(df, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
                                first_treated="first.treat", **kwargs).fit(bootstrap=False)


def assert_same(fitted, aggs, ours):
    assert_allclose(ours.params.to_numpy(), np.asarray(fitted.results["att"], float), atol=TOL)
    assert_allclose(ours.std_errors.to_numpy(), np.asarray(fitted.results["se"], float),
                    atol=TOL)
    assert_allclose(ours.cells["group"], np.asarray(fitted.results["group"], float))
    assert_allclose(ours.cells["time"], np.asarray(fitted.results["year"], float))
    if fitted.MP["W"] is not None:
        assert_allclose(ours.pretest.statistic, float(np.squeeze(fitted.MP["W"])), rtol=1e-6)
    for kind, theirs in aggs.items():
        agg = ours.aggregate(kind)
        assert_allclose(agg.overall_att, theirs["overall_att"], atol=TOL, err_msg=kind)
        assert_allclose(agg.overall_se, theirs["overall_se"], atol=TOL, err_msg=kind)
        if kind != "simple":
            assert_allclose(agg.params.index.to_numpy(dtype=float),
                            np.asarray(theirs["egt"], float), err_msg=kind)
            assert_allclose(agg.params.to_numpy(), np.asarray(theirs["att_egt"], float),
                            atol=TOL, err_msg=kind)
            assert_allclose(agg.std_errors.to_numpy(), np.asarray(theirs["se_egt"], float),
                            atol=TOL, err_msg=kind)


ESTIMATIONS = [("unconditional", "reg", None), ("or", "reg", ["lpop"]),
               ("ipw", "ipw", ["lpop"]), ("dr", "dr", ["lpop"])]


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("estimation,est_method,covariates", ESTIMATIONS)
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_balanced_panel(mpdta, control_group, estimation, est_method, covariates, base_period):
    formula = "lemp~" + ("+".join(covariates) if covariates else "1")
    fitted, aggs = run_csdid(mpdta, est_method=est_method, base_period=base_period,
                             xformla=formula, control_group=control_group)
    ours = run_ours(mpdta, method=estimation, covariates=covariates,
                    control_group=control_group, base_period=base_period)
    assert_same(fitted, aggs, ours)


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_anticipation(mpdta, control_group, base_period):
    fitted, aggs = run_csdid(mpdta, xformla="lemp~lpop", anticipation=1,
                             control_group=control_group, base_period=base_period)
    ours = run_ours(mpdta, covariates=["lpop"], anticipation=1, control_group=control_group,
                    base_period=base_period)
    assert_same(fitted, aggs, ours)


def test_sampling_weights(mpdta):
    fitted, aggs = run_csdid(mpdta, xformla="lemp~lpop", weights_name="w")
    assert_same(fitted, aggs, run_ours(mpdta, covariates=["lpop"], weight="w"))


def test_clustered_analytic_se(mpdta):
    fitted, aggs = run_csdid(mpdta, xformla="lemp~lpop", clustervar="state")
    assert_same(fitted, aggs, run_ours(mpdta, covariates=["lpop"], cluster="state"))


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
def test_unbalanced_panel_as_repeated_cross_sections(mpdta, control_group):
    rng = np.random.default_rng(1)
    unbalanced = mpdta.drop(index=rng.choice(len(mpdta), 200, replace=False))
    fitted, aggs = run_csdid(unbalanced, xformla="lemp~lpop", allow_unbalanced_panel=True,
                             control_group=control_group)
    ours = run_ours(unbalanced, covariates=["lpop"], control_group=control_group)
    assert ours.info["Data"].startswith("unbalanced panel")
    assert_same(fitted, aggs, ours)


def test_unbalanced_panel_balanced_by_dropping_units(mpdta):
    # csdid's (and R's) default allow_unbalanced_panel = FALSE keeps complete units only.
    rng = np.random.default_rng(1)
    unbalanced = mpdta.drop(index=rng.choice(len(mpdta), 200, replace=False))
    fitted, aggs = run_csdid(unbalanced, xformla="lemp~lpop")
    ours = run_ours(unbalanced, covariates=["lpop"], unbalanced="balance")
    assert_same(fitted, aggs, ours)
    dropped = ours.ledger.to_frame().iloc[-1]
    assert "every period" in dropped["reason"] and dropped["n_persons"] == 500 - 332


@pytest.mark.parametrize("estimation,est_method", [("or", "reg"), ("ipw", "ipw"), ("dr", "dr")])
def test_repeated_cross_sections(mpdta, estimation, est_method):
    rcs = mpdta.assign(countyreal=np.arange(1, len(mpdta) + 1, dtype=float))
    fitted, aggs = run_csdid(rcs, est_method=est_method, xformla="lemp~lpop", panel=False,
                             control_group="notyettreated")
    ours = run_ours(rcs, method=estimation, covariates=["lpop"],
                    repeated_cross_section=True, control_group="notyettreated")
    assert_same(fitted, aggs, ours)


@pytest.mark.parametrize("option", ["weights", "cluster"])
def test_repeated_cross_sections_with_weights_or_clusters(mpdta, option):
    rng = np.random.default_rng(2)
    rcs = mpdta.assign(countyreal=np.arange(1, len(mpdta) + 1, dtype=float),
                       w=rng.uniform(0.5, 2.0, len(mpdta)))
    theirs = {"weights": {"weights_name": "w"}, "cluster": {"clustervar": "state"}}[option]
    ours = {"weights": {"weight": "w"}, "cluster": {"cluster": "state"}}[option]
    fitted, aggs = run_csdid(rcs, xformla="lemp~lpop", panel=False, **theirs)
    assert_same(fitted, aggs, run_ours(rcs, covariates=["lpop"], repeated_cross_section=True,
                                       **ours))


def test_no_never_treated_units(mpdta):
    # The last cohort (2007) becomes a comparison only; periods >= 2007 are dropped.
    treated_only = mpdta[mpdta["first.treat"] != 0]
    fitted, aggs = run_csdid(treated_only, xformla="lemp~1", control_group="notyettreated")
    ours = run_ours(treated_only, control_group="notyettreated")
    assert_same(fitted, aggs, ours)
    assert (ours.ledger.to_frame()["reason"].str.contains("period >= 2007")).any()
