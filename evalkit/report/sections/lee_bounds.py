"""Lee bounds section: effects on outcomes seen only for people who answered (or work).

Input: one row per person drawn for follow-up, with roles ``group`` (arm), ``responded``
(0/1: outcome observed) and ``outcome`` or ``outcomes`` (missing for non-respondents).
For each outcome: the observed shares by arm, the trimming proportion, the naive
difference of respondents' means and Lee (2009) bounds with their Imbens–Manski
interval (:class:`evalkit.experiment.LeeBounds`); ``cells`` (discrete covariates)
tighten the bounds where every cell has ``min_cell`` respondents in each arm.
"""

from __future__ import annotations

import pandas as pd

from evalkit.report.elements import Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def _lee_bounds(data, ctx, params) -> Section:
    from evalkit.experiment import LeeBounds

    frame = data.frame
    group, responded = data.role("group"), data.role("responded")
    outcomes = data.role("outcomes", None) or [data.role("outcome")]
    level = params["level"]
    rows, first = [], None
    for outcome in outcomes:
        res = LeeBounds(frame, group=group, outcome=outcome, observed=responded,
                        covariates=list(params["cells"]) or None,
                        min_cell=params["min_cell"]).fit(n_boot=params["n_boot"], seed=ctx.seed)
        seen = frame[frame[responded] == 1]
        arm = seen[group].astype(bool)
        naive = seen.loc[arm, outcome].mean() - seen.loc[~arm, outcome].mean()
        lower_ci, upper_ci = res.imbens_manski(level)
        rows.append({"outcome": ctx.variable(outcome), "naive": naive,
                     "lower": res.params["lower"], "upper": res.params["upper"],
                     "im_lower": lower_ci, "im_upper": upper_ci})
        first = first or res
    table = pd.DataFrame(rows).set_index("outcome")
    table.index.name = ctx.text("outcome")
    share = first.observed_share
    section = Section(ctx.text("title"))
    section.add(ctx.text(
        "intro", treated=ctx.percent(share["treated"]), control=ctx.percent(share["control"]),
        trimming=ctx.percent(first.trimming_proportion),
        arm=ctx.text("arm_" + first.trimmed_arm)))
    pct = ctx.percent(level, 0)
    section.add(Table(table, ctx.text("caption"), labels={
        "naive": ctx.text("naive"), "lower": ctx.text("lower"), "upper": ctx.text("upper"),
        "im_lower": ctx.text("im_lower", pct=pct), "im_upper": ctx.text("im_upper", pct=pct)},
        note=ctx.text("note", n_boot=ctx.number(params["n_boot"]))))
    return section


TEXT = {
    "title": ("Bornes de Lee pour les effets mesurés au suivi",
              "Lee bounds for effects measured at follow-up"),
    "intro": (
        "Au suivi, {treated} des personnes du groupe traité et {control} du groupe de "
        "comparaison ont répondu. Si l'intervention change qui répond, comparer les "
        "répondants mélange l'effet et ce changement. En supposant qu'elle ne fait que "
        "retenir des répondants (monotonie), les bornes de Lee (2009) encadrent l'effet sur "
        "les personnes qui auraient répondu dans les deux groupes, en écartant {trimming} des "
        "réponses du {arm} — les plus hautes pour la borne inférieure, les plus basses pour "
        "la borne supérieure.",
        "At follow-up, {treated} of the treated group and {control} of the comparison group "
        "answered. If the intervention changes who answers, comparing respondents mixes the "
        "effect with that change. Assuming it only retains respondents (monotonicity), Lee "
        "(2009) bounds enclose the effect on people who would answer in either group, by "
        "trimming {trimming} of the answers of the {arm} — the highest for the lower bound, "
        "the lowest for the upper bound.",
    ),
    "arm_treated": ("groupe traité", "treated group"),
    "arm_control": ("groupe de comparaison", "comparison group"),
    "outcome": ("Indicateur", "Outcome"),
    "caption": ("Effet sur les répondants toujours présents : bornes de Lee",
                "Effect on always-respondents: Lee bounds"),
    "naive": ("Différence entre répondants", "Difference among respondents"),
    "lower": ("Borne inférieure", "Lower bound"),
    "upper": ("Borne supérieure", "Upper bound"),
    "im_lower": ("IC {pct} inf. (Imbens-Manski)", "{pct} CI lower (Imbens-Manski)"),
    "im_upper": ("IC {pct} sup. (Imbens-Manski)", "{pct} CI upper (Imbens-Manski)"),
    "note": (
        "Erreurs types des bornes par bootstrap stratifié par groupe ({n_boot} tirages) ; "
        "l'intervalle d'Imbens et Manski (2004) couvre l'effet, pas l'ensemble des bornes.",
        "Standard errors of the bounds by bootstrap stratified by group ({n_boot} draws); the "
        "Imbens-Manski (2004) interval covers the effect, not the whole bounded set.",
    ),
}

SECTIONS = {
    "lee_bounds": SectionSpec(
        "lee_bounds", "table", _lee_bounds, roles=("group", "responded"),
        optional_roles=("outcome", "outcomes"),
        parameters={
            "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
            "n_boot": ParamSpec(int, 499, "bootstrap draws of the bounds", minimum=2),
            "cells": ParamSpec("list[str]", [], "discrete covariates tightening the bounds"),
            "min_cell": ParamSpec(int, 10, "respondents per arm needed in each cell",
                                  minimum=1),
        },
        text=TEXT,
        doc="Lee (2009) bounds with trimming proportion and Imbens-Manski intervals"),
}
