"""HonestDiD section: how far parallel trends may fail before the conclusion changes.

Input: a panel with roles ``id``, ``period``, ``outcome``, ``first_treated``
(optional ``cluster``, ``covariates``). The Callaway–Sant'Anna event study
(universal base period, analytic influence-function covariance) is the input
of :class:`evalkit.did.HonestDiD` (Rambachan & Roth 2023); the section gives
the robust confidence sets for each value of ``M̄`` (relative magnitudes) or
``M`` (smoothness), the breakdown value in the prose and the sensitivity plot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def _honest_did(data, ctx, params) -> Section:
    from evalkit.did.callaway_santanna import CallawaySantAnna
    from evalkit.did.honest_did import HonestDiD

    covariates = data.role("covariates", None) or None
    level = params["level"]
    cs = CallawaySantAnna(
        data.frame, outcome=data.role("outcome"), unit=data.role("id"),
        period=data.role("period"), first_treated=data.role("first_treated"),
        control_group=params["control_group"], base_period="universal",
        method="dr" if covariates else "unconditional", covariates=covariates,
        cluster=data.role("cluster", None),
    ).fit(bootstrap=False, level=level)
    restriction = params["restriction"]
    m = np.linspace(0, params["m_max"], params["n_m"]) if params["m_max"] > 0 else None
    res = HonestDiD(cs.aggregate("dynamic"), target=params["target"]).fit(
        restriction=restriction, m=m, level=level, seed=ctx.seed)
    symbol = "M̄" if restriction == "relative_magnitudes" else "M"
    o = res.original
    breakdown = res.breakdown
    if breakdown is None:
        verdict = ctx.text("robust_all", symbol=symbol,
                           largest=ctx.number(float(res.table["m"].max()), 2))
    elif breakdown == 0:
        verdict = ctx.text("not_significant")
    else:
        verdict = ctx.text("breakdown", symbol=symbol, value=ctx.number(breakdown, 2))
    target = ctx.text("target_" + ("average" if params["target"] == "average" else "first"))
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro_" + restriction, target=target,
                         estimate=ctx.estimate(o["estimate"], o["lower"], o["upper"],
                                               level=level)),
                verdict)
    table = res.table[["m", "lower", "upper"]].copy()
    table.insert(0, symbol, [ctx.number(v, 3) for v in table.pop("m")])
    original = pd.DataFrame({symbol: [ctx.text("parallel_trends")], "lower": [o["lower"]],
                             "upper": [o["upper"]]})
    table = pd.concat([original, table], ignore_index=True).set_index(symbol)
    pct = ctx.percent(level, 0)
    section.add(
        Table(table, ctx.text("caption", pct=pct),
              labels={"lower": ctx.text("lower"), "upper": ctx.text("upper")}),
        Figure(res.plot(text={"original": ctx.text("parallel_trends"),
                              "robust": ctx.text("robust"), "xlabel": symbol,
                              "ylabel": ctx.text("ylabel", target=target, pct=pct),
                              "title": None}),
               ctx.text("figure", symbol=symbol)),
    )
    if np.isnan(res.table[["lower", "upper"]].to_numpy()).any():
        section.add(ctx.text("empty_sets"))
    return section


HONEST_TEXT = {
    "title": ("Sensibilité aux tendances non parallèles (HonestDiD)",
              "Sensitivity to non-parallel trends (HonestDiD)"),
    "intro_relative_magnitudes": (
        "Sous l'hypothèse de tendances parallèles, {target} est estimé à **{estimate}**. "
        "Rambachan et Roth (2023) permettent que cette hypothèse soit fausse : l'écart de "
        "tendance après le traitement peut atteindre M̄ fois le plus grand écart observé "
        "d'une période à l'autre avant le traitement (M̄ = 1 : aussi grand que le pire écart "
        "passé). Le tableau donne, pour chaque M̄, un intervalle de confiance valable pour "
        "tout écart de cette taille.",
        "Under parallel trends, {target} is estimated at **{estimate}**. Rambachan & Roth "
        "(2023) let this assumption fail: the post-treatment departure from parallel trends "
        "may reach M̄ times the largest period-to-period departure seen before treatment "
        "(M̄ = 1: as large as the worst past one). The table gives, for each M̄, a confidence "
        "set valid for any departure of that size.",
    ),
    "intro_smoothness": (
        "Sous l'hypothèse de tendances parallèles, {target} est estimé à **{estimate}**. "
        "Rambachan et Roth (2023) permettent une différence de tendance entre traités et "
        "témoins dont la pente change d'au plus M d'une période à l'autre (M = 0 : tendance "
        "linéaire prolongée). Le tableau donne, pour chaque M, un intervalle de confiance "
        "valable pour toute tendance de ce type.",
        "Under parallel trends, {target} is estimated at **{estimate}**. Rambachan & Roth "
        "(2023) allow a difference in trends between treated and controls whose slope changes "
        "by at most M per period (M = 0: a linear trend continued). The table gives, for "
        "each M, a confidence set valid for any such trend.",
    ),
    "target_average": ("l'effet moyen sur les périodes après le début",
                       "the average effect over the periods after the start"),
    "target_first": ("l'effet à la première période de traitement",
                     "the effect in the first treated period"),
    "breakdown": ("La conclusion d'un effet non nul tient jusqu'à {symbol} = {value} exclu : "
                  "à partir de cette valeur, l'intervalle contient zéro.",
                  "The conclusion of a non-zero effect holds below {symbol} = {value}: from "
                  "this value on, the confidence set contains zero."),
    "robust_all": ("L'intervalle exclut zéro pour toutes les valeurs essayées, jusqu'à "
                   "{symbol} = {largest}.",
                   "The confidence set excludes zero for every value tried, up to "
                   "{symbol} = {largest}."),
    "not_significant": ("Même sous tendances parallèles exactes, l'intervalle contient zéro.",
                        "Even under exactly parallel trends, the confidence interval contains "
                        "zero."),
    "parallel_trends": ("Tendances parallèles", "Parallel trends"),
    "robust": ("Intervalle robuste", "Robust confidence set"),
    "lower": ("Borne inférieure", "Lower bound"),
    "upper": ("Borne supérieure", "Upper bound"),
    "caption": ("Intervalles de confiance à {pct} robustes aux écarts de tendance",
                "{pct} confidence sets robust to departures from parallel trends"),
    "ylabel": ("{target} (IC à {pct})", "{target} ({pct} CI)"),
    "figure": ("Intervalle de confiance selon l'écart de tendance permis ({symbol})",
               "Confidence set by the departure from parallel trends allowed ({symbol})"),
    "empty_sets": ("Un intervalle vide signifie que les coefficients avant traitement sont "
                   "incompatibles avec la restriction à ce niveau.",
                   "An empty set means the pre-treatment coefficients are incompatible with "
                   "the restriction at that value."),
}

SECTIONS = {
    "honest_did": SectionSpec(
        "honest_did", "panel", _honest_did, roles=("id", "period", "outcome", "first_treated"),
        optional_roles=("covariates", "cluster"),
        parameters={
            "restriction": ParamSpec(str, "relative_magnitudes", "restriction on the trends",
                                     choices=("relative_magnitudes", "smoothness")),
            "target": ParamSpec(str, "average", "effect examined",
                                choices=("average", "first")),
            "control_group": ParamSpec(str, "nevertreated", "comparison group",
                                       choices=("nevertreated", "notyettreated")),
            "m_max": ParamSpec(float, 0.0, "largest Mbar or M tried (0: R HonestDiD's "
                               "defaults, Mbar 0-2 or M up to the pre-period bound)", minimum=0),
            "n_m": ParamSpec(int, 5, "number of values from 0 to m_max", minimum=2),
            "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
        },
        text=HONEST_TEXT,
        doc="HonestDiD sensitivity of the event study to non-parallel trends"),
}
