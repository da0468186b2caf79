"""Simulation on the synthetic rSa experiment (cohort-heterogeneous, dynamic true effects).

Callaway-Sant'Anna (simple aggregation, never-treated controls, zone-clustered
analytic SEs) must recover the realised true ATT of each draw; TWFE must be
visibly biased (downwards: "later vs earlier" comparisons subtract the early
cohorts' growing effects) and the Bacon decomposition must show weight on
those forbidden comparisons.

The 200-draw study is ``slow``; the default run keeps 20 draws with looser bounds.
"""

import warnings

import numpy as np
import pytest

from evalkit.datasets import rsa_experiment
from evalkit.did.bacon import BaconDecomposition, ForbiddenComparisonWarning
from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.checks import FewClustersWarning
from evalkit.did.twfe import TWFE


def _draws(n_draws: int, n_units: int, seed0: int = 1000) -> dict:
    out = {k: [] for k in ("truth", "cs", "cs_se", "covered", "twfe")}
    for i in range(n_draws):
        ds = rsa_experiment.generate(seed=seed0 + i, n_units=n_units, n_zones=60)
        panel = ds["panel"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            cs = CallawaySantAnna(panel, outcome="return_to_work", unit="unit_id", period="period",
                                  first_treated="first_treated", cluster="zone_id").fit(
                bootstrap=False).aggregate("simple")
            twfe = TWFE(panel, outcome="return_to_work", cluster="zone_id").fit()
        truth = ds.truth["att_simple"]
        lo, hi = cs.overall.conf_int(0.95).iloc[0]
        out["truth"].append(truth)
        out["cs"].append(cs.overall_att)
        out["cs_se"].append(cs.overall_se)
        out["covered"].append(lo <= truth <= hi)
        out["twfe"].append(twfe.att)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _report(sims: dict) -> dict:
    truth = sims["truth"].mean()
    return {
        "draws": len(sims["truth"]),
        "mean_truth": truth,
        "cs_bias": (sims["cs"] - sims["truth"]).mean(),
        "cs_rel_bias": (sims["cs"] - sims["truth"]).mean() / truth,
        "cs_mc_se": (sims["cs"] - sims["truth"]).std(ddof=1) / np.sqrt(len(sims["cs"])),
        "cs_coverage": sims["covered"].mean(),
        "cs_mean_se": sims["cs_se"].mean(),
        "cs_sd": sims["cs"].std(ddof=1),
        "twfe_rel_bias": (sims["twfe"] - sims["truth"]).mean() / truth,
    }


def test_bacon_shows_forbidden_weight_on_rsa():
    ds = rsa_experiment.generate(seed=2009, n_units=20_000, n_zones=60)
    with pytest.warns(ForbiddenComparisonWarning, match="of the TWFE weight"):
        res = BaconDecomposition(ds["panel"], outcome="return_to_work").fit()
    assert res.forbidden_weight > 0.10
    forbidden = res.by_type().loc["Later vs Earlier Treated", "avg_estimate"]
    assert forbidden < ds.truth["att_simple"] / 2  # already-treated controls drag it down


def test_cs_recovers_truth_twfe_biased_fast():
    """20 draws of 4,000 recipients: CS within 25 % of the truth, TWFE biased downwards."""
    r = _report(_draws(20, 4_000))
    print(r)
    assert abs(r["cs_rel_bias"]) < 0.25
    assert r["cs_coverage"] >= 0.80
    assert r["twfe_rel_bias"] < -0.10
    assert r["twfe_rel_bias"] < r["cs_rel_bias"]


@pytest.mark.slow
def test_cs_recovers_truth_twfe_biased_200_draws():
    """200 draws of 10,000 recipients in 60 zones: CS bias < 10 % of the truth, 95 % CI
    coverage in [92 %, 98 %]; TWFE relative bias below -10 % and many MC SEs from 0."""
    sims = _draws(200, 10_000)
    r = _report(sims)
    print(r)
    assert abs(r["cs_rel_bias"]) < 0.10
    assert 0.92 <= r["cs_coverage"] <= 0.98
    assert r["twfe_rel_bias"] < -0.10
    twfe_err = sims["twfe"] - sims["truth"]
    assert twfe_err.mean() / (twfe_err.std(ddof=1) / np.sqrt(len(twfe_err))) < -5
