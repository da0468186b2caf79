"""Evaluate indicator definitions on data: model -> fit() -> results.

>>> model = IndicatorModel([ind1, ind2], persons, disaggregations=Disaggregations(territory="station"))
>>> res = model.fit()                              # engine="pandas" (default), "duckdb", "spark"
>>> res.to_frame()                                 # tidy, unmasked (for analysts)
>>> res.publishable()                              # disclosure-controlled (for reports)
>>> res.to_report_table(lang="fr")                 # formatted, localised, masked
>>> res.trend()                                    # change between periods with CIs
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.data.ledger import ExclusionLedger
from evalkit.disclosure import DEFAULT_THRESHOLD
from evalkit.errors import ConfigError, EmptyDataError, EstimationError
from evalkit.indicators.cells import ALL, CellStats, validate_engine
from evalkit.indicators.definition import Disaggregations, Indicator
from evalkit.indicators.engine_cells import engine_cells
from evalkit.indicators.intervals import (
    linearised_ratio,
    poisson_rate_interval,
    t_interval,
    weighted_wilson_interval,
    wilson_interval,
)
from evalkit.indicators.pandas_engine import pandas_cells
from evalkit.indicators.publication import publishable_frame, report_table
from evalkit.indicators.trends import period_differences
from evalkit.results import EstimateResults
from evalkit.summary import Summary


def _unwrap(data, person_id, weight, disagg):
    """DataFrame, person id, weight, disaggregations and ledger from a contract or a frame."""
    ledger = None
    try:
        from evalkit.data import Panel, PersonTable
    except ImportError:  # pragma: no cover - contracts always present once evalkit.data lands
        Panel = PersonTable = ()  # noqa: N806
    if PersonTable and isinstance(data, PersonTable):
        return data.data, person_id or data.id, weight or data.weight, disagg, data.ledger
    if Panel and isinstance(data, Panel):
        if disagg.period is None:
            disagg = Disaggregations(**{**disagg.__dict__, "period": data.period})
        return data.data, person_id or data.unit, weight or data.weight, disagg, data.ledger
    return data, person_id, weight, disagg, ledger


class IndicatorModel:
    """Monitoring indicators evaluated on one data set.

    Parameters
    ----------
    indicators
        One :class:`Indicator` or a sequence of them.
    data
        A :class:`~evalkit.data.PersonTable`, a :class:`~evalkit.data.Panel`
        (its unit is the person id and its period the ``period`` role), a
        DataFrame, or (``engine="duckdb"`` / ``"spark"``) Parquet file(s), a
        directory of Parquet files (hive partitions allowed), a table of the
        engine or an Ibis table, read in place by the engine.
    disaggregations
        Column of each disaggregation role (:class:`Disaggregations`).
    id
        Person identifier column: cells then count distinct persons (``n_persons``),
        which disclosure control uses. Without it each row counts as a person.
    weight
        Survey (probability) weight column; taken from the contract's
        ``weight`` when not given. Weighted indicators are ratios
        ``sum(w·num) / sum(w·den)`` with linearised standard errors (single
        stage, with replacement: strata and clusters are not modelled);
        intervals are Wilson with the effective sample size (proportions),
        t (means) or normal (rates). Counts for disclosure stay unweighted.
    engine
        ``"pandas"``, ``"duckdb"`` (embedded) or ``"spark"`` (PySpark; the
        active SparkSession, or ``spark=``), or an
        :class:`evalkit.engine.EngineSession`; all return the same numbers.
        The engines run one Ibis aggregation (:mod:`evalkit.indicators.engine_cells`);
        only cell statistics leave them.
    margins
        Publish every margin (each subset of the disaggregations, down to the
        total) besides the full cross.
    memory_limit, threads
        DuckDB settings (e.g. ``"8GB"``, 2).
    spark
        An existing ``SparkSession`` for ``engine="spark"``.
    """

    def __init__(
        self,
        indicators: Indicator | Sequence[Indicator],
        data,
        *,
        disaggregations: Disaggregations | None = None,
        id: str | None = None,  # noqa: A002 - same name as in the data contracts
        weight: str | None = None,
        engine: str = "pandas",
        margins: bool = True,
        memory_limit: str | None = None,
        threads: int | None = None,
        spark=None,
    ) -> None:
        self.indicators = [indicators] if isinstance(indicators, Indicator) else list(indicators)
        if not self.indicators:
            raise ConfigError("no indicator to evaluate")
        bad = [i for i in self.indicators if not isinstance(i, Indicator)]
        if bad:
            raise ConfigError(f"indicators must be Indicator objects, got {type(bad[0]).__name__}")
        names = [i.name for i in self.indicators]
        if len(set(names)) != len(names):
            raise ConfigError(f"indicator names must be unique, got {names}")
        self.engine = validate_engine(engine)
        disagg = disaggregations or Disaggregations()
        (self.data, self.person_id, self.weight, self.disaggregations,
         self._ledger) = _unwrap(data, id, weight, disagg)
        if isinstance(self.data, pd.DataFrame) and self.data.empty:
            raise EmptyDataError("the data has no row: nothing to count")
        if self.engine == "pandas" and not isinstance(self.data, pd.DataFrame):
            from evalkit.data import read_table

            self.data = read_table(self.data)
        self.margins = margins
        self.memory_limit = memory_limit
        self.threads = threads
        self.spark = spark

    def fit(self, level: float = 0.95) -> IndicatorResults:
        """Compute every indicator's cells, estimates and intervals."""
        stats_by_name: dict[str, CellStats] = {}
        if self.engine == "pandas":
            for ind in self.indicators:
                stats_by_name[ind.name] = pandas_cells(
                    self.data, ind, self.disaggregations, person_id=self.person_id,
                    weight=self.weight,
                    margins=self.margins)
        else:
            from evalkit.engine import EngineSession, connect

            session = connect(self.engine, memory_limit=self.memory_limit,
                              threads=self.threads, spark=self.spark)
            try:
                table = session.table(self.data)
                n_input = int(session.con.execute(table.count()))
                for ind in self.indicators:
                    stats_by_name[ind.name] = engine_cells(
                        session, table, ind, self.disaggregations, person_id=self.person_id,
                        weight=self.weight, margins=self.margins, n_input=n_input)
            finally:
                if not isinstance(self.engine, EngineSession):
                    session.close()
        for ind in self.indicators:
            _check_denominators(ind, stats_by_name[ind.name])
        if self._ledger is not None:
            ledger = self._ledger.copy()
        elif isinstance(self.data, pd.DataFrame):
            ledger = ExclusionLedger.start(self.data, id_col=self.person_id, source="DataFrame")
        else:  # Parquet read by the engine: rows known, persons only through the indicators
            n_rows = next(iter(stats_by_name.values())).n_input
            ledger = ExclusionLedger(n_rows, n_rows, source=str(self.data))
        return IndicatorResults(self.indicators, stats_by_name, level=level, ledger=ledger,
                                engine=getattr(self.engine, "engine", self.engine),
                                person_id=self.person_id, weight=self.weight)


def _check_denominators(ind: Indicator, cell_stats: CellStats) -> None:
    """Refuse indicators whose population is empty or whose exposure is zero in a cell."""
    cells = cell_stats.cells
    if cells["n"].sum() == 0 or (cell_stats.dimensions and not len(cells)):
        raise EmptyDataError(
            f"indicator {ind.name!r}: no row is left in the population "
            f"({cell_stats.n_outside} outside the filters/denominator condition, "
            f"{cell_stats.n_missing} with a missing value): the denominator is zero. "
            f"Check the filters {list(ind.filters)} and the denominator {ind.denominator!r}."
        )
    if ind.kind == "rate":
        zero = cells[(cells["sum_den"] <= 0) & (cells["n"] > 0)]
        if len(zero):
            shown = zero[cell_stats.dimensions].head(5).to_dict("records")
            raise EstimationError(
                f"indicator {ind.name!r}: the exposure {ind.denominator!r} sums to zero in "
                f"{len(zero)} cell(s), e.g. {shown}; the rate is undefined there. Exclude rows "
                f"without exposure with a filter (e.g. \"{ind.denominator} > 0\") or coarsen "
                f"the disaggregation."
            )


def _weighted_estimates(kind: str, cells: pd.DataFrame, per: float, level: float) -> pd.DataFrame:
    n = cells["n"].to_numpy(dtype=float)
    est, se = linearised_ratio(*(cells[c] for c in ("swx", "swd", "sxx", "sxd", "sdd")), n)
    if kind == "proportion":
        lo, hi = weighted_wilson_interval(est, se, level)
    else:
        with np.errstate(invalid="ignore"):
            q = stats.t.ppf(0.5 + level / 2, n - 1) if kind == "mean" else stats.norm.ppf(
                0.5 + level / 2)
        lo, hi = est - q * se, est + q * se
        if kind == "rate":
            lo = np.maximum(lo, 0.0)
    scale = per if kind != "mean" else 1.0
    return pd.DataFrame({
        "numerator": cells["swx"].to_numpy(), "denominator": cells["swd"].to_numpy(),
        "estimate": est * scale, "std_error": se * scale,
        "ci_lower": lo * scale, "ci_upper": hi * scale,
    }, index=cells.index)


def _estimates(kind: str, cells: pd.DataFrame, per: float, level: float) -> pd.DataFrame:
    if cells["sw"].notna().any():
        return _weighted_estimates(kind, cells, per, level)
    n = cells["n"].to_numpy(dtype=float)
    x = cells["sum_num"].to_numpy(dtype=float)
    e = cells["sum_den"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "proportion":
            est = x / n
            se = np.sqrt(est * (1 - est) / n)
            lo, hi = wilson_interval(x, n, level)
            numerator, denominator = x, n
        elif kind == "rate":
            est = x / e
            se = np.sqrt(x) / e
            lo, hi = poisson_rate_interval(x, e, level)
            numerator, denominator = x, e
        else:
            est = cells["mean_num"].to_numpy(dtype=float)
            sd = np.sqrt(cells["m2_num"].to_numpy(dtype=float) / (n - 1))
            se = np.where(n >= 2, sd / np.sqrt(n), np.nan)
            lo, hi = t_interval(est, sd, n, level)
            numerator, denominator = x, n
    scale = per if kind != "mean" else 1.0
    return pd.DataFrame({
        "numerator": numerator, "denominator": denominator,
        "estimate": est * scale, "std_error": se * scale,
        "ci_lower": lo * scale, "ci_upper": hi * scale,
    }, index=cells.index)


class IndicatorResults(EstimateResults):
    """Indicator values per cell with confidence intervals.

    ``params`` / ``std_errors`` are indexed by ``"name | dim=value | ..."``
    (rolled-up dimensions omitted: ``"name"`` is the overall value);
    :meth:`conf_int` returns the kind-specific intervals (Wilson, exact
    Poisson, t), not Wald intervals. :meth:`to_frame` is the tidy, unmasked
    table (for analysts); :meth:`publishable` and :meth:`to_report_table`
    apply disclosure control (:mod:`evalkit.disclosure`) for anything that
    leaves the analyst's machine.

    Attributes
    ----------
    cells : dict[str, DataFrame]
        Per indicator, the sufficient statistics of every cell.
    exclusions : DataFrame
        Per indicator, rows read, outside the population (filters /
        denominator condition) and excluded for missing values.
    ledger : ExclusionLedger
        Ledger of the input contract (or a new one for a DataFrame / Parquet
        input), with one line per indicator for rows not counted because a
        numerator/denominator value was missing. Rows outside an indicator's
        population (filters) are in ``exclusions``, not the ledger: they are
        the definition of the indicator, not lost data.
    """

    def __init__(self, indicators, stats_by_name: dict[str, CellStats], *, level, ledger, engine,
                 person_id, weight=None):
        self.indicators = {i.name: i for i in indicators}
        self.cells = {k: v.cells for k, v in stats_by_name.items()}
        self.dimensions = {k: v.dimensions for k, v in stats_by_name.items()}
        self.level = level
        self.engine = engine
        self.person_id = person_id
        self.weight = weight
        self.exclusions = pd.DataFrame([
            {"indicator": k, "n_input": v.n_input, "n_outside_population": v.n_outside,
             "n_missing_value": v.n_missing}
            for k, v in stats_by_name.items()
        ])
        # Indicators are computed side by side on the same rows: each one's exclusions are
        # recorded without reducing the rows left for the others.
        for k, v in stats_by_name.items():
            if v.n_missing:
                ledger.record(
                    f"indicator {k}", "numerator/denominator missing (rows not counted)",
                    v.n_missing, 0, rows_after=ledger.n_rows, persons_after=ledger.n_persons,
                )
        self._tidy = self._build(level)
        params = pd.Series(self._tidy["estimate"].to_numpy(), index=self._keys(self._tidy))
        ses = pd.Series(self._tidy["std_error"].to_numpy(), index=params.index)
        super().__init__(params, ses, title="Monitoring indicators", ledger=ledger,
                         info={"engine": engine, "confidence level": level,
                               "weight": weight or "none"})

    @staticmethod
    def _keys(tidy: pd.DataFrame) -> list[str]:
        dims = [c for c in tidy.columns if c.startswith("dim:")]
        keys = []
        for row in tidy[["indicator", *dims]].itertuples(index=False):
            parts = [row[0]] + [f"{d[4:]}={v}" for d, v in zip(dims, row[1:], strict=True)
                                if isinstance(v, str) and v != ALL]
            keys.append(" | ".join(parts))
        return keys

    def _build(self, level: float) -> pd.DataFrame:
        frames = []
        for name, cells in self.cells.items():
            ind = self.indicators[name]
            est = _estimates(ind.kind, cells, ind.per, level)
            frame = pd.DataFrame({"indicator": name, "label_en": ind.label_en,
                                  "label_fr": ind.label_fr, "kind": ind.kind}, index=cells.index)
            for d in self.dimensions[name]:
                frame[f"dim:{d}"] = cells[d].to_numpy()
            frame["n"] = cells["n"].to_numpy()
            frame["n_persons"] = cells["n_persons"].to_numpy()
            frames.append(pd.concat([frame, est], axis=1))
        tidy = pd.concat(frames, ignore_index=True)
        tidy["level"] = level
        return tidy

    # ----------------------------------------------------------------- output
    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wilson (proportions), exact Poisson (rates) or t (means) intervals."""
        tidy = self._tidy if np.isclose(level, self.level) else self._build(level)
        return pd.DataFrame({"lower": tidy["ci_lower"].to_numpy(), "upper": tidy["ci_upper"].to_numpy()},
                            index=self.params.index)

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Tidy frame, one row per indicator x cell (unmasked: not for publication).

        Dimension columns are named after the roles (``sex``, ``age_band``, ...),
        with ``"(all)"`` in margins; ``n`` counts rows, ``n_persons`` distinct
        persons (NaN without a person id).
        """
        tidy = self._tidy if level is None or np.isclose(level, self.level) else self._build(level)
        return tidy.rename(columns=lambda c: c[4:] if c.startswith("dim:") else c)

    def publishable(self, threshold: int = DEFAULT_THRESHOLD, *,
                    protect_numerator: bool = True) -> pd.DataFrame:
        """Tidy frame with disclosure control applied (``masked`` flags hidden cells).

        See :func:`evalkit.indicators.publication.publishable_frame`.
        """
        return publishable_frame(self.to_frame(), self.indicators, self.dimensions,
                                 id=self.person_id, threshold=threshold,
                                 protect_numerator=protect_numerator)

    def to_report_table(self, lang: str = "en", threshold: int = DEFAULT_THRESHOLD,
                        digits: int = 1) -> pd.DataFrame:
        """Disclosure-controlled, formatted table with labels in ``lang`` (``"fr"``/``"en"``).

        See :func:`evalkit.indicators.publication.report_table`.
        """
        return report_table(self.publishable(threshold), self.indicators, self.dimensions,
                            id=self.person_id, lang=lang, threshold=threshold, digits=digits,
                            level=self.level)

    def summary(self, level: float | None = None) -> Summary:
        """Table of every cell (unmasked, for the analyst)."""
        tidy = self.to_frame(level)
        cols = [c for c in tidy.columns if c not in ("label_en", "label_fr", "level", "std_error")]
        intervals = (
            f"survey weight {self.weight!r}, linearised SEs; intervals: Wilson with effective n "
            f"(proportion), normal (rate), t (mean)" if self.weight else
            "intervals: Wilson (proportion), exact Poisson (rate), t (mean)"
        )
        return Summary(
            self.title, tidy[cols].reset_index(drop=True),
            info={"engine": self.engine, "intervals": f"{intervals} at {self.level:.0%}"},
            notes=["NOT disclosure-controlled: use publishable() / to_report_table() for "
                   "reports"],
            more={"Exclusions": self.exclusions.reset_index(drop=True)})

    def plot(self, indicator: str | None = None, by: str | None = None, lang: str = "en",
             category_labels=None):
        """Point estimates with intervals for one indicator, one dimension (others at ``(all)``).

        ``lang`` (``"en"`` or ``"fr"``) picks the indicator's label for the axis;
        ``category_labels`` maps the categories of ``by`` to the text shown.
        """
        import matplotlib.pyplot as plt

        name = indicator or next(iter(self.indicators))
        tidy = self.to_frame()
        sub = tidy[tidy["indicator"] == name]
        dims = self.dimensions[name]
        if by is None:
            by = dims[0] if dims else None
        if by is not None:
            others = [d for d in dims if d != by]
            sub = sub[(sub[by] != ALL) & (sub[others] == ALL).all(axis=1)]
            labels = [str((category_labels or {}).get(c, c)) for c in sub[by]]
        else:
            labels = ["ensemble" if lang == "fr" else "total"]
        fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(labels) + 2), 3))
        ypos = np.arange(len(sub))
        ax.errorbar(sub["estimate"], ypos, xerr=[sub["estimate"] - sub["ci_lower"],
                                                 sub["ci_upper"] - sub["estimate"]], fmt="o")
        ax.set_yticks(ypos, labels)
        definition = self.indicators[name]
        ax.set_xlabel(definition.label_fr if lang == "fr" else definition.label_en)
        fig.tight_layout()
        return fig

    def trend(self, period: str = "period", level: float | None = None) -> pd.DataFrame:
        """Change between consecutive periods (and last vs first) per cell, with intervals.

        See :func:`evalkit.indicators.trends.period_differences`.
        """
        level = self.level if level is None else level
        return period_differences(self.cells, self.dimensions, self.indicators, period, level)


def evaluate_indicators(indicators, data, **kwargs) -> IndicatorResults:
    """Shortcut for ``IndicatorModel(indicators, data, **kwargs).fit()``."""
    level = kwargs.pop("level", 0.95)
    return IndicatorModel(indicators, data, **kwargs).fit(level=level)


__all__ = ["IndicatorModel", "IndicatorResults", "evaluate_indicators"]
