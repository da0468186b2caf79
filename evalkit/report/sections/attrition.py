"""Attrition section: who was sought again and who answered, overall and by group.

Input: a follow-up table with roles ``id``, ``group`` and ``responded`` (0/1),
joined on ``id`` to the baseline input named by the parameter ``baseline``
for its ``covariates`` (the response model). Attrition is classified with the
What Works Clearinghouse boundaries (v4.1, Table II.1).
"""

from __future__ import annotations

from evalkit.report.elements import Section, Table
from evalkit.report.labels import Labels
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def _attrition(data, ctx, params) -> Section:
    from evalkit.cohort.attrition import attrition

    rid, group, responded = data.role("id"), data.role("group"), data.role("responded")
    baseline = ctx.input(params["baseline"])
    covariates = list(baseline.role("covariates", []))
    base = baseline.frame[[baseline.role("id"), *covariates]].rename(
        columns={baseline.role("id"): rid})
    drawn = data.frame[[rid, group, responded]].merge(base, on=rid, how="left",
                                                      validate="one_to_one")
    res = attrition(drawn, group=group, responded=responded, covariates=covariates, id=rid)
    names = {True: ctx.text("treated"), False: ctx.text("comparison"),
             "overall": ctx.text("overall")}
    rates = res.rates.rename(index=lambda k: names.get(k, str(k)))
    rates.index.name = ctx.text("group")
    cautious = res.classification.loc["cautious", "attrition"]
    verdict = {"low": ctx.text("low"), "high": ctx.text("high")}.get(cautious, cautious)
    section = Section(ctx.text("title"))
    fields = {"overall": ctx.percent(res.overall), "differential": ctx.percent(res.differential),
              "verdict": verdict}
    section.add(ctx.text("intro", **fields))
    section.headline = ctx.text("headline", **fields)
    section.add(Table(rates, ctx.text("caption"),
                      counts=[c for c in ("n_sampled", "n_responded") if c in rates.columns],
                      percent=["attrition"],
                      labels={"n_sampled": ctx.text("n_sampled"),
                              "n_responded": ctx.text("n_responded"),
                              "attrition": "Attrition"}))
    if res.response_model is not None:
        model = res.response_model.to_frame(params["level"])
        # The model names the arm "group" (terms group[True]): label it as the arm's column.
        terms = Labels({**ctx.labels.variables, "group": ctx.labels.pair(group)},
                       ctx.labels.values)
        model = terms.index(model, ctx.lang, ctx.text("variable"))
        section.add(Table(model, ctx.text("model_caption")))
    return section


TEXT = {
    "title": ("Attrition du suivi", "Follow-up attrition"),
    "intro": (
        "Une partie des personnes a été recherchée pour un second entretien. Attrition "
        "globale : {overall}, différentielle (groupe traité moins comparaison) : "
        "{differential} — attrition **{verdict}** selon la limite prudente du What Works "
        "Clearinghouse (v4.1, tableau II.1).",
        "Some people were sought for a second interview. Overall attrition: {overall}, "
        "differential (treated minus comparison group): {differential} — **{verdict}** "
        "attrition under the cautious What Works Clearinghouse boundary (v4.1, Table II.1).",
    ),
    "headline": ("attrition **{verdict}**\u00a0: {overall}, différentielle {differential}",
                 "**{verdict}** attrition: {overall}, differential {differential}"),
    "treated": ("Groupe traité", "Treated group"),
    "comparison": ("Groupe de comparaison", "Comparison group"),
    "overall": ("Ensemble", "Overall"),
    "group": ("Groupe", "Group"),
    "low": ("faible", "low"),
    "high": ("forte", "high"),
    "caption": ("Personnes recherchées et retrouvées", "People sought and re-interviewed"),
    "n_sampled": ("Recherchées", "Sought"),
    "n_responded": ("Retrouvées", "Re-interviewed"),
    "variable": ("Variable", "Variable"),
    "model_caption": ("Modèle de réponse (logit ; coefficients en log-rapport de cotes)",
                      "Response model (logit, log-odds)"),
}

SECTIONS = {
    "attrition": SectionSpec(
        "attrition", "table", _attrition, roles=("id", "group", "responded"),
        parameters={
            "baseline": ParamSpec(str, "persons", "input holding the baseline covariates"),
            "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
        },
        text=TEXT, doc="overall and differential attrition (WWC), response model"),
}
