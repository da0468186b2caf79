"""The randomisation design of an experiment, checked against the data.

An :class:`Assignment` says how the arm (``group``) was drawn:

* individual — complete randomisation of rows: ``k`` of ``n`` units treated;
* block — complete randomisation within each ``block`` (``k_b`` of ``n_b``);
* cluster — whole ``cluster`` s (stations, zones, sites) assigned, optionally within
  blocks of clusters.

It holds the observed assignment of the units of randomisation (rows, or clusters)
and re-draws assignments *under the same design*: every one of the

    N = prod_b C(n_b, k_b)

possible assignments (exact enumeration), or uniform draws from them (Monte Carlo).
Randomisation inference (:mod:`evalkit.experiment.randomization`) and the simulation
tests rely on it. A design that does not match the data — a block with one unit, a
block where every unit has the same arm, a cluster containing both arms — raises
:class:`~evalkit.errors.DesignError` naming the offending blocks or clusters.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Hashable

import numpy as np
import pandas as pd

from evalkit.data.validation import check_frame, require_columns, show_values
from evalkit.errors import DesignError

CONTRACT = "Randomisation design"


class Assignment:
    """A declared randomisation design, validated against ``data``.

    Parameters
    ----------
    data
        One row per person (or per person x period, for a DiD where sites were assigned).
    group
        The arm: a boolean or 0/1 column, or a two-label column with ``treated`` naming
        the treated label.
    block
        Column of randomisation blocks (strata); arms were drawn within each block.
    cluster
        Column of the units that were assigned as a whole (stations, zones); every row
        of a cluster must have the same arm.
    treated
        Label of the treated arm when ``group`` is not boolean or 0/1.

    Attributes
    ----------
    kind
        ``"individual"``, ``"block"``, ``"cluster"`` or ``"block-cluster"``.
    units
        Labels of the units of randomisation (row positions, or cluster labels).
    observed
        Boolean treated indicator of each unit, as observed.
    unit_of_row
        Position in ``units`` of each row of ``data``.
    n_assignments
        Number of distinct assignments the design can produce (a Python int, exact).
    """

    def __init__(self, data: pd.DataFrame, *, group: str, block: str | None = None,
                 cluster: str | None = None, treated: Hashable | None = None) -> None:
        frame = check_frame(data, CONTRACT)
        require_columns(frame, {"group": group, "block": block, "cluster": cluster}, CONTRACT)
        for role, column in (("group", group), ("block", block), ("cluster", cluster)):
            if column is not None and frame[column].isna().any():
                rows = np.flatnonzero(frame[column].isna().to_numpy())
                raise DesignError(
                    f"{CONTRACT}: {role} column {column!r} has {len(rows)} missing value(s) "
                    f"(rows {show_values(rows.tolist())}). The design must be known for every "
                    "row: fill it in or drop those rows (and record why) before testing."
                )
        self.group, self.block, self.cluster = group, block, cluster
        row_treated = treated_indicator(frame[group], group, treated)
        self.treated_label = treated
        if cluster is None:
            self.units = np.arange(len(frame))
            self.unit_of_row = np.arange(len(frame))
            self.observed = row_treated
        else:
            codes, self.units = pd.factorize(frame[cluster], sort=True)
            self.unit_of_row = codes
            self._check_constant(row_treated, codes, cluster, "arm")
            self.observed = np.zeros(len(self.units), dtype=bool)
            self.observed[codes] = row_treated
        if block is None:
            self.block_of_unit = np.zeros(len(self.units), dtype=np.int64)
            self.blocks = np.array(["all"], dtype=object)
        else:
            block_codes, self.blocks = pd.factorize(frame[block], sort=True)
            if cluster is not None:
                self._check_constant(block_codes, self.unit_of_row, cluster, f"block {block!r}")
            self.block_of_unit = np.zeros(len(self.units), dtype=np.int64)
            self.block_of_unit[self.unit_of_row] = block_codes
        self._check_blocks()
        self.kind = ("block-" if block is not None and cluster is not None else "") + (
            "cluster" if cluster is not None else "block" if block is not None else "individual")

    def _check_constant(self, values: np.ndarray, codes: np.ndarray, cluster: str,
                        what: str) -> None:
        per_cluster = pd.Series(values).groupby(codes).nunique()
        mixed = per_cluster.index[per_cluster.to_numpy() > 1]
        if len(mixed):
            raise DesignError(
                f"{CONTRACT}: cluster(s) {show_values(self.units[mixed].tolist())} of "
                f"{cluster!r} contain more than one {what}. In a cluster-randomised design "
                f"every row of a cluster shares the cluster's {what}; check the cluster and "
                "group columns, or declare the design without cluster= if individuals "
                "were randomised."
            )

    def _check_blocks(self) -> None:
        unit = "cluster" if self.cluster is not None else "unit"
        sizes = np.bincount(self.block_of_unit, minlength=len(self.blocks))
        k = np.bincount(self.block_of_unit, weights=self.observed, minlength=len(self.blocks))
        where = f" (block column {self.block!r})" if self.block is not None else ""
        single = np.flatnonzero(sizes < 2)
        if len(single):
            raise DesignError(
                f"{CONTRACT}: block(s) {show_values(self.blocks[single].tolist())}{where} "
                f"have a single {unit}: nothing can be re-randomised there. Merge each "
                "with a similar block (as the randomisation did, if it did), or drop it."
            )
        one_arm = np.flatnonzero((k == 0) | (k == sizes))
        if len(one_arm):
            raise DesignError(
                f"{CONTRACT}: block(s) {show_values(self.blocks[one_arm].tolist())}{where} "
                f"have every {unit} in the same arm, so they carry no comparison. Drop them "
                "or check the group column."
            )
        self.block_sizes = sizes.astype(int)
        self.block_treated = k.astype(int)

    @functools.cached_property
    def n_assignments(self) -> int:
        return math.prod(math.comb(int(n), int(k))
                         for n, k in zip(self.block_sizes, self.block_treated, strict=True))

    @property
    def log10_assignments(self) -> float:
        """``log10`` of :attr:`n_assignments`, cheap for register-sized designs."""
        return sum((math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1))
                   for n, k in zip(self.block_sizes, self.block_treated, strict=True)
                   ) / math.log(10)

    def describe(self) -> str:
        """One line: the design and its number of possible assignments."""
        unit = "clusters" if self.cluster is not None else "units"
        n_treated = int(self.observed.sum())
        text = f"{self.kind} randomisation: {n_treated} of {len(self.units)} {unit} treated"
        if self.block is not None:
            text += f" within {len(self.blocks)} blocks"
        count = (f"{self.n_assignments:,}" if self.log10_assignments < 15
                 else f"about 10^{self.log10_assignments:.0f}")
        return f"{text}; {count} possible assignments"

    def enumerate(self) -> np.ndarray:
        """Every possible assignment, one boolean row per assignment (units in columns).

        Rows are ordered by :func:`itertools.combinations` within blocks; the observed
        assignment is one of them.
        """
        per_block = []
        for b in range(len(self.blocks)):
            members = np.flatnonzero(self.block_of_unit == b)
            per_block.append(list(itertools.combinations(members, int(self.block_treated[b]))))
        out = np.zeros((self.n_assignments, len(self.units)), dtype=bool)
        for row, choice in enumerate(itertools.product(*per_block)):
            for chosen in choice:
                out[row, list(chosen)] = True
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent uniform draws from the design (boolean, units in columns).

        Shuffling the observed arms within each block gives every assignment with the
        block's number of treated units the same probability.
        """
        out = np.empty((n, len(self.units)), dtype=bool)
        for b in range(len(self.blocks)):
            members = np.flatnonzero(self.block_of_unit == b)
            out[:, members] = rng.permuted(np.tile(self.observed[members], (n, 1)), axis=1)
        return out

    def rows(self, assignments: np.ndarray) -> np.ndarray:
        """Unit assignments (``(m, n_units)``) expanded to the rows of the data."""
        return assignments[..., self.unit_of_row]

    def __repr__(self) -> str:
        return f"Assignment({self.describe()})"


def treated_indicator(series: pd.Series, column: str, treated: Hashable | None) -> np.ndarray:
    """Boolean treated arm from a boolean/0-1 column, or from its ``treated`` label."""
    values = series.unique().tolist()
    if treated is not None:
        if treated not in values:
            raise DesignError(
                f"{CONTRACT}: treated={treated!r} is not a value of group column {column!r} "
                f"(values: {show_values(values)})."
            )
        indicator = (series == treated).to_numpy()
    elif pd.api.types.is_bool_dtype(series.dtype) or set(values) <= {0, 1}:
        indicator = series.astype(bool).to_numpy()
    else:
        raise DesignError(
            f"{CONTRACT}: group column {column!r} must be boolean or 0/1, or name its treated "
            f"label with treated=...; found values {show_values(values)}."
        )
    if len(np.unique(indicator)) < 2:
        raise DesignError(
            f"{CONTRACT}: group column {column!r} has a single arm "
            f"({show_values(values)}); randomisation inference needs treated and control units."
        )
    return indicator.astype(bool)
