"""Service-integration network analysis: model -> fit() -> results.

>>> model = ServiceNetworkAnalysis(edges, organisations)      # columns as in hope_in_stations
>>> res = model.fit()
>>> res.to_frame()                      # one row per site x wave: density, centralisation, ...
>>> res.organisations()                 # one row per organisation x site x wave: betweenness, brokerage
>>> chg = res.change(pilot=["Paris Nord", ...], n_perm=999, seed=1)
>>> chg.summary(); chg.qap; res.plot()
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.errors import ConfigError, EstimationError, UnknownCategoryError
from evalkit.network.graphs import ServiceNetworks
from evalkit.network.measures import network_measures, organisation_measures
from evalkit.network.permutation import (
    PermutationTestResult,
    density_change_test,
    difference_in_change_test,
    qap_correlation,
)
from evalkit.network.plotting import plot_networks
from evalkit.options import check_option
from evalkit.results import EstimateResults
from evalkit.summary import Summary

MEASURES = (
    "n_organisations", "n_ties", "density", "mean_degree", "degree_centralisation",
    "betweenness_centralisation", "n_components", "n_isolates", "largest_component",
    "average_path_length", "cross_sector_share", "mean_intensity",
)


class ServiceNetworkAnalysis:
    """Describe collaboration networks per site and wave, and their change.

    Parameters
    ----------
    edges
        Edge list (DataFrame) or an already built :class:`ServiceNetworks`
        (then ``organisations`` and the column arguments are ignored).
    organisations
        Organisations table (site, organisation, sector).
    **kwargs
        Column names and options of :class:`ServiceNetworks` (``site``,
        ``wave``, ``source``, ``target``, ``intensity``, ``tie_type``, ``org``,
        ``sector``, ``directed``, ``duplicates``, ``waves``, ``ledger``).
    """

    def __init__(self, edges, *, organisations: pd.DataFrame | None = None, **kwargs) -> None:
        if isinstance(edges, ServiceNetworks):
            self.networks = edges
        else:
            if organisations is None:
                raise ConfigError("pass the organisations table (site, organisation, sector)")
            self.networks = ServiceNetworks(edges, organisations, **kwargs)

    def fit(self) -> NetworkResults:
        """Compute whole-network and organisation measures for every site and wave."""
        net = self.networks
        rows, orgs = [], []
        for (site, wave), graph in net.items():
            rows.append({"site": site, "wave": wave, **network_measures(graph)})
            org = organisation_measures(graph)
            org.insert(0, "wave", wave)
            org.insert(0, "site", site)
            orgs.append(org)
        measures = pd.DataFrame(rows)
        org_frame = pd.concat(orgs, ignore_index=True) if orgs else pd.DataFrame()
        return NetworkResults(net, measures, org_frame)


class NetworkResults:
    """Measures of every site x wave network (from :meth:`ServiceNetworkAnalysis.fit`).

    Attributes
    ----------
    networks : ServiceNetworks
    measures : DataFrame
        One row per site x wave (see :func:`evalkit.network.measures.network_measures`).
        ``average_path_length`` is computed on the largest component only.
    ledger : ExclusionLedger
        Self-loops dropped and repeated ties merged.
    """

    def __init__(self, networks: ServiceNetworks, measures: pd.DataFrame, orgs: pd.DataFrame):
        self.networks = networks
        self.measures = measures
        self._orgs = orgs
        self.ledger: ExclusionLedger = networks.ledger

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Whole-network measures, one row per site x wave.

        ``level`` is accepted so that every results object answers ``to_frame(level)``
        (reports call it that way); network measures carry no confidence interval.
        """
        return self.measures.copy()

    def organisations(self) -> pd.DataFrame:
        """Organisation-level measures (degree, betweenness, Gould–Fernandez roles) per site x wave."""
        return self._orgs.copy()

    def summary(self, level: float = 0.95) -> Summary:
        """The main measures per site and wave (``level`` accepted for the shared
        interface: whole-network measures carry no interval)."""
        cols = ["n_organisations", "n_ties", "density", "degree_centralisation",
                "n_components", "average_path_length", "cross_sector_share"]
        info = {"Networks": f"{len(self.networks.sites)} sites x {len(self.networks.waves)} "
                            f"waves, {'directed' if self.networks.directed else 'undirected'} "
                            "ties (binary: intensity not used as weight)",
                "average_path_length": "largest component only"}
        more = {}
        if len(self.ledger):
            more["Exclusions"] = self.ledger.to_frame()[["step", "reason", "n_rows"]]
        return Summary("Service-integration networks",
                       self.measures.set_index(["site", "wave"])[cols], info=info, more=more,
                       decimals=3)

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return f"<NetworkResults: {self.networks!r}>"

    def plot(self, sites=None, waves=None, *, seed: int = 0, labels: bool = False,
             sector_labels=None, panel_title: str = "{site} — {wave}"):
        """Network drawings (rows: sites, columns: waves) with one layout per site.

        ``sector_labels`` names the sectors in the legend; ``panel_title`` is
        formatted with ``site`` and ``wave`` (see :func:`plot_networks`).
        """
        return plot_networks(self.networks, sites, waves, seed=seed, labels=labels,
                             sector_labels=sector_labels, panel_title=panel_title)

    # ----------------------------------------------------------------- change
    def change(
        self,
        wave_from=None,
        wave_to=None,
        *,
        pilot=None,
        measure: str = "density",
        n_perm: int = 999,
        seed: int = 0,
        alternative: str = "two-sided",
        ties: str = "conservative",
        weighted_qap: bool = False,
    ) -> NetworkChangeResults:
        """Change between two waves at each site, and pilot vs comparison.

        Per site: change in density with the paired dyad permutation test
        (:func:`~evalkit.network.permutation.density_change_test`) and QAP
        correlation between the two waves' adjacency matrices
        (:func:`~evalkit.network.permutation.qap_correlation`), both over the
        organisations present in both waves. With ``pilot`` (list of pilot
        sites, or a mapping/Series site -> bool), the difference between the
        mean change of ``measure`` at pilot and comparison sites is tested by
        permuting the pilot labels among sites
        (:func:`~evalkit.network.permutation.difference_in_change_test`).

        Parameters
        ----------
        wave_from, wave_to
            Waves compared (default: first and last).
        pilot
            Pilot sites.
        measure
            Whole-network measure whose change is compared between pilot and
            comparison sites (a column of :meth:`to_frame`).
        n_perm, seed, alternative
            Permutations, seed (reproducible), alternative hypothesis.
        ties
            ``"conservative"`` (default) or ``"mid"`` p-values for the discrete
            statistics (see :mod:`evalkit.network.permutation`).
        weighted_qap
            Correlate tie intensities rather than presence in the QAP test.
        """
        net = self.networks
        waves = net.waves
        wave_from = waves[0] if wave_from is None else wave_from
        wave_to = waves[-1] if wave_to is None else wave_to
        for w in (wave_from, wave_to):
            if w not in waves:
                raise UnknownCategoryError(f"wave {w!r} not in the networks; waves are {waves}")
        check_option("measure", measure, MEASURES)
        rng = np.random.default_rng(seed)
        params, ses, pvals, rows, qap_rows = {}, {}, {}, [], []
        for site in net.sites:
            g0, g1 = net[(site, wave_from)], net[(site, wave_to)]
            nodes = sorted(set(g0.nodes) & set(g1.nodes), key=str)
            a = net.adjacency(site, wave_from, nodes)
            b = net.adjacency(site, wave_to, nodes)
            dens = density_change_test(a, b, directed=net.directed, n_perm=n_perm, seed=rng,
                                       alternative=alternative, ties=ties)
            key = f"{site}: density change"
            params[key], ses[key], pvals[key] = dens.statistic, dens.null_sd, dens.pvalue
            try:
                if weighted_qap:
                    a_q = net.adjacency(site, wave_from, nodes, weight=True)
                    b_q = net.adjacency(site, wave_to, nodes, weight=True)
                else:
                    a_q, b_q = a, b
                qap = qap_correlation(a_q, b_q, directed=net.directed, n_perm=n_perm, seed=rng,
                                      alternative=alternative, ties=ties)
                note = ""
            except EstimationError as exc:  # undefined (empty or complete wave): reported, not fatal
                qap = PermutationTestResult(statistic=np.nan, pvalue=np.nan, method="QAP")
                note = str(exc)
            qap_rows.append({"site": site, "n_organisations": len(nodes),
                             "qap_correlation": qap.statistic, "p_value": qap.pvalue,
                             "null_mean": qap.null_mean, "null_sd": qap.null_sd,
                             "note": note})
            rows.append({"site": site, "n_changed_dyads": dens.n_changed})
        m = self.measures.set_index(["site", "wave"])[measure]
        site_change = pd.Series(
            {s: m[(s, wave_to)] - m[(s, wave_from)] for s in net.sites}, name=f"change_{measure}"
        )
        dic = None
        if pilot is not None:
            is_pilot = _pilot_mask(pilot, net.sites)
            dic = difference_in_change_test(site_change.to_numpy(), is_pilot, n_perm=max(n_perm, 9999),
                                            seed=rng, alternative=alternative)
            key = f"pilot - comparison: {measure} change"
            params[key], ses[key], pvals[key] = dic.statistic, dic.null_sd, dic.pvalue
        return NetworkChangeResults(
            pd.Series(params), pd.Series(ses), pd.Series(pvals),
            qap=pd.DataFrame(qap_rows), site_change=site_change, difference_in_change=dic,
            info={"waves": f"{wave_from} -> {wave_to}", "permutations": n_perm, "seed": seed,
                  "p-values": ties, "QAP on": "intensities" if weighted_qap else "tie presence",
                  "alternative": alternative, "measure compared": measure},
            ledger=self.ledger,
        )


def _pilot_mask(pilot, sites: list) -> np.ndarray:
    if isinstance(pilot, Mapping | pd.Series):
        mapping = dict(pilot)
        missing = [s for s in sites if s not in mapping]
        if missing:
            raise UnknownCategoryError(f"pilot status missing for site(s) {missing}")
        return np.array([bool(mapping[s]) for s in sites])
    pilot = set(np.atleast_1d(pilot).tolist())
    unknown = sorted(pilot - set(sites), key=str)
    if unknown:
        raise UnknownCategoryError(f"pilot names unknown site(s) {unknown}; sites are {sites}")
    return np.array([s in pilot for s in sites])


class NetworkChangeResults(EstimateResults):
    """Changes between two waves with permutation p-values.

    ``params`` are the density change at each site and, with pilot sites, the
    difference in mean change (pilot - comparison). ``std_errors`` are the
    standard deviations of the permutation (null) distributions, so
    :meth:`conf_int` is only a normal approximation under H0; rely on
    ``pvalues``, which are the permutation p-values. ``qap`` holds the QAP
    correlations between waves per site, ``site_change`` the change of the
    compared measure per site.
    """

    def __init__(self, params, std_errors, pvalues, *, qap, site_change, difference_in_change,
                 info, ledger):
        super().__init__(params, std_errors, title="Network change between waves (permutation tests)",
                         info=info, ledger=ledger)
        self._pvalues = pd.Series(pvalues, dtype=float, name="p_value").reindex(self.params.index)
        self.qap = qap
        self.site_change = site_change
        self.difference_in_change = difference_in_change

    @property
    def pvalues(self) -> pd.Series:
        """Permutation p-values."""
        return self._pvalues

    def summary(self, level: float = 0.95) -> Summary:
        summary = super().summary(level)
        summary.more["QAP correlation between waves"] = (
            self.qap.drop(columns=["note"]).reset_index(drop=True))
        return summary

    def plot(self):
        """Bar chart of the change per site (pilot sites are not distinguished here)."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3))
        self.site_change.plot.bar(ax=ax, color="#1f77b4")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(self.site_change.name)
        fig.tight_layout()
        return fig
