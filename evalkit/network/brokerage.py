"""Gould–Fernandez brokerage roles.

Gould, R. V. & Fernandez, R. M. (1989), "Structures of mediation: a formal
approach to brokerage in transaction networks", *Sociological Methodology* 19,
89-126. Organisation ``b`` brokers the ordered pair ``(a, c)`` when ``a -> b``
and ``b -> c`` are ties, ``a -> c`` is not, and ``a``, ``b``, ``c`` are
distinct. With groups (here: sectors) the brokerage is classified by who
belongs to which group:

=================  ==========================  ======================
role               groups                      Gould–Fernandez name
=================  ==========================  ======================
coordinator        a, b, c in the same group   w_I
itinerant          a, c together, b apart      w_O (consultant)
representative     a, b together, c apart      b_IO
gatekeeper         b, c together, a apart      b_OI
liaison            all three different         b_O
=================  ==========================  ======================

An undirected tie counts in both directions (as ``sna::brokerage`` in R does
for a symmetric matrix), so in an undirected graph each open pair of
neighbours is counted twice (``(a, c)`` and ``(c, a)``), and representative
and gatekeeper counts are equal.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

ROLES = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison")


def brokerage_roles(graph: nx.Graph, attribute: str = "sector") -> pd.DataFrame:
    """Count the Gould–Fernandez brokerage roles of every node.

    Parameters
    ----------
    graph
        Directed or undirected graph; nodes carry the group label in ``attribute``.
    attribute
        Node attribute holding the group (missing -> its own group ``None``).

    Returns
    -------
    DataFrame indexed by node with one column per role (see module docstring)
    and ``brokerage_total``.
    """
    nodes = list(graph.nodes)
    n = len(nodes)
    adj = nx.to_numpy_array(graph, nodelist=nodes, weight=None, dtype=float) > 0
    np.fill_diagonal(adj, False)
    labels = [graph.nodes[v].get(attribute) for v in nodes]
    _, group = np.unique(np.array([str(x) for x in labels], dtype=object), return_inverse=True)
    counts = np.zeros((n, len(ROLES)), dtype=np.int64)
    # open[a, c]: a -> c absent and a != c
    open_pair = ~adj
    np.fill_diagonal(open_pair, False)
    same = group[:, None] == group[None, :]
    for b in range(n):
        mask = adj[:, b][:, None] & adj[b, :][None, :] & open_pair
        mask[b, :] = False
        mask[:, b] = False
        if not mask.any():
            continue
        a_idx, c_idx = np.nonzero(mask)
        ab = group[a_idx] == group[b]
        bc = group[c_idx] == group[b]
        ac = same[a_idx, c_idx]
        counts[b, 0] = np.sum(ab & bc)
        counts[b, 1] = np.sum(ac & ~ab)
        counts[b, 2] = np.sum(ab & ~bc)
        counts[b, 3] = np.sum(bc & ~ab)
        counts[b, 4] = np.sum(~ab & ~bc & ~ac)
    frame = pd.DataFrame(counts, index=pd.Index(nodes, name="organisation"), columns=list(ROLES))
    frame["brokerage_total"] = frame.sum(axis=1)
    return frame
