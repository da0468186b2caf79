"""Service networks section: collaboration between organisations by site and wave.

Input: an edge list with roles ``site``, ``period`` (wave), ``source``,
``target`` (optional ``intensity``, ``tie_type``), and the organisations input
named by the parameter ``organisations`` with roles ``site``, ``organisation`` (its
organisation) and ``sector``. Density, centralisation, components and
cross-sector ties per site and wave; the change in density between waves,
tested by permutation, for treated sites against the others.
"""

from __future__ import annotations

import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def treated_sites(ctx, params) -> list[str]:
    """Treated sites: the parameter's list, else the sites flagged in another input."""
    if params["treated_sites"]:
        return list(params["treated_sites"])
    if not params["sites_from"]:
        return []
    source = ctx.input(params["sites_from"])
    flag = params["sites_flag"] or source.role("group")
    flags = source.frame.groupby(source.role("site"))[flag].first()
    return sorted(flags[flags.astype(bool)].index.astype(str))


def _network(data, ctx, params) -> Section:
    from evalkit.network.analysis import ServiceNetworkAnalysis

    orgs = ctx.input(params["organisations"])
    site = data.role("site")
    sector = orgs.role("sector")
    organisations = orgs.frame.rename(columns={orgs.role("site"): site})
    res = ServiceNetworkAnalysis(
        data.frame, organisations=organisations, site=site, wave=data.role("period"),
        source=data.role("source"), target=data.role("target"),
        intensity=data.role("intensity", None), tie_type=data.role("tie_type", None),
        org=orgs.role("organisation"), sector=sector,
    ).fit()
    pilot = treated_sites(ctx, params)
    change = res.change(pilot=pilot, n_perm=params["n_perm"], seed=ctx.seed)
    measures = res.to_frame()
    cols = ["site", "wave", "n_organisations", "n_ties", "density", "degree_centralisation",
            "n_components", "cross_sector_share"]
    measures = measures[[c for c in cols if c in measures.columns]]
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro"))
    shown = [pilot[0]] if pilot else []
    others = [s for s in res.networks.sites if s not in pilot]
    shown += others[:1]
    sectors = {s: ctx.labels.value(sector, s, ctx.lang)
               for s in organisations[sector].dropna().unique()}
    section.add(
        Table(measures, ctx.text("caption"),
              labels={"site": ctx.variable(site), "wave": ctx.variable(data.role("period")),
                      **{k: ctx.text(k) for k in cols[2:]}}),
        Table(_change_frame(change, ctx, site), ctx.text("change_caption")),
        Figure(res.plot(sites=shown, seed=ctx.seed, sector_labels=sectors,
                        panel_title=ctx.text("panel_title")), ctx.text("figure")),
    )
    if len(res.ledger):
        section.add(LedgerFlow(res.ledger))
    return section


def _change_frame(change, ctx, site: str) -> pd.DataFrame:
    """Density changes by site, rows named by site (not ``"<site>: density change"``)."""
    frame = change.to_frame()
    suffix = ": density change"
    names = {"pilot - comparison" + suffix: ctx.text("treated_minus_comparison")}
    frame.index = [names.get(k, k.removesuffix(suffix)) for k in map(str, frame.index)]
    frame.index.name = ctx.variable(site)
    return frame


TEXT = {
    "title": ("Réseaux de collaboration entre services",
              "Collaboration networks between services"),
    "intro": (
        "Pour chaque site et chaque vague, les liens de collaboration entre les services "
        "forment un réseau. Les changements de densité entre vagues sont testés par "
        "permutation.",
        "At each site and wave, collaboration ties between services form a network. Changes "
        "in density between waves are tested by permutation.",
    ),
    "caption": ("Mesures des réseaux par site et vague", "Network measures by site and wave"),
    "n_organisations": ("Services", "Services"),
    "n_ties": ("Liens", "Ties"),
    "density": ("Densité", "Density"),
    "degree_centralisation": ("Centralisation", "Centralisation"),
    "n_components": ("Composantes", "Components"),
    "cross_sector_share": ("Part intersectorielle", "Cross-sector share"),
    "treated_minus_comparison": ("Sites traités − sites de comparaison",
                                 "Treated − comparison sites"),
    "change_caption": ("Évolution de la densité entre vagues",
                       "Change in density between waves"),
    "panel_title": ("{site} — vague {wave}", "{site} — wave {wave}"),
    "figure": ("Réseaux d'un site traité et d'un site de comparaison",
               "Networks of a treated and a comparison site"),
}

SECTIONS = {
    "service_networks": SectionSpec(
        "service_networks", "edges", _network, roles=("site", "period", "source", "target"),
        optional_roles=("intensity", "tie_type"),
        parameters={
            "organisations": ParamSpec(str, "organisations", "input listing the organisations"),
            "treated_sites": ParamSpec("list[str]", [], "treated sites (default: sites_from)"),
            "sites_from": ParamSpec(str, "", "input whose group role flags treated sites"),
            "sites_flag": ParamSpec(str, "", "column of sites_from flagging treated sites "
                                             "(default: its group role)"),
            "n_perm": ParamSpec(int, 999, "permutations of the change tests", minimum=19),
        },
        text=TEXT, doc="service collaboration networks and their change"),
}
