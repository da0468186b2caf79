"""Did the programme change careers? Trajectory outcomes compared between arms.

Two complementary answers:

- :func:`trajectory_effects`: each person's career is summarised by outcomes — one 0/1
  indicator per career type (the multinomial type outcome) and the months spent in each
  state — and the arms are compared with the cohort estimators
  (:class:`evalkit.cohort.CohortComparison`: IPW, AIPW, matching... for the ATT or ATE,
  adjusting for pre-programme covariates). With IPW the effects on the type shares are
  differences of weighted multinomial shares and add up to zero over the types; so do
  AIPW's, whose outcome regressions share one design.
- :func:`evalkit.typology.discrepancy.discrepancy_analysis`: do whole trajectories differ
  between arms (pseudo-R², permutation test)? — descriptive, not adjusted for covariates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError
from evalkit.typology.states import as_sequences, sequence_labels

TYPE_PREFIX = "type: "
MONTHS_PREFIX = "months: "


class TrajectoryEffects:
    """Effects of the programme on career types and on months in each state.

    Attributes
    ----------
    types : pandas.DataFrame
        One row per career type: label, estimate (change in the share, in [−1, 1]),
        std_error, ci_lower, ci_upper, p_value, and the shares of the treated and of
        their counterfactual (``share_treated``, ``share_counterfactual``).
    months : pandas.DataFrame
        One row per state: label, estimate (change in mean months), std_error, CI, p-value.
    cohort : evalkit.cohort.CohortEstimateResults
        The underlying estimates of every outcome (balance, propensity, ledger...).
    """

    def __init__(self, cohort, type_codes, type_labels, states, state_labels, level):
        self.cohort = cohort
        self.level = level
        frame = cohort.to_frame(level)
        po = cohort.potential_outcomes

        def part(prefix, codes, labels):
            rows = [f"{prefix}{c}" for c in codes]
            out = frame.loc[rows, ["estimate", "std_error", "ci_lower", "ci_upper",
                                   "p_value"]].copy()
            out.index = pd.Index(list(codes))
            out.insert(0, "label", [labels.get(c, c) for c in codes])
            if po is not None and {"treated", "counterfactual"} <= set(po.columns):
                out["mean_treated"] = po.loc[rows, "treated"].to_numpy()
                out["mean_counterfactual"] = po.loc[rows, "counterfactual"].to_numpy()
            return out

        self.types = part(TYPE_PREFIX, type_codes, type_labels).rename(
            columns={"mean_treated": "share_treated",
                     "mean_counterfactual": "share_counterfactual"})
        self.types.index.name = "career_type"
        self.months = part(MONTHS_PREFIX, states, state_labels)
        self.months.index.name = "state"

    def summary(self) -> str:
        fmt = {"estimate": "{:+.3f}", "std_error": "{:.3f}", "ci_lower": "{:+.3f}",
               "ci_upper": "{:+.3f}", "p_value": "{:.3f}"}

        def show(frame):
            shown = frame.drop(columns=[c for c in frame if c.startswith(("share_", "mean_"))])
            return shown.to_string(formatters={k: v.format for k, v in fmt.items()})

        return "\n".join([
            f"Effect of the programme on careers ({self.cohort.estimand}, "
            f"{self.cohort.method})", "=" * 60,
            "Career types (change in share):", show(self.types), "-" * 60,
            "Months in each state (change in mean months):", show(self.months)])

    def plot(self, lang: str = "en"):
        """Two panels: change in type shares (points) and in months per state, with CIs."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(13, 0.35 * max(len(self.types),
                                                               len(self.months)) + 2))
        for ax, frame, scale, xlabel in (
                (axes[0], self.types, 100.0, ("change in share (points of %)" if lang == "en"
                                              else "écart de part (points de %)")),
                (axes[1], self.months, 1.0, ("change in mean months" if lang == "en"
                                             else "écart de mois en moyenne"))):
            y = np.arange(len(frame))[::-1]
            est = scale * frame["estimate"].to_numpy()
            err = scale * np.vstack([frame["estimate"] - frame["ci_lower"],
                                     frame["ci_upper"] - frame["estimate"]])
            ax.errorbar(est, y, xerr=err, fmt="o", color="#0072B2", capsize=3)
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_yticks(y, frame["label"])
            ax.set_xlabel(xlabel)
        fig.tight_layout()
        return fig


def trajectory_outcomes(sequences, types, *, id_name: str | None = None) -> pd.DataFrame:
    """Per-person outcomes: ``type: <code>`` indicators and ``months: <state>`` counts.

    ``types`` is a :class:`~evalkit.typology.rules.RuleTypologyResults` (its persons and
    type order) or a categorical Series of types indexed by person id.
    """
    from evalkit.typology.rules import RuleTypologyResults

    seq = as_sequences(sequences)
    if isinstance(types, RuleTypologyResults):
        type_of = pd.Series(types.types["career_type"].to_numpy(),
                            index=types.types[types.id_name].to_numpy())
        codes = list(types.params.index)
    else:
        type_of = pd.Series(types)
        codes = (list(type_of.cat.categories) if isinstance(type_of.dtype, pd.CategoricalDtype)
                 else sorted(pd.unique(type_of.astype(str))))
    keep = pd.Index(seq.ids).isin(type_of.index)
    ids = seq.ids[keep]
    matrix = seq.matrix[keep]
    out = pd.DataFrame(index=pd.Index(ids, name=id_name or getattr(seq, "id", "person_id")))
    lived = type_of.reindex(ids).astype(str).to_numpy()
    for code in codes:
        out[f"{TYPE_PREFIX}{code}"] = (lived == str(code)).astype(float)
    for j, state in enumerate(seq.alphabet):
        out[f"{MONTHS_PREFIX}{state}"] = (matrix == j).sum(axis=1).astype(float)
    return out


def trajectory_effects(sequences, persons: pd.DataFrame, *, group: str,
                       covariates: Sequence[str], treated=None, types=None, rules=None,
                       id: str = "person_id", weight: str | None = None,  # noqa: A002
                       method: str = "aipw", estimand: str = "ATT", level: float = 0.95,
                       type_labels=None, lang: str = "en", **fit_options) -> TrajectoryEffects:
    """Effect of the programme on career types and months in each state.

    Parameters
    ----------
    sequences
        :class:`~evalkit.data.Sequences` of every person (both arms).
    persons
        One row per person: ``id``, the arm column ``group``, the pre-programme
        ``covariates`` (and ``weight``).
    group, treated
        Arm column and the label of the programme arm (needed unless 0/1 or booleans).
    types
        A fitted :class:`~evalkit.typology.rules.RuleTypologyResults` (or a Series of
        types by person id); by default the rule typology of ``sequences`` with ``rules``.
    method, estimand, fit_options
        Passed to :meth:`evalkit.cohort.CohortComparison.fit` (``"ipw"``, ``"aipw"``,
        ``"matching"``...; ``"ATT"`` or ``"ATE"``).

    Returns
    -------
    TrajectoryEffects
        ``types`` (change in each type's share) and ``months`` (change in mean months in
        each state) with standard errors from the estimators' influence functions.
    """
    from evalkit.cohort import CohortComparison
    from evalkit.typology.rules import RuleTypology, RuleTypologyResults

    seq = as_sequences(sequences)
    if id not in persons.columns:
        raise DataValidationError(f"persons has no id column {id!r}; pass id=<column>")
    if types is None:
        types = RuleTypology(seq, rules=rules, too_short="exclude").fit()
    outcomes = trajectory_outcomes(seq, types, id_name=id)
    frame = persons.merge(outcomes, left_on=id, right_index=True, how="inner",
                          validate="one_to_one")
    if frame.empty:
        raise DataValidationError(
            f"no person of `persons` (column {id!r}) has a classified sequence; check "
            "that both tables use the same identifiers")
    comparison = CohortComparison(frame, group=group, outcome=list(outcomes.columns),
                                  covariates=list(covariates), weight=weight, treated=treated,
                                  id=id)
    cohort = comparison.fit(method=method, estimand=estimand, **fit_options)
    if isinstance(types, RuleTypologyResults):
        codes, labels = list(types.params.index), types.labels(lang)
    else:
        codes = [c[len(TYPE_PREFIX):] for c in outcomes.columns if c.startswith(TYPE_PREFIX)]
        labels = {}
    labels = {**labels, **(type_labels or {})}
    return TrajectoryEffects(cohort, codes, labels, list(seq.alphabet),
                             sequence_labels(seq, lang), level)
