"""Service-integration networks: measures vs networkx and the literature, errors, permutation tests."""

from __future__ import annotations

from itertools import combinations

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.datasets import hope_in_stations
from evalkit.errors import DataValidationError, MissingColumnError, UnknownCategoryError
from evalkit.network.analysis import ServiceNetworkAnalysis
from evalkit.network.brokerage import brokerage_roles
from evalkit.network.graphs import ServiceNetworks
from evalkit.network.measures import (
    average_path_length,
    betweenness_centralisation,
    degree_centralisation,
    network_measures,
)
from evalkit.network.permutation import (
    density_change_test,
    difference_in_change_test,
    qap_correlation,
)
from evalkit.network.plotting import site_layout

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def hope():
    return hope_in_stations.generate(**hope_in_stations.SAMPLE_KWARGS)


@pytest.fixture(scope="module")
def karate_results():
    g = nx.karate_club_graph()
    edges = pd.DataFrame(list(g.edges()), columns=["org_a", "org_b"]).assign(station="karate", wave=1)
    orgs = pd.DataFrame({"station": "karate", "org": list(g.nodes),
                         "sector": [g.nodes[v]["club"] for v in g.nodes]})
    return ServiceNetworkAnalysis(edges, organisations=orgs).fit()


# ------------------------------------------------------------------ karate club
def test_karate_whole_network_measures(karate_results):
    row = karate_results.to_frame().iloc[0]
    # Zachary (1977): 34 members, 78 ties; KONECT "fill" 0.139037, i.e. 78 / C(34, 2).
    assert row["n_organisations"] == 34 and row["n_ties"] == 78
    assert_allclose(row["density"], 78 / (34 * 33 / 2))
    assert_allclose(row["density"], 0.139037, atol=5e-7)
    # Freeman degree centralisation by hand: max degree 17 (node 33), sum of degrees 156,
    # sum(17 - d_i) = 34*17 - 156 = 422, over (n-1)(n-2) = 33*32 = 1056.
    assert_allclose(row["degree_centralisation"], 422 / 1056)
    # Mean geodesic of the (connected) karate graph: 2.4082 (e.g. igraph mean_distance).
    assert_allclose(row["average_path_length"], 2.408199643, atol=1e-9)
    assert_allclose(row["average_path_length"],
                    nx.average_shortest_path_length(nx.karate_club_graph()))
    assert row["n_components"] == 1


def test_karate_betweenness_of_the_two_leaders(karate_results):
    org = karate_results.organisations().set_index("organisation")
    # Published normalised betweenness of the instructor (node 1) and the administrator (node 34).
    assert_allclose(org.loc[0, "betweenness"], 0.4376, atol=5e-5)
    assert_allclose(org.loc[33, "betweenness"], 0.3041, atol=5e-5)
    ref = nx.betweenness_centrality(nx.karate_club_graph(), normalized=True)
    assert_allclose(org["betweenness"].to_numpy(), [ref[v] for v in org.index], rtol=1e-12)
    # Raw betweenness: normalised x (n-1)(n-2)/2.
    assert_allclose(org.loc[0, "betweenness_raw"], ref[0] * 33 * 32 / 2)


def test_betweenness_centralisation_by_hand():
    star = nx.star_graph(5)  # Freeman: the star is maximally centralised
    assert_allclose(betweenness_centralisation(star), 1.0)
    assert_allclose(degree_centralisation(star), 1.0)
    assert_allclose(degree_centralisation(nx.cycle_graph(6)), 0.0)
    # path a-b-c-d: normalised betweenness (0, 2/3, 2/3, 0); sum(max - b) / (n - 1) = (4/3) / 3.
    assert_allclose(betweenness_centralisation(nx.path_graph(4)), 4 / 9)


def test_directed_centralisation_star():
    out_star = nx.DiGraph([(0, i) for i in range(1, 6)])
    assert_allclose(degree_centralisation(out_star, mode="out"), 1.0)
    # in-degree of the out-star: max 1, sum(1 - d_in) = 1 (the centre), over (n-1)^2 = 25.
    assert_allclose(degree_centralisation(out_star, mode="in"), 1 / 25)


def test_average_path_length_uses_largest_component():
    g = nx.Graph([(0, 1), (1, 2), (2, 3), (10, 11)])
    g.add_node(20)
    assert_allclose(average_path_length(g), nx.average_shortest_path_length(nx.path_graph(4)))
    m = network_measures(g)
    assert m["n_components"] == 3 and m["largest_component"] == 4 and m["n_isolates"] == 1


# ------------------------------------------------------------- hope_in_stations
def test_hope_measures_equal_networkx(hope):
    edges, orgs = hope["edges"], hope["organisations"]
    res = ServiceNetworkAnalysis(edges, organisations=orgs).fit()
    measures = res.to_frame().set_index(["site", "wave"])
    org_measures = res.organisations().set_index(["site", "wave", "organisation"])
    assert len(measures) == 14
    for (site, wave), grp in edges.groupby(["station", "wave"]):
        g = nx.Graph()
        g.add_nodes_from(orgs.loc[orgs["station"] == site, "org"])
        g.add_edges_from(zip(grp["org_a"], grp["org_b"], strict=True))
        row = measures.loc[(site, wave)]
        assert_allclose(row["density"], nx.density(g))
        assert row["n_components"] == nx.number_connected_components(g)
        lcc = g.subgraph(max(nx.connected_components(g), key=len))
        assert_allclose(row["average_path_length"], nx.average_shortest_path_length(lcc))
        deg = dict(g.degree())
        n = g.number_of_nodes()
        assert_allclose(row["degree_centralisation"],
                        sum(max(deg.values()) - d for d in deg.values()) / ((n - 1) * (n - 2)))
        sector = dict(zip(orgs["org"], orgs["sector"], strict=False))
        cross = np.mean([sector[a] != sector[b] for a, b in g.edges()])
        assert_allclose(row["cross_sector_share"], cross)
        btw = nx.betweenness_centrality(g)
        got = org_measures.loc[(site, wave)]["betweenness"]
        assert_allclose(got.to_numpy(), [btw[v] for v in got.index], rtol=1e-12)


def test_hope_pilot_integration_rises(hope):
    res = ServiceNetworkAnalysis(hope["edges"], organisations=hope["organisations"]).fit()
    pilots = hope["survey"].groupby("station")["pilot"].first()
    chg = res.change(pilot=pilots, n_perm=199, seed=3, alternative="greater")
    m = res.to_frame().set_index(["site", "wave"])["density"]
    change = {s: m[(s, 2)] - m[(s, 1)] for s in pilots.index}
    expected = np.mean([change[s] for s in pilots.index if pilots[s]]) - np.mean(
        [change[s] for s in pilots.index if not pilots[s]])
    key = "pilot - comparison: density change"
    assert_allclose(chg.params[key], expected)
    # 4 pilots of 7 sites: C(7, 4) = 35 assignments; pilots have the 4 largest rises -> p = 1/35.
    assert chg.difference_in_change.exact and chg.difference_in_change.n_perm == 35
    assert_allclose(chg.pvalues[key], 1 / 35)
    for s in pilots.index[pilots]:
        assert chg.params[f"{s}: density change"] > 0
    net = res.networks
    nodes = net.node_order("Paris Nord")
    iu = np.triu_indices(len(nodes), 1)
    r = np.corrcoef(net.adjacency("Paris Nord", 1, nodes)[iu], net.adjacency("Paris Nord", 2, nodes)[iu])
    assert_allclose(chg.qap.set_index("site").loc["Paris Nord", "qap_correlation"], r[0, 1])
    assert chg.qap["p_value"].between(1 / 200, 1).all()
    assert "QAP" in chg.summary()


# -------------------------------------------------------------------- brokerage
def test_brokerage_roles_hand_example():
    # a1 - b1 - a2 ; b1 - c1 ; b1 - b2 ; groups a, b, c by first letter. Ties a1-a2 absent.
    g = nx.Graph([("a1", "b1"), ("b1", "a2"), ("b1", "c1"), ("b1", "b2")])
    nx.set_node_attributes(g, {v: v[0] for v in g}, "sector")
    roles = brokerage_roles(g).loc["b1"]
    # Open ordered pairs through b1: all 4*3 = 12 ordered pairs of its neighbours (none tied).
    # itinerant (a,c same group, b apart): (a1,a2),(a2,a1) -> 2
    # representative (a with b, c apart): (b2,a1),(b2,a2),(b2,c1) -> 3 ; gatekeeper: mirror -> 3
    # liaison (all different): (a1,c1),(c1,a1),(a2,c1),(c1,a2) -> 4 ; coordinator 0.
    assert roles.to_dict() == {"coordinator": 0, "itinerant": 2, "representative": 3,
                               "gatekeeper": 3, "liaison": 4, "brokerage_total": 12}
    assert brokerage_roles(g).drop(index="b1")["brokerage_total"].eq(0).all()


def test_brokerage_directed_coordinator():
    g = nx.DiGraph([("x", "y"), ("y", "z")])
    nx.set_node_attributes(g, "same", "sector")
    roles = brokerage_roles(g)
    assert roles.loc["y", "coordinator"] == 1 and roles["brokerage_total"].sum() == 1


# -------------------------------------------------------------- building, errors
def _toy():
    orgs = pd.DataFrame({"station": ["S"] * 4 + ["T"] * 3,
                         "org": ["A", "B", "C", "D", "A", "E", "F"],
                         "sector": ["ngo", "public", "health", "police", "ngo", "ngo", "railway"]})
    edges = pd.DataFrame({"station": ["S", "S", "S", "S", "T", "S"],
                          "wave": [1, 1, 1, 2, 1, 2],
                          "org_a": ["A", "B", "C", "A", "A", "D"],
                          "org_b": ["B", "A", "C", "D", "E", "A"],
                          "tie_type": ["info", "referral", "x", "info", "info", "joint"],
                          "intensity": [1, 3, 1, 2, 1, 1]})
    return edges, orgs


def test_self_loops_dropped_and_duplicates_merged_into_ledger():
    edges, orgs = _toy()
    net = ServiceNetworks(edges, orgs)
    steps = net.ledger.to_frame().set_index("step")
    assert steps.loc["network: self-loops", "n_rows"] == 1
    assert steps.loc["network: repeated ties", "n_rows"] == 2
    g = net[("S", 1)]
    assert g.number_of_edges() == 1 and g.edges["A", "B"]["weight"] == 3.0
    assert set(g.edges["A", "B"]["tie_types"]) == {"info", "referral"}
    assert net[("S", 2)].number_of_nodes() == 4  # isolates kept: B and C have no tie in wave 2
    assert net[("T", 2)].number_of_edges() == 0  # a site without ties in a wave is an empty graph
    net_sum = ServiceNetworks(edges, orgs, duplicates="sum")
    assert net_sum[("S", 1)].edges["A", "B"]["weight"] == 4.0
    with pytest.raises(DataValidationError, match="repeated tie"):
        ServiceNetworks(edges, orgs, duplicates="raise")


def test_directed_keeps_both_directions():
    edges, orgs = _toy()
    net = ServiceNetworks(edges, orgs, directed=True)
    assert net[("S", 1)].has_edge("A", "B") and net[("S", 1)].has_edge("B", "A")


def test_unknown_organisation_and_site():
    edges, orgs = _toy()
    bad = edges.copy()
    bad.loc[0, "org_b"] = "Z"
    with pytest.raises(UnknownCategoryError, match="'Z'"):
        ServiceNetworks(bad, orgs)
    bad = edges.copy()
    bad.loc[0, "station"] = "Nowhere"
    with pytest.raises(UnknownCategoryError, match="Nowhere"):
        ServiceNetworks(bad, orgs)
    # E exists at T but not at S
    bad = edges.copy()
    bad.loc[0, "org_b"] = "E"
    with pytest.raises(UnknownCategoryError, match="'S', 'E'"):
        ServiceNetworks(bad, orgs)
    with pytest.raises(MissingColumnError, match="org_b"):
        ServiceNetworks(edges.drop(columns="org_b"), orgs)
    with pytest.raises(DataValidationError, match="positive"):
        ServiceNetworks(edges.assign(intensity=[1, 0, 1, 1, 1, 1]), orgs)


# ----------------------------------------------------------------- permutation
def test_qap_statistic_equals_pearson_on_dyads():
    rng = np.random.default_rng(1)
    a = np.triu(rng.random((12, 12)) < 0.3, 1).astype(float)
    a = a + a.T
    b = a.copy()
    flip = np.triu(rng.random((12, 12)) < 0.2, 1)
    b[flip] = 1 - b[flip]
    b = np.triu(b, 1) + np.triu(b, 1).T
    iu = np.triu_indices(12, 1)
    res = qap_correlation(a, b, n_perm=499, seed=2)
    assert_allclose(res.statistic, np.corrcoef(a[iu], b[iu])[0, 1])
    assert res.pvalue <= 2 / 500
    again = qap_correlation(a, b, n_perm=499, seed=2)
    assert again == res  # seeded


def test_difference_in_change_exact_enumeration():
    change = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0])
    pilot = np.array([True, True, True, True, False, False, False])
    res = difference_in_change_test(change, pilot, alternative="greater")
    assert res.exact and res.n_perm == 35
    assert_allclose(res.statistic, 3.5 - 0.0)
    assert_allclose(res.pvalue, 1 / 35)
    # brute force two-sided
    stats = [change[list(c)].mean() - np.delete(change, list(c)).mean()
             for c in combinations(range(7), 4)]
    two = difference_in_change_test(change, pilot)
    assert_allclose(two.pvalue, np.mean(np.abs(stats) >= 3.5 - 1e-12))


def _null_rejection_rates(n_sims: int, n_nodes: int, n_perm: int, seed: int, valued: bool,
                          ties: str = "conservative"):
    """Rejection rates at 5 % of QAP and the density-change test when H0 holds.

    H0: the two waves are independent draws of the same random graph (p = 0.25);
    ``valued`` gives every tie a continuous intensity (no ties in the statistics).
    """
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n_nodes, 1)
    rej_qap = rej_dens = 0
    for _ in range(n_sims):
        mats = []
        for _wave in range(2):
            m = np.zeros((n_nodes, n_nodes))
            present = rng.random(iu[0].size) < 0.25
            m[iu] = present * (rng.uniform(1, 3, iu[0].size) if valued else 1.0)
            mats.append(m + m.T)
        rej_qap += qap_correlation(*mats, n_perm=n_perm, seed=rng, ties=ties).pvalue <= 0.05
        rej_dens += density_change_test(*mats, n_perm=n_perm, seed=rng, ties=ties).pvalue <= 0.05
    return rej_qap / n_sims, rej_dens / n_sims


def test_permutation_tests_size_fast():
    # 500 simulations: binomial(500, 0.05) 99.9 % range is about [0.018, 0.082].
    rate_qap, rate_dens = _null_rejection_rates(500, 14, 199, seed=11, valued=True)
    assert 0.018 <= rate_qap <= 0.082
    assert 0.018 <= rate_dens <= 0.082
    # Binary ties: discrete statistics, the default p-value is conservative (size <= 5 %).
    bin_qap, bin_dens = _null_rejection_rates(500, 14, 199, seed=12, valued=False)
    assert bin_qap <= 0.082 and bin_dens <= 0.082
    mid_qap, mid_dens = _null_rejection_rates(500, 14, 199, seed=12, valued=False, ties="mid")
    assert mid_qap >= bin_qap and mid_dens >= bin_dens


@pytest.mark.slow
def test_permutation_tests_size_slow():
    # 2000 simulations: binomial(2000, 0.05) 99.9 % range is about [0.034, 0.066].
    rate_qap, rate_dens = _null_rejection_rates(2000, 14, 499, seed=21, valued=True)
    assert 0.034 <= rate_qap <= 0.066
    assert 0.034 <= rate_dens <= 0.066
    mid_qap, mid_dens = _null_rejection_rates(2000, 14, 499, seed=22, valued=False, ties="mid")
    assert 0.034 <= mid_qap <= 0.066
    assert 0.034 <= mid_dens <= 0.066
    bin_qap, bin_dens = _null_rejection_rates(2000, 14, 499, seed=22, valued=False)
    assert bin_qap <= 0.066 and bin_dens <= 0.066


def test_density_change_detects_a_real_rise():
    rng = np.random.default_rng(5)
    iu = np.triu_indices(14, 1)
    a = np.zeros((14, 14))
    b = np.zeros((14, 14))
    a[iu] = rng.random(iu[0].size) < 0.15
    b[iu] = rng.random(iu[0].size) < 0.45
    res = density_change_test(a + a.T, b + b.T, n_perm=999, seed=1)
    assert_allclose(res.statistic, b[iu].mean() - a[iu].mean())
    assert res.pvalue < 0.01


# ------------------------------------------------------------------------ plots
def test_plot_uses_one_layout_per_site(hope):
    res = ServiceNetworkAnalysis(hope["edges"], organisations=hope["organisations"]).fit()
    net = res.networks
    pos1 = site_layout(net, "Paris Nord", seed=0)
    pos2 = site_layout(net, "Paris Nord", seed=0)
    assert set(pos1) == set(net.node_order("Paris Nord"))
    assert all(np.array_equal(pos1[k], pos2[k]) for k in pos1)
    fig = res.plot(sites=["Paris Nord", "Madrid Atocha"])
    axes = fig.get_axes()
    assert len(axes) == 4
    # same organisation drawn at the same place in both waves: node collections share offsets
    off1 = axes[0].collections[-1].get_offsets()
    off2 = axes[1].collections[-1].get_offsets()
    assert_allclose(np.asarray(off1), np.asarray(off2))
    matplotlib.pyplot.close(fig)


def test_organisations_listed_per_wave():
    orgs = pd.DataFrame({"station": "S", "wave": [1, 1, 1, 2, 2, 2, 2],
                         "org": ["A", "B", "C", "A", "B", "C", "N"],
                         "sector": ["ngo", "public", "health", "ngo", "public", "health", "police"]})
    edges = pd.DataFrame({"station": "S", "wave": [1, 2, 2], "org_a": ["A", "A", "N"],
                          "org_b": ["B", "B", "C"]})
    res = ServiceNetworkAnalysis(edges, organisations=orgs, intensity=None, tie_type=None).fit()
    m = res.to_frame().set_index("wave")
    assert m.loc[1, "n_organisations"] == 3 and m.loc[2, "n_organisations"] == 4
    assert_allclose(m.loc[2, "density"], 2 / 6)
    # N did not exist in wave 1: a wave-1 tie naming it is refused
    bad = pd.concat([edges, pd.DataFrame({"station": ["S"], "wave": [1], "org_a": ["N"],
                                          "org_b": ["A"]})])
    with pytest.raises(UnknownCategoryError, match="not listed for that wave"):
        ServiceNetworks(bad, orgs, intensity=None, tie_type=None)
    # change is measured on the organisations present in both waves (A, B, C)
    chg = res.change(n_perm=99, seed=1)
    assert chg.qap.loc[0, "n_organisations"] == 3
    assert_allclose(chg.params["S: density change"], 0.0)
    assert "largest component" in res.summary()


def test_cross_check_with_igraph(hope):
    ig = pytest.importorskip("igraph")  # optional peer, tests only
    zachary = ig.Graph.Famous("Zachary")
    btw = np.array(zachary.betweenness()) / (33 * 32 / 2)
    assert_allclose(btw[[0, 33]], [0.43763528, 0.30407498], rtol=1e-7)
    assert_allclose(zachary.average_path_length(), 2.408199643, rtol=1e-9)
    res = ServiceNetworkAnalysis(hope["edges"], organisations=hope["organisations"]).fit()
    measures = res.to_frame().set_index(["site", "wave"])
    orgs = res.organisations().set_index(["site", "wave", "organisation"])
    for (site, wave), graph in res.networks.items():
        nodes = list(graph.nodes)
        g = ig.Graph(n=len(nodes), edges=[(nodes.index(a), nodes.index(b)) for a, b in graph.edges()])
        row = measures.loc[(site, wave)]
        assert_allclose(row["density"], g.density())
        assert row["n_components"] == len(g.connected_components())
        lcc = g.connected_components().giant()
        assert_allclose(row["average_path_length"], lcc.average_path_length())
        n = len(nodes)
        got = orgs.loc[(site, wave)].loc[nodes, "betweenness"].to_numpy()
        assert_allclose(got, np.array(g.betweenness()) / ((n - 1) * (n - 2) / 2), atol=1e-12)


def test_brokerage_matches_brute_force_on_random_digraph():
    rng = np.random.default_rng(4)
    g = nx.gnp_random_graph(12, 0.3, seed=4, directed=True)
    nx.set_node_attributes(g, {v: rng.choice(["x", "y", "z"]) for v in g}, "sector")
    got = brokerage_roles(g)
    sec = nx.get_node_attributes(g, "sector")
    for b in g:
        counts = dict.fromkeys(["coordinator", "itinerant", "representative", "gatekeeper",
                                "liaison"], 0)
        for a in g.predecessors(b):
            for c in g.successors(b):
                if len({a, b, c}) < 3 or g.has_edge(a, c):
                    continue
                ga, gb, gc = sec[a], sec[b], sec[c]
                if ga == gb == gc:
                    counts["coordinator"] += 1
                elif ga == gc:
                    counts["itinerant"] += 1
                elif ga == gb:
                    counts["representative"] += 1
                elif gb == gc:
                    counts["gatekeeper"] += 1
                else:
                    counts["liaison"] += 1
        assert got.loc[b, list(counts)].to_dict() == counts


def test_permutation_tests_return_the_shared_test_result():
    """QAP, density and difference-in-change tests share TestResult (statistic, df, p, method)."""
    from evalkit.results import TestResult

    rng = np.random.default_rng(5)
    a = np.triu(rng.random((8, 8)) < 0.4, 1).astype(float)
    b = np.triu(rng.random((8, 8)) < 0.4, 1).astype(float)
    a, b = a + a.T, b + b.T
    tests = [qap_correlation(a, b, n_perm=99, seed=1), density_change_test(a, b, n_perm=99, seed=1),
             difference_in_change_test(np.arange(6.0), np.array([1, 1, 0, 0, 0, 0], bool))]
    for res in tests:
        assert isinstance(res, TestResult)
        assert res.df is None and 0 < res.pvalue <= 1 and res.method
        assert "p = " in str(res)
        with pytest.warns(DeprecationWarning, match="pvalue"):
            assert res["p_value"] == res.pvalue
