"""Synthetic *Hope in stations*: integrated services for homeless people in train stations.

Four pilot stations (Paris Nord, Berlin Zoologischer Garten, Bruxelles Midi,
Roma Termini) integrated the services working with homeless people in and around
the station between two survey waves; three comparison stations (Madrid Atocha,
Warszawa Centralna, Luxembourg) did not. This generator reproduces that design.

Tables
------
``survey``
    Repeated cross-sections: ``n_per_station_wave`` respondents per station and
    wave (wave 1 = before integration, wave 2 = after); each respondent appears
    once. ``integrated`` = 1 for respondents reached at a pilot station after
    integration (cohort ``"integrated"``); wave-2 respondents at comparison
    stations form the ``"comparison"`` cohort, wave-1 respondents the
    ``"pre_integration"`` cohort. ``reinterviewed`` flags the wave-1 respondents
    drawn for a follow-up interview.
``followup``
    The wave-1 respondents drawn for re-interview (``reinterview_fraction`` of
    them), whether they were found and answered (``responded``) and, if so,
    their outcomes at follow-up (wave 2; NaN for non-respondents). Baseline
    covariates are in ``survey`` (join on ``respondent_id``).
``organisations``
    The services working at each station: ``station``, ``org``, ``sector``.
``edges``
    Undirected collaboration ties between organisations of a station in a wave
    (``org_a < org_b``), with tie type and intensity.

Data-generating process
-----------------------
* Covariates ``X`` (age, sex, nationality group, months homeless, health
  problem, ID papers) are drawn from one *base* distribution at every station
  and wave, except at pilot stations in wave 2, where the integrated services
  reach other people: there ``X`` is drawn from the base distribution
  exponentially tilted by ``exp(selection_strength * beta'x)`` (exact rejection
  sampling). Within wave 2 the log-odds of belonging to the integrated cohort
  is therefore *exactly* linear, ``alpha + selection_strength * beta'x``
  (``truth["propensity_coef"]``): selection on observables with a correctly
  specified logit, and overlap (the tilt is bounded on the covariate support).
* Untreated potential outcomes have means *linear* in the covariate features
  ``x = (age, female, nationality EU, nationality non-EU, months homeless,
  health problem, has ID papers)`` plus a common wave-2 trend:
  ``E[Y(0) | x, wave] = mu0(x) + trend * 1{wave 2}`` (linear probability for
  the four binary outcomes, Poisson mean for ``n_services_used``, Gaussian mean
  for ``perception_score``; ``truth["outcome_model"]``). The integration effect
  is linear too: ``E[Y(1) - Y(0) | x] = effect_scale * tau(x)``
  (``truth["effect_model"]``). Coefficients keep every probability inside
  [0.02, 0.98] on the whole covariate support, so no clipping happens and
  regression adjustment with main effects is correctly specified.
* ``station_effect_scale`` (default 0) adds a station level ``u_s * scale`` with
  ``u_s ~ U(-1, 1)`` to every untreated outcome mean (0.02 per unit on probabilities, 0.2
  on counts, 0.3 on the score; ``truth["station_level"]``). At 0, outcomes depend on the
  station only through ``X``, so wave-2 cohort comparisons (integrated vs comparison) are
  unconfounded given ``X``; above 0 they are not, while difference-in-differences across
  waves still is (station levels difference out).
* Noise: each person has a Gaussian copula factor shared by the six outcomes
  (correlation 0.25 between their latent normals), and both potential outcomes
  use the same uniform (rank preservation). Binary ``Y = 1{U < p}``, counts by
  Poisson inverse CDF at ``U``, score ``= mean + 1.3 * Z`` (not truncated to
  0–10, so its mean stays exactly linear; values outside 0–10 are very rare).
* Follow-up outcomes of re-interviewed people use a latent normal correlated
  ``followup_correlation`` with their baseline one; people at pilot stations
  are integrated at follow-up. Response to the follow-up is
  ``logit P(responded) = gamma'(1, pilot, x)`` (``truth["response_coef"]``):
  attrition depends on covariates and differs between pilot and comparison.
* Networks: each station has ``n_orgs`` services across five sectors; a tie
  between two services exists with probability ``p_same`` (same sector) or
  ``p_cross`` (different sectors). At pilot stations in wave 2 both rise and
  the station's coordinating service (railway social mission) ties to most
  others, so density, cross-sector share and centralisation increase.

Truth
-----
Every effect below is unweighted (``survey_weight`` is independent of the
outcomes given the station, and the integrated cohort has the same covariate
distribution at every pilot station, so weighting changes none of them) and is
a population value, exact up to the Monte Carlo error of the tilted mean
(importance weighting of 400,000 base draws with a fixed internal seed, error
below 1e-4), except ``att_sample``.

``truth["att"]``
    ATT on the *integrated cohort* (people reached at pilot stations after
    integration): ``E[Y(1) - Y(0) | pilot, wave 2] = effect_scale * tau(E_tilt[x])``
    (exact, tau being linear). The wave-2 cohort comparisons of
    :mod:`evalkit.cohort` (regression adjustment, IPW, matching, AIPW; ATT)
    recover it.
``truth["att_sample"]``
    The mean of ``E[Y(1) - Y(0) | x_i]`` over the integrated respondents
    actually drawn (conditional on their covariates).
``truth["did_pilot_post"]``
    The pilot x post effect: the same estimand as ``att``, the ATT on the
    pilot-station respondents of wave 2, identified by difference in
    differences with covariates (untreated means are linear in ``x`` with a
    common wave-2 trend). The 2x2 DiD that recovers it is **regression
    imputation** (``DiD2x2(...).fit(method="imputation")``): the untreated
    outcome model is fitted on the three untreated station-group x wave cells
    and averaged over the integrated respondents, so it allows both the
    composition change and effects that vary with ``x``. The other 2x2
    estimators target something else on these data: ``"reg"`` (one set of
    covariate slopes for all four cells) mixes the effect's slopes into the
    adjustment, a bias that does not vanish with ``n`` (about -0.02 on
    ``n_services_used`` and ``perception_score``, a few percent of their
    effects); Sant'Anna & Zhao's repeated cross-section estimators assume each
    group's covariate distribution is the same in both waves, which fails
    here: ``"or"`` and
    ``"ipw"`` converge to ``did_unadjusted_limit`` and ``"dr"`` to
    ``att_pilot_both_waves``.
``truth["att_pilot_both_waves"]``
    The effect integration would have on the covariate mix of *all*
    pilot-station respondents, both waves pooled (half base, half tilted):
    ``effect_scale * tau((E_base[x] + E_tilt[x]) / 2)``. This is the
    probability limit of the Sant'Anna & Zhao doubly robust RCS estimator
    (``method="dr"``) here, not an effect on anyone actually treated.
``truth["naive_bias"]``
    The population bias of the wave-2 difference in means (integrated minus
    comparison): ``mu0(E_tilt[x]) - mu0(E_base[x])``.
``truth["did_unadjusted_limit"]``
    The probability limit of the 2x2 DiD without covariates: ``att +
    naive_bias`` (the integrated cohort differs from the wave-1 pilot
    respondents; the comparison stations' change is the common trend).
``truth["followup_effect"]``
    Mean effect at follow-up among pilot panel members (base distribution).
``truth["expected_density"]``
    Expected network density per station and wave.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special

from evalkit.datasets.base import ColumnDoc, SyntheticDataset
from evalkit.errors import ConfigError

PILOT_STATIONS = (
    ("Paris Nord", "France"),
    ("Berlin Zoologischer Garten", "Germany"),
    ("Bruxelles Midi", "Belgium"),
    ("Roma Termini", "Italy"),
)
COMPARISON_STATIONS = (
    ("Madrid Atocha", "Spain"),
    ("Warszawa Centralna", "Poland"),
    ("Luxembourg", "Luxembourg"),
)
STATIONS = PILOT_STATIONS + COMPARISON_STATIONS

# Estimated number of homeless people using each station (scales the design weights).
_STATION_POPULATION = np.array([650, 480, 320, 540, 380, 260, 90], dtype=float)

OUTCOMES = (
    "slept_in_shelter",
    "social_worker_contact",
    "access_to_care",
    "has_income",
    "n_services_used",
    "perception_score",
)
BINARY_OUTCOMES = OUTCOMES[:4]
COVARIATES = ("age", "sex", "nationality_group", "months_homeless", "health_problem", "has_id_papers")
FEATURES = (
    "age",
    "female",
    "nationality_EU",
    "nationality_non-EU",
    "months_homeless",
    "health_problem",
    "has_id_papers",
)
_AGE_RANGE = (18, 75)
_MONTHS_CAP = 240
_FEATURE_LOW = np.array([18, 0, 0, 0, 0, 0, 0], dtype=float)
_FEATURE_HIGH = np.array([75, 1, 1, 1, _MONTHS_CAP, 1, 1], dtype=float)

# Tilt of the covariate distribution at pilot stations after integration (per unit of
# each feature): outreach reaches people homeless for longer, with health problems,
# without papers, more often non-EU and a little younger.
_SELECTION_BETA = np.array([-0.012, 0.15, 0.0, 0.45, 0.006, 0.6, -0.7])

# Untreated outcome means: intercept, 7 feature slopes, wave-2 trend.
_MU0 = pd.DataFrame(
    {
        "slept_in_shelter":      [0.27, 0.002, 0.08, -0.05, -0.02, -0.0008, 0.05, 0.10, 0.02],
        "social_worker_contact": [0.26, 0.001, 0.05, -0.03, -0.05, 0.0005, 0.08, 0.05, 0.01],
        "access_to_care":        [0.32, 0.002, 0.05, -0.05, -0.12, -0.0006, 0.10, 0.20, 0.01],
        "has_income":            [0.24, 0.002, 0.02, -0.05, -0.15, -0.0002, -0.05, 0.20, 0.00],
        "n_services_used":       [0.80, 0.010, 0.20, -0.10, -0.20, 0.004, 0.50, 0.30, 0.10],
        "perception_score":      [4.60, 0.010, 0.20, -0.10, 0.10, -0.004, -0.40, 0.30, 0.05],
    },
    index=["intercept", *FEATURES, "wave2"],
).T
# Effect of integration: intercept and 7 feature slopes (times effect_scale).
_TAU = pd.DataFrame(
    {
        "slept_in_shelter":      [0.10, 0.0, 0.0, 0.0, 0.0, 0.0003, 0.05, 0.0],
        "social_worker_contact": [0.12, 0.0, 0.0, 0.0, 0.02, 0.0002, 0.0, -0.03],
        "access_to_care":        [0.06, 0.0, 0.0, 0.0, 0.02, 0.0, 0.06, 0.02],
        "has_income":            [0.03, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05],
        "n_services_used":       [0.80, 0.0, 0.0, 0.0, 0.0, 0.002, 0.30, 0.0],
        "perception_score":      [0.40, 0.0, 0.0, 0.0, 0.0, 0.0, 0.30, 0.0],
    },
    index=["intercept", *FEATURES],
).T
_SCORE_SD = 1.3
_OUTCOME_FACTOR_LOADING = 0.5  # latent correlation 0.25 between a person's outcomes

# Follow-up response: intercept, pilot, then the 7 features.
_RESPONSE_GAMMA = pd.Series(
    [0.8, 0.5, 0.01, 0.0, 0.0, -0.3, -0.004, -0.3, 0.5],
    index=["intercept", "pilot", *FEATURES],
)

SECTORS = ("public", "ngo", "railway", "health", "police")
_ORG_NAMES = {
    "public": ("Municipal social services", "Regional welfare office", "Employment agency",
               "Housing office", "Immigration office"),
    "ngo": ("Outreach team", "Day centre", "Night shelter", "Food aid association",
            "Migrant support association", "Addiction support association"),
    "railway": ("Railway social mission", "Station management", "Railway security"),
    "health": ("Hospital emergency department", "Mobile health team", "Mental health service",
               "Harm reduction service"),
    "police": ("Local police", "Transport police"),
}
COORDINATOR = "Railway social mission"
TIE_TYPES = ("information", "referral", "joint_action")
# Tie probabilities: (same sector, cross sector, coordinator) for (pilot?, wave).
_TIE_PROB = {
    (False, 1): (0.35, 0.10, 0.30),
    (False, 2): (0.36, 0.11, 0.32),
    (True, 1): (0.35, 0.10, 0.30),
    (True, 2): (0.50, 0.30, 0.90),
}
_TIE_TYPE_PROB = {False: (0.60, 0.30, 0.10), True: (0.35, 0.40, 0.25)}
_INTENSITY_PROB = {  # intensity 1..3 given tie type
    "information": (0.6, 0.3, 0.1),
    "referral": (0.3, 0.5, 0.2),
    "joint_action": (0.1, 0.4, 0.5),
}

SAMPLE_KWARGS = {"seed": 2024, "n_per_station_wave": 500}


def generate(
    *,
    seed: int = 0,
    n_per_station_wave: int = 500,
    reinterview_fraction: float = 0.4,
    selection_strength: float = 1.0,
    effect_scale: float = 1.0,
    station_effect_scale: float = 0.0,
    followup_correlation: float = 0.5,
    n_orgs: int = 14,
) -> SyntheticDataset:
    """Draw the *Hope in stations* survey, follow-up and collaboration networks.

    Parameters
    ----------
    seed
        Seed of all draws (the survey, the follow-up and the networks use
        independent child streams, so changing one size leaves the others).
    n_per_station_wave
        Respondents per station and wave (7 stations x 2 waves).
        ``n_per_station_wave=72_000`` gives about a million respondents.
    reinterview_fraction
        Share of wave-1 respondents drawn for the follow-up interview.
    selection_strength
        Multiplies the covariate tilt of the integrated cohort (0 = the
        integrated cohort has the same covariate distribution as everyone else,
        so naive differences are unbiased).
    effect_scale
        Multiplies every true effect (0 = no effect on any outcome).
    station_effect_scale
        Scale of station levels in untreated outcomes (see module docstring).
    followup_correlation
        Correlation of a person's latent outcome normals at baseline and follow-up.
    n_orgs
        Services per station (between 6 and 24).

    Returns
    -------
    SyntheticDataset
        Tables ``survey``, ``followup``, ``organisations``, ``edges``; truth as
        described in the module docstring.
    """
    n = int(n_per_station_wave)
    if n < 1:
        raise ConfigError(f"n_per_station_wave must be at least 1, got {n_per_station_wave!r}")
    if not 0 <= reinterview_fraction <= 1:
        raise ConfigError(f"reinterview_fraction must be in [0, 1], got {reinterview_fraction!r}")
    if not -1 < followup_correlation < 1:
        raise ConfigError(f"followup_correlation must be in (-1, 1), got {followup_correlation!r}")
    if not 0 <= selection_strength <= 2:
        raise ConfigError(f"selection_strength must be in [0, 2], got {selection_strength!r}")
    if not 0 <= effect_scale <= 1:
        raise ConfigError(
            f"effect_scale must be in [0, 1] (larger effects push probabilities out of "
            f"[0, 1]), got {effect_scale!r}"
        )
    if not 0 <= station_effect_scale <= 1:
        raise ConfigError(f"station_effect_scale must be in [0, 1], got {station_effect_scale!r}")
    if not 6 <= n_orgs <= sum(len(v) for v in _ORG_NAMES.values()):
        raise ConfigError(f"n_orgs must be between 6 and 24, got {n_orgs!r}")
    params = {
        "seed": seed,
        "n_per_station_wave": n,
        "reinterview_fraction": reinterview_fraction,
        "selection_strength": selection_strength,
        "effect_scale": effect_scale,
        "station_effect_scale": station_effect_scale,
        "followup_correlation": followup_correlation,
        "n_orgs": n_orgs,
    }
    ss_survey, ss_followup, ss_network, ss_station = np.random.SeedSequence(seed).spawn(4)
    rng = np.random.default_rng(ss_survey)
    beta = selection_strength * _SELECTION_BETA
    n_st = len(STATIONS)
    n_pilot = len(PILOT_STATIONS)

    # Row layout: station-major, wave 1 then wave 2, n rows per block.
    station_idx = np.repeat(np.arange(n_st), 2 * n)
    wave = np.tile(np.repeat(np.array([1, 2]), n), n_st)
    pilot = station_idx < n_pilot
    integrated = pilot & (wave == 2)
    n_rows = station_idx.size

    feats = np.empty((n_rows, len(FEATURES)))
    n_tilted = int(integrated.sum())
    feats[~integrated] = _draw_base(rng, n_rows - n_tilted)
    feats[integrated] = _draw_tilted(rng, n_tilted, beta)

    station_level = np.zeros(n_st)
    if station_effect_scale > 0:
        station_level = np.random.default_rng(ss_station).uniform(-1.0, 1.0, n_st)
    mu0 = _untreated_means(feats, wave == 2, station_level[station_idx] * station_effect_scale)
    tau = effect_scale * _effects(feats)
    latent = _latent_normals(rng, n_rows)
    y = _draw_outcomes(mu0 + tau * integrated[:, None], latent)

    female = feats[:, 1] == 1
    nat = np.where(feats[:, 2] == 1, "EU", np.where(feats[:, 3] == 1, "non-EU", "national"))
    weight = (_STATION_POPULATION[station_idx] / n) * np.exp(
        rng.normal(-0.045, 0.3, n_rows)
    )
    reinterviewed = (wave == 1) & (rng.random(n_rows) < reinterview_fraction)
    ids = _respondent_ids(n_rows)
    names = np.array([s for s, _ in STATIONS], dtype=object)
    countries = np.array([c for _, c in STATIONS], dtype=object)
    cohort = np.where(integrated, "integrated", np.where(wave == 2, "comparison", "pre_integration"))

    survey = pd.DataFrame(
        {
            "respondent_id": ids,
            "station": names[station_idx],
            "country": countries[station_idx],
            "pilot": pilot,
            "wave": wave.astype(np.int64),
            "first_treated_wave": np.where(pilot, 2, 0).astype(np.int64),
            "cohort": cohort,
            "integrated": integrated.astype(np.int64),
            "age": feats[:, 0].astype(np.int64),
            "sex": np.where(female, "female", "male"),
            "nationality_group": nat,
            "months_homeless": feats[:, 4].astype(np.int64),
            "health_problem": feats[:, 5].astype(np.int64),
            "has_id_papers": feats[:, 6].astype(np.int64),
        }
    )
    for k, name in enumerate(OUTCOMES):
        survey[name] = y[:, k] if name == "perception_score" else y[:, k].astype(np.int64)
    survey["survey_weight"] = weight
    survey["reinterviewed"] = reinterviewed

    # Follow-up of the re-interviewed wave-1 respondents.
    rng_f = np.random.default_rng(ss_followup)
    sel = np.flatnonzero(reinterviewed)
    x_f = feats[sel]
    pilot_f = pilot[sel]
    lin = _RESPONSE_GAMMA["intercept"] + _RESPONSE_GAMMA["pilot"] * pilot_f + x_f @ _RESPONSE_GAMMA[
        list(FEATURES)
    ].to_numpy()
    responded = rng_f.random(sel.size) < special.expit(lin)
    rho = followup_correlation
    latent_f = rho * latent[sel] + np.sqrt(1 - rho**2) * _latent_normals(rng_f, sel.size)
    mu_f = _untreated_means(x_f, np.ones(sel.size, bool), station_level[station_idx[sel]]
                            * station_effect_scale)
    y_f = _draw_outcomes(mu_f + tau[sel] * pilot_f[:, None], latent_f)
    y_f[~responded] = np.nan
    followup = pd.DataFrame(
        {
            "respondent_id": ids[sel],
            "station": names[station_idx[sel]],
            "pilot": pilot_f,
            "responded": responded.astype(np.int64),
        }
    )
    for k, name in enumerate(OUTCOMES):
        followup[name] = y_f[:, k]

    organisations, edges, density = _networks(np.random.default_rng(ss_network), n_orgs)

    tilt_mean, base_mean, log_norm = _tilted_moments(tuple(beta))
    att = pd.Series(effect_scale * _effects(tilt_mean[None, :])[0], index=list(OUTCOMES))
    bias = pd.Series(
        (_untreated_means(tilt_mean[None, :], np.zeros(1, bool), np.zeros(1))
         - _untreated_means(base_mean[None, :], np.zeros(1, bool), np.zeros(1)))[0],
        index=list(OUTCOMES),
    )
    alpha = np.log(n_pilot / (n_st - n_pilot)) - log_norm
    truth = {
        "att": att.rename("att"),
        "att_sample": pd.Series(tau[integrated].mean(axis=0), index=list(OUTCOMES), name="att"),
        "did_pilot_post": att.rename("did_pilot_post"),
        # Pilot rows are half wave 1 (base covariates), half wave 2 (tilted covariates).
        "att_pilot_both_waves": pd.Series(
            effect_scale * _effects(((tilt_mean + base_mean) / 2)[None, :])[0],
            index=list(OUTCOMES), name="att_pilot_both_waves"),
        "naive_bias": bias.rename("naive_bias"),
        "did_unadjusted_limit": (att + bias).rename("did_unadjusted_limit"),
        "followup_effect": pd.Series(
            effect_scale * _effects(base_mean[None, :])[0], index=list(OUTCOMES),
            name="followup_effect",
        ),
        "propensity_coef": pd.Series(np.r_[alpha, beta], index=["intercept", *FEATURES],
                                     name="propensity_coef"),
        "response_coef": _RESPONSE_GAMMA.rename("response_coef").copy(),
        "outcome_model": _MU0.copy(),
        "effect_model": (effect_scale * _TAU).copy(),
        "station_level": pd.Series(station_level * station_effect_scale,
                                   index=list(names), name="station_level"),
        "expected_density": density,
        "coordinator": COORDINATOR,
    }
    return SyntheticDataset(
        name="hope_in_stations",
        tables={"survey": survey, "followup": followup, "organisations": organisations,
                "edges": edges},
        truth=truth,
        params=params,
        dictionary=_dictionary(),
    )


def _draw_base(rng: np.random.Generator, n: int) -> np.ndarray:
    """Covariate features from the base distribution (n x 7)."""
    out = np.empty((n, len(FEATURES)))
    age = np.clip(np.rint(rng.normal(41.0, 12.0, n)), *_AGE_RANGE)
    female = rng.random(n) < 0.2
    u = rng.random(n)
    eu = u < 0.2
    non_eu = u >= 0.65
    months = np.minimum(
        np.floor(rng.exponential(10.0 + 0.8 * (age - 18.0))), _MONTHS_CAP
    )
    health = rng.random(n) < 0.18 + 0.004 * (age - 18.0) + 0.0008 * months
    p_id = np.where(non_eu, 0.45, np.where(eu, 0.75, 0.88))
    has_id = rng.random(n) < p_id
    out[:, 0] = age
    out[:, 1] = female
    out[:, 2] = eu
    out[:, 3] = non_eu
    out[:, 4] = months
    out[:, 5] = health
    out[:, 6] = has_id
    return out


def _draw_tilted(rng: np.random.Generator, n: int, beta: np.ndarray) -> np.ndarray:
    """Exact draws from the base distribution tilted by ``exp(beta'x)`` (rejection)."""
    if n == 0:
        return np.empty((0, len(FEATURES)))
    # Upper bound of beta'x on the support (nationality dummies are exclusive).
    terms = np.maximum(beta * _FEATURE_LOW, beta * _FEATURE_HIGH)
    nat_max = max(0.0, beta[2], beta[3])
    bound = terms.sum() - terms[2] - terms[3] + nat_max
    chunks, got, accept = [], 0, 0.2
    while got < n:
        m = int(1.3 * (n - got) / accept) + 64
        cand = _draw_base(rng, m)
        keep = cand[rng.random(m) < np.exp(cand @ beta - bound)]
        accept = max(keep.shape[0] / m, 0.01)
        chunks.append(keep)
        got += keep.shape[0]
    return np.concatenate(chunks)[:n]


@lru_cache(maxsize=16)
def _tilted_moments(beta: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean features under the tilted and base distributions, and log E_base[exp(beta'x)]."""
    x = _draw_base(np.random.default_rng(20240601), 400_000)
    w = np.exp(x @ np.asarray(beta))
    return (w @ x) / w.sum(), x.mean(axis=0), float(np.log(w.mean()))


def _untreated_means(feats: np.ndarray, wave2: np.ndarray, station_level: np.ndarray):
    coef = _MU0.to_numpy()
    mu = coef[:, 0] + feats @ coef[:, 1:8].T + np.outer(wave2, coef[:, 8])
    # A station level of 1 moves probabilities by 0.02 (so they stay inside (0, 1) on the
    # whole support), counts by 0.2, the score by 0.3.
    return mu + np.outer(station_level, [0.02, 0.02, 0.02, 0.02, 0.2, 0.3])


def _effects(feats: np.ndarray) -> np.ndarray:
    coef = _TAU.to_numpy()
    return coef[:, 0] + feats @ coef[:, 1:].T


def _latent_normals(rng: np.random.Generator, n: int) -> np.ndarray:
    """Standard normals per person and outcome, correlated through a common factor."""
    a = _OUTCOME_FACTOR_LOADING
    return a * rng.standard_normal((n, 1)) + np.sqrt(1 - a * a) * rng.standard_normal(
        (n, len(OUTCOMES))
    )


def _draw_outcomes(mean: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Outcomes with the given means, driven by the latent normals ``z``."""
    u = special.ndtr(z[:, :5])
    y = np.empty_like(mean)
    y[:, :4] = u[:, :4] < mean[:, :4]
    y[:, 4] = _poisson_quantile(u[:, 4], mean[:, 4])
    y[:, 5] = mean[:, 5] + _SCORE_SD * z[:, 5]
    return y


def _poisson_quantile(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Smallest k with Poisson(lam) CDF(k) >= u (vectorised inverse CDF)."""
    k = np.zeros(u.shape)
    pmf = np.exp(-lam)
    cdf = pmf.copy()
    todo = u > cdf
    step = 0
    while todo.any() and step < 200:
        step += 1
        pmf = pmf * lam / step
        cdf = cdf + pmf
        k = k + todo
        todo &= u > cdf
    return k


def _respondent_ids(n: int) -> np.ndarray:
    width = max(6, len(str(n)))
    return ("H" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(object)


def _networks(rng: np.random.Generator, n_orgs: int):
    """Organisations per station and collaboration ties per station and wave."""
    org_rows, edge_parts, dens_rows = [], [], []
    all_orgs = [(name, sector) for sector in SECTORS for name in _ORG_NAMES[sector]]
    pool = [o for o in all_orgs if o[0] != COORDINATOR]
    for s, (station, _) in enumerate(STATIONS):
        is_pilot = s < len(PILOT_STATIONS)
        # Every station has the coordinator and one service of each sector, then a random rest.
        firsts = [next(o for o in pool if o[1] == sec) for sec in SECTORS]
        rest = [o for o in pool if o not in firsts]
        extra = rng.choice(len(rest), size=n_orgs - 1 - len(firsts), replace=False)
        orgs = [(COORDINATOR, "railway"), *firsts, *(rest[i] for i in sorted(extra))]
        orgs.sort()
        names = np.array([o[0] for o in orgs], dtype=object)
        sectors = np.array([o[1] for o in orgs], dtype=object)
        org_rows.append(pd.DataFrame({"station": station, "org": names, "sector": sectors}))
        ia, ib = np.triu_indices(len(orgs), k=1)
        same = sectors[ia] == sectors[ib]
        coord = (names[ia] == COORDINATOR) | (names[ib] == COORDINATOR)
        for w in (1, 2):
            p_same, p_cross, p_coord = _TIE_PROB[(is_pilot, w)]
            p = np.where(coord, p_coord, np.where(same, p_same, p_cross))
            dens_rows.append({"station": station, "wave": w, "pilot": is_pilot,
                              "expected_density": float(p.mean())})
            tie = rng.random(p.size) < p
            integrated = is_pilot and w == 2
            kinds = rng.choice(3, size=int(tie.sum()), p=_TIE_TYPE_PROB[integrated])
            kind_names = np.array(TIE_TYPES, dtype=object)[kinds]
            intensity = np.empty(kinds.size, dtype=np.int64)
            for k, kind in enumerate(TIE_TYPES):
                pick = kinds == k
                intensity[pick] = rng.choice([1, 2, 3], size=int(pick.sum()),
                                             p=_INTENSITY_PROB[kind])
            a, b = ia[tie], ib[tie]
            edge_parts.append(pd.DataFrame({
                "station": station,
                "wave": np.int64(w),
                "org_a": names[a],
                "org_b": names[b],
                "sector_a": sectors[a],
                "sector_b": sectors[b],
                "tie_type": kind_names,
                "intensity": intensity,
            }))
    organisations = pd.concat(org_rows, ignore_index=True)
    edges = pd.concat(edge_parts, ignore_index=True)
    edges["wave"] = edges["wave"].astype(np.int64)
    return organisations, edges, pd.DataFrame(dens_rows)


def _dictionary() -> dict[str, dict[str, ColumnDoc]]:
    outcome_docs = {
        "slept_in_shelter": ColumnDoc("int64", "Slept in a shelter at least once in the last 7 days", "0, 1"),
        "social_worker_contact": ColumnDoc("int64", "Had contact with a social worker in the last month", "0, 1"),
        "access_to_care": ColumnDoc("int64", "Saw a doctor or nurse when needed in the last 3 months", "0, 1"),
        "has_income": ColumnDoc("int64", "Receives an income or a social benefit", "0, 1"),
        "n_services_used": ColumnDoc("int64", "Number of distinct services used in the last month", ">= 0"),
        "perception_score": ColumnDoc(
            "float64", "Perceived support and safety at the station (index, 0-10 scale, not truncated)",
            "real, mostly 0-10"),
    }
    survey = {
        "respondent_id": ColumnDoc("str", "Pseudonymous respondent identifier (unique)", "H + digits"),
        "station": ColumnDoc("str", "Station where the respondent was interviewed",
                             ", ".join(s for s, _ in STATIONS)),
        "country": ColumnDoc("str", "Country of the station"),
        "pilot": ColumnDoc("bool", "Station integrated its services between the waves"),
        "wave": ColumnDoc("int64", "Survey wave: 1 = before integration, 2 = after", "1, 2"),
        "first_treated_wave": ColumnDoc("int64", "Wave from which the station is integrated (0 = never)",
                                        "0, 2"),
        "cohort": ColumnDoc("str", "integrated = pilot station after integration; comparison = "
                            "comparison station, wave 2; pre_integration = wave 1",
                            "integrated, comparison, pre_integration"),
        "integrated": ColumnDoc("int64", "Reached by integrated services (pilot station, wave 2)", "0, 1"),
        "age": ColumnDoc("int64", "Age in years", "18-75"),
        "sex": ColumnDoc("str", "Sex", "male, female"),
        "nationality_group": ColumnDoc("str", "Nationality relative to the station's country",
                                       "national, EU, non-EU"),
        "months_homeless": ColumnDoc("int64", "Months since the current homelessness spell began",
                                     "0-240"),
        "health_problem": ColumnDoc("int64", "Reports a chronic or serious health problem", "0, 1"),
        "has_id_papers": ColumnDoc("int64", "Holds valid identity papers", "0, 1"),
        **outcome_docs,
        "survey_weight": ColumnDoc("float64", "Design weight (inverse inclusion probability); sums "
                                   "to about the station's homeless population per wave", "> 0"),
        "reinterviewed": ColumnDoc("bool", "Wave-1 respondent drawn for the follow-up interview "
                                   "(see table followup)"),
    }
    followup = {
        "respondent_id": survey["respondent_id"],
        "station": survey["station"],
        "pilot": survey["pilot"],
        "responded": ColumnDoc("int64", "Found and interviewed at follow-up (wave 2)", "0, 1"),
        **{k: ColumnDoc("float64", v.meaning + " (at follow-up; NaN if not responded)", v.allowed)
           for k, v in outcome_docs.items()},
    }
    organisations = {
        "station": survey["station"],
        "org": ColumnDoc("str", "Service or organisation working at the station"),
        "sector": ColumnDoc("str", "Sector of the organisation", ", ".join(SECTORS)),
    }
    edges = {
        "station": survey["station"],
        "wave": survey["wave"],
        "org_a": ColumnDoc("str", "First organisation of the tie (alphabetically first)"),
        "org_b": ColumnDoc("str", "Second organisation of the tie"),
        "sector_a": ColumnDoc("str", "Sector of org_a", ", ".join(SECTORS)),
        "sector_b": ColumnDoc("str", "Sector of org_b", ", ".join(SECTORS)),
        "tie_type": ColumnDoc("str", "Main kind of collaboration", ", ".join(TIE_TYPES)),
        "intensity": ColumnDoc("int64", "Frequency of collaboration: 1 occasional, 2 monthly, "
                               "3 weekly or more", "1, 2, 3"),
    }
    return {"survey": survey, "followup": followup, "organisations": organisations,
            "edges": edges}
