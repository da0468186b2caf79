"""Monitoring indicators section: share of people concerned by site and period.

Input: a person table with roles ``id``, ``outcomes`` (0/1 indicators),
``site`` (territory) and ``period``. One table per indicator, sites as rows
and periods as columns, with the indicators module's disclosure control
(cells of fewer people than the report threshold masked, with the cells
that would let them be recalculated).
"""

from __future__ import annotations

from evalkit.report.elements import Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def _indicators(data, ctx, params) -> Section:
    from evalkit.indicators.definition import Disaggregations, Indicator
    from evalkit.indicators.evaluate import IndicatorModel

    site, period = data.role("site"), data.role("period")
    indicators = [
        # Column names that are not identifiers are back-quoted in indicator expressions.
        Indicator(name, *ctx.labels.pair(name), kind="proportion",
                  numerator=name if name.isidentifier() else f"`{name}`",
                  disaggregations=("territory", "period"), per=100, unit_fr="%", unit_en="%")
        for name in data.role("outcomes")
    ]
    res = IndicatorModel(
        indicators, data.frame, disaggregations=Disaggregations(territory=site, period=period),
        id=data.role("id"),
    ).fit(level=params["level"])
    published = res.publishable(ctx.threshold)  # masks cells of fewer than `threshold` people
    everyone = ctx.text("all")
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", threshold=ctx.number(ctx.threshold)))
    for indicator in indicators:
        rows = published[published["indicator"] == indicator.name]
        wide = rows.pivot(index="territory", columns="period", values="estimate")
        flags = rows.pivot(index="territory", columns="period", values="masked")
        order = [t for t in wide.index if t != "(all)"] + ["(all)"]
        columns = [p for p in wide.columns if p != "(all)"] + ["(all)"]
        wide, flags = wide.loc[order, columns], flags.loc[order, columns].astype(bool)
        names = {p: ctx.text("period_n", name=ctx.variable(period), period=p)
                 for p in columns if p != "(all)"}
        names["(all)"] = everyone
        wide = wide.rename(index={"(all)": everyone}, columns=names)
        flags = flags.rename(index={"(all)": everyone}, columns=names)
        wide.index.name = flags.index.name = ctx.variable(site)
        section.add(Table(wide, ctx.choose(indicator.label_fr, indicator.label_en),
                          decimals=1, suppressed=flags))
    return section


TEXT = {
    "title": ("Indicateurs de suivi", "Monitoring indicators"),
    "intro": (
        "Part des personnes concernées, par site et par période (en %). Les cellules de moins "
        "de {threshold} personnes sont masquées, ainsi que celles qui permettraient de les "
        "recalculer.",
        "Share of people concerned, by site and period (%). Cells of fewer than {threshold} "
        "people are masked, with those from which they could be recalculated.",
    ),
    "all": ("Ensemble", "All"),
    "period_n": ("{name} {period}", "{name} {period}"),
}

SECTIONS = {
    "indicators": SectionSpec(
        "indicators", "table", _indicators, roles=("id", "outcomes", "site", "period"),
        parameters={"level": ParamSpec(float, 0.95, "confidence level", minimum=0.5,
                                       maximum=0.999)},
        text=TEXT, doc="monitoring indicators by site and period (disclosure-controlled)"),
}
