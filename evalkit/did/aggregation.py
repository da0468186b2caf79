"""Aggregations of group-time effects ATT(g, t) (Callaway & Sant'Anna 2021, sec. 3).

Every aggregate is linear in the ATT(g, t) with weights that depend on the
cohort shares ``P(G = g)``, so its influence function is

``psi_agg = Psi @ a + Z @ c``,

where ``Psi`` holds the ATT(g, t) influence functions, ``a`` the cell
weights, and ``Z[:, g] = w_i 1{G_i = g} - P(G = g)`` the influence functions
of the estimated cohort shares, weighted by ``c`` (the "weight influence
function" of R ``did::aggte``, which standard errors must include because the
shares are estimated). :func:`aggregation_weights` returns ``a`` and ``c`` for
each reported quantity; inference is then a matrix product.

Kinds (R ``aggte`` ``type``):

* ``"simple"``: ``sum_{g<=t} P(G=g) ATT(g,t) / sum_{g<=t} P(G=g)``;
* ``"dynamic"`` (event study): ``ATT(e) = sum_g P(G=g | g+e observed) ATT(g, g+e)``,
  overall = mean of ``ATT(e)`` over ``e >= 0``; ``balance_e`` keeps only
  cohorts observed for ``balance_e`` periods after treatment;
* ``"group"``: ``theta(g)`` = mean over post periods of ``ATT(g, t)``,
  overall = ``sum_g P(G=g) theta(g)``;
* ``"calendar"``: ``theta(t) = sum_{g<=t} P(G=g | g<=t) ATT(g, t)``,
  overall = mean of ``theta(t)``.

``min_e`` / ``max_e`` restrict event times (simple, group, dynamic), as in R.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from evalkit.errors import ConfigError
from evalkit.options import check_option, choices

Kind = Literal["simple", "dynamic", "group", "calendar"]
KINDS = choices(Kind)
INDEX_NAMES = {"simple": "estimate", "dynamic": "event_time", "group": "group",
               "calendar": "time"}


@dataclass(frozen=True)
class AggregationWeights:
    """Weights defining each aggregate from the ATT(g, t) and the cohort shares.

    ``cell[:, j]`` (length K cells) and ``share[:, j]`` (length n_groups)
    define the j-th reported estimate; ``overall_cell``/``overall_share`` the
    overall summary.
    """

    kind: str
    labels: np.ndarray
    cell: np.ndarray
    share: np.ndarray
    overall_cell: np.ndarray
    overall_share: np.ndarray

    @property
    def index_name(self) -> str:
        return INDEX_NAMES[self.kind]


def aggregation_weights(
    kind: str,
    cell_group: np.ndarray,
    cell_time: np.ndarray,
    att: np.ndarray,
    groups: np.ndarray,
    group_share: np.ndarray,
    *,
    min_e: float | None = None,
    max_e: float | None = None,
    balance_e: int | None = None,
) -> AggregationWeights:
    """Cell and cohort-share weights of an aggregation (see module docstring).

    Parameters
    ----------
    kind
        ``"simple"``, ``"dynamic"``, ``"group"`` or ``"calendar"``.
    cell_group, cell_time, att
        Cohort, period and estimate of each ATT(g, t) cell.
    groups, group_share
        Cohorts and their estimated shares ``P(G = g)``.
    min_e, max_e, balance_e
        Event-time window and balancing, as in R ``aggte``.
    """
    check_option("kind", kind, Kind)
    if balance_e is not None and kind != "dynamic":
        raise ConfigError("balance_e only applies to kind='dynamic'.")
    if kind == "calendar" and (min_e is not None or max_e is not None):
        raise ConfigError("min_e / max_e do not apply to kind='calendar'.")
    min_e = -np.inf if min_e is None else min_e
    max_e = np.inf if max_e is None else max_e
    gpos = np.searchsorted(groups, cell_group)
    pg = group_share[gpos]
    event = cell_time - cell_group
    post = cell_group <= cell_time
    n_groups = len(groups)

    def share_weighted(keep):
        """Weights of ``sum pg att / sum pg`` over ``keep``, with the share term."""
        s = pg[keep].sum()
        a = np.where(keep, pg, 0.0) / s
        theta = a @ att
        c = np.bincount(gpos[keep], weights=(att[keep] - theta) / s, minlength=n_groups)
        return a, c

    def stack(columns):
        a = np.column_stack([col[0] for col in columns])
        c = np.column_stack([col[1] for col in columns])
        return a, c

    in_window = post & (event >= min_e) & (event <= max_e)
    if kind == "simple":
        _require(in_window.any(), "no post-treatment ATT(g,t) in the event-time window")
        a, c = share_weighted(in_window)
        return AggregationWeights(kind, np.array(["ATT"]), a[:, None], c[:, None], a, c)

    if kind == "group":
        labels = np.array([g for g in groups if (in_window & (cell_group == g)).any()])
        _require(len(labels) > 0, "no cohort has a post-treatment ATT(g,t) in the window")
        columns = []
        for g in labels:
            keep = in_window & (cell_group == g)
            columns.append((keep / keep.sum(), np.zeros(n_groups)))
        a, c = stack(columns)
        theta_g = att @ a
        share = group_share[np.searchsorted(groups, labels)]
        s = share.sum()
        overall_a = a @ (share / s)
        overall_c = np.zeros(n_groups)
        overall_c[np.searchsorted(groups, labels)] = (theta_g - share @ theta_g / s) / s
        return AggregationWeights(kind, _as_labels(labels), a, c, overall_a, overall_c)

    if kind == "calendar":
        times = np.unique(cell_time[post & (cell_time >= groups.min())])
        columns = [share_weighted(post & (cell_time == t)) for t in times]
        a, c = stack(columns)
        return AggregationWeights(kind, _as_labels(times), a, c, a.mean(axis=1), c.mean(axis=1))

    include = np.ones(len(att), dtype=bool)
    if balance_e is not None:
        last, first = cell_time.max(), min(cell_time.min(), cell_group.min())
        include = (last - cell_group) >= balance_e
        _require(include.any(), f"no cohort is observed {balance_e} period(s) after treatment")
        e_all = np.unique(event[include])
        e_all = e_all[(e_all <= balance_e) & (e_all >= balance_e - last + first)]
    else:
        e_all = np.unique(event)
    e_all = e_all[(e_all >= min_e) & (e_all <= max_e)]
    _require(len(e_all) > 0, "no event time left in the window")
    columns = [share_weighted(include & (event == e)) for e in e_all]
    a, c = stack(columns)
    positive = e_all >= 0
    _require(positive.any(), "no event time >= 0 in the window for the overall effect")
    return AggregationWeights(kind, _as_labels(e_all), a, c, a[:, positive].mean(axis=1),
                              c[:, positive].mean(axis=1))


def _as_labels(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values.astype(np.int64) if np.all(values == np.round(values)) else values


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ConfigError(f"Cannot aggregate: {what}. Widen min_e/max_e or lower balance_e.")
