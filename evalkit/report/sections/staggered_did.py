"""Staggered difference-in-differences sections: TWFE, Goodman-Bacon, Callaway–Sant'Anna.

Input: a panel with roles ``id``, ``period``, ``outcome``, ``first_treated``
(optional ``cluster``, ``covariates``, ``period_label``).

- ``twfe``: two-way fixed effects, the usual estimate -- biased when effects vary
  across cohorts and with time (say so in the text);
- ``bacon``: Goodman-Bacon (2021) decomposition of the TWFE coefficient, weight
  of the comparisons using already-treated units as controls;
- ``callaway_santanna``: ATT(g, t) of Callaway & Sant'Anna (2021) aggregated
  overall, by event time (event study, uniform bands) and by cohort, with the
  pre-trend test.
"""

from __future__ import annotations

import numpy as np

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.labels import Labels
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec

LEVEL = ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999)
NBSP = "\u00a0"


def period_labels(data, lang: str) -> dict:
    """Period -> readable name from the ``period_label`` role (``2007Q4`` -> ``T4 2007`` in fr)."""
    column = data.role("period_label", None)
    if not column or column not in data.frame.columns:
        return {}
    period = data.role("period")
    pairs = data.frame[[period, column]].drop_duplicates()
    labels = pairs[column].astype(str)
    if lang == "fr":  # 2007Q4 -> T4 2007, as French statistics write quarters
        labels = labels.str.replace(r"^(\d{4})Q([1-4])$", r"T\2 \1", regex=True)
    return dict(zip(pairs[period], labels, strict=False))


def cohort_name(first_treated: float, labels: dict, ctx) -> str:
    if np.isinf(first_treated):
        return ctx.text("never_treated")
    return labels.get(int(first_treated), str(int(first_treated)))


def _twfe(data, ctx, params) -> Section:
    from evalkit.did.twfe import TWFE

    res = TWFE(
        data.frame, outcome=data.role("outcome"), unit=data.role("id"),
        period=data.role("period"), first_treated=data.role("first_treated"),
        covariates=data.role("covariates", None) or None, cluster=data.role("cluster", None),
    ).fit()
    level = params["level"]
    ci = res.conf_int(level).loc["treated"]
    section = Section(ctx.text("title"))
    estimate = ctx.estimate(res.params["treated"], ci["lower"], ci["upper"], level=level)
    section.add(ctx.text("intro", estimate=estimate))
    section.headline = ctx.text("headline", estimate=estimate)
    # The model's term is "treated": named by the section unless the programme labels it.
    terms = Labels({"treated": ctx.texts["treated"], **ctx.labels.variables}, ctx.labels.values)
    section.add(Table(terms.index(res.to_frame(level), ctx.lang), ctx.text("caption")))
    return section


TWFE_TEXT = {
    "title": ("Effets fixes à deux dimensions (TWFE)", "Two-way fixed effects (TWFE)"),
    "intro": (
        "Coefficient de la régression à effets fixes unité et période : {estimate}. Avec un "
        "déploiement échelonné et des effets qui varient entre cohortes ou avec le temps, ce "
        "coefficient mélange des comparaisons où des unités déjà traitées servent de témoins : "
        "il peut être biaisé (voir la décomposition de Goodman-Bacon et l'estimation de "
        "Callaway et Sant'Anna).",
        "Coefficient of the regression with unit and period fixed effects: {estimate}. With "
        "staggered roll-out and effects varying across cohorts or over time, it mixes "
        "comparisons that use already-treated units as controls: it can be biased (see the "
        "Goodman-Bacon decomposition and the Callaway–Sant'Anna estimate).",
    ),
    "caption": ("Coefficient TWFE", "TWFE coefficient"),
    "treated": ("Traitement", "Treatment"),
    "headline": ("{estimate} — estimation usuelle, biaisée si l'effet varie entre cohortes",
                 "{estimate} — the usual estimate, biased if the effect varies across cohorts"),
}


def _bacon(data, ctx, params) -> Section:
    from evalkit.did.bacon import BaconDecomposition

    res = BaconDecomposition(
        data.frame, outcome=data.role("outcome"), unit=data.role("id"),
        period=data.role("period"), first_treated=data.role("first_treated"),
    ).fit(warn_forbidden=False)
    types = {
        "Treated vs Untreated": ctx.text("type_untreated"),
        "Earlier vs Later Treated": ctx.text("type_earlier"),
        "Later vs Earlier Treated": ctx.text("type_later"),
    }
    by_type = res.by_type().rename(index=types)
    by_type.index.name = ctx.text("comparison")
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", forbidden_weight=ctx.percent(res.forbidden_weight)))
    section.add(
        Table(by_type, ctx.text("caption"), percent=["weight"],
              labels={"weight": ctx.text("weight"), "avg_estimate": ctx.text("avg_estimate")}),
        Figure(res.plot(type_labels=types, title=None, xlabel=ctx.text("xlabel"),
                        ylabel=ctx.text("ylabel"), twfe_label=f"TWFE = {ctx.number(res.twfe, 3)}"),
               ctx.text("figure")),
    )
    return section


BACON_TEXT = {
    "title": ("Décomposition de Goodman-Bacon", "Goodman-Bacon decomposition"),
    "intro": (
        f"Le coefficient TWFE est une moyenne pondérée de toutes les comparaisons 2{NBSP}×{NBSP}2 "
        "entre cohortes (Goodman-Bacon, 2021). Les comparaisons où des unités déjà traitées "
        "servent de témoins pèsent **{forbidden_weight}** : quand l'effet croît avec le temps, "
        "elles tirent l'estimation vers le bas.",
        "The TWFE coefficient is a weighted average of every 2x2 comparison between cohorts "
        "(Goodman-Bacon, 2021). Comparisons using already-treated units as controls weigh "
        "**{forbidden_weight}**: when the effect grows over time, they pull the estimate down.",
    ),
    "type_untreated": ("Traités contre jamais traités", "Treated vs never treated"),
    "type_earlier": ("Précoces contre tardifs pas encore traités",
                     "Earlier vs later treated (not yet treated)"),
    "type_later": ("Tardifs contre précoces déjà traités",
                   "Later vs earlier treated (already treated)"),
    "comparison": ("Comparaison", "Comparison"),
    "caption": ("Poids et estimation moyenne par type de comparaison",
                "Weight and average estimate by comparison type"),
    "weight": ("Poids", "Weight"),
    "avg_estimate": ("Estimation moyenne", "Average estimate"),
    "xlabel": ("Poids dans le coefficient TWFE", "Weight in TWFE"),
    "ylabel": (f"Estimation 2{NBSP}×{NBSP}2", "2x2 DiD estimate"),
    "figure": (f"Comparaisons 2{NBSP}×{NBSP}2{NBSP}: estimation et poids",
               "2x2 comparisons: estimate and weight"),
}


def _callaway_santanna(data, ctx, params) -> Section:
    from evalkit.did.callaway_santanna import CallawaySantAnna

    covariates = data.role("covariates", None) or None
    level = params["level"]
    model = CallawaySantAnna(
        data.frame, outcome=data.role("outcome"), unit=data.role("id"),
        period=data.role("period"), first_treated=data.role("first_treated"),
        control_group=params["control_group"],
        method=params["estimation"] if covariates else "unconditional",
        covariates=covariates, cluster=data.role("cluster", None),
    )
    res = model.fit(n_boot=params["n_boot"], level=level, seed=ctx.seed)
    labels = period_labels(data, ctx.lang)
    dynamic = res.aggregate("dynamic")
    group = res.aggregate("group")
    # The prose quotes the event study's overall ATT: the number in the figure's legend.
    overall = dynamic.overall_att
    lower, upper = dynamic.overall.conf_int(level).iloc[0]
    section = Section(ctx.text("title"))
    control = ctx.text("control_" + params["control_group"])
    estimate = ctx.estimate(overall, lower, upper, level=level)
    section.add(ctx.text("intro", control=control, estimate=estimate))
    section.headline = ctx.text("headline", estimate=estimate,
                                reading=ctx.reading(lower, upper, level))
    if res.pretest is not None:
        section.add(pretest_text(res.pretest, ctx.lang))
    pct = ctx.percent(level, 0)
    band = ctx.text("uniform_band" if dynamic.uniform_bands else "pointwise_ci", pct=pct)
    section.add(
        Figure(dynamic.plot(band_label=band, text={
            "pre": ctx.text("pre"), "post": ctx.text("post"),
            "event_xlabel": ctx.text("event_xlabel"),
            "event_ylabel": ctx.text("event_ylabel", outcome=ctx.variable(data.role("outcome"))),
            "overall": f"{ctx.text('overall')} {ctx.number(overall, 3)}",
        }), ctx.text("event_figure")),
        Table.from_results(dynamic, ctx.text("event_caption"), level=level,
                           labels={"event_time": ctx.text("event_time")}),
    )
    group_frame = group.to_frame()
    # Cohorts by name, as text: a year must read 2006, never as the number 2 006.
    group_frame.index = [labels.get(int(g), str(int(g))) for g in group_frame.index]
    group_frame.index.name = ctx.text("cohort")  # never the model's own name, "group"
    section.add(Table(group_frame, ctx.text("group_caption")))
    if res.ledger is not None and len(res.ledger):
        section.add(LedgerFlow(res.ledger))
    return section


CS_TEXT = {
    "title": ("Callaway et Sant'Anna (2021)", "Callaway & Sant'Anna (2021)"),
    "intro": (
        "Chaque cohorte est comparée, période par période, à {control}. Effet moyen sur les "
        "traités, en moyenne sur les durées d'exposition : **{estimate}**.",
        "Each cohort is compared, period by period, with {control}. Average effect on the "
        "treated, averaged over exposure times: **{estimate}**.",
    ),
    "control_nevertreated": ("les unités jamais traitées", "never-treated units"),
    "control_notyettreated": ("les unités pas encore traitées", "not-yet-treated units"),
    "never_treated": ("Jamais traité", "Never treated"),
    "uniform_band": ("bande uniforme à {pct}", "{pct} uniform band"),
    "pointwise_ci": ("IC ponctuel à {pct}", "{pct} pointwise CI"),
    "pre": ("avant le traitement", "pre-treatment"),
    "post": ("après le traitement", "post-treatment"),
    "event_xlabel": ("périodes depuis le début du traitement", "periods since treatment started"),
    "event_ylabel": ("effet estimé : {outcome}", "estimated effect: {outcome}"),
    "overall": ("effet moyen global", "overall ATT"),
    "event_figure": ("Étude d'événement : effet selon le nombre de périodes depuis le début",
                     "Event study: effect by periods since start"),
    "event_caption": ("Effets par durée d'exposition", "Effects by exposure time"),
    "event_time": ("Périodes depuis le début", "Periods since start"),
    "cohort": ("Cohorte", "Cohort"),
    "group_caption": ("Effets par cohorte", "Effects by cohort"),
    "headline": ("effet moyen sur les traités **{estimate}**\u00a0; {reading}",
                 "average effect on the treated **{estimate}**; {reading}"),
}


def pretest_text(pretest, lang: str) -> str:
    """The parallel-trends pre-test in a sentence (statistics formatted for ``lang``)."""
    from evalkit.report.i18n import choose, format_number, format_pvalue

    chi2 = format_number(pretest.statistic, lang, 2)
    p = format_pvalue(pretest.pvalue, lang)
    if pretest.n_clusters is not None:
        f = format_number(pretest.f_statistic, lang, 2)
        # French numbers have a decimal comma: their lists are separated by semicolons.
        denominator = pretest.n_clusters - pretest.df
        stats_fr = (f"χ²({pretest.df}) = {chi2} ; avec {pretest.n_clusters} grappes, "
                    f"F de Hotelling({pretest.df} ; {denominator}) = {f} ; p = {p}")
        stats_en = (f"χ²({pretest.df}) = {chi2}; with {pretest.n_clusters} clusters, "
                    f"Hotelling F({pretest.df}, {denominator}) = {f}, p = {p}")
    else:
        stats_fr = f"χ²({pretest.df}) = {chi2} ; p = {p}"
        stats_en = f"χ²({pretest.df}) = {chi2}, p = {p}"
    verdict_fr = (f"l'hypothèse de tendances parallèles avant le traitement n'est pas rejetée "
                  f"au seuil de 5{NBSP}%" if pretest.pvalue >= 0.05 else
                  "l'hypothèse de tendances parallèles avant le traitement est rejetée au "
                  f"seuil de 5{NBSP}%{NBSP}: les effets estimés sont à lire avec prudence")
    verdict_en = ("parallel pre-trends are not rejected at the 5% level" if pretest.pvalue >= 0.05
                  else "parallel pre-trends are rejected at the 5% level: read the estimated "
                  "effects with caution")
    return choose(
        lang,
        f"Test de Wald des tendances parallèles avant traitement{NBSP}: {stats_fr} — {verdict_fr}.",
        f"Wald test of pre-treatment parallel trends: {stats_en} — {verdict_en}.",
    )


ROLES = ("id", "period", "outcome", "first_treated")
SECTIONS = {
    "twfe": SectionSpec(
        "twfe", "panel", _twfe, roles=ROLES, optional_roles=("covariates", "cluster"),
        parameters={"level": LEVEL}, text=TWFE_TEXT,
        doc="two-way fixed effects (biased under heterogeneous effects)"),
    "bacon": SectionSpec(
        "bacon", "panel", _bacon, roles=ROLES, text=BACON_TEXT,
        doc="Goodman-Bacon decomposition of the TWFE coefficient"),
    "callaway_santanna": SectionSpec(
        "callaway_santanna", "panel", _callaway_santanna, roles=ROLES,
        optional_roles=("covariates", "cluster", "period_label"),
        parameters={
            "control_group": ParamSpec(str, "nevertreated", "comparison group",
                                       choices=("nevertreated", "notyettreated")),
            "estimation": ParamSpec(str, "dr", "estimator with covariates",
                                    choices=("or", "ipw", "dr")),
            "n_boot": ParamSpec(int, 999, "multiplier-bootstrap draws", minimum=2),
            "level": LEVEL,
        },
        text=CS_TEXT,
        doc="Callaway & Sant'Anna ATT(g,t), event study, by cohort"),
}
