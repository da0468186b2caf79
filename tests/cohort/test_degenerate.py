"""No confident answers on degenerate data (issue 17, finding 5): minimum group sizes
per method, zero-variance outcomes, regression adjustment beyond the comparison group's
support."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.cohort import CohortComparison
from evalkit.did.twoby2 import DiD2x2
from evalkit.errors import EstimationError, OverlapError, SmallGroupWarning, ZeroVarianceWarning

METHODS = ["dim", "ra", "ipw", "aipw", "matching"]


def _one_treated(n=400, n_treated=1, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"d": np.r_[np.ones(n_treated), np.zeros(n - n_treated)].astype(int),
                         "x": rng.normal(size=n), "y": rng.normal(size=n)})


@pytest.mark.parametrize("method", METHODS)
def test_one_treated_among_400_is_refused_by_every_method(method):
    # The repro: dim, ra, ipw and aipw gave p ~ 1e-12 on pure noise; matching refused.
    model = CohortComparison(_one_treated(), group="d", outcome="y", covariates=["x"])
    with pytest.raises(EstimationError, match="1 treated and 399 comparison"):
        model.fit(method=method)


@pytest.mark.parametrize("method", ["dim", "ra", "ipw", "aipw"])
def test_small_groups_warn_and_noise_is_not_significant(method):
    model = CohortComparison(_one_treated(n_treated=4, seed=1), group="d", outcome="y",
                             covariates=["x"])
    with pytest.warns(SmallGroupWarning, match="4 treated and 396 comparison"):
        res = model.fit(method=method)
    z = abs(res.params.iloc[0] / res.std_errors.iloc[0])
    assert z < 3.5  # noise: no p of 1e-12


def test_regression_needs_more_persons_than_parameters():
    df = _one_treated(n=60, n_treated=3, seed=2)
    for k in range(4):
        df[f"c{k}"] = np.random.default_rng(k).normal(size=len(df))
    model = CohortComparison(df, group="d", outcome="y",
                             covariates=["x", "c0", "c1", "c2", "c3"])
    with pytest.raises(EstimationError, match="outcome regression of the treated"):
        model.fit(method="aipw")


def test_no_warning_with_enough_persons():
    model = CohortComparison(_one_treated(n_treated=50), group="d", outcome="y",
                             covariates=["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallGroupWarning)
        model.fit(method="dim")


def test_regression_adjustment_refuses_to_extrapolate_under_separation():
    # The repro: with x separating the groups, ipw/aipw/matching raised but ra
    # extrapolated the comparison group's regression silently.
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(2, 3, 40), rng.uniform(0, 1, 200)]
    df = pd.DataFrame({"d": np.r_[np.ones(40), np.zeros(200)].astype(int), "x": x,
                       "y": x + rng.normal(size=240)})
    model = CohortComparison(df, group="d", outcome="y", covariates=["x"])
    for method in ("ra", "ipw", "aipw"):
        with pytest.raises(OverlapError, match="separat"):
            model.fit(method=method)


def _did_frame(y):
    n = len(y) // 4
    return pd.DataFrame({"unit": np.repeat(np.arange(2 * n), 2),
                         "period": np.tile([1, 2], 2 * n),
                         "g": np.repeat(np.r_[np.ones(n), np.zeros(n)].astype(int), 2),
                         "y": y})


def test_did2x2_constant_outcome_is_refused():
    # The repro: a constant outcome gave t = -3.05, p = 0.005 on an estimate of -4e-16.
    df = _did_frame(np.full(200, 0.7))
    for method in ("reg", "or", "ipw", "dr", "imputation"):
        with pytest.raises(EstimationError, match="constant"):
            DiD2x2(df, outcome="y", group="g", period="period", unit="unit").fit(method=method)


def test_did2x2_outcome_constant_within_cells_has_no_test():
    y = np.tile([0.0, 1.0], 100)  # every unit goes 0 -> 1: no variation within cells
    df = _did_frame(y)
    with pytest.warns(ZeroVarianceWarning, match="standard error of the effect is zero"):
        res = DiD2x2(df, outcome="y", group="g", period="period", unit="unit").fit()
    assert abs(res.att) < 1e-12
    assert np.isnan(res.std_errors["att"])  # no t = -3 on rounding noise
