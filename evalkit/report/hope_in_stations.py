"""Report section of *Hope in stations*: integrated services for homeless people.

Sub-sections (``analyses``):

- ``descriptives``: respondents by station and wave, outcome rates by pilot
  status and wave, exclusion flow of the survey;
- ``cohort``: wave-2 comparison of the integrated cohort (pilot stations) with
  the comparison cohort: covariate balance, propensity-score overlap and the
  effect by several estimators (difference in means, regression adjustment,
  IPW, AIPW...);
- ``robustness``: p-values adjusted for testing several outcomes (Holm,
  Benjamini–Hochberg, Romano–Wolf) and E-values for unmeasured confounding;
- ``did``: difference-in-differences on the repeated cross-sections (pilot vs
  comparison stations, before vs after integration), with covariates and
  standard errors clustered by station;
- ``attrition``: attrition of the re-interviewed subsample (overall and
  differential, What Works Clearinghouse boundaries, response model);
- ``indicators``: monitoring indicators (share of respondents concerned) by
  station and wave, with the indicators module's disclosure control;
- ``network``: collaboration networks between services at each station and
  wave, and their change (permutation tests), pilot vs comparison.
"""

from __future__ import annotations

import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.guarded import build_analyses
from evalkit.report.i18n import NBSP, choose, format_estimate, format_number, format_percent
from evalkit.report.labels import VARIABLES, label_index, variable_label, variable_labels
from evalkit.report.programme import InputSpec, ParamSpec
from evalkit.report.programme import PythonProgramme as ProgrammeSpec

NAME = "hope_in_stations"
OUTCOMES = ("slept_in_shelter", "social_worker_contact", "access_to_care")
COVARIATES = ("age", "sex", "nationality_group", "months_homeless", "health_problem",
              "has_id_papers")
METHODS = ("dim", "ra", "ipw", "matching", "aipw")


def _outcome(name: str, lang: str) -> str:
    return variable_label(name, lang)


def _method_names(lang: str) -> dict[str, str]:
    return {
        "dim": choose(lang, "Différence de moyennes", "Difference in means"),
        "ra": choose(lang, "Ajustement par régression", "Regression adjustment"),
        "ipw": choose(lang, "Pondération (IPW)", "Weighting (IPW)"),
        "matching": choose(lang, "Appariement", "Matching"),
        "aipw": choose(lang, "Doublement robuste (AIPW)", "Doubly robust (AIPW)"),
    }


def _pilot_stations(survey: pd.DataFrame, params) -> list[str]:
    if params["pilot_stations"]:
        return list(params["pilot_stations"])
    flags = survey.groupby(params["station"])[params["pilot"]].first()
    return sorted(flags[flags.astype(bool)].index.astype(str))


def _descriptives(survey: pd.DataFrame, params, lang: str) -> Section:
    from evalkit.data import PersonTable

    station, wave, pilot = params["station"], params["wave"], params["pilot"]
    outcomes = list(params["outcomes"])
    table = PersonTable(
        survey, id=params["respondent_id"], group=pilot, covariates=list(params["covariates"]),
        outcomes=outcomes, source=f"{NAME}/survey",
    )
    # The contract keeps its own columns; the kept respondents index the full survey.
    data = survey[survey[params["respondent_id"]].isin(table.data[table.id])]
    counts = data.groupby([station, wave]).size().unstack(wave, fill_value=0)
    counts.columns = [f"{choose(lang, 'Vague', 'Wave')} {w}" for w in counts.columns]
    counts.index.name = choose(lang, "Gare", "Station")
    wave_label = choose(lang, "Vague", "Wave")
    status = data[pilot].map({True: choose(lang, "Pilote", "Pilot"),
                              False: choose(lang, "Comparaison", "Comparison")})
    rates = (
        data.assign(status=status).groupby(["status", wave])[outcomes].mean()
        .reset_index()
    )
    n_cells = data.assign(status=status).groupby(["status", wave]).size().to_numpy()
    rates.insert(2, "n", n_cells)
    section = Section(choose(lang, "Données d'enquête", "Survey data"))
    section.add(choose(
        lang,
        f"{format_number(len(data), lang)} personnes interrogées dans "
        f"{data[station].nunique()} gares, avant (vague 1) et après (vague 2) l'intégration "
        "des services dans les gares pilotes ; chaque vague interroge des personnes "
        "différentes (coupes transversales répétées).",
        f"{format_number(len(data), lang)} people interviewed at {data[station].nunique()} "
        "stations, before (wave 1) and after (wave 2) services were integrated at the pilot "
        "stations; each wave interviews different people (repeated cross-sections).",
    ))
    section.add(
        Table(counts, choose(lang, "Personnes interrogées par gare et vague",
                             "Respondents by station and wave"), counts=list(counts.columns)),
        Table(rates, choose(lang, "Part des personnes concernées, par statut de la gare et vague",
                            "Share of respondents, by station status and wave"),
              counts=["n"], percent=outcomes, shares=dict.fromkeys(outcomes, "n"),
              labels={"status": choose(lang, "Statut", "Status"), wave: wave_label,
                      **{o: _outcome(o, lang) for o in outcomes}}),
        LedgerFlow(table.ledger),
    )
    return section


def _cohort(survey: pd.DataFrame, params, lang: str) -> Section:
    from evalkit.cohort.balance import balance_table
    from evalkit.cohort.comparison import CohortComparison

    post = survey[survey[params["wave"]] == survey[params["wave"]].max()]
    treatment, covariates = params["treatment"], list(params["covariates"])
    outcomes = list(params["outcomes"])
    weight = params["weight"] or None
    cluster = params["station"] if params["cluster_by_station"] else None
    model = CohortComparison(post, group=treatment, outcome=outcomes, covariates=covariates,
                             weight=weight, cluster=cluster, id=params["respondent_id"])
    balance = balance_table(post, group=treatment, covariates=covariates, weight=weight)
    ps = model.propensity()
    frame = model.compare(list(params["methods"]), estimand=params["estimand"],
                          level=params["level"])
    names = _method_names(lang)
    frame = frame.assign(method=frame["method"].map(names).fillna(frame["method"]),
                         outcome=frame["outcome"].map(lambda o: _outcome(o, lang)))
    keep = ["outcome", "method", "estimate", "std_error", "p_value", "ci_lower", "ci_upper",
            "n_treated", "n_control"]
    frame = frame[[c for c in keep if c in frame.columns]]
    best = frame[frame["method"] == names[params["methods"][-1]]]

    section = Section(choose(lang, "Comparaison de cohortes (vague 2)",
                             "Cohort comparison (wave 2)"))
    lines = [
        f"- {row['outcome']}{choose(lang, NBSP + ': ', ': ')}"
        f"{format_estimate(row['estimate'], row['ci_lower'], row['ci_upper'], lang, level=params['level'])}"
        for _, row in best.iterrows()
    ]
    section.add(choose(
        lang,
        "Après l'intégration, les personnes rencontrées dans les gares pilotes (cohorte "
        "intégrée) sont comparées à celles des gares de comparaison, à caractéristiques "
        "observées égales. Les deux cohortes diffèrent avant tout ajustement (tableau "
        "d'équilibre) : la différence brute de moyennes est biaisée. Effet estimé, méthode "
        f"«\u00a0{names[params['methods'][-1]]}\u00a0»\u00a0:",
        "After integration, people met at the pilot stations (integrated cohort) are compared "
        "with those at comparison stations, holding observed characteristics equal. The "
        "cohorts differ before any adjustment (balance table): the raw difference in means is "
        f"biased. Estimated effect, method “{names[params['methods'][-1]]}”:",
    ))
    section.add("\n".join(lines))
    bal = balance.to_frame()
    bal_cols = [c for c in ("mean_treated_un", "mean_control_un", "smd_un", "var_ratio_un")
                if c in bal.columns]
    bal = label_index(bal[bal_cols], lang, choose(lang, "Caractéristique", "Characteristic"))
    groups = {"treated": choose(lang, "cohorte intégrée", "integrated cohort"),
              "control": choose(lang, "comparaison", "comparison")}
    section.add(
        Table(frame, choose(lang, "Effet de l'intégration selon l'estimateur",
                            "Effect of integration by estimator"),
              counts=[c for c in ("n_treated", "n_control") if c in frame.columns],
              dependent=[],
              labels={"outcome": choose(lang, "Indicateur", "Outcome"),
                      "method": choose(lang, "Méthode", "Method"),
                      "n_treated": choose(lang, "Effectif intégré", "N integrated"),
                      "n_control": choose(lang, "Effectif comparaison", "N comparison")}),
        Table(bal, choose(lang, "Équilibre des caractéristiques avant ajustement",
                          "Covariate balance before adjustment"),
              labels={"mean_treated_un": choose(lang, "Moyenne cohorte intégrée", "Mean integrated"),
                      "mean_control_un": choose(lang, "Moyenne comparaison", "Mean comparison"),
                      "smd_un": choose(lang, "Différence standardisée", "Standardised diff."),
                      "var_ratio_un": choose(lang, "Rapport des variances", "Variance ratio")},
              note=choose(lang, "Différence standardisée : écart de proportions pour les "
                          "variables binaires, différence de moyennes divisée par l'écart "
                          "type pour les autres.",
                          "Standardised difference: difference in proportions for binary "
                          "variables, difference in means over the standard deviation for "
                          "the others.")),
        Figure(balance.plot(
            labels=variable_labels(balance.to_frame().index, lang), title=None,
            xlabel=choose(lang, "différence standardisée (valeur absolue)",
                          "absolute standardised difference"),
            legend={"unadjusted": choose(lang, "avant ajustement", "unadjusted"),
                    "adjusted": choose(lang, "après ajustement", "adjusted")}),
            choose(lang, "Différences standardisées des caractéristiques (seuil 0,1 en pointillé)",
                   "Standardised differences of covariates (0.1 threshold dashed)")),
        Figure(ps.plot(group_names=groups,
                       xlabel=choose(lang, "score de propension", "propensity score"),
                       ylabel=choose(lang, "densité", "density"),
                       support_label=choose(lang, "support commun", "common support"),
                       count_format=lambda name, n: f"{name} (n = {format_number(n, lang)})"),
               choose(lang, "Recouvrement des scores de propension",
                      "Overlap of propensity scores")),
    )
    return section


def _robustness(survey: pd.DataFrame, params, lang: str, seed: int) -> Section:
    from evalkit.cohort.comparison import CohortComparison
    from evalkit.cohort.multiplicity import adjust_outcomes
    from evalkit.cohort.sensitivity import evalues_for_results

    post = survey[survey[params["wave"]] == survey[params["wave"]].max()]
    outcomes, treatment = list(params["outcomes"]), params["treatment"]
    method = params["methods"][-1]
    cluster = params["station"] if params["cluster_by_station"] else None
    res = CohortComparison(post, group=treatment, outcome=outcomes,
                           covariates=list(params["covariates"]), weight=params["weight"] or None,
                           cluster=cluster, id=params["respondent_id"]
                           ).fit(method=method, estimand=params["estimand"])
    table = adjust_outcomes(res, seed=seed, level=params["level"])[
        ["estimate", "p_value", "p_holm", "p_bh", "p_romano_wolf"]]
    control = post[post[treatment] == 0][outcomes].std()
    evalues = evalues_for_results(res, control, params["level"])[["evalue", "evalue_ci"]]
    table = table.join(evalues)
    table.index = [_outcome(o, lang) for o in table.index]
    table.index.name = choose(lang, "Indicateur", "Outcome")
    section = Section(choose(lang, "Robustesse de la comparaison", "Robustness of the comparison"))
    section.add(choose(
        lang,
        f"{len(outcomes)} indicateurs sont testés à la fois : les p-valeurs sont corrigées (Holm, "
        "Benjamini–Hochberg, Romano–Wolf qui tient compte de leur corrélation). La E-valeur "
        "est la force minimale (en rapport de risques) qu'un facteur de confusion non observé "
        "devrait avoir avec l'intégration et avec l'indicateur pour annuler l'effet "
        "(VanderWeele et Ding, 2017) ; pour l'intervalle, celle qui le ferait contenir zéro.",
        f"{len(outcomes)} outcomes are tested at once: p-values are adjusted (Holm, Benjamini–Hochberg, "
        "and Romano–Wolf, which uses their correlation). The E-value is the minimum strength "
        "(as a risk ratio) an unmeasured confounder would need with both integration and the "
        "outcome to explain the effect away (VanderWeele & Ding, 2017); for the interval, to "
        "make it include zero.",
    ))
    section.add(Table(table, choose(lang, "p-valeurs corrigées et E-valeurs",
                                    "Adjusted p-values and E-values"),
                      labels={"p_holm": "p (Holm)", "p_bh": "p (BH)",
                              "p_romano_wolf": "p (Romano–Wolf)",
                              "evalue": choose(lang, "E-valeur", "E-value"),
                              "evalue_ci": choose(lang, "E-valeur (IC)", "E-value (CI)")},
                      decimals={"estimate": 3, "evalue": 2, "evalue_ci": 2}))
    return section


def _did_estimand(method: str, lang: str) -> str:
    """What the report's 2x2 DiD estimates, in words (see evalkit.did.twoby2)."""
    texts = {
        "imputation": (
            "Estimand : l'effet de l'intégration sur les personnes rencontrées dans les gares "
            "pilotes après l'intégration (cohorte intégrée, la même population que la "
            "comparaison de cohortes). Leur situation sans intégration est imputée par un "
            "modèle des résultats ajusté sur les trois autres cellules (gares pilotes avant, "
            "gares de comparaison avant et après : imputation par régression, Borusyak, "
            "Jaravel et Spiess 2024), qui tient compte du changement de profil des personnes "
            "rencontrées entre les vagues et d'un effet qui varie selon leurs caractéristiques.",
            "Estimand: the effect of integration on the people met at pilot stations after "
            "integration (the integrated cohort, the same population as the cohort "
            "comparison). Their outcomes without integration are imputed from an outcome "
            "model fitted on the three other cells (pilot stations before, comparison "
            "stations before and after: regression imputation, Borusyak, Jaravel & Spiess "
            "2024), which allows for the change in who is met between waves and for an "
            "effect that varies with people's characteristics.",
        ),
        "reg": (
            "Estimateur : régression avec interaction gare pilote × vague 2 et des effets des "
            "caractéristiques communs aux quatre cellules. Si l'effet varie selon les "
            "caractéristiques et que le profil des personnes change entre les vagues, ce "
            "n'est pas exactement l'effet sur la cohorte intégrée (préférer l'imputation).",
            "Estimator: regression with a pilot × wave-2 interaction and covariate effects "
            "common to the four cells. If the effect varies with characteristics and who is "
            "met changes between waves, this is not exactly the effect on the integrated "
            "cohort (prefer imputation).",
        ),
    }
    sant_anna_zhao = (
        "Estimateur de Sant'Anna et Zhao (2020) pour coupes répétées : il suppose que le "
        "profil des personnes de chaque groupe de gares est le même aux deux vagues, ce qui "
        "n'est pas le cas si l'intégration atteint d'autres personnes (préférer l'imputation).",
        "Sant'Anna & Zhao (2020) repeated cross-section estimator: it assumes the profile of "
        "the people met in each group of stations is the same in both waves, which fails if "
        "integration reaches other people (prefer imputation).",
    )
    return choose(lang, *texts.get(method, sant_anna_zhao))


def did_fit(survey: pd.DataFrame, params, outcome: str):
    """The report's 2x2 DiD of ``outcome``: pilot vs comparison stations, wave 1 vs 2.

    With the default ``did_method="imputation"`` it estimates the ATT on the
    integrated cohort (``truth["did_pilot_post"]`` of the generator).
    """
    from evalkit.did.twoby2 import DiD2x2

    return DiD2x2(
        survey, outcome=outcome, group=params["pilot"], period=params["wave"],
        covariates=list(params["covariates"]), cluster=params["station"],
        weight=params["weight"] or None, repeated_cross_section=True,
    ).fit(method=params["did_method"])


def _did(survey: pd.DataFrame, params, lang: str, seed: int) -> Section:
    rows, ledger, first = [], None, None
    for outcome in params["outcomes"]:
        res = did_fit(survey, params, outcome)
        row = res.to_frame(params["level"]).loc[["att"]].assign(outcome=_outcome(outcome, lang))
        if params["wcb_draws"] and params["did_method"] in ("reg", "imputation"):
            # Few stations: the wild cluster bootstrap gives the p-value and CI to trust.
            wcb = res.wild_cluster_bootstrap(n_boot=params["wcb_draws"], level=params["level"],
                                             seed=seed)
            row = row.assign(wcb_p_value=wcb.pvalue, wcb_ci_lower=wcb.conf_int[0],
                             wcb_ci_upper=wcb.conf_int[1])
        rows.append(row)
        ledger = ledger or res.ledger
        first = first or res
    frame = pd.concat(rows).set_index("outcome")
    frame.index.name = choose(lang, "Indicateur", "Outcome")
    section = Section(choose(lang, "Différence de différences", "Difference-in-differences"))
    section.add(choose(
        lang,
        "L'évolution entre les deux vagues dans les gares pilotes est comparée à celle des "
        "gares de comparaison, en ajustant sur les caractéristiques des personnes "
        "interrogées (qui changent d'une vague à l'autre) ; erreurs types groupées par gare. "
        "Avec peu de gares, ces erreurs types sont fragiles.",
        "The change between waves at pilot stations is compared with the change at "
        "comparison stations, adjusting for respondents' characteristics (which change "
        "between waves); standard errors clustered by station. With few stations these "
        "standard errors are fragile.",
    ))
    section.add(_did_estimand(params["did_method"], lang))
    section.add(Table(frame, choose(lang, "Effet de l'intégration (différence de différences)",
                                    "Effect of integration (difference-in-differences)"),
                      labels={"wcb_p_value": choose(lang, "p (bootstrap)", "p (bootstrap)"),
                              "wcb_ci_lower": choose(lang, "IC inf. (bootstrap)",
                                                     "CI lower (bootstrap)"),
                              "wcb_ci_upper": choose(lang, "IC sup. (bootstrap)",
                                                     "CI upper (bootstrap)")},
                      note=choose(
                          lang,
                          "Bootstrap : bootstrap sauvage par grappes restreint (poids de Webb, "
                          "Roodman et al. 2019), p-valeur et intervalle par inversion du test ; "
                          "à privilégier avec aussi peu de gares.",
                          "Bootstrap: wild cluster restricted bootstrap (Webb weights, Roodman "
                          "et al. 2019), p-value and test-inversion interval; prefer them with "
                          "so few stations.") if "wcb_p_value" in frame.columns else ""))
    if hasattr(first, "plot"):
        section.add(_did_figure(first, params["outcomes"][0], lang))
    if ledger is not None and len(ledger):
        section.add(LedgerFlow(ledger))
    return section


def _did_figure(res, outcome: str, lang: str) -> Figure:
    """Group means by wave with the parallel-trend counterfactual, in ``lang``."""
    estimate = format_number(res.att, lang, 3)  # the plot's own format would print 0.119
    figure = res.plot(
        labels=(choose(lang, "Gares de comparaison", "Comparison stations"),
                choose(lang, "Gares pilotes", "Pilot stations")),
        title=choose(lang, f"Effet estimé après ajustement{NBSP}: {estimate}",
                     f"Estimated effect, adjusted: {estimate}"),
        ylabel=choose(lang, "Moyenne de l'indicateur", "Mean outcome"),
        period_labels=(choose(lang, "Vague 1 (avant)", "Wave 1 (before)"),
                       choose(lang, "Vague 2 (après)", "Wave 2 (after)")),
        counterfactual_label=choose(lang, "{treated} sans intégration (tendance parallèle)",
                                    "{treated} without integration (parallel trend)"),
    )
    name = _outcome(outcome, lang)
    return Figure(figure, choose(
        lang,
        f"{name}{NBSP}: moyennes par groupe de gares et vague, et tendance parallèle. L'écart "
        "en vague 2 entre les gares pilotes et la tendance parallèle est la différence de "
        "différences brute ; l'effet estimé, en titre, tient compte des caractéristiques des "
        "personnes.",
        f"{name}: means by group of stations and wave, and the parallel trend. The wave-2 "
        "gap between pilot stations and the parallel trend is the raw difference in "
        "differences; the estimated effect, in the title, adjusts for people's "
        "characteristics."))


def _attrition(survey: pd.DataFrame, followup: pd.DataFrame, params, lang: str) -> Section:
    from evalkit.cohort.attrition import attrition

    rid, pilot = params["respondent_id"], params["pilot"]
    baseline = survey[[rid, *params["covariates"]]]
    drawn = followup[[rid, pilot, "responded"]].merge(baseline, on=rid, how="left",
                                                      validate="one_to_one")
    res = attrition(drawn, group=pilot, responded="responded",
                    covariates=list(params["covariates"]), id=rid)
    names = {True: choose(lang, "Gares pilotes", "Pilot stations"),
             False: choose(lang, "Gares de comparaison", "Comparison stations"),
             "overall": choose(lang, "Ensemble", "Overall")}
    rates = res.rates.rename(index=lambda k: names.get(k, str(k)))
    rates.index.name = choose(lang, "Groupe", "Group")
    cautious = res.classification.loc["cautious", "attrition"]
    verdict = {"low": choose(lang, "faible", "low"), "high": choose(lang, "forte", "high")}
    section = Section(choose(lang, "Attrition du suivi", "Follow-up attrition"))
    section.add(choose(
        lang,
        "Une partie des personnes de la vague 1 a été recherchée pour un second entretien. "
        f"Attrition globale : {format_percent(res.overall, lang)}, différentielle (pilotes "
        f"moins comparaison) : {format_percent(res.differential, lang)} — attrition "
        f"**{verdict.get(cautious, cautious)}** selon la limite prudente du What Works "
        "Clearinghouse (v4.1, tableau II.1).",
        "Some wave-1 respondents were sought for a second interview. Overall attrition: "
        f"{format_percent(res.overall, lang)}, differential (pilot minus comparison): "
        f"{format_percent(res.differential, lang)} — **{verdict.get(cautious, cautious)}** "
        "attrition under the cautious What Works Clearinghouse boundary (v4.1, Table II.1).",
    ))
    section.add(Table(rates, choose(lang, "Personnes recherchées et retrouvées",
                                    "People sought and re-interviewed"),
                      counts=[c for c in ("n_sampled", "n_responded") if c in rates.columns],
                      percent=["attrition"],
                      labels={"n_sampled": choose(lang, "Recherchées", "Sought"),
                              "n_responded": choose(lang, "Retrouvées", "Re-interviewed"),
                              "attrition": "Attrition"}))
    if res.response_model is not None:
        model = label_index(res.response_model.to_frame(params["level"]), lang,
                            choose(lang, "Variable", "Variable"),
                            extra={"group": VARIABLES["pilot"]})
        section.add(Table(model, choose(
            lang, "Modèle de réponse (logit ; coefficients en log-rapport de cotes)",
            "Response model (logit, log-odds)")))
    return section


def _indicators(survey: pd.DataFrame, params, lang: str, threshold: int) -> Section:
    from evalkit.indicators.definition import Disaggregations, Indicator
    from evalkit.indicators.evaluate import IndicatorModel

    station, wave = params["station"], params["wave"]
    indicators = [
        Indicator(name, *VARIABLES.get(name, (name, name)), kind="proportion",
                  numerator=name, disaggregations=("territory", "period"), per=100,
                  unit_fr="%", unit_en="%")
        for name in params["outcomes"]
    ]
    res = IndicatorModel(
        indicators, survey, disaggregations=Disaggregations(territory=station, period=wave),
        id=params["respondent_id"],
    ).fit(level=params["level"])
    published = res.publishable(threshold)  # masks cells of fewer than `threshold` people
    everyone = choose(lang, "Ensemble", "All")
    section = Section(choose(lang, "Indicateurs de suivi", "Monitoring indicators"))
    section.add(choose(
        lang,
        "Part des personnes interrogées concernées, par gare et par vague (en %). Les "
        "cellules de moins de "
        f"{threshold} personnes sont masquées, ainsi que celles qui permettraient de les "
        "recalculer.",
        "Share of respondents concerned, by station and wave (%). Cells of fewer than "
        f"{threshold} people are masked, with those from which they could be recalculated.",
    ))
    for indicator in indicators:
        rows = published[published["indicator"] == indicator.name]
        wide = rows.pivot(index="territory", columns="period", values="estimate")
        flags = rows.pivot(index="territory", columns="period", values="masked")
        order = [t for t in wide.index if t != "(all)"] + ["(all)"]
        columns = [p for p in wide.columns if p != "(all)"] + ["(all)"]
        wide, flags = wide.loc[order, columns], flags.loc[order, columns].astype(bool)
        names = {p: f"{choose(lang, 'Vague', 'Wave')} {p}" for p in columns if p != "(all)"}
        names["(all)"] = everyone
        wide = wide.rename(index={"(all)": everyone}, columns=names)
        flags = flags.rename(index={"(all)": everyone}, columns=names)
        wide.index.name = flags.index.name = choose(lang, "Gare", "Station")
        section.add(Table(wide, choose(lang, indicator.label_fr, indicator.label_en),
                          decimals=1, suppressed=flags))
    return section


def _network(edges: pd.DataFrame, organisations: pd.DataFrame, pilot: list[str], params,
             lang: str, seed: int) -> Section:
    from evalkit.network.analysis import ServiceNetworkAnalysis

    res = ServiceNetworkAnalysis(edges, organisations=organisations).fit()
    change = res.change(pilot=pilot, n_perm=params["n_perm"], seed=seed)
    measures = res.to_frame()
    cols = ["site", "wave", "n_organisations", "n_ties", "density", "degree_centralisation",
            "n_components", "cross_sector_share"]
    measures = measures[[c for c in cols if c in measures.columns]]
    site_label = choose(lang, "Gare", "Station")
    section = Section(choose(lang, "Réseaux de collaboration entre services",
                             "Collaboration networks between services"))
    section.add(choose(
        lang,
        "Pour chaque gare et chaque vague, les liens de collaboration entre les services "
        "forment un réseau. L'intégration devrait le densifier et multiplier les liens entre "
        "secteurs dans les gares pilotes. Les changements sont testés par permutation.",
        "At each station and wave, collaboration ties between services form a network. "
        "Integration should make it denser, with more ties across sectors, at pilot "
        "stations. Changes are tested by permutation.",
    ))
    shown = [pilot[0]] if pilot else []
    others = [s for s in res.networks.sites if s not in pilot]
    shown += others[:1]
    section.add(
        Table(measures, choose(lang, "Mesures des réseaux par gare et vague",
                               "Network measures by station and wave"),
              labels={"site": site_label, "wave": choose(lang, "Vague", "Wave"),
                      "n_organisations": choose(lang, "Services", "Services"),
                      "n_ties": choose(lang, "Liens", "Ties"),
                      "density": choose(lang, "Densité", "Density"),
                      "degree_centralisation": choose(lang, "Centralisation", "Centralisation"),
                      "n_components": choose(lang, "Composantes", "Components"),
                      "cross_sector_share": choose(lang, "Part intersectorielle",
                                                   "Cross-sector share")}),
        Table(_change_frame(change, lang), choose(lang, "Évolution de la densité entre vagues",
                                                  "Change in density between waves")),
        Figure(res.plot(sites=shown, seed=seed, sector_labels=_sector_names(lang),
                        panel_title=choose(lang, "{site} — vague {wave}", "{site} — wave {wave}")),
               choose(lang, "Réseaux d'une gare pilote et d'une gare de comparaison",
                      "Networks of a pilot and a comparison station")),
    )
    if len(res.ledger):
        section.add(LedgerFlow(res.ledger))
    return section


def _sector_names(lang: str) -> dict[str, str]:
    return {
        "health": choose(lang, "santé", "health"),
        "ngo": choose(lang, "association", "NGO"),
        "police": choose(lang, "police", "police"),
        "public": choose(lang, "service public", "public service"),
        "railway": choose(lang, "entreprise ferroviaire", "railway company"),
    }


def _change_frame(change, lang: str) -> pd.DataFrame:
    """Density changes by station, rows named by station (not ``"<site>: density change"``)."""
    frame = change.to_frame()
    suffix = ": density change"
    pilot_row = "pilot - comparison" + suffix
    names = {pilot_row: choose(lang, "Gares pilotes − gares de comparaison",
                               "Pilot − comparison stations")}
    frame.index = [names.get(k, k.removesuffix(suffix)) for k in map(str, frame.index)]
    frame.index.name = choose(lang, "Gare", "Station")
    return frame


def build(tables, *, analyses, params, lang: str, seed: int, threshold: int = 11) -> Section:
    """The Hope in stations section: one guarded sub-section per analysis."""
    survey = tables["survey"]
    section = Section(choose(lang, "Hope in stations", "Hope in stations"))
    section.add(choose(
        lang,
        "Le projet *Hope in stations* intègre les services d'aide aux personnes sans abri "
        "dans quatre grandes gares européennes (gares pilotes) ; trois gares servent de "
        "comparaison. Une enquête a lieu avant et après l'intégration.",
        "The *Hope in stations* project integrates the services helping homeless people in "
        "four large European stations (pilot stations); three stations serve for comparison. "
        "A survey is run before and after integration.",
    ))
    pilot = _pilot_stations(survey, params)
    parts = {
        "descriptives": (choose(lang, "Données d'enquête", "Survey data"),
                         lambda: _descriptives(survey, params, lang)),
        "cohort": (choose(lang, "Comparaison de cohortes (vague 2)", "Cohort comparison (wave 2)"),
                   lambda: _cohort(survey, params, lang)),
        "robustness": (choose(lang, "Robustesse de la comparaison",
                              "Robustness of the comparison"),
                       lambda: _robustness(survey, params, lang, seed)),
        "did": (choose(lang, "Différence de différences", "Difference-in-differences"),
                lambda: _did(survey, params, lang, seed)),
        "experiment": (choose(lang, "Inférence par randomisation et puissance",
                              "Randomisation inference and power"),
                       lambda: _experiment(survey, params, lang, seed, threshold)),
        "lee_bounds": (choose(lang, "Bornes de Lee au suivi", "Lee bounds at follow-up"),
                       lambda: _lee_bounds(_require(tables, "followup"), params, lang, seed)),
        "attrition": (choose(lang, "Attrition du suivi", "Follow-up attrition"),
                      lambda: _attrition(survey, _require(tables, "followup"), params, lang)),
        "indicators": (choose(lang, "Indicateurs de suivi", "Monitoring indicators"),
                       lambda: _indicators(survey, params, lang, threshold)),
        "network": (choose(lang, "Réseaux de collaboration entre services",
                           "Collaboration networks between services"),
                    lambda: _network(_require(tables, "edges"), _require(tables, "organisations"),
                                     pilot, params, lang, seed)),
    }
    return build_analyses(section, parts, analyses, prefix=NAME)


def _experiment(survey: pd.DataFrame, params, lang: str, seed: int, threshold: int) -> Section:
    """The reusable ``experiment`` section on the survey: stations are the assigned sites."""
    from evalkit.report.sections import InputData, SectionContext, get_section

    spec = get_section("experiment")
    data = InputData("survey", survey, {
        "group": params["pilot"], "cluster": params["station"], "period": params["wave"],
        "outcomes": list(params["outcomes"]), "covariates": list(params["covariates"])})
    ctx = SectionContext(lang, seed, threshold, texts=spec.text,
                         where=f"analysis 'experiment' of programme {NAME!r}")
    method = params["did_method"] if params["did_method"] in ("imputation", "reg") else "imputation"
    return spec.build(data, ctx, {**spec.defaults(), "level": params["level"],
                                  "did_method": method})


def _lee_bounds(followup: pd.DataFrame, params, lang: str, seed: int) -> Section:
    """The reusable ``lee_bounds`` section on the follow-up: pilot vs comparison stations."""
    from evalkit.report.sections import InputData, SectionContext, get_section

    spec = get_section("lee_bounds")
    data = InputData("followup", followup, {
        "group": params["pilot"], "responded": "responded",
        "outcomes": list(params["outcomes"])})
    ctx = SectionContext(lang, seed, texts=spec.text,
                         where=f"analysis 'lee_bounds' of programme {NAME!r}")
    return spec.build(data, ctx, {**spec.defaults(), "level": params["level"]})


def _require(tables, name: str) -> pd.DataFrame:
    from evalkit.errors import ConfigError

    if name not in tables:
        raise ConfigError(f"this analysis needs the input table '{name}' (add it under inputs)")
    return tables[name]


def generate(seed: int) -> dict[str, pd.DataFrame]:
    """Small synthetic inputs (120 respondents per station and wave) for tests and demos."""
    from evalkit.datasets import hope_in_stations

    return dict(hope_in_stations.generate(seed=seed, n_per_station_wave=120).tables)


PROGRAMME = ProgrammeSpec(
    name=NAME,
    title={"fr": "Hope in stations", "en": "Hope in stations"},
    inputs={
        "survey": InputSpec("survey respondents, both waves (hope_in_stations_survey.csv)",
                            roles={"id": "respondent_id"}),
        "edges": InputSpec("collaboration ties (hope_in_stations_edges.csv)", required=False),
        "organisations": InputSpec("services per station (hope_in_stations_organisations.csv)",
                                   required=False),
        "followup": InputSpec("re-interviews (hope_in_stations_followup.csv)", required=False,
                              roles={"id": "respondent_id"}),
    },
    analyses={
        "descriptives": "respondents by station and wave, outcome rates, exclusion flow",
        "cohort": "wave-2 integrated vs comparison cohort: balance, overlap, estimators",
        "robustness": "multiplicity-adjusted p-values and E-values of the cohort comparison",
        "did": "difference-in-differences on repeated cross-sections",
        "experiment": "randomisation inference over the 35 station assignments; power",
        "lee_bounds": "Lee bounds on follow-up outcomes (respondents only)",
        "attrition": "follow-up attrition (WWC boundaries) and response model",
        "indicators": "monitoring indicators by station and wave (disclosure-controlled)",
        "network": "service collaboration networks and their change",
    },
    parameters={
        "outcomes": ParamSpec("list[str]", list(OUTCOMES), "0/1 outcome columns"),
        "covariates": ParamSpec("list[str]", list(COVARIATES), "respondent covariates"),
        "methods": ParamSpec("list[str]", ["dim", "ra", "ipw", "aipw"],
                             "cohort estimators, the last one is quoted in the text",
                             choices=METHODS),
        "estimand": ParamSpec(str, "ATT", "cohort estimand", choices=("ATT", "ATE")),
        "treatment": ParamSpec(str, "integrated", "0/1 column: integrated cohort"),
        "pilot": ParamSpec(str, "pilot", "boolean column: pilot station"),
        "pilot_stations": ParamSpec("list[str]", [], "pilot stations (default: from `pilot`)"),
        "station": ParamSpec(str, "station", "station column (cluster)"),
        "wave": ParamSpec(str, "wave", "survey wave column (1 = before, 2 = after)"),
        "respondent_id": ParamSpec(str, "respondent_id", "respondent identifier column"),
        "weight": ParamSpec(str, "", "survey weight column ('' for none)"),
        "cluster_by_station": ParamSpec(bool, True, "cluster standard errors by station"),
        "did_method": ParamSpec(str, "imputation",
                                "2x2 DiD estimator (imputation: ATT on the integrated cohort)",
                                choices=("imputation", "reg", "or", "ipw", "dr")),
        "wcb_draws": ParamSpec(int, 999, "wild cluster bootstrap draws of the DiD (0: none)",
                               minimum=0),
        "n_perm": ParamSpec(int, 999, "permutations of the network tests", minimum=19),
        "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
    },
    build=build,
    generate=generate,
    id_parameter="respondent_id",
)
