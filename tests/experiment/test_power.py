"""Power and MDE: textbook closed forms (Bloom 1995; Raudenbush 1997 as in PowerUp!;
McKenzie 2012), a published worked example, and simulated power within Monte Carlo
error of the analytic power."""

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from evalkit.errors import ConfigError
from evalkit.experiment import DifferenceInMeans
from evalkit.experiment.power import (
    mde_cluster,
    mde_did,
    mde_individual,
    minimum_size,
    multiplier,
    power_cluster,
    power_curve,
    power_did,
    power_individual,
)
from evalkit.experiment.simulated_power import simulate_power


def test_bloom_1995_multipliers():
    # Bloom (1995), Table 1, many degrees of freedom: 2.80 (two-sided 5 %, 80 % power),
    # 2.49 (one-sided), 3.24 and 2.93 at 90 % power.
    big = 10**7
    assert round(multiplier(big), 2) == 2.80
    assert round(multiplier(big, alternative="one-sided"), 2) == 2.49
    assert round(multiplier(big, power=0.9), 2) == 3.24
    assert round(multiplier(big, power=0.9, alternative="one-sided"), 2) == 2.93


def test_individual_mde_is_bloom_closed_form():
    n, p, r2, g = 400, 0.3, 0.25, 3
    df = n - g - 2
    expected = (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * math.sqrt(
        (1 - r2) / (p * (1 - p) * n)) * 2.5
    got = mde_individual(n, share_treated=p, r2=r2, n_covariates=g, sd=2.5)
    assert_allclose(got, expected, rtol=1e-12)
    # By construction the power at the MDE is close to (not exactly) 80 %: the
    # multiplier is the textbook approximation of the noncentral t.
    assert abs(power_individual(got, n, share_treated=p, r2=r2, n_covariates=g, sd=2.5)
               - 0.8) < 0.002


def test_cluster_mde_and_power_match_the_published_cosa_worked_example():
    """Bulus & Dong (2019), 'Bound constrained optimal design ...' vignette of the R
    package cosa: two-level CRT, rho2=.20, g2=5, r21=.20, r22=.30, n1=20, n2=132,
    p=.386 -> MDES 0.209 (95 % CI 0.063, 0.356), power 0.763 for ES 0.20. p is printed
    rounded to three decimals, hence the tolerances."""
    kwargs = dict(share_treated=0.386, r2_individual=0.20, r2_cluster=0.30,
                  n_covariates_cluster=5)
    mde = mde_cluster(132, 20, 0.20, **kwargs)
    assert_allclose(mde, 0.209, atol=6e-4)
    assert_allclose(power_cluster(0.20, 132, 20, 0.20, **kwargs), 0.763, atol=1e-3)
    se = mde / multiplier(132 - 5 - 2)
    t = stats.t.ppf(0.975, 125)
    assert_allclose([mde - t * se, mde + t * se], [0.063, 0.356], atol=6e-4)


def test_cluster_mde_is_the_raudenbush_closed_form():
    J, n, rho = 24, 30, 0.08
    df = J - 2
    sse = math.sqrt(rho / (0.25 * J) + (1 - rho) / (0.25 * J * n))
    assert_allclose(mde_cluster(J, n, rho), (stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df))
                    * sse, rtol=1e-12)
    # ICC 0 and one cluster per person: the individual design.
    assert_allclose(mde_cluster(500, 1, 0.0), mde_individual(500), rtol=1e-12)


def test_did_mde_is_mckenzie_closed_form():
    n, phi = 600, 0.4
    m2 = multiplier(n * 2 - 4)
    assert_allclose(mde_did(n, autocorrelation=phi), m2 * math.sqrt(2 * (1 - phi) / (0.25 * n)),
                    rtol=1e-12)
    m, r = 3, 2
    factor = (1 + (m - 1) * phi) / m + (1 + (r - 1) * phi) / r - 2 * phi
    assert_allclose(mde_did(n, waves_before=m, waves_after=r, autocorrelation=phi),
                    multiplier(n * 5 - 4) * math.sqrt(factor / (0.25 * n)), rtol=1e-12)
    # Seven sites, repeated cross-sections of 1,000 people: df = 5, design effect applies.
    deff = 1 + (1000 / 7 - 1) * 0.02
    assert_allclose(mde_did(1000, n_clusters=7, icc=0.02, share_treated=4 / 7),
                    multiplier(5) * math.sqrt(2 * deff / (4 / 7 * 3 / 7 * 1000)), rtol=1e-12)


def _normal_draw(n, effect):
    def draw(rng):
        arm = rng.permutation(np.arange(n) < n // 2)
        return pd.DataFrame({"arm": arm, "y": rng.normal(size=n) + effect * arm})
    return draw


def _dim_test(data):
    return DifferenceInMeans(data, group="arm", outcome="y").fit()


def test_simulated_power_individual_agrees_with_analytic():
    n, effect = 80, 0.5
    sim = simulate_power(_normal_draw(n, effect), _dim_test, n_sim=400, seed=1)
    analytic = power_individual(effect, n)
    assert abs(sim.power - analytic) < 3 * math.sqrt(analytic * (1 - analytic) / 400)


def test_simulated_power_cluster_agrees_with_analytic():
    J, m, icc, effect = 16, 10, 0.1, 0.5

    def draw(rng):
        arm = np.repeat(rng.permutation(np.arange(J) < J // 2), m)
        u = np.repeat(rng.normal(scale=math.sqrt(icc), size=J), m)
        y = u + rng.normal(scale=math.sqrt(1 - icc), size=J * m) + effect * arm
        return pd.DataFrame({"site": np.repeat(np.arange(J), m), "arm": arm, "y": y})

    sim = simulate_power(draw, lambda d: DifferenceInMeans(d, group="arm", outcome="y",
                                                           cluster="site").fit(),
                         n_sim=400, seed=2)
    analytic = power_cluster(effect, J, m, icc)
    assert abs(sim.power - analytic) < 3 * math.sqrt(analytic * (1 - analytic) / 400)


def test_simulated_power_panel_did_agrees_with_analytic():
    n, phi, effect = 120, 0.6, 0.35

    def draw(rng):
        arm = rng.permutation(np.arange(n) < n // 2)
        before = rng.normal(size=n)
        after = phi * before + math.sqrt(1 - phi**2) * rng.normal(size=n) + effect * arm
        # The 2x2 panel DiD is the difference in mean changes.
        return pd.DataFrame({"arm": arm, "y": after - before})

    sim = simulate_power(draw, _dim_test, n_sim=300, seed=3)
    analytic = power_did(effect, n, autocorrelation=phi)
    assert abs(sim.power - analytic) < 3 * math.sqrt(analytic * (1 - analytic) / 300)


def test_minimum_size_finds_the_smallest_number_of_clusters():
    kwargs = dict(effect=0.25, cluster_size=40, icc=0.05)
    j = minimum_size(power_cluster, "n_clusters", **kwargs)
    assert power_cluster(n_clusters=j, **kwargs) >= 0.8 > power_cluster(n_clusters=j - 1,
                                                                        **kwargs)
    with pytest.raises(ConfigError, match="too small"):
        minimum_size(power_cluster, "cluster_size", effect=0.1, n_clusters=6, icc=0.2,
                     maximum=10_000)


def test_power_curve_with_simulated_points(tmp_path):
    curve = power_curve(power_individual, "n", range(20, 201, 10), effect=0.5)
    sims = [simulate_power(_normal_draw(n, 0.5), _dim_test, n_sim=60, seed=n)
            for n in (40, 100, 160)]
    curve.add_simulation([40, 100, 160], sims)
    frame = curve.to_frame()
    assert frame["power"].is_monotonic_increasing
    assert frame["simulated"].notna().sum() == 3
    ax = curve.plot(xlabel="People randomised", title="Power to detect 0.5 SD")
    ax.figure.savefig(tmp_path / "power.png", dpi=80)
    assert len(ax.lines) >= 2 and ax.get_legend() is not None


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_clusters=10, cluster_size=20, icc=1.2), "icc must be in"),
    (dict(n_clusters=2, cluster_size=20, icc=0.1), "degrees of freedom"),
    (dict(n_clusters=10, cluster_size=20, icc=0.1, share_treated=1), "share_treated"),
])
def test_invalid_designs_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        mde_cluster(**kwargs)
