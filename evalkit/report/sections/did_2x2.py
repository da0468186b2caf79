"""2x2 difference-in-differences section (panel or repeated cross-sections).

Input: a table with roles ``group`` (0/1 or boolean: treated group), ``period``
(two values: before, after), ``outcomes``; optional ``covariates``,
``cluster`` (or ``site``), ``weight``. One estimate per outcome, a wild
cluster bootstrap when clusters are few, the figure of group means with the
parallel-trend counterfactual, and what the chosen estimator estimates.
"""

from __future__ import annotations

import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec

NBSP = "\u00a0"


def did_fit(data, params, outcome: str):
    """The section's 2x2 DiD of ``outcome`` (``data``: an InputData with the section's roles).

    With ``did_method="imputation"`` it estimates the ATT on the treated group after
    treatment (Borusyak, Jaravel & Spiess 2024), allowing for a change in who is
    observed between the periods.
    """
    from evalkit.did.twoby2 import DiD2x2

    cluster = data.role("cluster", None) or data.role("site", None)
    return DiD2x2(
        data.frame, outcome=outcome, group=data.role("group"), period=data.role("period"),
        covariates=list(data.role("covariates", [])) or None, cluster=cluster,
        weight=data.role("weight", None), repeated_cross_section=params["repeated_cross_section"],
    ).fit(method=params["did_method"])


def _did(data, ctx, params) -> Section:
    rows, ledger, first = [], None, None
    level = params["level"]
    outcomes = list(data.role("outcomes"))
    for outcome in outcomes:
        res = did_fit(data, params, outcome)
        row = res.to_frame(level).loc[["att"]].assign(outcome=ctx.variable(outcome))
        if params["wcb_draws"] and params["did_method"] in ("reg", "imputation") \
                and (data.has("cluster") or data.has("site")):
            # Few clusters: the wild cluster bootstrap gives the p-value and CI to trust.
            wcb = res.wild_cluster_bootstrap(n_boot=params["wcb_draws"], level=level,
                                             seed=ctx.seed)
            row = row.assign(wcb_p_value=wcb.pvalue, wcb_ci_lower=wcb.conf_int[0],
                             wcb_ci_upper=wcb.conf_int[1])
        rows.append(row)
        ledger = ledger or res.ledger
        first = first or res
    frame = pd.concat(rows).set_index("outcome")
    frame.index.name = ctx.text("outcome")
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro"))
    head = frame.iloc[0]
    section.headline = ctx.text(
        "headline", outcome=frame.index[0],
        estimate=ctx.estimate(head["estimate"], head["ci_lower"], head["ci_upper"], level=level),
        reading=ctx.reading(head["ci_lower"], head["ci_upper"], level))
    method = params["did_method"]
    section.add(ctx.text(f"estimand_{method}" if method in ("imputation", "reg")
                         else "estimand_sant_anna_zhao"))
    section.add(Table(frame, ctx.text("caption"),
                      labels={"wcb_p_value": ctx.text("wcb_p"),
                              "wcb_ci_lower": ctx.text("wcb_lower"),
                              "wcb_ci_upper": ctx.text("wcb_upper")},
                      note=ctx.text("wcb_note") if "wcb_p_value" in frame.columns else ""))
    if hasattr(first, "plot"):
        section.add(_figure(first, outcomes[0], ctx))
    if ledger is not None and len(ledger):
        section.add(LedgerFlow(ledger))
    return section


def _figure(res, outcome: str, ctx) -> Figure:
    """Group means by period with the parallel-trend counterfactual."""
    estimate = ctx.number(res.att, 3)  # the plot's own format would print 0.119
    figure = res.plot(
        labels=(ctx.text("control_group"), ctx.text("treated_group")),
        title=ctx.text("figure_title", estimate=estimate),
        ylabel=ctx.text("ylabel"),
        period_labels=(ctx.text("before"), ctx.text("after")),
        counterfactual_label=ctx.text("counterfactual"),
    )
    return Figure(figure, ctx.text("figure", outcome=ctx.variable(outcome)))


TEXT = {
    "title": ("Différence de différences", "Difference-in-differences"),
    "intro": (
        "L'évolution entre les deux périodes dans le groupe traité est comparée à celle du "
        "groupe de comparaison, en ajustant sur les caractéristiques observées ; erreurs "
        "types groupées. Avec peu de grappes, ces erreurs types sont fragiles.",
        "The change between the two periods in the treated group is compared with the change "
        "in the comparison group, adjusting for observed characteristics; clustered standard "
        "errors. With few clusters these standard errors are fragile.",
    ),
    "estimand_imputation": (
        "Estimand : l'effet sur le groupe traité après le traitement. Sa situation sans "
        "traitement est imputée par un modèle des résultats ajusté sur les trois autres "
        "cellules (imputation par régression, Borusyak, Jaravel et Spiess 2024), qui tient "
        "compte d'un changement de profil des personnes observées entre les périodes.",
        "Estimand: the effect on the treated group after treatment. Its outcomes without "
        "treatment are imputed from an outcome model fitted on the three other cells "
        "(regression imputation, Borusyak, Jaravel & Spiess 2024), which allows for a change "
        "in who is observed between periods.",
    ),
    "estimand_reg": (
        "Estimateur : régression avec interaction groupe traité × période après et des effets "
        "des caractéristiques communs aux quatre cellules. Si l'effet varie selon les "
        "caractéristiques et que le profil des personnes change entre les périodes, ce n'est "
        "pas exactement l'effet sur le groupe traité (préférer l'imputation).",
        "Estimator: regression with a treated × post interaction and covariate effects common "
        "to the four cells. If the effect varies with characteristics and who is observed "
        "changes between periods, this is not exactly the effect on the treated group (prefer "
        "imputation).",
    ),
    "estimand_sant_anna_zhao": (
        "Estimateur de Sant'Anna et Zhao (2020) pour coupes répétées : il suppose que le "
        "profil des personnes de chaque groupe est le même aux deux périodes (préférer "
        "l'imputation sinon).",
        "Sant'Anna & Zhao (2020) repeated cross-section estimator: it assumes the profile of "
        "the people in each group is the same in both periods (prefer imputation otherwise).",
    ),
    "outcome": ("Indicateur", "Outcome"),
    "headline": ("{outcome}\u00a0: **{estimate}**\u00a0; {reading}",
                 "{outcome}: **{estimate}**; {reading}"),
    "caption": ("Effet estimé (différence de différences)",
                "Estimated effect (difference-in-differences)"),
    "wcb_p": ("p (bootstrap)", "p (bootstrap)"),
    "wcb_lower": ("IC inf. (bootstrap)", "CI lower (bootstrap)"),
    "wcb_upper": ("IC sup. (bootstrap)", "CI upper (bootstrap)"),
    "wcb_note": (
        "Bootstrap : bootstrap sauvage par grappes restreint (poids de Webb, Roodman et al. "
        "2019), p-valeur et intervalle par inversion du test ; à privilégier avec peu de "
        "grappes.",
        "Bootstrap: wild cluster restricted bootstrap (Webb weights, Roodman et al. 2019), "
        "p-value and test-inversion interval; prefer them with few clusters."),
    "control_group": ("Groupe de comparaison", "Comparison group"),
    "treated_group": ("Groupe traité", "Treated group"),
    "figure_title": (f"Effet estimé après ajustement{NBSP}: {{estimate}}",
                     "Estimated effect, adjusted: {estimate}"),
    "ylabel": ("Moyenne de l'indicateur", "Mean outcome"),
    "before": ("Avant", "Before"),
    "after": ("Après", "After"),
    "counterfactual": ("{treated} sans traitement (tendance parallèle)",
                       "{treated} without treatment (parallel trend)"),
    "figure": (
        f"{{outcome}}{NBSP}: moyennes par groupe et période, et tendance parallèle. L'écart "
        "après entre le groupe traité et la tendance parallèle est la différence de "
        "différences brute ; l'effet estimé, en titre, tient compte des caractéristiques.",
        "{outcome}: means by group and period, and the parallel trend. The gap after "
        "treatment between the treated group and the parallel trend is the raw difference in "
        "differences; the estimated effect, in the title, adjusts for characteristics."),
}

SECTIONS = {
    "did_2x2": SectionSpec(
        "did_2x2", "table", _did, roles=("group", "period", "outcomes"),
        optional_roles=("covariates", "cluster", "site", "weight"),
        parameters={
            "did_method": ParamSpec(str, "imputation", "2x2 DiD estimator",
                                    choices=("imputation", "reg", "or", "ipw", "dr")),
            "repeated_cross_section": ParamSpec(bool, True, "different people each period"),
            "wcb_draws": ParamSpec(int, 999, "wild cluster bootstrap draws (0: none)",
                                   minimum=0),
            "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
        },
        text=TEXT, doc="2x2 difference-in-differences with covariates and clustered SEs"),
}
