"""Drawing collaboration networks with one layout per site shared by all waves.

Positions are computed once per site on the union of its waves' graphs
(every organisation, every tie ever observed), with a fixed seed, so the same
organisation sits at the same place in every wave and change is visible by eye.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.lines import Line2D

from evalkit.network.graphs import ServiceNetworks

SECTOR_COLOURS = {
    "public": "#1f77b4",
    "ngo": "#2ca02c",
    "railway": "#7f7f7f",
    "health": "#d62728",
    "police": "#9467bd",
}
_FALLBACK = ["#ff7f0e", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]


def site_layout(networks: ServiceNetworks, site, seed: int = 0) -> dict:
    """Node positions for ``site``: spring layout of the union graph over waves (seeded)."""
    union = networks.union_graph(site)
    nodes = sorted(union.nodes, key=str)
    ordered = nx.Graph() if not union.is_directed() else nx.DiGraph()
    ordered.add_nodes_from(nodes)
    ordered.add_edges_from(sorted(union.edges(), key=lambda e: (str(e[0]), str(e[1]))))
    if ordered.number_of_nodes() == 0:
        return {}
    k = 1.5 / np.sqrt(max(ordered.number_of_nodes(), 1))
    return nx.spring_layout(ordered, seed=seed, k=k)


def sector_colours(sectors) -> dict:
    """Sector -> colour (fixed colours for the five *Hope in stations* sectors)."""
    out, extra = {}, iter(_FALLBACK * 10)
    for s in sorted({str(x) for x in sectors}):
        out[s] = SECTOR_COLOURS.get(s, None) or next(extra)
    return out


def plot_networks(
    networks: ServiceNetworks,
    sites=None,
    waves=None,
    *,
    seed: int = 0,
    labels: bool = False,
    panel_size: float = 3.2,
    sector_labels=None,
    panel_title: str = "{site} — {wave}",
):
    """Grid of network drawings: one row per site, one column per wave.

    Node colour = sector, node size grows with degree, edge width = intensity.
    Organisation names are hidden unless ``labels=True``. ``sector_labels``
    maps sector codes to the names shown in the legend (default: the codes);
    ``panel_title`` is formatted with ``site`` and ``wave``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    sites = list(networks.sites if sites is None else np.atleast_1d(sites))
    waves = list(networks.waves if waves is None else np.atleast_1d(waves))
    all_sectors = networks.organisations[networks.columns.sector].tolist()
    colours = sector_colours(all_sectors)
    fig, axes = plt.subplots(
        len(sites), len(waves), figsize=(panel_size * len(waves), panel_size * len(sites)),
        squeeze=False,
    )
    for i, site in enumerate(sites):
        pos = site_layout(networks, site, seed=seed)
        for j, wave in enumerate(waves):
            ax = axes[i, j]
            graph = networks[(site, wave)]
            node_list = sorted(graph.nodes, key=str)
            deg = dict(graph.degree())
            nx.draw_networkx_edges(
                graph, pos, ax=ax, edge_color="#555555", alpha=0.6,
                width=[0.7 * w for _, _, w in graph.edges(data="weight", default=1.0)],
                arrows=graph.is_directed(),
            )
            nx.draw_networkx_nodes(
                graph, pos, nodelist=node_list, ax=ax,
                node_color=[colours[str(graph.nodes[v].get("sector"))] for v in node_list],
                node_size=[40 + 25 * deg[v] for v in node_list], edgecolors="white", linewidths=0.5,
            )
            if labels:
                nx.draw_networkx_labels(graph, pos, ax=ax, font_size=6)
            ax.set_title(panel_title.format(site=site, wave=wave), fontsize=9)
            ax.set_axis_off()
    sector_labels = sector_labels or {}
    handles = [
        Line2D([], [], marker="o", linestyle="", color=c, label=sector_labels.get(s, s))
        for s, c in colours.items()
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
