"""Whole-network and organisation-level measures of a collaboration graph.

All measures treat ties as binary (present/absent): intensity is kept as an
edge attribute for plots and tables but does not weight the measures, as in
the usual descriptive analysis of inter-organisational networks (Provan &
Milward 1995; Wasserman & Faust 1994).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from evalkit.network.brokerage import brokerage_roles
from evalkit.options import check_option


def degree_centralisation(graph: nx.Graph, mode: str = "all") -> float:
    """Freeman's degree centralisation, normalised to [0, 1].

    ``C_D = sum_i (d_max - d_i) / max_G sum_i (d_max - d_i)`` where the maximum
    over graphs with ``n`` nodes is reached by the star:
    ``(n - 1)(n - 2)`` for an undirected graph (Freeman 1979, eq. 7) and
    ``(n - 1)^2`` for the in- or out-degree of a directed graph (``mode="in"``
    or ``"out"``; ``mode="all"`` on a directed graph uses the degree of the
    symmetrised graph). Returns NaN below 3 nodes (undefined).
    """
    n = graph.number_of_nodes()
    if graph.is_directed() and mode in ("in", "out"):
        deg = np.array([d for _, d in (graph.in_degree() if mode == "in" else graph.out_degree())])
        denom = (n - 1) ** 2
    else:
        check_option("mode", mode, ("all", "in", "out"))
        g = graph.to_undirected(as_view=True) if graph.is_directed() else graph
        deg = np.array([d for _, d in g.degree()])
        denom = (n - 1) * (n - 2)
    if n < 3 or denom == 0:
        return float("nan")
    return float((deg.max() - deg).sum() / denom)


def _components(graph: nx.Graph) -> list[set]:
    if graph.is_directed():
        return list(nx.weakly_connected_components(graph))
    return list(nx.connected_components(graph))


def largest_component(graph: nx.Graph) -> nx.Graph:
    """Subgraph of the largest (weakly) connected component (ties broken by sorted node names)."""
    comps = _components(graph)
    if not comps:
        return graph.copy()
    best = min(comps, key=lambda c: (-len(c), min(map(str, c))))
    return graph.subgraph(best).copy()


def average_path_length(graph: nx.Graph) -> float:
    """Mean shortest-path length (in ties) between pairs of the largest component.

    Geodesics are undefined between components, so, as igraph and most
    reports do, the mean is taken over the largest (weakly, for directed
    graphs, with directed paths) connected component only. NaN when that
    component has a single node.
    """
    lcc = largest_component(graph)
    if lcc.number_of_nodes() < 2:
        return float("nan")
    if lcc.is_directed() and not nx.is_strongly_connected(lcc):
        # Directed paths may not exist within a weak component: average over reachable pairs.
        lengths = [
            d for s, dist in nx.shortest_path_length(lcc) for t, d in dist.items() if s != t
        ]
        return float(np.mean(lengths)) if lengths else float("nan")
    return float(nx.average_shortest_path_length(lcc))


def cross_sector_share(graph: nx.Graph, attribute: str = "sector") -> float:
    """Share of ties joining organisations of different sectors (NaN without ties)."""
    m = graph.number_of_edges()
    if m == 0:
        return float("nan")
    sector = nx.get_node_attributes(graph, attribute)
    crossing = sum(sector.get(a) != sector.get(b) for a, b in graph.edges())
    return crossing / m


def network_measures(graph: nx.Graph) -> dict:
    """Whole-network measures of one graph.

    Returns
    -------
    dict with ``n_organisations``, ``n_ties``, ``density`` (ties / possible
    ties, :func:`networkx.density`), ``mean_degree``, ``degree_centralisation``
    (Freeman; see :func:`degree_centralisation`), ``betweenness_centralisation``
    (Freeman: sum of (max - b_i) over its maximum, the star, on normalised
    betweenness ``/(n-1)``), ``n_components`` (weak for directed graphs,
    isolates count as components), ``n_isolates``, ``largest_component``
    (size), ``average_path_length`` (largest component only),
    ``cross_sector_share``, ``mean_intensity``.
    """
    n = graph.number_of_nodes()
    m = graph.number_of_edges()
    comps = _components(graph)
    out = {
        "n_organisations": n,
        "n_ties": m,
        "density": nx.density(graph) if n > 1 else float("nan"),
        "mean_degree": (2 * m / n if not graph.is_directed() else m / n) if n else float("nan"),
        "degree_centralisation": degree_centralisation(graph),
        "betweenness_centralisation": betweenness_centralisation(graph),
        "n_components": len(comps),
        "n_isolates": nx.number_of_isolates(graph),
        "largest_component": max((len(c) for c in comps), default=0),
        "average_path_length": average_path_length(graph),
        "cross_sector_share": cross_sector_share(graph),
        "mean_intensity": (
            float(np.mean([w for _, _, w in graph.edges(data="weight", default=1.0)]))
            if m else float("nan")
        ),
    }
    return out


def betweenness_centralisation(graph: nx.Graph) -> float:
    """Freeman's betweenness centralisation in [0, 1].

    ``sum_i (b_max - b_i) / (n - 1)`` with ``b_i`` the betweenness normalised by
    its maximum ``(n-1)(n-2)/2`` (undirected) or ``(n-1)(n-2)`` (directed), the
    star graph reaching the bound ``n - 1`` (Freeman 1979, eq. 13).
    """
    n = graph.number_of_nodes()
    if n < 3:
        return float("nan")
    b = np.array(list(nx.betweenness_centrality(graph, normalized=True).values()))
    return float((b.max() - b).sum() / (n - 1))


def organisation_measures(graph: nx.Graph, attribute: str = "sector") -> pd.DataFrame:
    """One row per organisation: sector, degree, normalised degree, betweenness, brokerage.

    ``degree_normalised`` is degree / (n - 1), or total degree / 2(n - 1) for a
    directed graph (which also gets ``in_degree`` and ``out_degree``).

    ``betweenness`` is :func:`networkx.betweenness_centrality` normalised by
    ``(n-1)(n-2)/2`` (undirected); ``betweenness_raw`` is the unnormalised
    count of shortest paths through the organisation. The Gould–Fernandez
    brokerage role counts come from :func:`evalkit.network.brokerage.brokerage_roles`
    with sectors as groups.
    """
    nodes = list(graph.nodes)
    n = len(nodes)
    deg = dict(graph.degree())
    frame = pd.DataFrame(
        {
            "organisation": nodes,
            "sector": [graph.nodes[v].get(attribute) for v in nodes],
            "degree": [deg[v] for v in nodes],
        }
    )
    # a directed graph's total degree (in + out) reaches 2(n-1)
    max_degree = (n - 1) * (2 if graph.is_directed() else 1)
    frame["degree_normalised"] = frame["degree"] / max_degree if n > 1 else np.nan
    if graph.is_directed():
        frame["in_degree"] = [graph.in_degree(v) for v in nodes]
        frame["out_degree"] = [graph.out_degree(v) for v in nodes]
    if n:
        btw = nx.betweenness_centrality(graph, normalized=True)
        raw = nx.betweenness_centrality(graph, normalized=False)
        frame["betweenness"] = [btw[v] for v in nodes]
        frame["betweenness_raw"] = [raw[v] for v in nodes]
    else:
        frame["betweenness"] = frame["betweenness_raw"] = pd.Series(dtype=float)
    roles = brokerage_roles(graph, attribute=attribute)
    frame = frame.merge(roles, left_on="organisation", right_index=True, how="left")
    return frame
