"""Synthetic rSa experiment: shape, determinism, design and truth."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.datasets import rsa_experiment
from evalkit.errors import ConfigError


@pytest.fixture(scope="module")
def big():
    return rsa_experiment.generate(seed=7, n_units=120_000, n_zones=60)


def test_deterministic_for_a_seed():
    a = rsa_experiment.generate(seed=3, n_units=2_000, n_zones=12)
    b = rsa_experiment.generate(seed=3, n_units=2_000, n_zones=12)
    c = rsa_experiment.generate(seed=4, n_units=2_000, n_zones=12)
    pd.testing.assert_frame_equal(a["panel"], b["panel"])
    assert not a["panel"]["return_to_work"].equals(c["panel"]["return_to_work"])


def test_columns_documented_and_design():
    ds = rsa_experiment.generate(seed=1, n_units=3_000, n_zones=24)
    panel = ds["panel"]
    assert set(panel.columns) == set(ds.dictionary["panel"])
    assert len(panel) == 3_000 * 16
    assert panel["period"].min() == 1 and panel["period"].max() == 16
    assert panel.loc[panel["period"] == 1, "quarter"].iloc[0] == "2006Q1"
    assert panel.loc[panel["period"] == 16, "quarter"].iloc[0] == "2009Q4"
    # Treatment is constant within a zone; control zones are never treated.
    per_zone = panel.groupby("zone_id")[["first_treated", "experimental"]].nunique()
    assert (per_zone == 1).all().all()
    zones = panel.drop_duplicates("zone_id")
    assert ((zones["experimental"] == 0) == (zones["first_treated"] == 0)).all()
    assert set(zones["first_treated"]) == {0, 8, 10, 12}  # 2007Q4, 2008Q2, 2008Q4
    # Every département has experimental and control zones.
    assert (zones.groupby("departement", observed=True)["experimental"].nunique() == 2).all()
    assert set(panel["return_to_work"].unique()) <= {0, 1}


def test_quarter_labels_round_trip():
    assert list(rsa_experiment.quarter_label([1, 4, 5, 16])) == ["2006Q1", "2006Q4", "2007Q1", "2009Q4"]
    assert rsa_experiment.period_of("2008Q2") == 10
    with pytest.raises(ConfigError, match="YYYYQn"):
        rsa_experiment.period_of("2008-2")


def test_sample_is_small():
    ds = rsa_experiment.generate(**rsa_experiment.SAMPLE_KWARGS)
    assert len(ds["panel"].to_csv(index=False).encode()) < 5_000_000


def test_attrition_makes_panel_unbalanced_and_monotone():
    ds = rsa_experiment.generate(seed=2, n_units=5_000, n_zones=24, attrition=0.05)
    panel = ds["panel"]
    counts = panel.groupby("unit_id")["period"].agg(["min", "max", "count"])
    assert (counts["min"] == 1).all()
    assert (counts["count"] == counts["max"]).all()  # no gaps: leaving is for good
    assert counts["count"].lt(16).mean() > 0.4
    # Expected rows: sum over t of (1 - a)^(t-1).
    assert_allclose(len(panel) / 5_000, sum(0.95 ** k for k in range(16)), rtol=0.02)


def test_truth_is_dynamic_heterogeneous_and_aggregates_consistently():
    ds = rsa_experiment.generate(seed=5, n_units=10_000, n_zones=24)
    t = ds.truth
    gt = t["att_gt"]
    assert (gt.loc[gt["time"] < gt["group"], "att"] == 0).all()
    post = gt[gt["time"] >= gt["group"]]
    # Growing with exposure, larger for earlier cohorts.
    assert (post.groupby("group")["att"].apply(lambda s: s.diff().dropna().gt(0).all())).all()
    assert t["att_group"]["att"].is_monotonic_decreasing
    sizes = t["cohort_sizes"].set_index("group")["n_units"]
    assert sizes.sum() == ds["panel"].query("period == 1 and first_treated > 0").shape[0]
    # Simple aggregation written out by hand for the three cohorts.
    w = post["group"].map(sizes)
    assert_allclose(t["att_simple"], (post["att"] * w).sum() / w.sum())
    # Event time 0 averages the first-quarter effects with cohort-size weights.
    e0 = post[post["time"] == post["group"]].set_index("group")["att"]
    assert_allclose(t["att_dynamic"].set_index("event_time").loc[0, "att"],
                    (e0 * sizes).sum() / sizes.sum())
    # Expected individual scaling h_i is close to 1, so ATT(g, g) ~ effect_base[g].
    eff = t["effect"].query("event_time == 0").set_index("group")["effect"]
    assert_allclose(e0.to_numpy(), eff.to_numpy(), rtol=0.1)


def test_difference_in_means_recovers_truth(big):
    """Simple 2x2 comparisons (cohort vs never treated, t vs g-1) on 120k units hit ATT(g,t)."""
    panel = big["panel"]
    means = panel.groupby(["first_treated", "period"])["return_to_work"].mean().unstack()
    gt = big.truth["att_gt"].query("time >= group")
    est = np.array([
        (means.loc[g, t] - means.loc[g, g - 1]) - (means.loc[0, t] - means.loc[0, g - 1])
        for g, t in zip(gt["group"], gt["time"], strict=True)
    ])
    n_g = big.truth["cohort_sizes"].set_index("group")["n_units"]
    n_never = panel.query("period == 1 and first_treated == 0").shape[0]
    # Var(y_t - y_s) <= 2 p (1 - p) ~ 0.2 for quarterly rates around 0.1-0.15.
    se = np.sqrt(0.2 * (1 / gt["group"].map(n_g).to_numpy() + 1 / n_never))
    z = (est - gt["att"].to_numpy()) / se
    assert np.abs(z).max() < 4.5
    assert abs(z.mean()) < 1.0


def test_shorter_panels_keep_the_cohorts_that_fit():
    ten = rsa_experiment.generate(seed=1, n_units=2_000, n_zones=24, n_periods=10)
    assert set(ten["panel"]["first_treated"]) == {0, 8, 10}
    assert ten["panel"]["quarter"].iloc[-1] == "2008Q2"
    six = rsa_experiment.generate(seed=1, n_units=2_000, n_zones=24, n_periods=6)
    assert set(six["panel"]["first_treated"]) == {0, 3, 4, 6}
    assert (six.truth["att_gt"]["time"] <= 6).all()


def test_scales_to_benchmark_size():
    ds = rsa_experiment.generate(seed=1, n_units=200_000, n_zones=100)
    assert ds["panel"].shape == (3_200_000, 13)


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="outside"):
        rsa_experiment.generate(n_periods=10, cohorts=("2009Q1",))
    with pytest.raises(ConfigError, match="zones"):
        rsa_experiment.generate(n_zones=4)
    with pytest.raises(ConfigError, match="effect_base"):
        rsa_experiment.generate(effect_base=(0.1,))
    with pytest.raises(ConfigError, match="attrition"):
        rsa_experiment.generate(attrition=1.0)
