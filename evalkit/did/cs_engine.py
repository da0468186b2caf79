"""Callaway & Sant'Anna (2021) ATT(g, t) from sufficient statistics computed in an engine.

Register panels (millions of units x many periods) stay in DuckDB or Spark
(:mod:`evalkit.engine`); only per-cohort moment matrices leave the engine,
and point estimates, analytic influence-function standard errors (clustered
or not), aggregations and pre-tests are computed from them. The numbers are
those of :class:`evalkit.did.CallawaySantAnna` with ``method=
"unconditional"`` on a balanced panel (tested to 1e-10).

Derivation
----------
Write ``y_i`` for unit ``i``'s outcome vector over the ``T`` periods and
``h(i)`` for its cohort (first treated period, ``inf`` for never treated).
Cell ``k = (g, t)`` compares cohort ``g`` with a comparison set ``C_k`` (a
union of cohorts) between period ``t`` and base ``b``; with
``Δ_k y = y_t - y_b``,

``ATT_k = μ_gk - μ_Ck``,  ``μ_Ak = (1/n_A) Σ_{i∈A} Δ_k y_i``.

Its influence function (R ``did``, scaled to the ``n`` units) is

``ψ_ik = α_k,h(i) (Δ_k y_i - μ_k,h(i))``,

with ``α_k,h = n/n_g`` if ``h = g``, ``-n/n_C`` if ``h ∈ C_k`` and 0
otherwise (``μ_k,h`` is ``μ_gk`` or ``μ_Ck`` accordingly). The cohort shares
``p_j = n_j / n`` enter the aggregations through ``z_ij = 1{h(i) = j} - p_j``.
Stack ``v_i = (ψ_i, z_i)`` (length ``D = K + J``): *within a cohort* ``h`` it
is affine in ``y_i``,

``v_i = B_h y_i + d_h``,

where row ``k`` of ``B_h`` is ``α_k,h (e_t - e_b)'`` (zero for the ``z``
rows) and ``d_h = (-α_k,h μ_k,h ; e_h - p)``. Hence the matrix every
standard error is made of,

``Ω = Σ_i v_i v_i' = Σ_h [B_h S_h B_h' + B_h m_h d_h' + d_h m_h' B_h' + n_h d_h d_h']``,

needs only, per cohort, ``n_h``, ``m_h = Σ_{i∈h} y_i`` and the ``T x T``
cross-product matrix ``S_h = Σ_{i∈h} y_i y_i'``. Any reported quantity is
``θ = Σ_k a_k ATT_k`` with share weights ``c`` (:mod:`evalkit.did.aggregation`),
so ``se(θ) = sqrt(w' Ω w) / n`` with ``w = (a; c)``: the analytic SEs of
cells, aggregations and the pre-test's covariance are exact, not
approximations.

With clusters, ``Ω = Σ_c s_c s_c'`` where the cluster score
``s_c = Σ_{i∈c} v_i = Σ_h (B_h m_ch + n_ch d_h)`` needs only the per
(cluster, cohort) sums ``m_ch`` and counts ``n_ch`` (``T + 1`` numbers).

The multiplier bootstrap uses Gaussian multipliers: conditionally on the
data, ``(1/n) Σ_i ξ_i v_i`` is exactly ``N(0, Ω / n²)``, so it is drawn from
``Ω`` (R ``did`` uses Rademacher multipliers on unit rows, which cannot leave
the engine; both have the same first two moments).

Numerics: ``S_h`` holds raw (uncentred) products, so the variance terms
subtract large numbers when outcomes are far from zero relative to their
spread; for outcomes of order 10 with unit spread the relative error stays
near 1e-13.
"""

from __future__ import annotations

from typing import get_args

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.did.callaway_santanna import BasePeriod, ControlGroup, cell_plan
from evalkit.did.cs_results import CallawaySantAnnaResults, Inference
from evalkit.did.multiplier_bootstrap import DEGENERATE
from evalkit.engine import EngineName, connect
from evalkit.errors import (
    ConfigError,
    DuplicateKeyError,
    EmptyDataError,
    EstimationError,
    MissingColumnError,
    TreatmentTimingError,
)
from evalkit.options import check_option

STEP = "Callaway-Sant'Anna (engine)"


class CohortMoments:
    """Per-cohort sufficient statistics of a balanced panel, computed in an engine.

    Attributes
    ----------
    periods
        Sorted periods (length ``T``).
    cohorts
        First treated period of each cohort (``inf``: never treated).
    n, sums, cross
        Units, ``Σ y`` (``T``) and ``Σ y y'`` (``T x T``) per cohort.
    cluster_n, cluster_sums
        With a cluster: units ``(C, H)`` and ``Σ y`` ``(C, H, T)`` per
        (cluster, cohort).
    ledger
        Rows read, and units dropped (incomplete, always treated).
    """

    def __init__(self, periods, cohorts, n, sums, cross, cluster_n, cluster_sums, ledger):
        self.periods = periods
        self.cohorts = cohorts
        self.n = n
        self.sums = sums
        self.cross = cross
        self.cluster_n = cluster_n
        self.cluster_sums = cluster_sums
        self.ledger = ledger


def cohort_moments(table, session, *, unit: str, period: str, outcome: str,
                   first_treated: str, cluster: str | None = None,
                   anticipation: int = 0) -> CohortMoments:
    """:class:`CohortMoments` of an engine table: two queries (periods; moments and checks).

    Units are pivoted to one row of ``T`` outcomes inside the engine. Checks
    computed there: duplicated (unit, period) rows, a first treated period
    that changes within a unit, a cluster that changes within a unit (all
    raise); units with a missing outcome or period are dropped and counted
    in the ledger (R ``did``'s balancing), as are always-treated units.
    """
    con = session.con
    needed = [unit, period, outcome, first_treated] + ([cluster] if cluster else [])
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise MissingColumnError(
            f"column(s) {missing} not in the input (columns: {list(table.columns)[:20]}); "
            "pass the names with unit=, period=, outcome=, first_treated=, cluster="
        )
    periods = con.execute(table.select(p=table[period]).distinct().order_by("p"))["p"]
    periods = np.asarray(periods.tolist())
    T = len(periods)
    if T < 2:
        raise EstimationError("At least two periods are needed for DiD.")
    y = table[outcome].cast("float64")
    g = table[first_treated].cast("float64").fill_null(0.0)
    aggs = {"n_rows": table.count(), "n_periods": table[period].nunique(), "n_y": y.count(),
            "g_min": g.min(), "g_max": g.max()}
    for j, p in enumerate(periods):
        aggs[f"y{j}"] = y.max(where=table[period] == _scalar(p))
    if cluster:
        aggs["c_min"] = table[cluster].min()
        aggs["c_max"] = table[cluster].max()
    units = table.group_by(u=table[unit]).aggregate(**aggs)
    dup = units.n_rows > units.n_periods
    complete = (units.n_y == T) & ~dup
    # One query: the checks and the moments per cohort (and cluster), grouped also by
    # completeness so that the sums need no FILTER clause (5x slower in DuckDB with
    # hundreds of aggregates); the engine pivots the person-period rows once.
    stats = {
        "n_units": units.count(), "n_rows": units.n_rows.sum(),
        "dup_units": units.count(where=dup), "switch_units": units.count(
            where=units.g_min != units.g_max),
        "incomplete_units": units.count(where=~complete),
        "incomplete_rows": units.n_rows.sum(where=~complete),
        "n": units.count(),
    }
    stats.update({f"s{j}": units[f"y{j}"].sum() for j in range(T)})
    stats.update({f"q{j}_{k}": (units[f"y{j}"] * units[f"y{k}"]).sum()
                  for j in range(T) for k in range(j, T)})
    keys = {"g": units.g_min, "ok": complete}
    if cluster:
        keys["c"] = units.c_min
        stats["cluster_units"] = units.count(where=units.c_min != units.c_max)
    by_cell = con.execute(units.group_by(**keys).aggregate(**stats))
    if by_cell.empty:
        raise EmptyDataError("the input has no row")
    check_cols = ["n_units", "n_rows", "dup_units", "switch_units", "incomplete_units",
                  "incomplete_rows"] + (["cluster_units"] if cluster else [])
    counts = by_cell[check_cols].apply(pd.to_numeric).fillna(0).sum()
    if int(counts["dup_units"]):
        raise DuplicateKeyError(
            f"{int(counts['dup_units'])} unit(s) have several rows for the same period "
            f"({unit!r}, {period!r}); keep one row per unit and period"
        )
    if int(counts["switch_units"]):
        raise TreatmentTimingError(
            f"{first_treated!r} changes within {int(counts['switch_units'])} unit(s); the first "
            "treated period must be constant within each unit (0 or missing = never treated)"
        )
    if cluster and int(counts["cluster_units"]):
        raise ConfigError(
            f"Cluster column {cluster!r} changes over time within {int(counts['cluster_units'])} "
            "unit(s); clusters must contain whole units (e.g. the zone of assignment)."
        )
    ledger = ExclusionLedger(int(counts["n_rows"]), int(counts["n_units"]),
                             source=f"{session.engine} table")
    if int(counts["incomplete_units"]):
        ledger.record(STEP, f"outcome {outcome} missing in some period (panel balanced)",
                      int(counts["incomplete_rows"]), int(counts["incomplete_units"]))
    by_cell = by_cell[by_cell["ok"].fillna(False).astype(bool).to_numpy()]
    raw_g = by_cell["g"].to_numpy(dtype=float)
    never = (raw_g == 0) | (raw_g > periods[-1] + anticipation)
    always = ~never & (raw_g <= periods[0] + anticipation)
    if always.any():
        n_always = int(by_cell["n"].to_numpy()[always].sum())
        ledger.record(STEP, f"treated in or before the first period {_fmt(periods[0])}"
                      + (f" + anticipation {anticipation}" if anticipation else "")
                      + ": no pre-treatment period (always treated)", n_always * T, n_always)
    by_cell = by_cell[~always]
    cohort_key = np.where(never, np.inf, raw_g)[~always]
    cohorts = np.unique(cohort_key)
    pos = np.searchsorted(cohorts, cohort_key)
    H = len(cohorts)
    cell_n = by_cell["n"].to_numpy(dtype=float)
    cell_m = by_cell[[f"s{j}" for j in range(T)]].to_numpy(dtype=float)
    iu = np.triu_indices(T)
    upper = np.zeros((len(by_cell), T, T))
    upper[:, iu[0], iu[1]] = by_cell[[f"q{j}_{k}" for j, k in zip(*iu, strict=True)]].to_numpy(
        dtype=float)
    cell_S = upper + np.triu(upper, 1).transpose(0, 2, 1)
    n = np.zeros(H)
    m = np.zeros((H, T))
    S = np.zeros((H, T, T))
    np.add.at(n, pos, cell_n)
    np.add.at(m, pos, cell_m)
    np.add.at(S, pos, cell_S)
    cluster_n = cluster_sums = None
    if cluster:
        codes, _ = pd.factorize(by_cell["c"], sort=True)
        C = int(codes.max()) + 1
        cluster_n = np.zeros((C, H))
        cluster_sums = np.zeros((C, H, T))
        np.add.at(cluster_n, (codes, pos), cell_n)
        np.add.at(cluster_sums, (codes, pos), cell_m)
    return CohortMoments(periods, cohorts, n, m, S, cluster_n, cluster_sums, ledger)


class _GramInference(Inference):
    """:class:`Inference` from ``Ω = Σ v v'`` instead of per-unit influence functions."""

    def __init__(self, gram, n, group_share, n_clusters, bootstrap, n_boot, level, seed):
        self.gram = gram
        self.psi = None  # person-level terms never leave the engine
        self.n = n
        self.level = level
        self.n_boot = n_boot
        self.multiplier = "gaussian"
        self.group_share = group_share
        self.n_clusters = n_clusters
        self.cluster = None
        self.n_cells = gram.shape[0] - len(group_share)
        self.draws = None
        if bootstrap:
            vals, vecs = np.linalg.eigh(gram)
            root = vecs * np.sqrt(np.clip(vals, 0.0, None))
            rng = np.random.default_rng(seed)
            self.draws = rng.standard_normal((n_boot, len(gram))) @ root.T / n

    def influence(self, weights=None):
        return None  # person-level terms never leave the engine

    def _weights(self, weights):
        if weights is None:
            return np.eye(len(self.gram), self.n_cells)
        return weights.reshape(len(self.gram), -1)

    def analytic_se(self, weights=None) -> np.ndarray:
        w = self._weights(weights)
        var = np.einsum("ij,ik,kj->j", w, self.gram, w)
        se = np.sqrt(np.clip(var, 0.0, None)) / self.n
        return np.where(se > DEGENERATE, se, np.nan)

    def cell_cov(self, columns: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(columns) if np.asarray(columns).dtype == bool else columns
        return self.gram[np.ix_(idx, idx)] / self.n ** 2


class CallawaySantAnnaEngine:
    """Callaway & Sant'Anna ATT(g, t) on a panel that stays in DuckDB or Spark.

    Unconditional estimation (no covariates) on a balanced panel: units with
    a missing period are dropped and counted in the ledger. See the module
    docstring for the derivation of the analytic standard errors from the
    per-cohort cross-product matrices.

    Parameters
    ----------
    data
        Parquet file(s) / directory (hive partitions allowed), an Ibis table,
        a table name of the engine, or a DataFrame.
    outcome, unit, period, first_treated
        Column names; ``first_treated`` is 0 or missing for never-treated units.
    cluster
        Column of whole-unit clusters for clustered standard errors.
    control_group, anticipation, base_period
        As :class:`evalkit.did.CallawaySantAnna`.
    engine
        ``"duckdb"`` (default) or ``"spark"``, or an :class:`evalkit.engine.EngineSession`.
    memory_limit, threads, spark
        Engine settings (:class:`evalkit.engine.EngineSession`).

    Examples
    --------
    >>> model = CallawaySantAnnaEngine("panel/", outcome="y", unit="id", period="month",
    ...                                first_treated="first_treated", engine="duckdb")
    >>> model.fit().aggregate("dynamic").summary()
    """

    def __init__(self, data, *, outcome: str, unit: str, period: str, first_treated: str,
                 cluster: str | None = None, control_group: ControlGroup = "nevertreated",
                 anticipation: int = 0, base_period: BasePeriod = "varying",
                 engine: EngineName = "duckdb", memory_limit: str | None = None,
                 threads: int | None = None, spark=None) -> None:
        check_option("control_group", control_group, get_args(ControlGroup))
        check_option("base_period", base_period, get_args(BasePeriod))
        if not (isinstance(anticipation, int | np.integer) and anticipation >= 0):
            raise ConfigError(f"anticipation must be a non-negative integer, got {anticipation!r}.")
        self.control_group = control_group
        self.anticipation = int(anticipation)
        self.base_period = base_period
        self.method = "unconditional"
        self.covariates: list[str] = []
        self.outcome = outcome
        session = connect(engine, memory_limit=memory_limit, threads=threads, spark=spark) \
            if not hasattr(engine, "con") else engine
        self.engine = session.engine
        self.moments = cohort_moments(
            session.table(data), session, unit=unit, period=period, outcome=outcome,
            first_treated=first_treated, cluster=cluster, anticipation=self.anticipation)
        if session is not engine:
            session.close()
        mo = self.moments
        self.groups = mo.cohorts[np.isfinite(mo.cohorts)]
        if len(self.groups) == 0:
            raise EstimationError(f"No unit is ever treated ({first_treated!r} is 0 or missing "
                                  "for every unit).")
        if not np.isinf(mo.cohorts).any():
            raise EstimationError(
                "No never-treated unit. The engine path needs never-treated units; use the "
                "in-memory CallawaySantAnna (which then uses the last cohort only as a "
                "comparison), or restrict the periods before the last cohort starts."
            )

    @property
    def n(self) -> int:
        return int(self.moments.n.sum())

    def fit(self, *, bootstrap: bool = False, n_boot: int = 999, level: float = 0.95,
            uniform_bands: bool = True, seed=None) -> CallawaySantAnnaResults:
        """Every ATT(g, t) with analytic (default) or Gaussian-multiplier bootstrap SEs.

        ``level`` is the confidence level of intervals and uniform bands.
        """
        if not 0 < level < 1:
            raise ConfigError(f"level must be in (0, 1), got {level!r}.")
        cells, gram = self._cells_and_gram()
        mo = self.moments
        n = self.n
        share = mo.n[np.isfinite(mo.cohorts)] / n
        n_clusters = None if mo.cluster_n is None else len(mo.cluster_n)
        inference = _GramInference(gram, n, share, n_clusters, bootstrap, int(n_boot),
                                   level, seed)
        return CallawaySantAnnaResults(cells=cells, inference=inference,
                                       data=_Summary(mo, self.groups), model=self,
                                       uniform_bands=uniform_bands)

    def _cells_and_gram(self):
        mo = self.moments
        periods, cohorts = mo.periods, mo.cohorts
        plan = cell_plan(periods, self.groups, self.anticipation, self.base_period)
        H, T = len(cohorts), len(periods)
        K, J = len(plan), len(self.groups)
        n = self.n
        B = np.zeros((H, K + J, T))
        d = np.zeros((H, K + J))
        rows = []
        never = np.isinf(cohorts)
        for k, (g, cur, base, threshold) in enumerate(plan):
            t = periods[cur]
            if cur == base:
                rows.append((int(g), t, periods[base], 0.0, g <= t, 0, 0))
                continue
            treat = cohorts == g
            comp = never if self.control_group == "nevertreated" else (
                never | ((cohorts > threshold) & ~treat))
            n_t, n_c = mo.n[treat].sum(), mo.n[comp].sum()
            if n_c == 0:
                raise EstimationError(
                    f"No comparison unit for cohort {g:g} in period {_fmt(t)}. Use the other "
                    "control_group, or restrict the periods analysed.")
            delta = mo.sums[:, cur] - mo.sums[:, base]
            mu_t = delta[treat].sum() / n_t
            mu_c = delta[comp].sum() / n_c
            alpha = np.where(treat, n / n_t, 0.0) - np.where(comp, n / n_c, 0.0)
            B[:, k, cur] = alpha
            B[:, k, base] = -alpha
            d[:, k] = -alpha * np.where(treat, mu_t, mu_c)
            rows.append((int(g), t, periods[base], mu_t - mu_c, g <= t, int(n_t), int(n_c)))
        share = mo.n[~never] / n
        d[:, K:] = (cohorts[:, None] == self.groups[None, :]) - share[None, :]
        if mo.cluster_n is None:
            BmD = np.einsum("hdt,ht,he->de", B, mo.sums, d)
            gram = (np.einsum("hdt,hts,hes->de", B, mo.cross, B) + BmD + BmD.T
                    + np.einsum("h,hd,he->de", mo.n, d, d))
        else:
            scores = (np.einsum("hdt,cht->cd", B, mo.cluster_sums)
                      + np.einsum("ch,hd->cd", mo.cluster_n, d))
            gram = scores.T @ scores
        cells = pd.DataFrame(rows, columns=["group", "time", "base_period", "att", "post",
                                            "n_treated", "n_comparison"])
        return cells, gram


class _Summary:
    """What :class:`CallawaySantAnnaResults` reads about the data (no unit-level arrays)."""

    layout = "balanced"

    def __init__(self, moments: CohortMoments, groups):
        self.periods = moments.periods
        self.groups = groups
        self.ledger = moments.ledger
        self.n = int(moments.n.sum())
        self.notes: list[str] = []


def _scalar(value):
    value = value.item() if hasattr(value, "item") else value
    return int(value) if float(value).is_integer() else value


def _fmt(value) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)
