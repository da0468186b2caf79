"""Synthetic rSa experiment: staggered roll-out of the *revenu de solidarité active*.

From 2007 to 2009 French départements experimented the rSa in some of their
zones (experimental zones) while other zones kept the RMI (control zones);
départements joined at different quarters. This generator reproduces that
design on an individual quarterly panel of minimum-income recipients followed
from 2006Q1 (period 1) to 2009Q4 (period 16), with a quarterly return-to-work
indicator.

Data-generating process
-----------------------
* Zones are nested in départements (``zones_per_departement`` each). Within a
  département, the first half of the zones is experimental, the rest control.
  Each département is given one start quarter from ``cohorts`` (round robin
  over a seeded shuffle, so every cohort occurs). A person's ``first_treated``
  is their zone's start period, 0 for control zones (never treated, the R
  ``did`` convention). Treatment is assigned by zone: cluster on ``zone_id``.
* Untreated probability of returning to work in quarter t (linear probability):
  ``p0_it = base_i + gamma_t + zone_z + shock_zt + trend_i(t)`` where ``base_i``
  depends on the baseline covariates and a latent employability, ``gamma_t`` is
  a seasonal pattern with a 2008–2009 downturn, ``zone_z`` a zone level,
  ``shock_zt ~ N(0, zone_shock_sd²)`` zone-by-quarter shocks and ``trend_i`` an
  optional education-specific trend (``covariate_trend``; with it, parallel
  trends hold only conditionally on education since experimental zones enrol
  more low-education recipients when ``covariate_trend`` is non-zero).
* Effect of the rSa at exposure ``e = t - g >= 0`` for a person of cohort g:
  ``tau_i(g, e) = h_i * (effect_base[g] + effect_growth * min(e, growth_cap))``:
  heterogeneous by cohort (earlier cohorts gain more), dynamic (growing with
  exposure) and heterogeneous across people (``h_i`` = 1.3 / 1.0 / 0.6 for
  less than 12 / 12–35 / 36+ months on benefit at baseline). No anticipation.
* ``return_to_work = 1{U_it < p_it}`` with ``U_it ~ U(0, 1)`` shared by both
  potential outcomes, so the expected individual effect is
  ``clip(p0 + tau) - clip(p0)`` exactly.
* Optional attrition (``attrition`` = quarterly probability of leaving the
  panel after period 1, completely at random) makes the panel unbalanced.

Truth
-----
``truth["att_gt"]`` is, for each cohort g and period t, the mean over the
generated members of cohort g of ``clip(p1_it) - clip(p0_it)`` (0 before g),
i.e. the ATT(g, t) of the realised sample, before attrition (attrition is at
random, so it does not change its expectation). The aggregations follow
Callaway & Sant'Anna (2021, sec. 3) / R ``did::aggte`` with group weights equal
to the realised cohort sizes:

* ``att_simple`` = sum over post cells (t >= g) of ``N_g ATT(g,t)`` / sum of ``N_g``;
* ``att_dynamic``: ``ATT(e) = sum_g N_g ATT(g, g+e) / sum_g N_g`` over cohorts
  observed at ``g+e``; ``att_dynamic_overall`` = mean of ``ATT(e)`` over e >= 0;
* ``att_group``: ``theta(g)`` = mean of ``ATT(g,t)`` over post periods;
  ``att_group_overall`` = ``sum_g N_g theta(g) / sum_g N_g``;
* ``att_calendar``: ``theta(t) = sum_{g<=t} N_g ATT(g,t) / sum_{g<=t} N_g``;
  ``att_calendar_overall`` = mean of ``theta(t)`` over t >= first cohort.

Because effects differ by cohort and grow with exposure, the two-way
fixed-effects coefficient is a badly weighted average of them (Goodman-Bacon
2021): "late vs early" comparisons use already-treated zones, whose effect is
still growing, as controls.

The generalisation of the rSa to all of France in June 2009 is not modelled:
control zones stay untreated to 2009Q4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.datasets.base import ColumnDoc, SyntheticDataset
from evalkit.errors import ConfigError

FIRST_QUARTER = (2006, 1)
"""Calendar quarter of period 1."""

DEFAULT_COHORTS = ("2007Q4", "2008Q2", "2008Q4")

# Département codes used as labels (départements that took part in the rSa
# experimentation); the assignment of zones and start dates is synthetic.
_DEPARTEMENTS = (
    "27", "02", "03", "06", "08", "13", "16", "17", "21", "22", "25", "29", "31",
    "33", "34", "35", "38", "41", "44", "51", "54", "56", "58", "59", "60", "61",
    "62", "67", "70", "72", "86", "88", "93", "95",
)

SEX = ("F", "M")
HOUSEHOLD_TYPES = ("single", "single_parent", "couple_no_children", "couple_children")
EDUCATION = ("none", "lower_secondary", "vocational", "baccalaureate", "higher")

SAMPLE_KWARGS: dict = {"seed": 2009, "n_units": 3_000, "n_zones": 60}
"""Arguments used for ``data_samples/rsa_experiment_panel.csv`` (about 3 MB). 60 zones, so
zone-clustered inference has enough clusters and the pre-trend Wald test (one restriction
per pre-period ATT(g,t)) has a full-rank covariance."""


def quarter_label(period) -> np.ndarray:
    """Calendar label (``"2006Q1"``...) of integer period indices (1 = 2006Q1)."""
    period = np.asarray(period, dtype=np.int64)
    q0 = FIRST_QUARTER[0] * 4 + FIRST_QUARTER[1] - 1 + period - 1
    return np.char.add(np.char.add((q0 // 4).astype(str), "Q"), (q0 % 4 + 1).astype(str))


def period_of(label: str) -> int:
    """Integer period index of a calendar quarter label such as ``"2008Q2"``."""
    try:
        year, quarter = str(label).upper().split("Q")
        year, quarter = int(year), int(quarter)
    except ValueError:
        raise ConfigError(f"quarter label {label!r} is not of the form 'YYYYQn', e.g. '2008Q2'") from None
    if not 1 <= quarter <= 4:
        raise ConfigError(f"quarter label {label!r}: the quarter must be 1 to 4")
    return (year * 4 + quarter - 1) - (FIRST_QUARTER[0] * 4 + FIRST_QUARTER[1] - 1) + 1


def generate(
    *,
    seed: int = 2009,
    n_units: int = 20_000,
    n_zones: int = 60,
    zones_per_departement: int = 4,
    experimental_share: float = 0.75,
    n_periods: int = 16,
    cohorts: tuple[str, ...] | None = None,
    effect_base: tuple[float, ...] | None = None,
    effect_growth: float = 0.008,
    growth_cap: int = 12,
    zone_shock_sd: float = 0.0,
    covariate_trend: float = 0.0,
    attrition: float = 0.0,
) -> SyntheticDataset:
    """Draw an rSa staggered-experiment panel with known ATT(g, t).

    Parameters
    ----------
    seed
        Seed of the numpy ``Generator``; the output is deterministic for it.
    n_units
        Number of minimum-income recipients (panel units).
    n_zones
        Number of zones (clusters); split into départements of
        ``zones_per_departement`` zones, half experimental, half control.
    zones_per_departement
        Zones per département (>= 2 so each has a control zone).
    experimental_share
        Share of each département's zones that are experimental (at least one
        experimental and one control zone per département).
    n_periods
        Number of quarters from 2006Q1 (16 = up to 2009Q4).
    cohorts
        Start quarters of the experimental départements (labels ``"YYYYQn"``);
        each must leave at least one pre-period and fall within the panel.
        Default: 2007Q4, 2008Q2 and 2008Q4, keeping those within ``n_periods``
        (with fewer than 8 quarters: the quarters at half, three quarters and
        the end of the panel).
    effect_base
        Effect on the quarterly return-to-work probability in the first treated
        quarter, one per cohort; default decreases from 0.04 (earliest) to 0.015
        (latest).
    effect_growth, growth_cap
        Increase of the effect per quarter of exposure, up to ``growth_cap``
        quarters.
    zone_shock_sd
        Standard deviation of zone-by-quarter shocks (0 = none). With shocks,
        standard errors must be clustered by zone.
    covariate_trend
        Extra per-quarter change in the probability for recipients without a
        baccalaureate (a trend that differs by covariate); experimental zones
        then also enrol more of them, so parallel trends hold only given
        education.
    attrition
        Quarterly probability of leaving the panel after period 1 (0 = balanced).

    Returns
    -------
    SyntheticDataset
        ``tables["panel"]``: one row per person x quarter observed.
        ``truth``: ``att_gt`` (group, time, att), ``att_simple``,
        ``att_dynamic`` (event_time, att), ``att_dynamic_overall``,
        ``att_group`` (group, att), ``att_group_overall``, ``att_calendar``
        (time, att), ``att_calendar_overall``, ``cohort_sizes`` (group, n_units),
        ``effect`` (group, event_time, effect before individual scaling).
    """
    if cohorts is None:
        cohorts = _default_cohorts(n_periods)
    cohort_periods = _check_args(
        n_units, n_zones, zones_per_departement, n_periods, cohorts, effect_base,
        growth_cap, zone_shock_sd, attrition,
    )
    if not 0 < experimental_share < 1:
        raise ConfigError(f"experimental_share={experimental_share}: a share in (0, 1)")
    n_cohorts = len(cohort_periods)
    if effect_base is None:
        effect_base = tuple(np.linspace(0.04, 0.015, n_cohorts)) if n_cohorts > 1 else (0.03,)
    effect_base = np.asarray(effect_base, dtype=float)
    rng = np.random.default_rng(seed)

    # Zones, départements, experimental status and start dates.
    zone_dept = np.arange(n_zones) // zones_per_departement
    n_dept = int(zone_dept.max()) + 1
    zone_rank = np.arange(n_zones) % zones_per_departement
    zones_in_dept = np.bincount(zone_dept)
    n_experimental = np.clip(np.round(experimental_share * zones_in_dept), 1,
                             np.maximum(zones_in_dept - 1, 1))
    zone_experimental = zone_rank < n_experimental[zone_dept]
    dept_cohort = rng.permutation(n_dept) % n_cohorts
    zone_first = np.where(zone_experimental, cohort_periods[dept_cohort[zone_dept]], 0)
    dept_labels = np.array(
        [_DEPARTEMENTS[d] if d < len(_DEPARTEMENTS) else f"D{d + 1:03d}" for d in range(n_dept)]
    )
    zone_level = rng.uniform(-0.015, 0.015, n_zones)
    zone_size = rng.lognormal(0.0, 0.4, n_zones)

    # People: zone, then baseline covariates.
    unit_zone = rng.choice(n_zones, size=n_units, p=zone_size / zone_size.sum())
    unit_zone[:n_zones] = np.arange(min(n_zones, n_units))  # every zone has someone
    female = rng.random(n_units) < 0.55
    age = np.clip(np.round(rng.normal(41, 10, n_units)), 25, 64).astype(np.int16)
    household = rng.choice(4, size=n_units, p=[0.45, 0.25, 0.10, 0.20])
    low_educ_share = 0.55 + (0.15 if covariate_trend else 0.0) * zone_experimental[unit_zone]
    low_educ = rng.random(n_units) < low_educ_share
    education = np.where(
        low_educ,
        rng.choice(3, size=n_units, p=[0.3, 0.3, 0.4]),
        3 + rng.choice(2, size=n_units, p=[0.65, 0.35]),
    )
    months = np.minimum(np.round(rng.gamma(1.3, 20.0, n_units)), 240).astype(np.int16)

    latent = rng.normal(0.0, 0.6, n_units)
    eta = (
        -1.2
        + 0.25 * education
        - 0.03 * (age - 41)
        - 0.015 * months
        + np.array([0.0, -0.25, 0.15, 0.05])[household]
        - 0.1 * female
        + latent
    )
    base = 0.02 + 0.30 / (1.0 + np.exp(-eta))
    het = np.select([months < 12, months < 36], [1.3, 1.0], 0.6)

    # Quarter effects: seasonality (Q1 low), recovery to mid-2008, then the crisis.
    periods = np.arange(1, n_periods + 1)
    season = np.array([-0.012, 0.006, 0.010, -0.004])[(periods - 1) % 4]
    trend = 0.002 * np.minimum(periods, 10) - 0.004 * np.maximum(periods - 10, 0)
    gamma = season + trend
    shock = rng.normal(0.0, zone_shock_sd, (n_zones, n_periods)) if zone_shock_sd else None

    # Person x quarter probabilities (n_units, n_periods).
    p0 = base[:, None] + gamma[None, :] + zone_level[unit_zone][:, None]
    if shock is not None:
        p0 = p0 + shock[unit_zone]
    if covariate_trend:
        p0 = p0 + covariate_trend * low_educ[:, None] * (periods - 1)[None, :]
    first = zone_first[unit_zone]
    cohort_idx = np.searchsorted(cohort_periods, first)  # valid where first > 0
    exposure = periods[None, :] - first[:, None]
    treated_now = (first[:, None] > 0) & (exposure >= 0)
    tau = np.where(
        treated_now,
        het[:, None]
        * (effect_base[np.minimum(cohort_idx, n_cohorts - 1)][:, None]
           + effect_growth * np.minimum(np.maximum(exposure, 0), growth_cap)),
        0.0,
    )
    p0 = np.clip(p0, 0.0, 1.0)
    p1 = np.clip(p0 + tau, 0.0, 1.0)
    y = (rng.random((n_units, n_periods)) < np.where(treated_now, p1, p0)).astype(np.int8)

    # Attrition: last observed period (completely at random).
    if attrition > 0:
        last = np.minimum(rng.geometric(attrition, n_units), n_periods)
        observed = periods[None, :] <= last[:, None]
    else:
        observed = np.ones((n_units, n_periods), dtype=bool)

    rows_unit, rows_t = np.nonzero(observed)
    panel = pd.DataFrame(
        {
            "unit_id": (rows_unit + 1).astype(np.int64),
            "zone_id": (unit_zone[rows_unit] + 1).astype(np.int64),
            "departement": pd.Categorical.from_codes(zone_dept[unit_zone][rows_unit], dept_labels),
            "experimental": zone_experimental[unit_zone][rows_unit].astype(np.int8),
            "period": (rows_t + 1).astype(np.int64),
            "quarter": pd.Categorical.from_codes(rows_t, quarter_label(periods), ordered=True),
            "first_treated": first[rows_unit].astype(np.int64),
            "return_to_work": y[rows_unit, rows_t],
            "age": age[rows_unit],
            "sex": pd.Categorical.from_codes(female[rows_unit].astype(np.int8) ^ 1, SEX),
            "household_type": pd.Categorical.from_codes(household[rows_unit], HOUSEHOLD_TYPES),
            "education": pd.Categorical.from_codes(education[rows_unit], EDUCATION, ordered=True),
            "months_on_benefit": months[rows_unit],
        }
    )

    truth = _truth(first, p1 - p0, cohort_periods, periods)
    truth["effect"] = pd.DataFrame(
        [
            {"group": int(g), "event_time": int(e),
             "effect": float(effect_base[k] + effect_growth * min(e, growth_cap))}
            for k, g in enumerate(cohort_periods)
            for e in range(0, n_periods - int(g) + 1)
        ]
    )
    params = {
        "seed": seed, "n_units": n_units, "n_zones": n_zones,
        "zones_per_departement": zones_per_departement,
        "experimental_share": experimental_share, "n_periods": n_periods,
        "cohorts": tuple(cohorts), "effect_base": tuple(float(v) for v in effect_base),
        "effect_growth": effect_growth, "growth_cap": growth_cap,
        "zone_shock_sd": zone_shock_sd, "covariate_trend": covariate_trend,
        "attrition": attrition,
    }
    return SyntheticDataset("rsa_experiment", {"panel": panel}, truth, params, {"panel": _DICTIONARY})


def _default_cohorts(n_periods: int) -> tuple[str, ...]:
    kept = tuple(c for c in DEFAULT_COHORTS if period_of(c) <= n_periods)
    if len(kept) >= 2 or n_periods < 2:
        return kept
    spread = sorted({max(2, round(n_periods * f)) for f in (0.5, 0.75, 1.0)})
    return tuple(quarter_label(spread))


def _check_args(n_units, n_zones, zones_per_departement, n_periods, cohorts, effect_base,
                growth_cap, zone_shock_sd, attrition) -> np.ndarray:
    if zones_per_departement < 2:
        raise ConfigError(
            f"zones_per_departement={zones_per_departement}: need at least 2 so every "
            "département has an experimental and a control zone"
        )
    if not cohorts:
        raise ConfigError("cohorts is empty: give at least one start quarter, e.g. ('2008Q2',)")
    cohort_periods = np.array(sorted({period_of(c) for c in cohorts}), dtype=np.int64)
    if len(cohort_periods) != len(cohorts):
        raise ConfigError(f"cohorts {tuple(cohorts)} contain a repeated start quarter")
    if not 2 <= n_periods:
        raise ConfigError(f"n_periods={n_periods}: need at least 2 quarters")
    bad = [c for c in cohorts if not 2 <= period_of(c) <= n_periods]
    if bad:
        last = quarter_label([n_periods])[0]
        raise ConfigError(
            f"cohorts {bad} fall outside 2006Q2..{last} (n_periods={n_periods}); each start "
            "quarter needs a pre-period and must be observed: pass other `cohorts` or more periods"
        )
    n_dept = -(-n_zones // zones_per_departement)
    if n_zones < zones_per_departement or n_dept < len(cohort_periods):
        raise ConfigError(
            f"n_zones={n_zones} gives {n_dept} départements for {len(cohort_periods)} cohorts: "
            f"need at least {len(cohort_periods) * zones_per_departement} zones"
        )
    if n_units < n_zones:
        raise ConfigError(f"n_units={n_units} < n_zones={n_zones}: every zone needs a recipient")
    if effect_base is not None and len(effect_base) != len(cohort_periods):
        raise ConfigError(
            f"effect_base has {len(effect_base)} values for {len(cohort_periods)} cohorts"
        )
    if growth_cap < 0 or zone_shock_sd < 0:
        raise ConfigError("growth_cap and zone_shock_sd must be non-negative")
    if not 0 <= attrition < 1:
        raise ConfigError(f"attrition={attrition}: a quarterly probability in [0, 1)")
    return cohort_periods


def _truth(first: np.ndarray, effect: np.ndarray, cohort_periods: np.ndarray,
           periods: np.ndarray) -> dict:
    """Realised ATT(g, t) and their Callaway–Sant'Anna aggregations."""
    sizes = np.array([(first == g).sum() for g in cohort_periods], dtype=float)
    att = np.array([effect[first == g].mean(axis=0) for g in cohort_periods])  # (G, T)
    G, T = np.meshgrid(cohort_periods, periods, indexing="ij")
    post = T >= G
    att = np.where(post, att, 0.0)
    att_gt = pd.DataFrame(
        {"group": G.ravel(), "time": T.ravel(), "att": att.ravel()}
    )
    w = np.broadcast_to(sizes[:, None], att.shape)
    att_simple = float((att * w)[post].sum() / w[post].sum())

    event = T - G
    dyn_rows = []
    for e in range(int(event.min()), int(event.max()) + 1):
        cell = event == e
        dyn_rows.append({"event_time": e, "att": float((att * w)[cell].sum() / w[cell].sum())})
    att_dynamic = pd.DataFrame(dyn_rows)
    att_dynamic_overall = float(att_dynamic.loc[att_dynamic["event_time"] >= 0, "att"].mean())

    theta_g = np.array([att[k][post[k]].mean() for k in range(len(cohort_periods))])
    att_group = pd.DataFrame({"group": cohort_periods, "att": theta_g})
    att_group_overall = float((theta_g * sizes).sum() / sizes.sum())

    cal_rows = []
    for j, t in enumerate(periods):
        if t < cohort_periods.min():
            continue
        cell = post[:, j]
        cal_rows.append({"time": int(t), "att": float((att[cell, j] * sizes[cell]).sum() / sizes[cell].sum())})
    att_calendar = pd.DataFrame(cal_rows)
    return {
        "att_gt": att_gt,
        "att_simple": att_simple,
        "att_dynamic": att_dynamic,
        "att_dynamic_overall": att_dynamic_overall,
        "att_group": att_group,
        "att_group_overall": att_group_overall,
        "att_calendar": att_calendar,
        "att_calendar_overall": float(att_calendar["att"].mean()),
        "cohort_sizes": pd.DataFrame({"group": cohort_periods, "n_units": sizes.astype(np.int64)}),
    }


_DICTIONARY = {
    "unit_id": ColumnDoc("int64", "Pseudonymous identifier of the recipient (panel unit)."),
    "zone_id": ColumnDoc("int64", "Zone of residence; treatment is assigned by zone (cluster).",
                         "1..n_zones"),
    "departement": ColumnDoc("category", "Département code of the zone.", "French codes"),
    "experimental": ColumnDoc("int8", "1 if the zone is an rSa experimental zone, 0 control.", "0, 1"),
    "period": ColumnDoc("int64", "Quarter index, 1 = 2006Q1.", "1..n_periods"),
    "quarter": ColumnDoc("category", "Calendar quarter label of `period`.", "2006Q1..2009Q4"),
    "first_treated": ColumnDoc(
        "int64", "Period index of the zone's rSa start; 0 = never treated (control zone).",
        "0 or a cohort period"),
    "return_to_work": ColumnDoc("int8", "1 if the recipient returned to work during the quarter.",
                                "0, 1"),
    "age": ColumnDoc("int16", "Age in years at baseline (2006Q1).", "25..64"),
    "sex": ColumnDoc("category", "Sex.", ", ".join(SEX)),
    "household_type": ColumnDoc("category", "Household type at baseline.", ", ".join(HOUSEHOLD_TYPES)),
    "education": ColumnDoc("category", "Highest diploma (ordered).", ", ".join(EDUCATION)),
    "months_on_benefit": ColumnDoc("int16", "Months on minimum income (RMI) at baseline.", "0..240"),
}
