"""Service-integration networks between organisations at each site and wave.

``ServiceNetworkAnalysis(edges, organisations).fit()`` builds one graph per site and wave
and measures density, centralisation, components, path length, brokerage and
cross-sector ties; ``.change(pilot=...)`` tests their change between waves (permutation
and QAP) and compares pilot with comparison sites.
"""

from evalkit.network.analysis import (
    MEASURES,
    NetworkChangeResults,
    NetworkResults,
    ServiceNetworkAnalysis,
)
from evalkit.network.brokerage import brokerage_roles
from evalkit.network.graphs import ServiceNetworks
from evalkit.network.measures import (
    average_path_length,
    betweenness_centralisation,
    cross_sector_share,
    degree_centralisation,
    largest_component,
    network_measures,
    organisation_measures,
)
from evalkit.network.permutation import (
    PermutationTestResult,
    density_change_test,
    difference_in_change_test,
    qap_correlation,
)
from evalkit.network.plotting import plot_networks, site_layout

__all__ = [
    "MEASURES",
    "NetworkChangeResults",
    "NetworkResults",
    "PermutationTestResult",
    "ServiceNetworkAnalysis",
    "ServiceNetworks",
    "average_path_length",
    "betweenness_centralisation",
    "brokerage_roles",
    "cross_sector_share",
    "degree_centralisation",
    "density_change_test",
    "difference_in_change_test",
    "largest_component",
    "network_measures",
    "organisation_measures",
    "plot_networks",
    "qap_correlation",
    "site_layout",
]
