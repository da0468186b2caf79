"""Build per-site, per-wave collaboration graphs from an edge list.

An edge list names, for each site (station, territory) and wave, the two
organisations that collaborate, with optional tie type and intensity. An
organisations table lists every organisation of each site with its sector;
every listed organisation is a node of its site's graph in every wave, so an
organisation with no tie counts as an isolate (which matters for density and
centralisation).

Rules applied while building (each recorded in the :class:`ExclusionLedger`):

* a tie from an organisation to itself (self-loop) is dropped;
* several rows for the same pair in the same site and wave (several tie types)
  are merged into one tie whose intensity is the maximum (``duplicates="max"``)
  or the sum (``"sum"``), and whose ``tie_types`` attribute lists the types.

Edges naming a site or an organisation absent from the organisations table
raise :class:`~evalkit.errors.UnknownCategoryError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.data.validation import require_columns, show_values
from evalkit.errors import (
    DataValidationError,
    DuplicateKeyError,
    EmptyDataError,
    UnknownCategoryError,
)
from evalkit.options import check_option


@dataclass(frozen=True)
class EdgeColumns:
    """Column names of an edge list and of its organisations table."""

    site: str = "station"
    wave: str = "wave"
    source: str = "org_a"
    target: str = "org_b"
    intensity: str | None = "intensity"
    tie_type: str | None = "tie_type"
    org: str = "org"
    sector: str = "sector"


class ServiceNetworks:
    """Collaboration graphs of organisations, one per site and wave.

    Parameters
    ----------
    edges
        One row per tie: site, wave, the two organisations and, optionally,
        tie type and intensity (1-3 in *Hope in stations*).
    organisations
        One row per organisation of a site: site, organisation, sector. If it
        has a wave column, node sets may differ between waves; otherwise every
        organisation is a node in every wave of its site.
    site, wave, source, target, intensity, tie_type, org, sector
        Column names (defaults follow ``evalkit.datasets.hope_in_stations``).
        ``intensity``/``tie_type`` may be ``None`` or absent (intensity 1).
    directed
        Whether a tie A -> B differs from B -> A (e.g. referrals). Default
        undirected (collaboration is mutual).
    duplicates
        ``"max"`` (default) or ``"sum"``: how intensities of repeated ties
        between the same pair are combined; ``"raise"`` refuses them.
    waves
        Waves to build (default: every wave found in the edges). A site with no
        tie at all in a wave is still built (as an empty graph) when the wave is
        listed here or appears at another site.
    ledger
        Ledger of the edge list to extend (a copy is extended).

    Attributes
    ----------
    graphs : dict[(site, wave), networkx.Graph]
        Node attribute ``sector``; edge attributes ``weight`` (intensity) and
        ``tie_types``.
    sites, waves : list
        Sorted labels.
    ledger : ExclusionLedger
        Rows of ``edges`` dropped or merged.
    """

    def __init__(
        self,
        edges: pd.DataFrame,
        organisations: pd.DataFrame,
        *,
        site: str = "station",
        wave: str = "wave",
        source: str = "org_a",
        target: str = "org_b",
        intensity: str | None = "intensity",
        tie_type: str | None = "tie_type",
        org: str = "org",
        sector: str = "sector",
        directed: bool = False,
        duplicates: str = "max",
        waves=None,
        ledger: ExclusionLedger | None = None,
    ) -> None:
        check_option("duplicates", duplicates, ("max", "sum", "raise"))
        if not isinstance(edges, pd.DataFrame) or not isinstance(organisations, pd.DataFrame):
            raise DataValidationError("edges and organisations must be pandas DataFrames")
        self.columns = EdgeColumns(
            site=site,
            wave=wave,
            source=source,
            target=target,
            intensity=intensity if intensity in edges.columns else None,
            tie_type=tie_type if tie_type in edges.columns else None,
            org=org,
            sector=sector,
        )
        self.directed = bool(directed)
        self.duplicates = duplicates
        cols = self.columns
        require_columns(edges, {"site": site, "wave": wave, "source": source, "target": target},
                        "edge list")
        require_columns(organisations, {"site": site, "org": org, "sector": sector},
                        "organisations table")
        if organisations.empty:
            raise EmptyDataError("organisations is empty: every site needs its list of organisations")
        self.ledger = (
            ledger.copy() if ledger is not None else ExclusionLedger.start(edges, source="edge list")
        )
        orgs = self._validate_organisations(organisations)
        self.organisations = orgs
        edges = self._validate_edges(edges, orgs)
        self.edges = edges
        found_waves = sorted(edges[cols.wave].dropna().unique().tolist())
        if waves is None:
            waves = found_waves
        if len(waves) == 0:
            raise EmptyDataError("the edge list has no wave: nothing to build")
        if cols.wave in orgs.columns:
            waves = sorted(set(waves) | set(orgs[cols.wave].unique().tolist()))
        self.waves = sorted(waves)
        self.sites = sorted(orgs[cols.site].unique().tolist())
        self.graphs: dict[tuple, nx.Graph] = self._build(edges, orgs)

    # ------------------------------------------------------------------ checks
    def _validate_organisations(self, organisations: pd.DataFrame) -> pd.DataFrame:
        cols = self.columns
        keep = [cols.site, cols.org, cols.sector]
        has_wave = cols.wave in organisations.columns
        if has_wave:
            keep.insert(1, cols.wave)
        orgs = organisations[keep].copy()
        missing = orgs[[cols.site, cols.org]].isna().any(axis=1)
        if missing.any():
            raise DataValidationError(
                f"organisations has {int(missing.sum())} row(s) with a missing {cols.site!r} or "
                f"{cols.org!r} (rows {show_values(orgs.index[missing])}); fill or remove them."
            )
        key = [cols.site, cols.org] + ([cols.wave] if has_wave else [])
        dup = orgs.duplicated(key, keep=False)
        if dup.any():
            shown = orgs.loc[dup, key].drop_duplicates().head(5).to_dict("records")
            raise DuplicateKeyError(
                f"organisations lists the same organisation twice at a site: {shown}. "
                f"Keep one row per ({', '.join(key)})."
            )
        orgs[cols.sector] = orgs[cols.sector].astype(object).where(orgs[cols.sector].notna(), "unknown")
        return orgs

    def _validate_edges(self, edges: pd.DataFrame, orgs: pd.DataFrame) -> pd.DataFrame:
        cols = self.columns
        keep = [cols.site, cols.wave, cols.source, cols.target]
        keep += [c for c in (cols.intensity, cols.tie_type) if c is not None]
        edges = edges[keep].copy()
        missing = edges[[cols.site, cols.wave, cols.source, cols.target]].isna().any(axis=1)
        if missing.any():
            raise DataValidationError(
                f"edges has {int(missing.sum())} row(s) with a missing site, wave or organisation "
                f"(rows {show_values(edges.index[missing])}); fill or remove them."
            )
        unknown_sites = sorted(set(edges[cols.site]) - set(orgs[cols.site]))
        if unknown_sites:
            raise UnknownCategoryError(
                f"edges column {cols.site!r} names site(s) absent from the organisations table: "
                f"{show_values(unknown_sites)}. Add their organisations or fix the site labels."
            )
        known = set(zip(orgs[cols.site], orgs[cols.org], strict=True))
        for end in (cols.source, cols.target):
            pairs = list(zip(edges[cols.site], edges[end], strict=True))
            bad = sorted({p for p in pairs if p not in known}, key=str)
            if bad:
                raise UnknownCategoryError(
                    f"edges column {end!r} names organisation(s) not listed for their site in the "
                    f"organisations table: {show_values(bad)} (as (site, organisation)). Add them to the "
                    f"organisations table (with a sector) or fix the names."
                )
        if cols.intensity is not None:
            inten = pd.to_numeric(edges[cols.intensity], errors="coerce")
            bad = inten.isna() | (inten <= 0)
            if bad.any():
                raise DataValidationError(
                    f"edges column {cols.intensity!r} must be a positive number; offending values "
                    f"{show_values(edges.loc[bad, cols.intensity].unique())}."
                )
            edges[cols.intensity] = inten.astype(float)
        else:
            edges["_intensity"] = 1.0
            self.columns = cols = EdgeColumns(**{**cols.__dict__, "intensity": "_intensity"})
        loops = (edges[cols.source] == edges[cols.target]).to_numpy()
        edges = self.ledger.drop(
            edges, loops, step="network: self-loops",
            reason="tie from an organisation to itself (not a collaboration)",
        )
        if not self.directed:
            a = edges[cols.source].astype(str).to_numpy()
            b = edges[cols.target].astype(str).to_numpy()
            swap = a > b
            src, tgt = edges[cols.source].to_numpy(copy=True), edges[cols.target].to_numpy(copy=True)
            src[swap], tgt[swap] = edges[cols.target].to_numpy()[swap], edges[cols.source].to_numpy()[swap]
            edges[cols.source], edges[cols.target] = src, tgt
        key = [cols.site, cols.wave, cols.source, cols.target]
        dup = edges.duplicated(key, keep="first").to_numpy()
        if dup.any():
            if self.duplicates == "raise":
                shown = edges.loc[dup, key].head(5).to_dict("records")
                raise DataValidationError(
                    f"{int(dup.sum())} repeated tie(s) between the same pair at the same site and "
                    f"wave, e.g. {shown}. Use duplicates='max' or 'sum' to merge them."
                )
            agg = {cols.intensity: self.duplicates}
            if cols.tie_type is not None:
                agg[cols.tie_type] = lambda s: tuple(sorted(set(s.dropna().astype(str))))
            merged = edges.groupby(key, sort=False, as_index=False).agg(agg)
            self.ledger.record(
                "network: repeated ties",
                f"{int(dup.sum())} repeated row(s) for the same pair merged "
                f"(intensity = {self.duplicates}, tie types listed)",
                int(dup.sum()), int(dup.sum()),
            )
            edges = merged
        elif cols.tie_type is not None:
            edges[cols.tie_type] = [
                () if pd.isna(t) else (str(t),) for t in edges[cols.tie_type]
            ]
        return edges.reset_index(drop=True)

    # ------------------------------------------------------------------ build
    def _build(self, edges: pd.DataFrame, orgs: pd.DataFrame) -> dict:
        cols = self.columns
        graphs = {}
        has_wave = cols.wave in orgs.columns
        edge_groups = dict(list(edges.groupby([cols.site, cols.wave], sort=True)))
        for site_label in self.sites:
            site_orgs = orgs[orgs[cols.site] == site_label]
            for wave_label in self.waves:
                nodes = site_orgs[site_orgs[cols.wave] == wave_label] if has_wave else site_orgs
                graph = nx.DiGraph() if self.directed else nx.Graph()
                graph.graph.update(site=site_label, wave=wave_label)
                graph.add_nodes_from(
                    (o, {"sector": s})
                    for o, s in zip(nodes[cols.org], nodes[cols.sector], strict=True)
                )
                group = edge_groups.get((site_label, wave_label))
                if group is not None:
                    types = group[cols.tie_type] if cols.tie_type else [()] * len(group)
                    for a, b, w, t in zip(
                        group[cols.source], group[cols.target], group[cols.intensity], types,
                        strict=True,
                    ):
                        if a not in graph or b not in graph:
                            raise UnknownCategoryError(
                                f"tie {a!r} - {b!r} at site {site_label!r}, wave {wave_label!r} "
                                f"names an organisation not listed for that wave in the "
                                f"organisations table."
                            )
                        graph.add_edge(a, b, weight=float(w), tie_types=tuple(t))
                graphs[(site_label, wave_label)] = graph
        return graphs

    # ------------------------------------------------------------------ access
    def __getitem__(self, key: tuple) -> nx.Graph:
        try:
            return self.graphs[key]
        except KeyError:
            raise KeyError(
                f"no graph for (site, wave) = {key!r}; sites {self.sites}, waves {self.waves}"
            ) from None

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.graphs)

    def __len__(self) -> int:
        return len(self.graphs)

    def items(self):
        return self.graphs.items()

    def union_graph(self, site) -> nx.Graph:
        """All organisations and ties of ``site`` over every wave (for a shared layout)."""
        union = nx.DiGraph() if self.directed else nx.Graph()
        for wave_label in self.waves:
            union.add_nodes_from(self.graphs[(site, wave_label)].nodes(data=True))
            union.add_edges_from(self.graphs[(site, wave_label)].edges())
        return union

    def node_order(self, site) -> list:
        """Organisations of ``site`` in a fixed order (shared by all waves)."""
        return sorted(self.union_graph(site).nodes, key=str)

    def adjacency(self, site, wave, nodes: list | None = None, *, weight: bool = False) -> np.ndarray:
        """Adjacency matrix of ``(site, wave)`` over ``nodes`` (default :meth:`node_order`).

        Binary, or tie intensities with ``weight=True``. Ties involving an
        organisation outside ``nodes`` are left out.
        """
        nodes = self.node_order(site) if nodes is None else nodes
        graph = self.graphs[(site, wave)]
        index = {n: i for i, n in enumerate(nodes)}
        mat = np.zeros((len(nodes), len(nodes)), dtype=float)
        for a, b, w in graph.edges(data="weight", default=1.0):
            if a not in index or b not in index:
                continue
            value = float(w) if weight else 1.0
            mat[index[a], index[b]] = value
            if not self.directed:
                mat[index[b], index[a]] = value
        return mat

    def __repr__(self) -> str:
        kind = "directed" if self.directed else "undirected"
        return (
            f"ServiceNetworks({len(self.sites)} sites x {len(self.waves)} waves, {kind}, "
            f"{len(self.edges)} ties)"
        )
