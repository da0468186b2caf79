"""Report section of the rSa experiment: staggered difference-in-differences.

Sub-sections (``analyses``):

- ``descriptives``: roll-out cohorts (zones and recipients per start
  quarter), return-to-work rates by quarter and cohort, exclusion flow;
- ``twfe``: two-way fixed effects, shown because it is the usual estimate --
  and biased here, effects varying across cohorts and growing with time;
- ``bacon``: Goodman-Bacon decomposition of the TWFE coefficient -- how much
  weight the "forbidden" comparisons with already-treated controls get;
- ``callaway_santanna``: ATT(g, t) of Callaway & Sant'Anna (2021) aggregated
  overall, by event time (event study with uniform bands), by cohort, with
  the pre-trend test.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.guarded import build_analyses
from evalkit.report.i18n import (
    choose,
    format_estimate,
    format_number,
    format_percent,
    format_pvalue,
)
from evalkit.report.labels import label_index
from evalkit.report.programme import InputSpec, ParamSpec, ProgrammeSpec

NAME = "rsa_experiment"


def _period_labels(panel: pd.DataFrame, params, lang: str) -> dict:
    column = params["period_label"]
    if not column or column not in panel.columns:
        return {}
    pairs = panel[[params["period"], column]].drop_duplicates()
    labels = pairs[column].astype(str)
    if lang == "fr":  # 2007Q4 -> T4 2007, as French statistics write quarters
        labels = labels.str.replace(r"^(\d{4})Q([1-4])$", r"T\2 \1", regex=True)
    return dict(zip(pairs[params["period"]], labels, strict=False))


def _cohort_name(first_treated: float, labels: dict, lang: str) -> str:
    if np.isinf(first_treated):
        return choose(lang, "Jamais traité", "Never treated")
    return labels.get(int(first_treated), str(int(first_treated)))


def _descriptives(panel: pd.DataFrame, params, lang: str) -> Section:
    from evalkit.data import Panel

    unit, period, first = params["unit"], params["period"], params["first_treated"]
    outcome, cluster = params["outcome"], params["cluster"] or None
    contract = Panel(
        panel, unit=unit, period=period, outcomes=[outcome], first_treated=first,
        cluster=cluster, source=f"{NAME}/panel",
    )
    data = contract.data
    labels = _period_labels(panel, params, lang)
    units = data.drop_duplicates(unit).sort_values(first)  # cohorts in time order, never last
    cohort = units[first].map(lambda g: _cohort_name(g, labels, lang))
    grouped = units.assign(cohort=cohort).groupby("cohort", sort=False)
    table = pd.DataFrame({
        "n": grouped.size(),
        **({"zones": grouped[cluster].nunique()} if cluster else {}),
    }).reset_index()
    table = table.rename(columns={"cohort": choose(lang, "Début du rSa", "rSa start")})

    rates = (
        data.sort_values(first)
        .assign(cohort=lambda d: d[first].map(lambda g: _cohort_name(g, labels, lang)))
        .groupby(["cohort", period], sort=False)[outcome].mean().unstack("cohort")
        .sort_index()
    )
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for name in rates.columns:
        ax.plot(rates.index, rates[name], marker="o", ms=3, label=name)
    ax.set_xlabel(choose(lang, "Trimestre", "Quarter"))
    ax.set_ylabel(choose(lang, "Taux de retour à l'emploi", "Return-to-work rate"))
    if labels:
        ticks = sorted(labels)[:: max(1, len(labels) // 8)]
        ax.set_xticks(ticks, [labels[t] for t in ticks])
    ax.legend(title=choose(lang, "Cohorte", "Cohort"), fontsize=8)
    ax.grid(alpha=0.3)

    section = Section(choose(lang, "Données et déploiement", "Data and roll-out"))
    section.add(choose(
        lang,
        f"Le panel suit {format_number(contract.n_units, lang)} allocataires sur "
        f"{len(contract.periods)} trimestres. Le rSa démarre par zone, à des dates "
        "différentes : chaque cohorte regroupe les zones entrées au même trimestre.",
        f"The panel follows {format_number(contract.n_units, lang)} recipients over "
        f"{len(contract.periods)} quarters. The rSa starts by zone at different dates: "
        "each cohort groups the zones that started in the same quarter.",
    ))
    section.add(
        Table(table, choose(lang, "Cohortes de déploiement", "Roll-out cohorts"),
              counts=["n"], labels={"zones": choose(lang, "Zones", "Zones")}),
        Figure(fig, choose(lang, "Taux de retour à l'emploi par cohorte",
                           "Return-to-work rate by cohort")),
        LedgerFlow(contract.ledger),
    )
    return section


def _twfe(panel: pd.DataFrame, params, lang: str) -> Section:
    from evalkit.did.twfe import TWFE

    res = TWFE(
        panel, outcome=params["outcome"], unit=params["unit"], period=params["period"],
        first_treated=params["first_treated"], covariates=params["covariates"] or None,
        cluster=params["cluster"] or None,
    ).fit()
    ci = res.conf_int(params["level"]).loc["treated"]
    section = Section(choose(lang, "Effets fixes à deux dimensions (TWFE)",
                             "Two-way fixed effects (TWFE)"))
    section.add(choose(
        lang,
        "Coefficient de la régression à effets fixes individu et trimestre : "
        f"{format_estimate(res.params['treated'], ci['lower'], ci['upper'], lang, level=params['level'])}. "
        "Avec un déploiement échelonné et des effets qui croissent avec le temps, ce "
        "coefficient mélange des comparaisons où des zones déjà traitées servent de témoins : "
        "il est biaisé. L'estimation de Callaway et Sant'Anna ci-dessous ne l'est pas.",
        "Coefficient of the regression with unit and quarter fixed effects: "
        f"{format_estimate(res.params['treated'], ci['lower'], ci['upper'], lang, level=params['level'])}. "
        "With staggered roll-out and effects growing over time, it mixes comparisons that "
        "use already-treated zones as controls: it is biased. The Callaway–Sant'Anna "
        "estimate below is not.",
    ))
    section.add(Table(label_index(res.to_frame(params["level"]), lang),
                      choose(lang, "Coefficient TWFE", "TWFE coefficient")))
    return section


def _bacon(panel: pd.DataFrame, params, lang: str) -> Section:
    from evalkit.did.bacon import BaconDecomposition

    res = BaconDecomposition(
        panel, outcome=params["outcome"], unit=params["unit"], period=params["period"],
        first_treated=params["first_treated"],
    ).fit(warn_forbidden=False)
    types = {
        "Treated vs Untreated": choose(lang, "Traités contre jamais traités",
                                       "Treated vs never treated"),
        "Earlier vs Later Treated": choose(lang, "Précoces contre tardifs pas encore traités",
                                           "Earlier vs later treated (not yet treated)"),
        "Later vs Earlier Treated": choose(lang, "Tardifs contre précoces déjà traités",
                                           "Later vs earlier treated (already treated)"),
    }
    by_type = res.by_type().rename(index=types)
    by_type.index.name = choose(lang, "Comparaison", "Comparison")
    section = Section(choose(lang, "Décomposition de Goodman-Bacon", "Goodman-Bacon decomposition"))
    section.add(choose(
        lang,
        "Le coefficient TWFE est une moyenne pondérée de toutes les comparaisons 2\u00a0×\u00a02 entre "
        "cohortes (Goodman-Bacon, 2021). Les comparaisons où des zones déjà traitées servent "
        f"de témoins pèsent **{format_percent(res.forbidden_weight, lang)}** : quand l'effet "
        "croît avec le temps, elles tirent l'estimation vers le bas.",
        "The TWFE coefficient is a weighted average of every 2x2 comparison between cohorts "
        "(Goodman-Bacon, 2021). Comparisons using already-treated zones as controls weigh "
        f"**{format_percent(res.forbidden_weight, lang)}**: when the effect grows over time, "
        "they pull the estimate down.",
    ))
    section.add(
        Table(by_type, choose(lang, "Poids et estimation moyenne par type de comparaison",
                              "Weight and average estimate by comparison type"),
              percent=["weight"],
              labels={"weight": choose(lang, "Poids", "Weight"),
                      "avg_estimate": choose(lang, "Estimation moyenne", "Average estimate")}),
        Figure(res.plot(type_labels=types, title=None,
                        xlabel=choose(lang, "Poids dans le coefficient TWFE", "Weight in TWFE"),
                        ylabel=choose(lang, "Estimation 2\u00a0×\u00a02", "2x2 DiD estimate"),
                        twfe_label=f"TWFE = {format_number(res.twfe, lang, 3)}"),
               choose(lang, "Comparaisons 2\u00a0×\u00a02\u00a0: estimation et poids",
                      "2x2 comparisons: estimate and weight")),
    )
    return section


def _callaway_santanna(panel: pd.DataFrame, params, lang: str, seed: int) -> Section:
    from evalkit.did.callaway_santanna import CallawaySantAnna

    model = CallawaySantAnna(
        panel, outcome=params["outcome"], unit=params["unit"], period=params["period"],
        first_treated=params["first_treated"], control_group=params["control_group"],
        estimation=params["estimation"] if params["covariates"] else "unconditional",
        covariates=params["covariates"] or None, cluster=params["cluster"] or None,
    )
    res = model.fit(n_boot=params["n_boot"], alpha=1 - params["level"], seed=seed)
    labels = _period_labels(panel, params, lang)
    simple = res.aggregate("simple")
    dynamic = res.aggregate("dynamic")
    group = res.aggregate("group")
    overall = simple.to_frame().iloc[0]

    section = Section(choose(lang, "Callaway et Sant'Anna (2021)", "Callaway & Sant'Anna (2021)"))
    control = {
        "nevertreated": choose(lang, "les zones jamais traitées", "never-treated zones"),
        "notyettreated": choose(lang, "les zones pas encore traitées", "not-yet-treated zones"),
    }[params["control_group"]]
    section.add(choose(
        lang,
        "Chaque cohorte est comparée, trimestre par trimestre, à "
        f"{control}. Effet moyen sur les traités, toutes cohortes et tous trimestres après "
        f"le démarrage : **{format_estimate(overall['estimate'], overall['ci_lower'], overall['ci_upper'], lang, level=params['level'])}**.",
        f"Each cohort is compared, quarter by quarter, with {control}. Average effect on the "
        "treated over all cohorts and post-start quarters: "
        f"**{format_estimate(overall['estimate'], overall['ci_lower'], overall['ci_upper'], lang, level=params['level'])}**.",
    ))
    if res.pretest is not None:
        section.add(_pretest_text(res.pretest, lang))
    pct = format_percent(params["level"], lang, 0)
    band = choose(lang, f"bande uniforme à {pct}", f"{pct} uniform band") \
        if dynamic.uniform_bands else choose(lang, f"IC ponctuel à {pct}", f"{pct} pointwise CI")
    overall_label = choose(lang, "effet moyen global", "overall ATT")
    section.add(
        Figure(dynamic.plot(band_label=band, text={
            "pre": choose(lang, "avant le démarrage", "pre-treatment"),
            "post": choose(lang, "après le démarrage", "post-treatment"),
            "event_xlabel": choose(lang, "trimestres depuis le démarrage du rSa",
                                   "quarters since the rSa started"),
            "event_ylabel": choose(lang, "effet sur le retour à l'emploi",
                                   "effect on return to work"),
            "overall": f"{overall_label} {format_number(dynamic.overall_att, lang, 3)}",
        }), choose(lang, "Étude d'événement : effet selon le nombre de "
                         "trimestres depuis le démarrage",
                   "Event study: effect by quarters since start")),
        Table.from_results(dynamic, choose(lang, "Effets par durée d'exposition",
                                           "Effects by exposure time"), level=params["level"],
                           labels={"event_time": choose(lang, "Trimestres depuis le début",
                                                        "Quarters since start")}),
    )
    group_frame = group.to_frame()
    if labels:
        group_frame.index = [labels.get(int(g), str(g)) for g in group_frame.index]
        group_frame.index.name = choose(lang, "Cohorte", "Cohort")
    section.add(Table(group_frame, choose(lang, "Effets par cohorte", "Effects by cohort")))
    if res.ledger is not None and len(res.ledger):
        section.add(LedgerFlow(res.ledger))
    return section


def _pretest_text(pretest, lang: str) -> str:
    """The parallel-trends pre-test in a sentence (statistics formatted for ``lang``)."""
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
    verdict_fr = ("l'hypothèse de tendances parallèles avant le démarrage n'est pas rejetée "
                  "au seuil de 5\u00a0%" if pretest.pvalue >= 0.05 else
                  "l'hypothèse de tendances parallèles avant le démarrage est rejetée au "
                  "seuil de 5\u00a0%\u00a0: les effets estimés sont à lire avec prudence")
    verdict_en = ("parallel pre-trends are not rejected at the 5% level" if pretest.pvalue >= 0.05
                  else "parallel pre-trends are rejected at the 5% level: read the estimated "
                  "effects with caution")
    return choose(
        lang,
        f"Test de Wald des tendances parallèles avant traitement\u00a0: {stats_fr} — {verdict_fr}.",
        f"Wald test of pre-treatment parallel trends: {stats_en} — {verdict_en}.",
    )


def build(tables, *, analyses, params, lang: str, seed: int, threshold: int = 11) -> Section:
    """The rSa section: one guarded sub-section per analysis."""
    panel = tables["panel"]
    section = Section(choose(lang, "Expérimentation du rSa", "rSa experiment"))
    section.add(choose(
        lang,
        "Le revenu de solidarité active a été expérimenté dans des zones entrées à des "
        "trimestres différents (2007–2008). On estime son effet sur le retour à l'emploi "
        "des allocataires par différence de différences échelonnée.",
        "The *revenu de solidarité active* was trialled in zones that started in different "
        "quarters (2007–2008). Its effect on recipients' return to work is estimated by "
        "staggered difference-in-differences.",
    ))
    parts = {
        "descriptives": (choose(lang, "Données et déploiement", "Data and roll-out"),
                         lambda: _descriptives(panel, params, lang)),
        "twfe": (choose(lang, "Effets fixes à deux dimensions (TWFE)",
                        "Two-way fixed effects (TWFE)"), lambda: _twfe(panel, params, lang)),
        "bacon": (choose(lang, "Décomposition de Goodman-Bacon", "Goodman-Bacon decomposition"),
                  lambda: _bacon(panel, params, lang)),
        "callaway_santanna": (choose(lang, "Callaway et Sant'Anna (2021)",
                                     "Callaway & Sant'Anna (2021)"),
                              lambda: _callaway_santanna(panel, params, lang, seed)),
    }
    return build_analyses(section, parts, analyses, prefix=NAME)


def generate(seed: int) -> dict[str, pd.DataFrame]:
    """Small synthetic inputs (600 recipients, 12 zones) for tests and demos."""
    from evalkit.datasets import rsa_experiment

    return dict(rsa_experiment.generate(seed=seed, n_units=600, n_zones=12).tables)


PROGRAMME = ProgrammeSpec(
    name=NAME,
    title={"fr": "Expérimentation du rSa", "en": "rSa experiment"},
    inputs={"panel": InputSpec("recipient x quarter panel (rsa_experiment_panel.csv)",
                               id_column="unit_id")},
    analyses={
        "descriptives": "cohorts, outcome by quarter, exclusion flow",
        "twfe": "two-way fixed effects (biased under heterogeneous effects)",
        "bacon": "Goodman-Bacon decomposition of the TWFE coefficient",
        "callaway_santanna": "Callaway & Sant'Anna ATT(g,t), event study, by cohort",
    },
    parameters={
        "outcome": ParamSpec(str, "return_to_work", "0/1 outcome column"),
        "unit": ParamSpec(str, "unit_id", "unit identifier column"),
        "period": ParamSpec(str, "period", "integer period column"),
        "period_label": ParamSpec(str, "quarter", "column labelling periods ('' for none)"),
        "first_treated": ParamSpec(str, "first_treated", "first treated period (0 = never)"),
        "cluster": ParamSpec(str, "zone_id", "cluster column (zone of assignment; '' for none)"),
        "covariates": ParamSpec("list[str]", [], "baseline covariates"),
        "control_group": ParamSpec(str, "nevertreated", "comparison group",
                                   choices=("nevertreated", "notyettreated")),
        "estimation": ParamSpec(str, "dr", "estimator with covariates",
                                choices=("or", "ipw", "dr")),
        "n_boot": ParamSpec(int, 999, "multiplier-bootstrap draws", minimum=2),
        "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
    },
    build=build,
    generate=generate,
)
