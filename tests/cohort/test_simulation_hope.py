"""Simulation study: ATT estimators of evalkit.cohort on hope_in_stations data.

Each draw generates the *Hope in stations* survey (new seed), keeps wave 2 and compares the
integrated cohort (pilot stations after integration) with the comparison stations on the
six outcomes, adjusting for the six baseline covariates. The generator's selection into
the integrated cohort is on these covariates with an exactly logit-linear propensity and
linear outcome means, so regression adjustment, IPW, nearest-neighbour matching and AIPW
are all consistent for the population ATT ``truth["att"]``, while the difference in means
is biased by ``truth["naive_bias"]``.

:func:`run_simulation` returns a tidy frame (one row per draw x method x outcome) and
:func:`summarise` the report table (bias, Monte Carlo SE, RMSE, mean SE vs SD of the
estimates, 95 % CI coverage). The 200-draw study is ``@pytest.mark.slow``; the default run
keeps a small version that still detects the naive bias and gross bias of the adjusted
estimators.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.cohort.comparison import CohortComparison
from evalkit.datasets import hope_in_stations as hope

COVARIATES = ["age", "sex", "nationality_group", "months_homeless", "health_problem",
              "has_id_papers"]
ADJUSTED = ("ra", "ipw", "matching", "aipw")


def run_simulation(n_draws: int, *, n_per_station_wave: int = 400,
                   methods=("dim", *ADJUSTED), seed: int = 0, level: float = 0.95
                   ) -> pd.DataFrame:
    """Tidy frame of ATT estimates: draw, method, outcome, estimate, std_error, CI, truth."""
    rows = []
    for draw in range(n_draws):
        ds = hope.generate(seed=seed + draw, n_per_station_wave=n_per_station_wave)
        wave2 = ds["survey"].query("wave == 2")
        cc = CohortComparison(wave2, group="integrated", outcome=list(hope.OUTCOMES),
                              covariates=COVARIATES, id="respondent_id")
        for method in methods:
            frame = cc.fit(method=method, estimand="ATT").to_frame(level)
            for outcome, row in frame.iterrows():
                rows.append({
                    "draw": draw, "method": method, "outcome": outcome,
                    "estimate": row["estimate"], "std_error": row["std_error"],
                    "ci_lower": row["ci_lower"], "ci_upper": row["ci_upper"],
                    "truth": ds.truth["att"][outcome],
                    "truth_sample": ds.truth["att_sample"][outcome],
                })
    out = pd.DataFrame(rows)
    out["covered"] = (out["ci_lower"] <= out["truth"]) & (out["truth"] <= out["ci_upper"])
    return out


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method x outcome: truth, mean estimate, bias, Monte Carlo SE of the mean, bias in
    MC SEs, RMSE, mean SE, SD of estimates and coverage."""
    g = frame.assign(error=frame["estimate"] - frame["truth"]).groupby(["method", "outcome"],
                                                                       sort=False)
    out = pd.DataFrame({
        "truth": g["truth"].mean(),
        "mean_estimate": g["estimate"].mean(),
        "bias": g["error"].mean(),
        "mc_se": g["estimate"].std() / np.sqrt(g.size()),
        "rmse": np.sqrt(g["error"].apply(lambda e: (e**2).mean())),
        "mean_se": g["std_error"].mean(),
        "sd_estimate": g["estimate"].std(),
        "coverage": g["covered"].mean(),
        "n_draws": g.size(),
    })
    out["bias_z"] = out["bias"] / out["mc_se"]
    return out


def test_small_simulation_adjusted_estimators_recover_the_att():
    frame = run_simulation(5, n_per_station_wave=300, seed=100)
    summary = summarise(frame)
    adjusted = summary.loc[list(ADJUSTED)]
    # Mean over 5 draws within 4 Monte Carlo SEs of the truth for every method and outcome.
    assert (adjusted["bias_z"].abs() < 4).all(), adjusted
    # The difference in means is biased by the amount the generator states.
    naive = summary.loc["dim"]
    expected = hope.generate(seed=0, n_per_station_wave=1).truth["naive_bias"]
    assert naive.loc["has_income", "bias_z"] < -4
    for outcome in ["access_to_care", "has_income"]:
        assert abs(naive.loc[outcome, "bias"] - expected[outcome]) < 4 * naive.loc[outcome,
                                                                                    "mc_se"]
    assert set(frame.columns) >= {"draw", "method", "outcome", "estimate", "covered"}


@pytest.mark.slow
def test_simulation_200_draws_unbiased_with_nominal_coverage():
    frame = run_simulation(200, n_per_station_wave=400, seed=1000)
    summary = summarise(frame)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.round(4))
    adjusted = summary.loc[list(ADJUSTED)]
    assert (adjusted["bias_z"].abs() < 3.5).all(), adjusted["bias_z"]
    coverage = frame[frame["method"].isin(ADJUSTED)].groupby("method")["covered"].mean()
    print(coverage)
    assert coverage.between(0.92, 0.98).all(), coverage
    assert adjusted["coverage"].between(0.90, 0.99).all(), adjusted["coverage"]
    assert (summary.loc["dim", "bias_z"].loc[["access_to_care", "has_income"]] < -10).all()
