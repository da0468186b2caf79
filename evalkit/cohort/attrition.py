"""Attrition of a re-interviewed cohort: WWC classification and response weights.

:func:`attrition` takes the persons drawn for a follow-up interview (one row each, with
their group and whether they responded) and returns an :class:`AttritionResults` with

* attrition rates: overall ``1 - n_responded / n_sampled`` and per group, and the
  differential attrition ``|attrition_treated - attrition_control|`` (What Works
  Clearinghouse definitions, with survey weights when given);
* the WWC classification (low / high attrition) against the liberal ("optimistic") and
  cautious boundaries of the *WWC Standards Handbook, version 4.1*, Table II.1 (unchanged
  in version 5.0): for each whole percentage of overall attrition from 0 to 65 %, the highest
  differential attrition (percentage points) that still counts as low attrition. Overall
  attrition is rounded to the nearest whole percent before the look-up; a differential on
  the boundary is low; beyond 65 % overall (57 % under the cautious boundary) attrition is
  high whatever the differential. Which boundary applies is a design decision (cautious
  when the intervention may itself change who responds), not a result to choose after
  the fact;
* when baseline covariates are given, a logit response model
  ``logit P(responded) = a + b * treated + c'x`` and inverse-probability-of-response
  weights ``w_i = s_i / p_i`` for respondents (``s`` = survey weight), which reweight the
  respondents to the covariate distribution of everyone drawn, within each group (valid
  when response depends on the observed covariates only: "missing at random"). The
  non-respondents are recorded in the ledger as excluded from outcome analyses and
  represented through these weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.cohort.propensity import fit_logit
from evalkit.cohort.sample import CohortSample
from evalkit.data.persons import PersonTable
from evalkit.data.validation import show_values
from evalkit.errors import ConfigError, DataValidationError, EmptyDataError
from evalkit.options import check_option
from evalkit.results import EstimateResults
from evalkit.summary import Summary

# WWC Standards Handbook v4.1, Table II.1: overall attrition 0..65 % -> highest differential
# attrition (percentage points) for low attrition. Cautious ends at 57 % overall.
WWC_OVERALL = np.arange(66)
WWC_CAUTIOUS = np.array([
    5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0,
    5.9, 5.9, 5.8, 5.7, 5.5, 5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3,
    4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1, 2.9, 2.8, 2.6, 2.5, 2.3, 2.1, 2.0,
    1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.0,
    *[np.nan] * 8,
])
WWC_LIBERAL = np.array([
    10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9,
    10.9, 10.8, 10.8, 10.7, 10.6, 10.5, 10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4,
    9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3,
    6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8,
    2.6, 2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3,
])
_BOUNDARIES = {"liberal": WWC_LIBERAL, "cautious": WWC_CAUTIOUS}
_ALIASES = {"optimistic": "liberal", "conservative": "cautious"}


def wwc_boundary(overall: float, boundary: str = "cautious") -> float:
    """Highest differential attrition (a proportion) for low attrition at ``overall``.

    ``overall`` is a proportion in [0, 1], rounded to the nearest whole percent for the
    look-up in WWC Table II.1. Returns NaN where no differential qualifies.
    """
    name = check_option("boundary", _ALIASES.get(boundary, boundary), tuple(_BOUNDARIES))
    if not 0 <= overall <= 1:
        raise ConfigError(f"overall attrition must be a proportion in [0, 1], got {overall!r}.")
    pct = int(np.round(overall * 100))
    if pct > WWC_OVERALL[-1]:
        return float("nan")
    return float(_BOUNDARIES[name][pct]) / 100


def wwc_classify(overall: float, differential: float, boundary: str = "cautious") -> str:
    """``"low"`` or ``"high"`` attrition under the WWC ``boundary`` (see :func:`wwc_boundary`).

    A differential exactly on the boundary is low (1e-9 tolerance for float rounding).
    """
    if not 0 <= differential <= 1:
        raise ConfigError(
            f"differential attrition must be a proportion in [0, 1], got {differential!r}."
        )
    limit = wwc_boundary(overall, boundary)
    return "low" if np.isfinite(limit) and differential <= limit + 1e-9 else "high"


class AttritionResults:
    """Attrition of a follow-up sample, its WWC classification and response weights.

    Attributes
    ----------
    rates
        Frame indexed by ``treated`` label, ``control`` label and ``overall``: ``n_sampled``,
        ``n_responded``, ``attrition`` (weighted by survey weights when given).
    overall, differential
        Overall attrition and ``|attrition_treated - attrition_control|`` (proportions).
    classification
        Frame indexed by boundary (``liberal``, ``cautious``): ``max_differential`` and
        ``attrition`` (``"low"``/``"high"``).
    response_model
        :class:`~evalkit.results.EstimateResults` of the response logit (log-odds
        coefficients, model-based SEs), or ``None`` without covariates.
    weights
        Inverse-probability-of-response weights (times survey weights) indexed like the
        input rows; 0 for non-respondents; ``None`` without covariates.
    response_probability
        Fitted response probabilities (same index), or ``None``.
    ledger
        Exclusion ledger: rows dropped for missing group/covariates, then the
        non-respondents.
    """

    def __init__(self, rates, classification, response_model, weights, response_probability,
                 ledger, treated_label, control_label):
        self.rates = rates
        self.classification = classification
        self.response_model = response_model
        self.weights = weights
        self.response_probability = response_probability
        self.ledger = ledger
        self.treated_label = treated_label
        self.control_label = control_label

    @property
    def overall(self) -> float:
        return float(self.rates.loc["overall", "attrition"])

    @property
    def differential(self) -> float:
        return float(abs(self.rates["attrition"].iloc[0] - self.rates["attrition"].iloc[1]))

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame: the rates, then the differential and the two classifications.

        ``level`` is accepted so that every results object answers ``to_frame(level)``
        (reports call it that way); attrition rates carry no confidence interval.
        """
        frame = self.rates.copy()
        frame.loc["differential", "attrition"] = self.differential
        for name, row in self.classification.iterrows():
            frame.loc[f"wwc_{name}", "attrition"] = row["max_differential"]
            frame.loc[f"wwc_{name}", "classification"] = row["attrition"]
        return frame

    def summary(self, level: float = 0.95) -> Summary:
        """Rates, differential attrition, WWC classification and the response model
        (``level`` accepted for the shared interface: the rates carry no interval)."""
        notes = [f"differential attrition: {self.differential:.4f}"]
        if self.response_model is not None:
            notes.append(str(self.response_model.summary()))
        return Summary(f"Attrition of the follow-up sample ({self.treated_label!r} vs "
                       f"{self.control_label!r})", self.rates,
                       more={"WWC (Standards Handbook 4.1, Table II.1)": self.classification},
                       notes=notes)

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return (f"<AttritionResults: overall {self.overall:.3f}, differential "
                f"{self.differential:.3f}, cautious {self.classification.loc['cautious', 'attrition']}>")

    def weighted_respondents(self, data: pd.DataFrame) -> pd.DataFrame:
        """Respondent rows of ``data`` (same index as the input) with a ``response_weight``
        column, ready for outcome analyses (pass ``weight="response_weight"``)."""
        if self.weights is None:
            raise ConfigError("no response weights: call attrition(..., covariates=[...]).")
        kept = self.weights[self.weights > 0]
        out = data.loc[kept.index].copy()
        out["response_weight"] = kept.to_numpy()
        return out


def attrition(
    data: PersonTable | pd.DataFrame,
    *,
    group: str | None = None,
    responded: str = "responded",
    covariates: Sequence[str] | None = None,
    weight: str | None = None,
    treated=None,
    id: str | None = None,  # noqa: A002 - same name as PersonTable
) -> AttritionResults:
    """Overall and differential attrition, WWC classification and response weights.

    Parameters
    ----------
    data
        One row per person drawn for the follow-up (respondents and non-respondents), with
        the baseline covariates: a DataFrame or a :class:`PersonTable` whose outcomes
        include ``responded``.
    group
        Treatment-group column (two labels; default: the PersonTable's ``group``).
    responded
        0/1 (or boolean) column: 1 when the person was re-interviewed.
    covariates
        Baseline covariates of the response model; none = rates only.
    weight
        Survey weight column (weights the rates and the response model).
    treated
        Treated label when the group labels are not 0/1 or booleans.
    id
        Person id column of a DataFrame (used in the ledger); row labels otherwise.

    Returns
    -------
    AttritionResults
    """
    covariates = list(covariates or [])
    frame = data.data if isinstance(data, PersonTable) else data
    column = group if group is not None else getattr(data, "group", None)
    if treated is None and column in frame.columns and pd.api.types.is_bool_dtype(frame[column]):
        treated = True
    sample = CohortSample(data, group=group, covariates=covariates, outcomes=[responded],
                          weight=weight, treated=treated, id=id)
    r = sample.y[responded]
    bad = ~np.isin(r, (0.0, 1.0))
    if bad.any():
        raise DataValidationError(
            f"column {responded!r} must be 0/1 (responded or not); found "
            f"{show_values(pd.unique(r[bad]).tolist())}. Recode it (missing means the person "
            "was not re-interviewed: code 0)."
        )
    sample.check_groups()
    d, s = sample.d, sample.s
    rows = {}
    for label, mask in ((sample.treated_label, d == 1), (sample.control_label, d == 0),
                        ("overall", np.ones_like(d, dtype=bool))):
        ws = s[mask]
        rows[label] = {"n_sampled": int(mask.sum()), "n_responded": int(r[mask].sum()),
                       "attrition": 1 - float(ws @ r[mask] / ws.sum())}
    rates = pd.DataFrame(rows).T
    rates[["n_sampled", "n_responded"]] = rates[["n_sampled", "n_responded"]].astype(int)
    overall = float(rates.loc["overall", "attrition"])
    differential = abs(rates["attrition"].iloc[0] - rates["attrition"].iloc[1])
    classification = pd.DataFrame(
        {b: {"max_differential": wwc_boundary(overall, b),
             "attrition": wwc_classify(overall, differential, b)} for b in ("liberal", "cautious")}
    ).T
    classification["max_differential"] = classification["max_differential"].astype(float)

    ledger = sample.ledger
    n_out = int((r == 0).sum())
    if n_out:
        ledger.record("follow-up", "not re-interviewed (attrition)"
                      + ("; represented by inverse-probability-of-response weights"
                         if covariates else ""), n_out, n_out)

    model = weights = prob = None
    if covariates:
        if r.min() == r.max():
            raise EmptyDataError(
                f"everyone has {responded!r} = {int(r[0])}: no response model can be fitted."
            )
        x = np.column_stack([d, sample.x])
        names = [f"group[{sample.treated_label}]", *sample.covariate_names]
        fit = fit_logit(x, r, s, names)
        index = ["intercept", *names]
        model = EstimateResults(
            pd.Series(fit.beta, index=index),
            pd.Series(np.sqrt(np.diag(fit.hessian_inv)), index=index),
            title=f"Response model: logit P({responded} = 1)",
            info={"persons": len(r), "respondents": int(r.sum())},
        )
        prob = pd.Series(fit.ps, index=sample.row_index, name="response_probability")
        weights = pd.Series(np.where(r == 1, s / fit.ps, 0.0), index=sample.row_index,
                            name="response_weight")
    return AttritionResults(rates, classification, model, weights, prob, ledger,
                            sample.treated_label, sample.control_label)
