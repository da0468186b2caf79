"""Synthetic job-activation experiment where earnings are seen only for people in work.

People are randomised to an activation programme (``group`` = 1) or not. The
programme raises employment, so the employed in the programme arm include people who
would not have worked without it: comparing the earnings of the employed mixes the
effect on earnings with a change in who works (sample selection). Lee (2009) bounds
target the effect on the *always-employed*, who work whichever arm they are in; this
generator knows it exactly.

Data-generating process
-----------------------
* Covariate cells: ``age_band`` (18-29, 30-44, 45+; shares 0.35, 0.40, 0.25) x
  ``education`` (low, high; share high 0.4), independent.
* Employability ``V ~ N(0, 1)``. Employment ``S(d) = 1{V < a_x + kappa d}`` with
  ``a_x`` by cell and ``kappa = employment_effect`` (monotone: the programme never
  stops anyone working).
* Log monthly earnings ``Y(0) = m_x - selection_strength * V + 0.4 e`` with
  ``e ~ N(0, 1)``: the more employable earn more, so the marginal workers brought in
  by the programme earn less. ``Y(1) = Y(0) + effect``.

Truth
-----
``truth["effect_always_employed"]``
    ``E[Y(1) - Y(0) | S(0) = S(1) = 1] = effect`` (constant effect).
``truth["employment_effect"]``
    ``P(S(1) = 1) - P(S(0) = 1) = sum_x P(x) (Phi(a_x + kappa) - Phi(a_x))``.
``truth["naive_difference"]``
    Population difference in mean log earnings of the employed between arms,
    ``effect - selection_strength * (E[V | S(1)=1] - E[V | S(0)=1])`` (truncated-normal
    means), the biased comparison the bounds replace.
``truth["trimming_proportion"]``
    Population Lee trimming share ``(P(S(1)=1) - P(S(0)=1)) / P(S(1)=1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.datasets.base import ColumnDoc, SyntheticDataset
from evalkit.errors import ConfigError

AGE_BANDS = ("18-29", "30-44", "45+")
AGE_SHARES = (0.35, 0.40, 0.25)
EDUCATION = ("low", "high")
HIGH_SHARE = 0.4
# Employment index a_x and log-earnings level m_x by (age band, education).
_EMPLOYMENT = {("18-29", "low"): -0.6, ("18-29", "high"): 0.1, ("30-44", "low"): -0.3,
               ("30-44", "high"): 0.4, ("45+", "low"): -0.9, ("45+", "high"): -0.1}
_LEVEL = {("18-29", "low"): 7.1, ("18-29", "high"): 7.4, ("30-44", "low"): 7.3,
          ("30-44", "high"): 7.7, ("45+", "low"): 7.2, ("45+", "high"): 7.6}


def generate(*, seed: int = 0, n: int = 4000, effect: float = 0.05,
             employment_effect: float = 0.35, selection_strength: float = 0.3,
             share_treated: float = 0.5) -> SyntheticDataset:
    """Draw the experiment: one row per person, earnings missing for people not in work.

    Parameters
    ----------
    seed
        Seed of every draw.
    n
        People randomised (``round(n * share_treated)`` to the programme).
    effect
        Effect of the programme on log earnings (of everyone, so of the always-employed).
    employment_effect
        Shift ``kappa >= 0`` of the employment index (0: no selection problem).
    selection_strength
        How strongly employability raises earnings (0: employment is unrelated to
        earnings, and the naive comparison is unbiased).
    share_treated
        Share randomised to the programme.
    """
    if n < 20:
        raise ConfigError(f"n must be at least 20, got {n!r}.")
    if employment_effect < 0:
        raise ConfigError("employment_effect must be >= 0 (Lee bounds assume the programme "
                          f"never stops anyone working), got {employment_effect!r}.")
    if not 0 < share_treated < 1:
        raise ConfigError(f"share_treated must be in (0, 1), got {share_treated!r}.")
    rng = np.random.default_rng(seed)
    age = rng.choice(AGE_BANDS, size=n, p=AGE_SHARES)
    education = np.where(rng.random(n) < HIGH_SHARE, "high", "low")
    arm = rng.permutation(np.arange(n) < round(n * share_treated)).astype(int)
    cells = list(zip(age, education, strict=True))
    a = np.array([_EMPLOYMENT[c] for c in cells])
    m = np.array([_LEVEL[c] for c in cells])
    v = rng.normal(size=n)
    employed = (v < a + employment_effect * arm).astype(int)
    y0 = m - selection_strength * v + 0.4 * rng.normal(size=n)
    log_earnings = np.where(employed == 1, y0 + effect * arm, np.nan)
    persons = pd.DataFrame({
        "person_id": [f"P{i:06d}" for i in range(n)], "group": arm, "age_band": age,
        "education": education, "employed": employed, "log_earnings": log_earnings})
    return SyntheticDataset(
        name="activation_earnings", tables={"persons": persons},
        truth=_truth(effect, employment_effect, selection_strength),
        params={"seed": seed, "n": n, "effect": effect, "employment_effect": employment_effect,
                "selection_strength": selection_strength, "share_treated": share_treated},
        dictionary={"persons": {
            "person_id": ColumnDoc("str", "Person identifier"),
            "group": ColumnDoc("int64", "Randomised to the activation programme", "0, 1"),
            "age_band": ColumnDoc("str", "Age band at randomisation", ", ".join(AGE_BANDS)),
            "education": ColumnDoc("str", "Education level", ", ".join(EDUCATION)),
            "employed": ColumnDoc("int64", "In work at follow-up", "0, 1"),
            "log_earnings": ColumnDoc("float64", "Log monthly earnings at follow-up; missing "
                                                 "when not in work"),
        }})


def _truth(effect: float, kappa: float, strength: float) -> dict:
    weights = {(age, edu): share * (HIGH_SHARE if edu == "high" else 1 - HIGH_SHARE)
               for age, share in zip(AGE_BANDS, AGE_SHARES, strict=True) for edu in EDUCATION}
    p0 = p1 = 0.0
    earn0 = earn1 = 0.0
    for cell, w in weights.items():
        for d in (0, 1):
            c = _EMPLOYMENT[cell] + kappa * d
            share = w * stats.norm.cdf(c)
            # E[Y | S(d) = 1, x] = m_x - strength * E[V | V < c] + effect * d.
            mean = _LEVEL[cell] + strength * stats.norm.pdf(c) / stats.norm.cdf(c) + effect * d
            if d:
                p1, earn1 = p1 + share, earn1 + share * mean
            else:
                p0, earn0 = p0 + share, earn0 + share * mean
    return {"effect_always_employed": effect, "employment_effect": p1 - p0,
            "naive_difference": earn1 / p1 - earn0 / p0, "trimming_proportion": (p1 - p0) / p1}
