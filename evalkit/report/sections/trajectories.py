"""Section ``trajectory_effects``: did the programme change careers?

Main input: sequences (roles ``id``, ``period``, ``state``). A second input (parameter
``persons_input``, default ``"persons"``) gives one row per person with the roles ``id``,
``group`` (the arm) and ``covariates``. The section shows the effect of the programme on
the share of each career type (rule typology) and on the months spent in each state,
estimated by :func:`evalkit.typology.effects.trajectory_effects` (AIPW by default, for
the treated), and the share of the discrepancy of whole trajectories explained by the arm
(:func:`evalkit.typology.discrepancy.discrepancy_analysis`, permutation test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, Section, Table
from evalkit.report.i18n import NBSP
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def _build(data, ctx, params) -> Section:
    from evalkit.typology.discrepancy import discrepancy_analysis
    from evalkit.typology.distances import sequence_distances
    from evalkit.typology.effects import trajectory_effects
    from evalkit.typology.rules import RuleTypology

    seq = data.contract
    state_labels = {s: ctx.labels.value(data.role("state"), s, ctx.lang) for s in seq.alphabet}
    seq = seq.relabel(labels=state_labels)
    persons = ctx.input(params["persons_input"])
    pid, arm = persons.role("id"), persons.role("group")
    covariates = list(persons.role("covariates"))
    frame = persons.frame
    if pid != data.role("id"):
        frame = frame.rename(columns={pid: data.role("id")})
    treated = params["treated"] or None
    rules = ctx.shared(("rule_typology", data.name),
                       lambda: RuleTypology(seq, too_short="exclude").fit())
    res = trajectory_effects(seq, frame, group=arm, treated=treated, covariates=covariates,
                             types=rules, id=data.role("id"), method=params["method"],
                             estimand=params["estimand"], level=params["level"], lang=ctx.lang)
    arms = frame.set_index(data.role("id")).reindex(seq.ids)[arm]
    known = arms.notna().to_numpy()
    distances = sequence_distances(seq.subset(known), method=params["distance"],
                                   sm="TRATE" if params["distance"] == "OM" else None)
    da = discrepancy_analysis(distances, arms[known].astype(str).to_numpy(),
                              n_perm=params["n_perm"], seed=ctx.seed)

    section = Section(ctx.text("title"))
    lead = res.types.iloc[0]
    section.add(ctx.text(
        "intro", method=ctx.text(f"method_{params['method']}"),
        first_type=lead["label"],
        first_effect=ctx.estimate(100 * lead["estimate"], 100 * lead["ci_lower"],
                                  100 * lead["ci_upper"], level=params["level"], decimals=1),
        nbsp=NBSP))
    p_text = ctx.pvalue(da.p_value)
    p_text = p_text if p_text.startswith("<") else f"={NBSP}{p_text}"
    section.add(ctx.text("discrepancy", r2=ctx.percent(da.pseudo_r2), p=p_text,
                         n_perm=ctx.number(da.n_perm), nbsp=NBSP))

    def table(part, scale, decimals_label):
        shown = pd.DataFrame({
            ctx.text("estimate"): scale * part["estimate"],
            ctx.text("ci_lower"): scale * part["ci_lower"],
            ctx.text("ci_upper"): scale * part["ci_upper"],
            "p": part["p_value"],
        })
        shown.index = pd.Index(part["label"].to_numpy(), name=decimals_label)
        return shown

    section.add(
        Table(table(res.types, 100.0, ctx.text("career_type")), ctx.text("types_caption"),
              decimals=1),
        Table(table(res.months, 1.0, ctx.text("state")), ctx.text("months_caption"),
              decimals=2),
        Figure(res.plot(lang=ctx.lang), ctx.text("figure")),
    )
    groups = da.groups.drop(index="Total")
    discrepancy = pd.DataFrame({ctx.text("discrepancy_col"): groups["discrepancy"].to_numpy()},
                               index=pd.Index(groups.index, name=ctx.variable(arm)))
    section.add(Table(discrepancy, ctx.text("discrepancy_caption"), decimals=2))
    if np.isfinite(da.p_value):
        section.add(Figure(da.plot(lang=ctx.lang), ctx.text("permutation_figure")))
    return section


TEXT = {
    "title": ("Effet du programme sur les trajectoires", "Effect of the programme on careers"),
    "intro": ("Les trajectoires des personnes du programme sont comparées à celles du groupe "
              "de comparaison, à caractéristiques égales ({method}). Par exemple, part de "
              "« {first_type} »{nbsp}: {first_effect} points de pourcentage.",
              "Careers of people in the programme are compared with those of the comparison "
              "group, adjusting for their characteristics ({method}). For example, share of "
              "'{first_type}': {first_effect} percentage points."),
    "discrepancy": ("Le groupe explique {r2} de la diversité des trajectoires entières "
                    "(pseudo-R², test par {n_perm} permutations{nbsp}: p {p}).",
                    "The group explains {r2} of the discrepancy of whole trajectories "
                    "(pseudo-R², test with {n_perm} permutations: p {p})."),
    "method_aipw": ("estimateur doublement robuste AIPW", "doubly robust AIPW estimator"),
    "method_ipw": ("pondération par l'inverse du score de propension",
                   "inverse propensity weighting"),
    "method_dim": ("différence de moyennes, sans ajustement", "difference in means, unadjusted"),
    "method_ra": ("ajustement par régression", "regression adjustment"),
    "method_matching": ("appariement sur le score de propension", "propensity-score matching"),
    "estimate": ("Écart", "Difference"),
    "ci_lower": ("IC bas", "CI lower"),
    "ci_upper": ("IC haut", "CI upper"),
    "career_type": ("Type de carrière", "Career type"),
    "state": ("Situation", "State"),
    "types_caption": ("Écart de part de chaque type de carrière (points de pourcentage)",
                      "Change in the share of each career type (percentage points)"),
    "months_caption": ("Écart du nombre moyen de mois dans chaque situation",
                       "Change in the mean number of months in each state"),
    "figure": ("Effets estimés avec leurs intervalles de confiance",
               "Estimated effects with their confidence intervals"),
    "discrepancy_col": ("Diversité des trajectoires", "Discrepancy of trajectories"),
    "discrepancy_caption": ("Diversité des trajectoires dans chaque groupe",
                            "Discrepancy of trajectories in each group"),
    "permutation_figure": ("Pseudo-F observé et sous permutations du groupe",
                           "Observed pseudo-F and under permutations of the group"),
}

SECTIONS = {
    "trajectory_effects": SectionSpec(
        "trajectory_effects", "sequences", _build, roles=("id", "period", "state"),
        parameters={
            "persons_input": ParamSpec(str, "persons", "input with the arm and covariates"),
            "treated": ParamSpec(str, "", "label of the programme arm ('' if 0/1 or boolean)"),
            "method": ParamSpec(str, "aipw", "cohort estimator",
                                choices=("aipw", "ipw", "dim", "ra", "matching")),
            "estimand": ParamSpec(str, "ATT", "ATT or ATE", choices=("ATT", "ATE")),
            "distance": ParamSpec(str, "HAM", "distance of the discrepancy analysis",
                                  choices=("HAM", "OM", "LCS", "DHD")),
            "n_perm": ParamSpec(int, 499, "permutations of the discrepancy test", minimum=0),
            "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
        },
        text=TEXT,
        doc="effect of the programme on career types and months in each state (cohort "
            "estimators), discrepancy of trajectories by arm"),
}
