"""E-values vs published outputs; Rosenbaum bounds vs scipy's Wilcoxon test and exact
enumeration.

Published E-values used (R ``EValue`` and wrappers, VanderWeele & Ding 2017):

* ``evalues.RR(est = 10.73, lo = 8.02, hi = 14.36)`` prints E-values 20.94777 / 15.52336
  (EValue vignette "unmeasured-confounding", smoking and lung cancer);
* RR 3.9 with lower limit 2.4: 7.263034 / 4.23303 (``rmorie::morie_e_value`` example, a
  wrapper over ``EValue::evalue``);
* ``evalue(OR(3, rare = FALSE))`` prints RR 1.732051 and an E-value starting 2.85
  (EValue reference page ``effect_measures``);
* ``tipr::e_value(0.9)`` = 1.462475, ``e_value(1.3)`` = 1.9245 (tipr reference page).

No printed Rosenbaum-bounds table could be retrieved for a data set we hold (rbounds'
documented lead example prints no numbers in its manual), so the bounds are checked
against scipy's Wilcoxon signed-rank test at Gamma = 1 and against a brute-force
enumeration of the sign distribution at Gamma > 1.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.cohort.sensitivity import (
    evalue,
    evalues_for_results,
    rosenbaum_bounds,
    sensitivity_gamma,
)
from evalkit.errors import ConfigError, DataValidationError, EmptyDataError

# Rosenbaum (2002, ch. 4) lead example as given in rbounds::psens's documentation.
LEAD_TRT = [38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45, 39, 22,
            35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27]
LEAD_CTRL = [16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9, 14, 21,
             19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13]


def test_evalue_risk_ratio_published():
    ev = evalue(10.73, 8.02, 14.36)
    assert_allclose([ev.point, ev.ci], [20.94777, 15.52336], atol=5e-6)
    ev = evalue(3.9, 2.4)
    assert_allclose([ev.point, ev.ci], [7.263034, 4.23303], atol=5e-7)
    assert_allclose(evalue(0.9).point, 1.462475, atol=5e-7)
    assert_allclose(evalue(1.3).point, 1.9245, atol=5e-5)


def test_evalue_odds_ratio_common_and_rare():
    ev = evalue(3, measure="OR", rare=False)
    assert_allclose(ev.rr, 1.732051, atol=5e-7)
    assert 2.85 <= ev.point < 2.86
    rare = evalue(3.9, 1.8, 8.7, measure="OR", rare=True)
    assert_allclose(rare.point, evalue(3.9, 1.8, 8.7).point)
    assert_allclose(rare.ci, 1.8 + np.sqrt(1.8 * 0.8))  # = 3.0


def test_evalue_protective_and_null_crossing_intervals():
    ev = evalue(0.80, 0.71, 0.91)  # VanderWeele & Ding's leukaemia example
    assert_allclose([ev.point, ev.ci], [1.25 + np.sqrt(1.25 * 0.25),
                                        1 / 0.91 + np.sqrt(1 / 0.91 * (1 / 0.91 - 1))])
    assert_allclose(evalue(1 / 0.8).point, ev.point)  # symmetry
    assert evalue(1.3, 0.9, 1.8).ci == 1.0
    assert evalue(0.86, 0.75, 1.05, measure="OR", rare=False).ci == 1.0


def test_evalue_hazard_ratio_and_smd_conversions():
    hr = evalue(0.56, 0.46, 0.69, measure="HR", rare=False)
    conv = (1 - 0.5 ** np.sqrt(0.56)) / (1 - 0.5 ** np.sqrt(1 / 0.56))
    assert_allclose(hr.rr, conv)
    ev = evalue(0.5, measure="SMD", se=0.1)
    assert_allclose([ev.rr, ev.rr_lower, ev.rr_upper],
                    np.exp([0.455, 0.455 - 0.178, 0.455 + 0.178]))
    assert_allclose(ev.ci, ev.rr_lower + np.sqrt(ev.rr_lower * (ev.rr_lower - 1)))
    # Shift to a non-null true value: the ratio RR/true is what is explained away.
    assert_allclose(evalue(2.5, true=1.5).point, 2.5 / 1.5 + np.sqrt(2.5 / 1.5 * (2.5 / 1.5 - 1)))


def test_evalue_errors():
    with pytest.raises(ConfigError, match="rare"):
        evalue(2.0, measure="OR")
    with pytest.raises(DataValidationError):
        evalue(-1.0)
    with pytest.raises(DataValidationError):
        evalue(2.0, 2.5, 3.0)
    with pytest.raises(ConfigError):
        evalue(2.0, measure="RD")


def test_rosenbaum_gamma_one_equals_scipy_wilcoxon():
    d = np.subtract(LEAD_TRT, LEAD_CTRL)
    ours = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, [1.0])
    ref = stats.wilcoxon(d, alternative="greater", method="approx", correction=False,
                         zero_method="wilcox")
    assert_allclose(ours["p_upper"].iloc[0], ref.pvalue, rtol=1e-10)
    assert_allclose(ours["p_lower"].iloc[0], ref.pvalue, rtol=1e-10)
    rng = np.random.default_rng(0)
    x = rng.normal(0.4, 1, 14)  # no ties: exact test
    exact = rosenbaum_bounds(x, None, [1.0], method="exact")["p_upper"].iloc[0]
    assert_allclose(exact, stats.wilcoxon(x, alternative="greater", method="exact").pvalue,
                    rtol=1e-10)


def _brute_force_upper(d, gamma):
    ranks = stats.rankdata(np.abs(d))
    t_obs = ranks[d > 0].sum()
    p = gamma / (1 + gamma)
    total = 0.0
    for signs in itertools.product([0, 1], repeat=len(d)):
        s = np.array(signs)
        if ranks[s == 1].sum() >= t_obs - 1e-9:
            total += p ** s.sum() * (1 - p) ** (len(d) - s.sum())
    return total


@pytest.mark.parametrize("gamma", [1.5, 2.0, 3.5])
def test_rosenbaum_exact_equals_enumeration(gamma):
    rng = np.random.default_rng(int(gamma * 10))
    d = np.round(rng.normal(0.5, 1, 12), 1)  # rounding creates ties in |d|
    d = d[d != 0]
    ours = rosenbaum_bounds(d, None, [gamma], method="exact")["p_upper"].iloc[0]
    assert_allclose(ours, _brute_force_upper(d, gamma), rtol=1e-10)


def test_rosenbaum_bounds_properties_on_lead_data():
    table = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, [1, 2, 3, 4, 5, 6])
    assert (np.diff(table["p_upper"]) > 0).all() and (np.diff(table["p_lower"]) <= 0).all()
    assert table["n_pairs"].iloc[0] == 32  # one pair with a zero difference is dropped
    normal = table["p_upper"]
    exact = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, [1, 2, 3, 4, 5, 6], method="exact")["p_upper"]
    assert_allclose(normal.iloc[3:], exact.iloc[3:], atol=0.015)  # approximation, n = 32
    g = sensitivity_gamma(LEAD_TRT, LEAD_CTRL)
    p_at = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, [g, g * 1.001])["p_upper"].to_numpy()
    assert p_at[0] <= 0.05 < p_at[1]
    assert 4 < g < 5


def test_rosenbaum_normal_converges_to_exact():
    rng = np.random.default_rng(5)
    d = rng.normal(0.3, 1, 400)
    normal = rosenbaum_bounds(d, None, [1.5], method="normal")["p_upper"].iloc[0]
    exact = rosenbaum_bounds(d, None, [1.5], method="exact")["p_upper"].iloc[0]
    assert_allclose(normal, exact, rtol=0.05)


def test_rosenbaum_errors():
    with pytest.raises(EmptyDataError):
        rosenbaum_bounds([1, 2], [1, 2])
    with pytest.raises(DataValidationError):
        rosenbaum_bounds([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError):
        rosenbaum_bounds([1, 2], [0, 0], [0.5])
    with pytest.raises(DataValidationError):
        rosenbaum_bounds([1, np.nan], [0, 0])


def test_evalues_for_cohort_results():
    from evalkit.cohort.comparison import CohortComparison
    from evalkit.datasets import hope_in_stations as hope

    ds = hope.generate(seed=8, n_per_station_wave=500)
    w2 = ds["survey"].query("wave == 2")
    covs = ["age", "months_homeless", "health_problem", "has_id_papers"]
    res = CohortComparison(w2, group="integrated", outcome=["perception_score",
                                                                "n_services_used"],
                           covariates=covs, id="respondent_id").fit(method="ra")
    sd = w2[w2["integrated"] == 0][["perception_score", "n_services_used"]].std()
    frame = evalues_for_results(res, sd)
    d = res.params / sd
    assert_allclose(frame["smd"], d)
    assert_allclose(frame["evalue"], [evalue(v, measure="SMD").point for v in d])
    assert (frame["evalue_ci"] <= frame["evalue"]).all()
    with pytest.raises(DataValidationError):
        evalues_for_results(res, {"perception_score": 1.0})
