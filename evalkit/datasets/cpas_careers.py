"""Synthetic careers of people leaving a CPAS article 60§7 contract.

People are followed monthly (36 months by default) after the end of their
article 60§7 contract over eight states (:data:`evalkit.typology.states.CPAS_ALPHABET`):
``FT`` full-time job, ``PT`` part-time job, ``SE`` self-employed, ``ACT``
activation (ONEM), ``UB`` unemployment benefit / job seeker, ``RIS`` integration
income, ``ALW`` other allowance (pension, invalidity, career break), ``INA``
inactive / unknown.

Data-generating process
-----------------------
1. **Type quotas.** Each person has one of the seven career types of the CPAS
   "activation durable" study. The number of persons of each type is fixed by
   largest-remainder rounding of ``n_persons x study share`` (19.3, 7.2, 18.8,
   28.3, 8.2, 12.9, 5.3 %), so the realised shares are within ``1 / n_persons`` of
   the study's at any size (within 1 point from 100 persons on).
2. **Covariates given type.** Covariates (sex, age band, education, nationality
   group, contract length) are drawn *given the type*, independently of each
   other, from ``p(c | k) ∝ p(c | base) · exp(beta[k, c])`` where ``base`` is the
   ``nonsustainable`` type. By Bayes' rule the type given covariates is then
   exactly a multinomial logit::

       log P(k | x) / P(base | x) = alpha_k + sum_j beta[k, x_j]
       alpha_k = log(pi_k / pi_base) - sum_j log sum_c p(c | base) exp(beta[k, c])

   with ``pi`` the study shares. The coefficients ``beta`` (treatment coding,
   reference categories ``M``, ``26-35``, ``low``, ``Belgian``, ``12``) and the
   intercepts ``alpha`` are returned in ``truth["mnlogit_coefficients"]``. This is
   how covariates shift membership while the type counts stay exact. The CPAS
   (commune) is drawn independently of type: its true coefficients are zero.
   ``age`` is uniform within its band.
3. **Sequences given type.** Each type's monthly sequence is a run of segments
   (state, length) drawn as below (``T`` = ``n_months``; ``Geom(m)`` a geometric
   number of months with mean ``m``; job states drawn FT/PT/SE):

   - *sustainable*: ``Geom(2)`` months (<= T/4) of UB/INA/ACT, then a job until
     the end (30 % change job type once); 10 % have one gap of UB/INA inside the
     job, of 1 month (85 %) or 2 months (15 %).
   - *sustainable_interrupted*: ``Geom(2)`` months (<= T/6) before a job, then a
     job with 1 (70 %) or 2 (30 %) interruptions of ``2 + Poisson(2)`` months
     (<= 15 % of T each) in UB, INA, ACT, ALW or RIS.
   - *nonsustainable_interrupted*: ``Geom(2 f)`` months (<= T/4) of UB/INA, then
     alternating short jobs (``1 + Poisson(2 f)`` months) and gaps (``2 +
     Poisson(4.5 f)`` months, mostly UB), ``f = min(1, T / 36)``.
   - *nonsustainable*: ``Geom(1)`` months of UB, a short job in half the cases
     (``1 + Poisson(2)`` months, <= T/6), then UB, with 15 % an ACT episode of 2-4
     months; the last part is INA from a month in the second half (30 %), a
     job from a month in the last fifth (15 %) or UB.
   - *integration_income*: a short job at the start (35 %), then RIS, with 30 %
     an UB/INA episode of 2-6 months.
   - *allowance*: up to 40 % of T in a job, UB or INA, then ALW until the end.
   - *onem_activation*: ``Geom(1)`` months (<= T/6) of UB, then ACT for 55-100 %
     of T, then UB, a job or INA.

   These processes are built so that the rule typology
   (:class:`evalkit.typology.rules.CareerRules` with default thresholds) recovers
   the generating type for about 99 % of persons at 36 months or more (98 % at 18-24
   months, 95 % at 12); the misses are persons the
   process puts across a rule boundary (a two-month gap in a sustainable job, an
   alternating career where the jobs add up to half the period).

4. **Programme arm (optional).** With ``programme_effect=e``, an arm is drawn
   (``persons["arm"]``: ``"programme"`` or ``"comparison"``) from a logit on the
   covariates, so the arms differ in education, age and sex (confounding):
   ``logit P(programme | x) = -0.4 + 0.4 [F] + 0.4 [medium] + 0.8 [high]
   - 0.3 [46-55] - 0.8 [56-64] + 0.2 [18-25]``. The type drawn above is the career
   without the programme, ``Y(0)``. Each person of the programme arm whose ``Y(0)``
   is *nonsustainable* or *nonsustainable_interrupted* gets a *sustainable* career
   instead with probability ``e``: ``Y(1)``. Sequences are drawn from the type each
   person actually lives; for the persons the programme moved, their sequence
   without the programme is drawn too (from a separate stream), so that the sample
   effects on the treated are known exactly: ``truth["att_types"]`` (change in the
   share of each type among the programme arm) and ``truth["att_months"]`` (change
   in the mean months in each state). These draws use their own random stream: the
   output without ``programme_effect`` is unchanged.

All draws are vectorised numpy (run-length decoding of the segments), so 10
million person-months take a few seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.datasets.base import ColumnDoc, SyntheticDataset
from evalkit.typology.states import (
    CAREER_TYPE_CODES,
    CPAS_ALPHABET,
    STUDY_SHARES,
)

#: Arguments used to write ``data_samples/cpas_careers``: at 2,000 persons the seven type
#: shares are within 0.05 point of the study's; the long sequence table is ~0.8 MB as CSV.
SAMPLE_KWARGS: dict = {"seed": 20240607, "n_persons": 2000, "n_months": 36}

FT, PT, SE, ACT, UB, RIS, ALW, INA = range(8)

BASE_TYPE = "nonsustainable"

#: Covariates shifting type membership: name -> (categories, distribution in the base type).
#: The first category is the reference of the logit.
COVARIATES: dict[str, tuple[tuple, tuple[float, ...]]] = {
    "sex": (("M", "F"), (0.55, 0.45)),
    "age_band": (("26-35", "18-25", "36-45", "46-55", "56-64"), (0.30, 0.20, 0.25, 0.17, 0.08)),
    "education": (("low", "medium", "high"), (0.50, 0.35, 0.15)),
    "nationality_group": (("Belgian", "EU", "non-EU"), (0.55, 0.15, 0.30)),
    "contract_months": ((12, 18, 24), (0.45, 0.30, 0.25)),
}

#: True log-odds of each type versus ``nonsustainable`` (rows: ``covariate[category]``,
#: reference categories omitted; columns: the six other types in the study's order).
_BETA_ROWS: dict[str, tuple[float, ...]] = {
    #                       sust  s_int  ns_int  ris   alw   act
    "sex[F]":              (-0.2, 0.0, -0.1, 0.3, 0.2, 0.0),
    "age_band[18-25]":     (0.1, 0.2, 0.3, 0.3, -1.0, 0.8),
    "age_band[36-45]":     (0.0, 0.0, -0.1, 0.1, 0.4, -0.3),
    "age_band[46-55]":     (-0.2, -0.2, -0.3, 0.2, 1.0, -0.6),
    "age_band[56-64]":     (-0.6, -0.5, -0.6, 0.0, 2.2, -1.0),
    "education[medium]":   (0.4, 0.3, 0.2, -0.3, 0.0, 0.1),
    "education[high]":     (0.9, 0.6, 0.3, -0.6, -0.2, 0.2),
    "nationality_group[EU]": (0.2, 0.1, 0.1, -0.2, -0.3, 0.0),
    "nationality_group[non-EU]": (-0.3, -0.1, 0.1, 0.5, -0.5, 0.1),
    "contract_months[18]": (0.2, 0.1, 0.0, -0.3, 0.0, 0.1),
    "contract_months[24]": (0.4, 0.2, 0.1, -0.5, 0.1, 0.2),
}

CPAS_NAMES: tuple[str, ...] = (
    "Anderlecht", "Bruxelles", "Charleroi", "Gent", "Liège", "Molenbeek", "Namur", "Schaerbeek",
)
_CPAS_WEIGHTS = (0.12, 0.18, 0.14, 0.10, 0.14, 0.10, 0.08, 0.14)

_AGE_BAND_RANGE = {"18-25": (18, 25), "26-35": (26, 35), "36-45": (36, 45),
                   "46-55": (46, 55), "56-64": (56, 64)}


def _other_types() -> list[str]:
    return [t for t in CAREER_TYPE_CODES if t != BASE_TYPE]


def true_coefficients() -> pd.DataFrame:
    """True multinomial-logit coefficients of type on covariates, vs ``nonsustainable``.

    Rows ``Intercept`` then ``covariate[category]`` (treatment coding); columns the
    six non-base types. Intercepts are the population ones implied by the study
    shares (see the module docstring).
    """
    others = _other_types()
    beta = pd.DataFrame(_BETA_ROWS, index=others).T
    intercept = {}
    for k in others:
        a = np.log(STUDY_SHARES[k] / STUDY_SHARES[BASE_TYPE])
        for cov, (cats, base_p) in COVARIATES.items():
            b = np.array([0.0] + [beta.loc[f"{cov}[{c}]", k] for c in cats[1:]])
            a -= np.log(np.sum(np.array(base_p) * np.exp(b)))
        intercept[k] = a
    out = pd.concat([pd.DataFrame(intercept, index=["Intercept"]), beta])
    out.index.name = "term"
    out.columns.name = "career_type"
    return out


def _conditional_probs(cov: str) -> np.ndarray:
    """p(category | type) for every type (rows in CAREER_TYPE_CODES order)."""
    cats, base_p = COVARIATES[cov]
    probs = np.empty((len(CAREER_TYPE_CODES), len(cats)))
    for i, k in enumerate(CAREER_TYPE_CODES):
        b = np.zeros(len(cats))
        if k != BASE_TYPE:
            col = _other_types().index(k)
            b[1:] = [_BETA_ROWS[f"{cov}[{c}]"][col] for c in cats[1:]]
        p = np.array(base_p) * np.exp(b)
        probs[i] = p / p.sum()
    return probs


def _draw_categorical(rng: np.random.Generator, probs_by_row: np.ndarray) -> np.ndarray:
    """One category index per row of ``probs_by_row`` (inverse CDF, vectorised)."""
    cum = np.cumsum(probs_by_row, axis=1)
    u = rng.random(len(probs_by_row))[:, None]
    return np.minimum((u >= cum).sum(axis=1), probs_by_row.shape[1] - 1)


def type_quotas(n_persons: int, shares: dict[str, float] | None = None) -> np.ndarray:
    """Largest-remainder allocation of ``n_persons`` to the seven types (study order)."""
    shares = STUDY_SHARES if shares is None else shares
    p = np.array([shares[k] for k in CAREER_TYPE_CODES], dtype=float)
    p = p / p.sum()
    raw = n_persons * p
    quotas = np.floor(raw).astype(np.int64)
    rest = n_persons - quotas.sum()
    # Ties in the remainders go to the earlier type (stable sort), so quotas are deterministic.
    order = np.argsort(-(raw - quotas), kind="stable")
    quotas[order[:rest]] += 1
    return quotas


# --- sequence processes ---------------------------------------------------------------------


def _geom(rng, mean: float, size: int, cap: int) -> np.ndarray:
    """Geometric number of months >= 0 with the given mean, capped."""
    return np.minimum(rng.geometric(1.0 / (1.0 + mean), size) - 1, cap)


def _pick(rng, states, probs, size) -> np.ndarray:
    return rng.choice(np.asarray(states, dtype=np.int8), size=size, p=probs)


def _job(rng, size, probs=(0.5, 0.35, 0.15)) -> np.ndarray:
    return _pick(rng, (FT, PT, SE), probs, size)


def _decode(states: np.ndarray, lengths: np.ndarray, n_months: int) -> np.ndarray:
    """Run-length decode per-person segments into an (n, n_months) int8 matrix.

    Segments past ``n_months`` are cut; the last segment is stretched to fill the
    period, so every row has exactly ``n_months`` months.
    """
    n = states.shape[0]
    ends = np.minimum(np.cumsum(np.maximum(lengths, 0), axis=1), n_months)
    ends[:, -1] = n_months
    lens = np.diff(ends, axis=1, prepend=0)
    return np.repeat(states.ravel(), lens.ravel()).reshape(n, n_months).astype(np.int8)


def _sustainable(rng, n, T):
    d0 = _geom(rng, 2, n, T // 4)
    pre = _pick(rng, (UB, INA, ACT), (0.7, 0.2, 0.1), n)
    j1 = _job(rng, n)
    switch = rng.random(n) < 0.3
    j2 = np.where(switch, (j1 + rng.integers(1, 3, n)) % 3, j1).astype(np.int8)
    first_job = np.where(switch, rng.integers(1, np.maximum(T - d0, 2)), T)
    m = _decode(np.stack([pre, j1, j2], 1), np.stack([d0, first_job, np.full(n, T)], 1), T)
    gap = np.flatnonzero(rng.random(n) < 0.10)
    if gap.size:
        g_len = np.where(rng.random(gap.size) < 0.15, 2, 1)
        lo = d0[gap] + 1
        start = lo + np.floor(rng.random(gap.size) * np.maximum(T - 1 - lo, 1)).astype(int)
        g_state = _pick(rng, (UB, INA), (0.7, 0.3), gap.size)
        start = np.minimum(start, T - 1)
        m[gap, start] = g_state
        two = g_len == 2
        m[gap[two], np.minimum(start[two] + 1, T - 1)] = g_state[two]
    return m


def _sustainable_interrupted(rng, n, T):
    d0 = _geom(rng, 2, n, T // 6)
    pre = _pick(rng, (UB, INA, ACT), (0.7, 0.2, 0.1), n)
    k2 = rng.random(n) < 0.3
    cap = int(np.ceil(0.15 * T))
    g1 = np.minimum(2 + rng.poisson(2, n), cap)
    g2 = np.where(k2, np.minimum(2 + rng.poisson(2, n), cap), 0)
    avail = np.maximum(T - d0 - g1 - g2, 1)
    w = rng.random((n, 3)) + 0.05
    w[~k2, 1] = 0.0  # one interruption: job, gap, job
    w = w / w.sum(1, keepdims=True)
    a1 = np.maximum(np.floor(avail * w[:, 0]).astype(int), 1)
    a2 = np.floor(avail * w[:, 1]).astype(int)
    gap_states = (UB, INA, ACT, ALW, RIS)
    gap_p = (0.6, 0.15, 0.1, 0.1, 0.05)
    j1 = _job(rng, n)
    j2 = np.where(rng.random(n) < 0.5, _job(rng, n), j1).astype(np.int8)
    j3 = np.where(rng.random(n) < 0.5, _job(rng, n), j2).astype(np.int8)
    states = np.stack([pre, j1, _pick(rng, gap_states, gap_p, n), j2,
                       _pick(rng, gap_states, gap_p, n), j3], 1)
    lengths = np.stack([d0, a1, g1, a2, g2, np.full(n, T)], 1)
    return _decode(states, lengths, T)


def _nonsustainable_interrupted(rng, n, T):
    # Below 36 months the cycle shortens in proportion, so that a short follow-up still
    # holds two interruptions; the share of months in a job stays about 1/3.
    f = min(1.0, T / 36)
    cycles = T // 3 + 1
    d0 = _geom(rng, 2 * f, n, T // 4)
    pre = _pick(rng, (UB, INA), (0.85, 0.15), n)
    jobs = _job(rng, n * cycles, probs=(0.35, 0.5, 0.15)).reshape(n, cycles)
    gaps = _pick(rng, (UB, INA, ACT, RIS, ALW), (0.75, 0.12, 0.06, 0.05, 0.02),
                 n * cycles).reshape(n, cycles)
    j_len = 1 + rng.poisson(2.0 * f, (n, cycles))
    g_len = 2 + rng.poisson(4.5 * f, (n, cycles))
    states = np.empty((n, 1 + 2 * cycles), dtype=np.int8)
    lengths = np.empty((n, 1 + 2 * cycles), dtype=np.int64)
    states[:, 0], lengths[:, 0] = pre, d0
    states[:, 1::2], lengths[:, 1::2] = jobs, j_len
    states[:, 2::2], lengths[:, 2::2] = gaps, g_len
    return _decode(states, lengths, T)


def _nonsustainable(rng, n, T):
    d0 = _geom(rng, 1, n, T // 6)
    job_len = np.where(rng.random(n) < 0.5, np.minimum(1 + rng.poisson(2, n), T // 6), 0)
    act_len = np.where(rng.random(n) < 0.15, rng.integers(2, 5, n), 0)
    u = rng.random(n)
    tail = np.where(u < 0.30, INA, np.where(u < 0.45, -1, UB)).astype(np.int8)
    late_job = tail == -1
    tail[late_job] = _job(rng, int(late_job.sum()))
    half, fifth = T // 2, int(np.ceil(0.8 * T))
    tail_start = np.where(late_job, rng.integers(fifth, T, n), rng.integers(half, T, n))
    before_tail = np.maximum(tail_start - d0 - job_len - act_len, 0)
    ub1 = np.floor(rng.random(n) * before_tail).astype(int)
    ub2 = before_tail - ub1
    states = np.stack([np.full(n, UB), _job(rng, n), np.full(n, UB), np.full(n, ACT),
                       np.full(n, UB), tail], 1).astype(np.int8)
    lengths = np.stack([d0, job_len, ub1, act_len, ub2, np.full(n, T)], 1)
    return _decode(states, lengths, T)


def _integration_income(rng, n, T):
    job_len = np.where(rng.random(n) < 0.35, np.minimum(1 + rng.poisson(1.5, n), 6), 0)
    ep_len = np.where(rng.random(n) < 0.3, rng.integers(2, 7, n), 0)
    ris1 = np.floor(rng.random(n) * np.maximum(T - job_len - ep_len, 0)).astype(int)
    states = np.stack([_job(rng, n), np.full(n, RIS), _pick(rng, (UB, INA), (0.6, 0.4), n),
                       np.full(n, RIS)], 1).astype(np.int8)
    lengths = np.stack([job_len, ris1, ep_len, np.full(n, T)], 1)
    return _decode(states, lengths, T)


def _allowance(rng, n, T):
    first = _pick(rng, (FT, PT, SE, UB, INA), (0.2, 0.12, 0.03, 0.5, 0.15), n)
    first_len = rng.integers(0, int(0.4 * T) + 1, n)
    states = np.stack([first, np.full(n, ALW)], 1).astype(np.int8)
    return _decode(states, np.stack([first_len, np.full(n, T)], 1), T)


def _onem_activation(rng, n, T):
    d0 = _geom(rng, 1, n, T // 6)
    act_len = rng.integers(int(np.ceil(0.55 * T)), T + 1, n)
    tail = _pick(rng, (UB, FT, PT, INA), (0.5, 0.15, 0.15, 0.2), n)
    states = np.stack([np.full(n, UB), np.full(n, ACT), tail], 1).astype(np.int8)
    return _decode(states, np.stack([d0, act_len, np.full(n, T)], 1), T)


_PROCESSES = {
    "sustainable": _sustainable,
    "sustainable_interrupted": _sustainable_interrupted,
    "nonsustainable_interrupted": _nonsustainable_interrupted,
    "nonsustainable": _nonsustainable,
    "integration_income": _integration_income,
    "allowance": _allowance,
    "onem_activation": _onem_activation,
}


def simulate_matrix(types: np.ndarray, n_months: int, rng: np.random.Generator) -> np.ndarray:
    """Dense int8 person x month state matrix for integer career types ``types``."""
    out = np.empty((len(types), n_months), dtype=np.int8)
    for k, code in enumerate(CAREER_TYPE_CODES):
        rows = np.flatnonzero(types == k)
        if rows.size:
            out[rows] = _PROCESSES[code](rng, rows.size, n_months)
    return out


def spells_from_matrix(matrix: np.ndarray, ids: np.ndarray, alphabet=CPAS_ALPHABET) -> pd.DataFrame:
    """Spell table (person_id, spell, state, start_month, end_month, n_months), months 1-based."""
    n, t = matrix.shape
    change = np.ones((n, t), dtype=bool)
    change[:, 1:] = matrix[:, 1:] != matrix[:, :-1]
    row, start = np.nonzero(change)
    flat = row * t + start
    end_flat = np.append(flat[1:], n * t)
    # A spell ends where the next one starts, or at the end of the person's row.
    row_end = (row + 1) * t
    stop = np.minimum(end_flat, row_end)
    spell_no = np.arange(len(row)) - np.searchsorted(row, row, side="left")
    return pd.DataFrame({
        "person_id": ids[row],
        "spell": (spell_no + 1).astype(np.int32),
        "state": pd.Categorical.from_codes(matrix[row, start], categories=list(alphabet)),
        "start_month": (start + 1).astype(np.int32),
        "end_month": (stop - row * t).astype(np.int32),
        "n_months": (stop - flat).astype(np.int32),
    })


def generate(
    *,
    seed: int = 0,
    n_persons: int = 20_000,
    n_months: int = 36,
    spells: bool = False,
    programme_effect: float | None = None,
) -> SyntheticDataset:
    """Draw CPAS article 60§7 careers from the seven study types (see module docstring).

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the output is a function of the arguments.
    n_persons
        Number of persons. Type counts are exact largest-remainder quotas of the study
        shares, so shares are within 1 point of the study's from 100 persons on.
    n_months
        Months followed after the end of the contract (>= 12: the processes are
        defined in fractions of the period and need a year to express interruptions).
    spells
        Also return a ``"spells"`` table (one row per person x maximal run of a state).
    programme_effect
        Probability that the programme turns a non-sustainable career of a person in the
        programme arm into a sustainable one (module docstring, step 4); ``None`` (default)
        draws no arm.

    Returns
    -------
    SyntheticDataset
        ``tables["persons"]`` (person_id + covariates), ``tables["sequences"]`` (long:
        person_id, month 1..n_months, state), optionally ``tables["spells"]``;
        ``truth["career_type"]`` (person_id, career_type), ``truth["type_shares"]``
        (study vs realised), ``truth["mnlogit_coefficients"]`` (see
        :func:`true_coefficients`), ``truth["matrix"]`` (the int8 person x month matrix,
        codes into ``truth["alphabet"]``).
    """
    if int(n_persons) < 1:
        raise ValueError(f"n_persons must be >= 1, got {n_persons!r}")
    if int(n_months) < 12:
        raise ValueError(f"n_months must be >= 12 (the type processes need a year), got {n_months!r}")
    n, T = int(n_persons), int(n_months)
    rng = np.random.default_rng(seed)

    quotas = type_quotas(n)
    types = rng.permutation(np.repeat(np.arange(len(CAREER_TYPE_CODES)), quotas))

    cov_codes = {cov: _draw_categorical(rng, _conditional_probs(cov)[types]) for cov in COVARIATES}
    band_cats = np.array(COVARIATES["age_band"][0])
    bands = band_cats[cov_codes["age_band"]]
    lo = np.array([_AGE_BAND_RANGE[b][0] for b in band_cats])[cov_codes["age_band"]]
    hi = np.array([_AGE_BAND_RANGE[b][1] for b in band_cats])[cov_codes["age_band"]]
    age = (lo + np.floor(rng.random(n) * (hi - lo + 1))).astype(np.int16)
    cpas = rng.choice(len(CPAS_NAMES), size=n, p=_CPAS_WEIGHTS)

    ids = np.arange(1, n + 1, dtype=np.int64)

    def cat(cov, codes):
        cats = list(COVARIATES[cov][0])
        return pd.Categorical.from_codes(codes, categories=cats)

    persons = pd.DataFrame({
        "person_id": ids,
        "sex": cat("sex", cov_codes["sex"]),
        "age": age,
        "age_band": pd.Categorical(bands, categories=sorted(_AGE_BAND_RANGE)),
        "education": cat("education", cov_codes["education"]),
        "nationality_group": cat("nationality_group", cov_codes["nationality_group"]),
        "cpas": pd.Categorical.from_codes(cpas, categories=list(CPAS_NAMES)),
        "contract_months": np.array(COVARIATES["contract_months"][0], dtype=np.int16)[
            cov_codes["contract_months"]],
    })

    arm_truth = {}
    if programme_effect is not None:
        types, arm, arm_truth = _programme(seed, types, persons, programme_effect, T)
        persons["arm"] = pd.Categorical(np.where(arm, "programme", "comparison"),
                                        categories=["comparison", "programme"])
    matrix = simulate_matrix(types, T, rng)
    if programme_effect is not None:
        arm_truth = _effects_on_the_treated(matrix, arm_truth, T)
    sequences = pd.DataFrame({
        "person_id": np.repeat(ids, T),
        "month": np.tile(np.arange(1, T + 1, dtype=np.int16), n),
        "state": pd.Categorical.from_codes(matrix.ravel(), categories=list(CPAS_ALPHABET)),
    })
    tables = {"persons": persons, "sequences": sequences}
    if spells:
        tables["spells"] = spells_from_matrix(matrix, ids)

    counts = np.bincount(arm_truth.get("untreated_type", types), minlength=len(CAREER_TYPE_CODES))
    type_shares = pd.DataFrame({
        "career_type": list(CAREER_TYPE_CODES),
        "study_share": [STUDY_SHARES[k] for k in CAREER_TYPE_CODES],
        "n": counts,
        "share": counts / n,
    })
    truth = {
        "career_type": pd.DataFrame({
            "person_id": ids,
            "career_type": pd.Categorical.from_codes(types, categories=list(CAREER_TYPE_CODES)),
        }),
        "type_shares": type_shares,
        "mnlogit_coefficients": true_coefficients(),
        "base_type": BASE_TYPE,
        "matrix": matrix,
        "alphabet": CPAS_ALPHABET,
    }
    params = {"seed": seed, "n_persons": n, "n_months": T, "spells": spells}
    if programme_effect is not None:
        truth["career_type"]["career_type"] = pd.Categorical.from_codes(
            types, categories=list(CAREER_TYPE_CODES))
        truth["untreated_career_type"] = pd.Categorical.from_codes(
            arm_truth["untreated_type"], categories=list(CAREER_TYPE_CODES))
        truth["att_types"] = arm_truth["att_types"]
        truth["att_months"] = arm_truth["att_months"]
        truth["propensity_coefficients"] = dict(_ARM_LOGIT)
        params["programme_effect"] = programme_effect
    return SyntheticDataset("cpas_careers", tables, truth, params,
                            _dictionary(T, programme_effect is not None))


#: Log-odds of being in the programme arm (step 4 of the module docstring).
_ARM_LOGIT: dict[str, float] = {
    "Intercept": -0.4, "sex[F]": 0.4, "education[medium]": 0.4, "education[high]": 0.8,
    "age_band[18-25]": 0.2, "age_band[46-55]": -0.3, "age_band[56-64]": -0.8,
}


def _programme(seed, types, persons, effect, T):
    """Arm and the types lived: a non-sustainable Y(0) becomes sustainable with prob. effect."""
    if not 0 <= float(effect) <= 1:
        raise ValueError(f"programme_effect must be a probability in [0, 1], got {effect!r}")
    # Separate stream: the arm never shifts the draws of the data without a programme.
    arm_rng = np.random.default_rng([int(seed), 607])
    index = np.full(len(types), _ARM_LOGIT["Intercept"])
    for term, beta in _ARM_LOGIT.items():
        if term != "Intercept":
            column, level = term[:-1].split("[")
            index += beta * (persons[column].astype(str).to_numpy() == level)
    arm = arm_rng.random(len(types)) < 1 / (1 + np.exp(-index))
    code = {c: i for i, c in enumerate(CAREER_TYPE_CODES)}
    eligible = np.isin(types, [code["nonsustainable"], code["nonsustainable_interrupted"]])
    moved = arm & eligible & (arm_rng.random(len(types)) < float(effect))
    lived = types.copy()
    lived[moved] = code["sustainable"]
    return lived, arm, {"untreated_type": types, "arm": arm, "moved": moved,
                        "rng": arm_rng}


def _effects_on_the_treated(matrix, info, T):
    """Sample ATT on type shares and months in each state (Y(0) sequences of the movers)."""
    arm, moved, y0 = info["arm"], info["moved"], info["untreated_type"]
    k = len(CAREER_TYPE_CODES)
    lived = y0.copy()
    lived[moved] = CAREER_TYPE_CODES.index("sustainable")
    shares1 = np.bincount(lived[arm], minlength=k) / arm.sum()
    shares0 = np.bincount(y0[arm], minlength=k) / arm.sum()
    untreated = matrix.copy()
    untreated[moved] = simulate_matrix(y0[moved], T, info["rng"])
    months = lambda m: np.stack([(m[arm] == s).sum(axis=1).mean()  # noqa: E731
                                 for s in range(len(CPAS_ALPHABET))])
    return {**info,
            "att_types": pd.Series(shares1 - shares0, index=list(CAREER_TYPE_CODES),
                                   name="att"),
            "att_months": pd.Series(months(matrix) - months(untreated),
                                    index=list(CPAS_ALPHABET), name="att")}


def _dictionary(T: int, arm: bool = False) -> dict[str, dict[str, ColumnDoc]]:
    states = ", ".join(CPAS_ALPHABET)
    docs = {
        "persons": {
            "person_id": ColumnDoc("int64", "Person identifier (pseudonymous, 1..n)"),
            "sex": ColumnDoc("category", "Sex", "M, F"),
            "age": ColumnDoc("int16", "Age in years at the end of the article 60§7 contract", "18-64"),
            "age_band": ColumnDoc("category", "Age band of `age`", "18-25, 26-35, 36-45, 46-55, 56-64"),
            "education": ColumnDoc("category", "Highest education level", "low, medium, high"),
            "nationality_group": ColumnDoc("category", "Nationality group", "Belgian, EU, non-EU"),
            "cpas": ColumnDoc("category", "CPAS (commune) that signed the contract; no effect on type",
                              ", ".join(CPAS_NAMES)),
            "contract_months": ColumnDoc("int16", "Length of the article 60§7 contract, months",
                                         "12, 18, 24"),
        },
        "sequences": {
            "person_id": ColumnDoc("int64", "Person identifier (key to persons)"),
            "month": ColumnDoc("int16", "Month since the end of the contract", f"1..{T}"),
            "state": ColumnDoc("category", "Monthly status (see evalkit.typology.states)", states),
        },
        "spells": {
            "person_id": ColumnDoc("int64", "Person identifier (key to persons)"),
            "spell": ColumnDoc("int32", "Spell number within the person, from 1"),
            "state": ColumnDoc("category", "Status during the spell", states),
            "start_month": ColumnDoc("int32", "First month of the spell", f"1..{T}"),
            "end_month": ColumnDoc("int32", "Last month of the spell (inclusive)", f"1..{T}"),
            "n_months": ColumnDoc("int32", "Length of the spell in months"),
        },
    }
    if arm:
        docs["persons"]["arm"] = ColumnDoc(
            "category", "Arm: in the programme or the comparison group (depends on the "
            "covariates)", "comparison, programme")
    return docs
