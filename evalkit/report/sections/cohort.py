"""Cohort comparison sections on a person table: estimators, balance, overlap, robustness.

Input: persons with roles ``id``, ``group`` (0/1 arm), ``outcomes``,
``covariates`` (optional ``weight``, ``site`` for clustered standard errors,
``period`` to compare at the last period only, e.g. after a programme started).

- ``cohort_comparison``: the effect on each outcome by several estimators
  (difference in means, regression adjustment, IPW, matching, AIPW), the
  covariate balance table, the Love plot before and after weighting, and the
  propensity-score overlap;
- ``cohort_robustness``: p-values adjusted for several outcomes (Holm,
  Benjamini–Hochberg, Romano–Wolf) and E-values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, Section, Table
from evalkit.report.labels import Labels
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec

NBSP = "\u00a0"
METHODS = ("dim", "ra", "ipw", "matching", "aipw")


def _sample(data, params) -> pd.DataFrame:
    frame = data.frame
    if params["last_period_only"] and data.has("period"):
        period = data.role("period")
        frame = frame[frame[period] == frame[period].max()]
    return frame


def _model(data, frame, params):
    from evalkit.cohort.comparison import CohortComparison

    cluster = data.role("site", None) if params["cluster_by_site"] else None
    return CohortComparison(frame, group=data.role("group"),
                            outcome=list(data.role("outcomes")),
                            covariates=list(data.role("covariates")),
                            weight=data.role("weight", None), cluster=cluster, id=data.role("id"))


def _adjustment_weights(ps, estimand: str) -> pd.Series:
    """IPW balancing weights of the fitted score (ATT: controls ps/(1-ps); ATE: 1/p)."""
    p, d = np.asarray(ps.ps), np.asarray(ps.d)
    if estimand == "ATT":
        w = np.where(d == 1, 1.0, p / (1 - p))
    else:
        w = np.where(d == 1, 1 / p, 1 / (1 - p))
    return pd.Series(w, index=ps.row_index)


def _comparison(data, ctx, params) -> Section:
    from evalkit.cohort.balance import balance_table

    post = _sample(data, params)
    group, covariates = data.role("group"), list(data.role("covariates"))
    weight = data.role("weight", None)
    level, methods = params["level"], list(params["methods"])
    model = _model(data, post, params)
    balance = balance_table(post, group=group, covariates=covariates, weight=weight)
    ps = model.propensity()
    # The score's weights are indexed by person id; rows it dropped get weight 0.
    weights = post[data.role("id")].map(_adjustment_weights(ps, params["estimand"]))
    adjusted = balance_table(post, group=group, covariates=covariates, weight=weight,
                             weights_array=weights.fillna(0).to_numpy(), estimand=params["estimand"])
    frame = model.compare(methods, estimand=params["estimand"], level=level)
    names = {m: ctx.text(f"method_{m}") for m in METHODS}
    frame = frame.assign(method=frame["method"].map(names).fillna(frame["method"]),
                         outcome=frame["outcome"].map(ctx.variable))
    keep = ["outcome", "method", "estimate", "std_error", "p_value", "ci_lower", "ci_upper",
            "n_treated", "n_control"]
    frame = frame[[c for c in keep if c in frame.columns]]
    quoted = names[methods[-1]]
    best = frame[frame["method"] == quoted]
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", method=quoted))
    if len(best):
        head = best.iloc[0]
        section.headline = ctx.text(
            "headline", outcome=head["outcome"], method=quoted,
            estimate=ctx.estimate(head["estimate"], head["ci_lower"], head["ci_upper"],
                                  level=level),
            reading=ctx.reading(head["ci_lower"], head["ci_upper"], level))
    separator = ctx.choose(NBSP + ": ", ": ")
    section.add("\n".join(
        f"- {row['outcome']}{separator}"
        f"{ctx.estimate(row['estimate'], row['ci_lower'], row['ci_upper'], level=level)}"
        for _, row in best.iterrows()))
    bal = balance.to_frame()
    bal_cols = [c for c in ("mean_treated_un", "mean_control_un", "smd_un", "var_ratio_un")
                if c in bal.columns]
    # Dummies of unlabelled covariates still read "sexe : female", not "sexe_female".
    labels = Labels({**{c: (c, c) for c in covariates}, **ctx.labels.variables},
                    ctx.labels.values)
    bal = labels.index(bal[bal_cols], ctx.lang, ctx.text("characteristic"))
    groups = {"treated": ctx.text("treated"), "control": ctx.text("control")}
    section.add(
        Table(frame, ctx.text("caption"),
              counts=[c for c in ("n_treated", "n_control") if c in frame.columns],
              dependent=[],
              labels={"outcome": ctx.text("outcome"), "method": ctx.text("method"),
                      "n_treated": ctx.text("n_treated"), "n_control": ctx.text("n_control")}),
        Table(bal, ctx.text("balance_caption"),
              labels={"mean_treated_un": ctx.text("mean_treated"),
                      "mean_control_un": ctx.text("mean_control"),
                      "smd_un": ctx.text("smd"), "var_ratio_un": ctx.text("var_ratio")},
              note=ctx.text("smd_note")),
        Figure(adjusted.plot(
            labels=labels.names(adjusted.to_frame().index, ctx.lang), title=None,
            xlabel=ctx.text("love_xlabel"),
            legend={"unadjusted": ctx.text("unadjusted"), "adjusted": ctx.text("adjusted")}),
            ctx.text("love_caption")),
        Figure(ps.plot(group_names=groups, xlabel=ctx.text("ps_xlabel"),
                       ylabel=ctx.text("density"), support_label=ctx.text("support"),
                       count_format=lambda name, n: f"{name} (n = {ctx.number(n)})"),
               ctx.text("ps_caption")),
    )
    return section


COMPARISON_TEXT = {
    "title": ("Comparaison de cohortes", "Cohort comparison"),
    "intro": (
        "Les personnes du groupe traité sont comparées à celles du groupe de comparaison, à "
        "caractéristiques observées égales. Si les groupes diffèrent avant tout ajustement "
        "(tableau d'équilibre), la différence brute de moyennes est biaisée. Effet estimé, "
        f"méthode «{NBSP}{{method}}{NBSP}»{NBSP}:",
        "People in the treated group are compared with those in the comparison group, holding "
        "observed characteristics equal. If the groups differ before any adjustment (balance "
        "table), the raw difference in means is biased. Estimated effect, method “{method}”:",
    ),
    "method_dim": ("Différence de moyennes", "Difference in means"),
    "method_ra": ("Ajustement par régression", "Regression adjustment"),
    "method_ipw": ("Pondération (IPW)", "Weighting (IPW)"),
    "method_matching": ("Appariement", "Matching"),
    "method_aipw": ("Doublement robuste (AIPW)", "Doubly robust (AIPW)"),
    "characteristic": ("Caractéristique", "Characteristic"),
    "headline": ("{outcome}, {method}\u00a0: **{estimate}**\u00a0; {reading}",
                 "{outcome}, {method}: **{estimate}**; {reading}"),
    "treated": ("groupe traité", "treated group"),
    "control": ("comparaison", "comparison"),
    "caption": ("Effet selon l'estimateur", "Effect by estimator"),
    "outcome": ("Indicateur", "Outcome"),
    "method": ("Méthode", "Method"),
    "n_treated": ("Effectif traité", "N treated"),
    "n_control": ("Effectif comparaison", "N comparison"),
    "balance_caption": ("Équilibre des caractéristiques avant ajustement",
                        "Covariate balance before adjustment"),
    "mean_treated": ("Moyenne groupe traité", "Mean treated"),
    "mean_control": ("Moyenne comparaison", "Mean comparison"),
    "smd": ("Différence standardisée", "Standardised diff."),
    "var_ratio": ("Rapport des variances", "Variance ratio"),
    "smd_note": (
        "Différence standardisée : écart de proportions pour les variables binaires, "
        "différence de moyennes divisée par l'écart type pour les autres.",
        "Standardised difference: difference in proportions for binary variables, difference "
        "in means over the standard deviation for the others."),
    "love_xlabel": ("différence standardisée (valeur absolue)",
                    "absolute standardised difference"),
    "unadjusted": ("avant ajustement", "unadjusted"),
    "adjusted": ("après pondération (IPW)", "after weighting (IPW)"),
    "love_caption": (
        "Différences standardisées des caractéristiques avant et après pondération par le "
        "score de propension (seuil 0,1 en pointillé)",
        "Standardised differences of covariates before and after propensity-score weighting "
        "(0.1 threshold dashed)"),
    "ps_xlabel": ("score de propension", "propensity score"),
    "density": ("densité", "density"),
    "support": ("support commun", "common support"),
    "ps_caption": ("Recouvrement des scores de propension", "Overlap of propensity scores"),
}


def _robustness(data, ctx, params) -> Section:
    from evalkit.cohort.multiplicity import adjust_outcomes
    from evalkit.cohort.sensitivity import evalues_for_results

    post = _sample(data, params)
    outcomes, group = list(data.role("outcomes")), data.role("group")
    res = _model(data, post, params).fit(method=params["methods"][-1],
                                           estimand=params["estimand"])
    table = adjust_outcomes(res, seed=ctx.seed, level=params["level"])[
        ["estimate", "p_value", "p_holm", "p_bh", "p_romano_wolf"]]
    control = post[post[group] == 0][outcomes].std()
    evalues = evalues_for_results(res, control, params["level"])[["evalue", "evalue_ci"]]
    table = table.join(evalues)
    table.index = [ctx.variable(o) for o in table.index]
    table.index.name = ctx.text("outcome")
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n_outcomes=ctx.number(len(outcomes))))
    section.add(Table(table, ctx.text("caption"),
                      labels={"p_holm": "p (Holm)", "p_bh": "p (BH)",
                              "p_romano_wolf": "p (Romano–Wolf)",
                              "evalue": ctx.text("evalue"), "evalue_ci": ctx.text("evalue_ci")},
                      decimals={"estimate": 3, "evalue": 2, "evalue_ci": 2}))
    return section


ROBUSTNESS_TEXT = {
    "title": ("Robustesse de la comparaison", "Robustness of the comparison"),
    "intro": (
        "{n_outcomes} indicateurs sont testés à la fois : les p-valeurs sont corrigées (Holm, "
        "Benjamini–Hochberg, Romano–Wolf qui tient compte de leur corrélation). La E-valeur "
        "est la force minimale (en rapport de risques) qu'un facteur de confusion non observé "
        "devrait avoir avec le traitement et avec l'indicateur pour annuler l'effet "
        "(VanderWeele et Ding, 2017) ; pour l'intervalle, celle qui le ferait contenir zéro.",
        "{n_outcomes} outcomes are tested at once: p-values are adjusted (Holm, "
        "Benjamini–Hochberg, and Romano–Wolf, which uses their correlation). The E-value is "
        "the minimum strength (as a risk ratio) an unmeasured confounder would need with both "
        "the treatment and the outcome to explain the effect away (VanderWeele & Ding, 2017); "
        "for the interval, to make it include zero.",
    ),
    "outcome": ("Indicateur", "Outcome"),
    "caption": ("p-valeurs corrigées et E-valeurs", "Adjusted p-values and E-values"),
    "evalue": ("E-valeur", "E-value"),
    "evalue_ci": ("E-valeur (IC)", "E-value (CI)"),
}

COMMON = {
    "methods": ParamSpec("list[str]", ["dim", "ra", "ipw", "aipw"],
                         "estimators; the last one is quoted in the text", choices=METHODS),
    "estimand": ParamSpec(str, "ATT", "estimand", choices=("ATT", "ATE")),
    "cluster_by_site": ParamSpec(bool, True, "cluster standard errors by the site role"),
    "last_period_only": ParamSpec(bool, True, "compare at the last period of the period role"),
    "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
}
ROLES = ("id", "group", "outcomes", "covariates")
SECTIONS = {
    "cohort_comparison": SectionSpec(
        "cohort_comparison", "persons", _comparison, roles=ROLES,
        optional_roles=("weight", "site", "period"), parameters=COMMON, text=COMPARISON_TEXT,
        doc="effect by estimator, balance (Love plot before/after weighting), overlap"),
    "cohort_robustness": SectionSpec(
        "cohort_robustness", "persons", _robustness, roles=ROLES,
        optional_roles=("weight", "site", "period"), parameters=COMMON, text=ROBUSTNESS_TEXT,
        doc="multiplicity-adjusted p-values and E-values"),
}
