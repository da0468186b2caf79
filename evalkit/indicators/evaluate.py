"""Evaluate indicator definitions on data: model -> fit() -> results.

>>> model = IndicatorModel([ind1, ind2], persons, disaggregations=Disaggregations(territory="station"))
>>> res = model.fit()                              # engine="pandas" (default) or "duckdb"
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

from evalkit.disclosure import DEFAULT_THRESHOLD, suppress_long
from evalkit.errors import ConfigError, EmptyDataError, EstimationError
from evalkit.indicators.cells import ALL, CellStats, validate_engine
from evalkit.indicators.definition import Disaggregations, Indicator
from evalkit.indicators.duckdb_engine import duckdb_cells, duckdb_source
from evalkit.indicators.intervals import (
    newcombe_difference_interval,
    poisson_rate_interval,
    t_interval,
    wilson_interval,
)
from evalkit.indicators.pandas_engine import pandas_cells
from evalkit.results import EstimateResults


def _unwrap(data, person_id, disagg):
    """DataFrame, person id, disaggregations and ledger from a contract or a frame."""
    ledger = None
    try:
        from evalkit.data import Panel, PersonTable
    except ImportError:  # pragma: no cover - contracts always present once evalkit.data lands
        Panel = PersonTable = ()  # noqa: N806
    if PersonTable and isinstance(data, PersonTable):
        return data.data, person_id or data.id, disagg, data.ledger
    if Panel and isinstance(data, Panel):
        if disagg.period is None:
            disagg = Disaggregations(**{**disagg.__dict__, "period": data.period})
        return data.data, person_id or data.unit, disagg, data.ledger
    return data, person_id, disagg, ledger


class IndicatorModel:
    """Monitoring indicators evaluated on one data set.

    Parameters
    ----------
    indicators
        One :class:`Indicator` or a sequence of them.
    data
        A :class:`~evalkit.data.PersonTable`, a :class:`~evalkit.data.Panel`
        (its unit is the person id and its period the ``period`` role), a
        DataFrame, or (``engine="duckdb"``) Parquet file(s) / a directory of
        Parquet files, read directly by DuckDB.
    disaggregations
        Column of each disaggregation role (:class:`Disaggregations`).
    person_id
        Person identifier: cells then count distinct persons (``n_persons``),
        which disclosure control uses. Without it each row counts as a person.
    engine
        ``"pandas"`` or ``"duckdb"``; both return the same numbers.
    margins
        Publish every margin (each subset of the disaggregations, down to the
        total) besides the full cross.
    memory_limit, threads
        DuckDB settings (e.g. ``"8GB"``, 2).
    """

    def __init__(
        self,
        indicators: Indicator | Sequence[Indicator],
        data,
        *,
        disaggregations: Disaggregations | None = None,
        person_id: str | None = None,
        engine: str = "pandas",
        margins: bool = True,
        memory_limit: str | None = None,
        threads: int | None = None,
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
        self.data, self.person_id, self.disaggregations, self._ledger = _unwrap(data, person_id, disagg)
        if isinstance(self.data, pd.DataFrame) and self.data.empty:
            raise EmptyDataError("the data has no row: nothing to count")
        if self.engine == "pandas" and not isinstance(self.data, pd.DataFrame):
            from evalkit.data import read_table

            self.data = read_table(self.data)
        self.margins = margins
        self.memory_limit = memory_limit
        self.threads = threads

    def fit(self, level: float = 0.95) -> IndicatorResults:
        """Compute every indicator's cells, estimates and intervals."""
        stats_by_name: dict[str, CellStats] = {}
        if self.engine == "pandas":
            for ind in self.indicators:
                stats_by_name[ind.name] = pandas_cells(
                    self.data, ind, self.disaggregations, person_id=self.person_id,
                    margins=self.margins)
        else:
            import duckdb

            con = duckdb.connect()
            try:
                con.execute("SET enable_progress_bar = false")
                if self.memory_limit:
                    con.execute(f"SET memory_limit = '{self.memory_limit}'")
                if self.threads:
                    con.execute(f"SET threads = {int(self.threads)}")
                source = duckdb_source(con, self.data)
                for ind in self.indicators:
                    stats_by_name[ind.name] = duckdb_cells(
                        con, source, ind, self.disaggregations, person_id=self.person_id,
                        margins=self.margins)
            finally:
                con.close()
        for ind in self.indicators:
            _check_denominators(ind, stats_by_name[ind.name])
        ledger = self._ledger.copy() if self._ledger is not None else None
        return IndicatorResults(self.indicators, stats_by_name, level=level, ledger=ledger,
                                engine=self.engine, person_id=self.person_id)


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


def _estimates(kind: str, cells: pd.DataFrame, per: float, level: float) -> pd.DataFrame:
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
    ledger : ExclusionLedger or None
        Ledger of the input contract, with one line per indicator for rows
        excluded because a numerator/denominator value was missing.
    """

    def __init__(self, indicators, stats_by_name: dict[str, CellStats], *, level, ledger, engine,
                 person_id):
        self.indicators = {i.name: i for i in indicators}
        self.cells = {k: v.cells for k, v in stats_by_name.items()}
        self.dimensions = {k: v.dimensions for k, v in stats_by_name.items()}
        self.level = level
        self.engine = engine
        self.person_id = person_id
        self.exclusions = pd.DataFrame([
            {"indicator": k, "n_input": v.n_input, "n_outside_population": v.n_outside,
             "n_missing_value": v.n_missing}
            for k, v in stats_by_name.items()
        ])
        if ledger is not None:
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
                         info={"engine": engine, "confidence level": level})

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

    def publishable(self, threshold: int = DEFAULT_THRESHOLD, *, protect_numerator: bool = True,
                    ) -> pd.DataFrame:
        """Tidy frame with disclosure control applied.

        For each indicator and each grouping set (full cross and each margin),
        the population count of every cell -- distinct persons when a person
        id was given, rows otherwise -- goes through
        :func:`evalkit.disclosure.suppress_long` (primary suppression under
        ``threshold``, secondary suppression against the set's totals); for
        proportions with ``protect_numerator`` the numerator count (persons
        with the attribute) is protected the same way, zeros allowed. Masked
        cells lose their counts, estimates and intervals; ``masked`` flags them.
        Protection holds within each published two-way layout; relations
        across grouping sets of three or more dimensions are not checked.
        """
        tidy = self.to_frame()
        tidy["masked"] = False
        count_col = "n_persons" if self.person_id is not None else "n"
        dependent = ["n", "n_persons", "numerator", "denominator", "estimate", "std_error",
                     "ci_lower", "ci_upper"]
        for name in self.indicators:
            dims = self.dimensions[name]
            sub = tidy[tidy["indicator"] == name]
            pattern = sub[dims].ne(ALL) if dims else pd.DataFrame(index=sub.index)
            keys = pattern.apply(tuple, axis=1) if dims else pd.Series([()] * len(sub), index=sub.index)
            for key in dict.fromkeys(keys):
                idx = keys.index[keys == key]
                block = sub.loc[idx]
                active = [d for d, on in zip(dims, key, strict=True) if on]
                mask = self._mask(block, count_col, active, threshold, mask_zeros=True)
                if protect_numerator and self.indicators[name].kind == "proportion":
                    mask |= self._mask(block, "numerator", active, threshold, mask_zeros=False)
                tidy.loc[idx[mask.to_numpy()], "masked"] = True
        for col in dependent:
            tidy[col] = tidy[col].astype(float).mask(tidy["masked"])
        return tidy

    @staticmethod
    def _mask(block, count_col, active, threshold, mask_zeros) -> pd.Series:
        counts = block[[*active, count_col]].copy()
        counts[count_col] = counts[count_col].astype(float).round()
        if not active:
            value = counts[count_col].iloc[0]
            small = value < threshold and (mask_zeros or value != 0)
            return pd.Series(bool(small), index=block.index)
        rows, column = (active[:-1], active[-1]) if len(active) > 1 else (active, None)
        _, mask = suppress_long(counts, count_col, rows=rows, column=column, dependent=[],
                                threshold=threshold, mask_zeros=mask_zeros)
        return mask.reindex(block.index).fillna(False).astype(bool)

    def to_report_table(self, lang: str = "en", threshold: int = DEFAULT_THRESHOLD,
                        digits: int = 1) -> pd.DataFrame:
        """Disclosure-controlled table ready for a report, labels in ``lang`` (fr/en).

        Columns: indicator label, the disaggregations, N, value and
        confidence interval as formatted strings; masked cells show
        ``"< threshold"`` (fr: ``"< seuil"``) and no value.
        """
        if lang not in ("fr", "en"):
            raise ConfigError(f"lang must be 'fr' or 'en', got {lang!r}")
        pub = self.publishable(threshold)
        fr = lang == "fr"
        all_label = "Ensemble" if fr else "All"
        missing_label = "Non renseigné" if fr else "Not known"
        dim_names = {
            "sex": ("Sexe", "Sex"), "age_band": ("Tranche d'âge", "Age band"),
            "territory": ("Territoire", "Territory"), "period": ("Période", "Period"),
            "status": ("Statut", "Status"),
        }
        dims = list(dict.fromkeys(d for ds in self.dimensions.values() for d in ds))
        count_col = "n_persons" if self.person_id is not None else "n"
        dec = "," if fr else "."

        def fmt(v, nd=digits):
            return "" if pd.isna(v) else f"{v:,.{nd}f}".replace(",", " ").replace(".", dec)

        out = pd.DataFrame({("Indicateur" if fr else "Indicator"):
                            pub["label_fr" if fr else "label_en"]})
        for d in dims:
            col = pub[d] if d in pub.columns else pd.Series(ALL, index=pub.index)
            col = col.fillna(ALL).replace({ALL: all_label, "(missing)": missing_label})
            out[dim_names.get(d, (d, d))[0 if fr else 1]] = col
        masked_text = f"< {threshold}"
        out["N"] = [masked_text if m else fmt(v, 0) for v, m in zip(pub[count_col], pub["masked"], strict=True)]
        units = {n: i.unit(lang) for n, i in self.indicators.items()}
        out["Valeur" if fr else "Value"] = [
            "" if m else (fmt(v) + (f" {units[i]}" if units[i] else ""))
            for v, m, i in zip(pub["estimate"], pub["masked"], pub["indicator"], strict=True)
        ]
        pct = f"{self.level:.0%}".replace("%", " %") if fr else f"{self.level:.0%}"
        out[f"IC {pct}" if fr else f"{pct} CI"] = [
            "" if m or pd.isna(lo) else f"[{fmt(lo)} ; {fmt(hi)}]"
            for lo, hi, m in zip(pub["ci_lower"], pub["ci_upper"], pub["masked"], strict=True)
        ]
        return out

    def summary(self, level: float | None = None) -> str:
        """Plain-text table (unmasked, for the analyst)."""
        tidy = self.to_frame(level)
        cols = [c for c in tidy.columns if c not in ("label_en", "label_fr", "level", "std_error")]
        lines = [self.title, "=" * 40, f"engine: {self.engine}; intervals: Wilson (proportion), "
                 f"exact Poisson (rate), t (mean) at {self.level:.0%}",
                 "NOT disclosure-controlled: use publishable() / to_report_table() for reports",
                 "-" * 40, tidy[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"),
                 "-" * 40, self.exclusions.to_string(index=False)]
        return "\n".join(lines)

    def plot(self, indicator: str | None = None, by: str | None = None):
        """Point estimates with intervals for one indicator, one dimension (others at ``(all)``)."""
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
            labels = sub[by].tolist()
        else:
            labels = ["total"]
        fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(labels) + 2), 3))
        ypos = np.arange(len(sub))
        ax.errorbar(sub["estimate"], ypos, xerr=[sub["estimate"] - sub["ci_lower"],
                                                 sub["ci_upper"] - sub["estimate"]], fmt="o")
        ax.set_yticks(ypos, labels)
        ax.set_xlabel(self.indicators[name].label_en)
        fig.tight_layout()
        return fig

    # ------------------------------------------------------------------ trend
    def trend(self, period: str = "period", level: float | None = None) -> pd.DataFrame:
        """Change between consecutive periods, and last vs first, per cell.

        For every indicator disaggregated by ``period``, and every combination
        of its other dimensions, the difference between periods with a
        ``level`` interval: Newcombe's hybrid score interval (proportions),
        Wald on the two Poisson counts (rates), Welch t (means). Periods are
        ordered numerically when they are numbers.
        """
        level = self.level if level is None else level
        rows = []
        for name, cells in self.cells.items():
            if period not in self.dimensions[name]:
                continue
            ind = self.indicators[name]
            others = [d for d in self.dimensions[name] if d != period]
            sub = cells[cells[period] != ALL]
            periods = _ordered(sub[period].unique())
            if len(periods) < 2:
                continue
            groups = sub.groupby(others, sort=False) if others else [((), sub)]
            for key, g in groups:
                g = g.set_index(period)
                key = key if isinstance(key, tuple) else (key,)
                pairs = list(zip(periods[:-1], periods[1:], strict=True))
                if len(periods) > 2:
                    pairs.append((periods[0], periods[-1]))
                for p0, p1 in pairs:
                    if p0 not in g.index or p1 not in g.index:
                        continue
                    diff, lo, hi = _difference(ind, g.loc[p1], g.loc[p0], level)
                    rows.append({"indicator": name, **dict(zip(others, key, strict=True)),
                                 "from": p0, "to": p1, "difference": diff,
                                 "ci_lower": lo, "ci_upper": hi, "level": level})
        if not rows:
            raise EstimationError(
                f"no indicator is disaggregated by {period!r} with at least two periods"
            )
        return pd.DataFrame(rows)


def _ordered(values) -> list:
    values = list(values)
    numeric = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    order = sorted(range(len(values)), key=lambda i: (np.isnan(numeric[i]), numeric[i]
                                                       if not np.isnan(numeric[i]) else 0,
                                                       str(values[i])))
    return [values[i] for i in order]


def _difference(ind: Indicator, c1: pd.Series, c0: pd.Series, level: float):
    n1, n0 = float(c1["n"]), float(c0["n"])
    if ind.kind == "proportion":
        x1, x0 = float(c1["sum_num"]), float(c0["sum_num"])
        lo, hi = newcombe_difference_interval(x1, n1, x0, n0, level)
        return ind.per * (x1 / n1 - x0 / n0), ind.per * float(lo), ind.per * float(hi)
    if ind.kind == "rate":
        x1, x0 = float(c1["sum_num"]), float(c0["sum_num"])
        e1, e0 = float(c1["sum_den"]), float(c0["sum_den"])
        diff = x1 / e1 - x0 / e0
        se = np.sqrt(x1 / e1**2 + x0 / e0**2)
        z = stats.norm.ppf(0.5 + level / 2)
        return ind.per * diff, ind.per * (diff - z * se), ind.per * (diff + z * se)
    v1 = float(c1["m2_num"]) / (n1 - 1) / n1
    v0 = float(c0["m2_num"]) / (n0 - 1) / n0
    diff = float(c1["mean_num"]) - float(c0["mean_num"])
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    q = stats.t.ppf(0.5 + level / 2, df)
    return diff, diff - q * np.sqrt(v1 + v0), diff + q * np.sqrt(v1 + v0)


def evaluate_indicators(indicators, data, **kwargs) -> IndicatorResults:
    """Shortcut for ``IndicatorModel(indicators, data, **kwargs).fit()``."""
    level = kwargs.pop("level", 0.95)
    return IndicatorModel(indicators, data, **kwargs).fit(level=level)


__all__ = ["IndicatorModel", "IndicatorResults", "evaluate_indicators"]
