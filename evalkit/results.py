"""Shared shape of evalkit results objects.

Every estimator returns an object following the ``Model(...).fit() -> Results``
pattern of statsmodels / linearmodels. :class:`EstimateResults` holds the part
common to all of them: named point estimates and standard errors, Wald
statistics, p-values and confidence intervals, a tidy frame, a
:class:`~evalkit.summary.Summary`, a LaTeX export and a coefficient plot.
Sub-packages subclass it and add what is specific (plots, diagnostics, ledgers).
:class:`TestResult` is the one shape of a hypothesis test (pre-trend tests,
the Callaway–Sant'Anna pre-test, the wild cluster bootstrap), and :func:`compare`
puts several results side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.data.ledger import ExclusionLedger
from evalkit.options import check_level
from evalkit.summary import Summary, format_cell


class EstimateResults:
    """Named estimates with standard errors.

    Parameters
    ----------
    params, std_errors
        Point estimates and their standard errors, indexed by the same names.
    title
        First line of :meth:`summary`.
    df_resid
        Degrees of freedom for t-based inference; ``None`` uses the normal
        distribution (the default for influence-function and bootstrap SEs).
    info
        Extra lines for the summary header (estimator, control group, n, ...).
    ledger
        The :class:`~evalkit.data.ledger.ExclusionLedger` of the data the
        estimates were computed on, so reports can show every dropped row.
    critical_values
        Optional per-estimate critical values replacing the pointwise normal/t
        quantile in :meth:`conf_int` (e.g. uniform bands from a multiplier
        bootstrap), valid at ``band_level``.
    """

    def __init__(
        self,
        params: pd.Series,
        std_errors: pd.Series,
        *,
        title: str = "Estimates",
        df_resid: float | None = None,
        info: Mapping[str, Any] | None = None,
        ledger: ExclusionLedger | None = None,
        critical_values: pd.Series | None = None,
        band_level: float = 0.95,
    ) -> None:
        self.params = pd.Series(params, dtype=float, name="estimate")
        self.std_errors = _aligned(std_errors, self.params.index).rename("std_error")
        self.title = title
        self.df_resid = df_resid
        self.info = dict(info or {})
        self.ledger = ledger
        self.critical_values = (
            None if critical_values is None else _aligned(critical_values, self.params.index)
        )
        self.band_level = band_level

    def _dist(self):
        return stats.norm if self.df_resid is None else stats.t(self.df_resid)

    @property
    def tstats(self) -> pd.Series:
        """Wald statistics ``params / std_errors``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.params / self.std_errors).rename("t_stat")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of ``H0: parameter = 0``."""
        return pd.Series(
            2 * self._dist().sf(np.abs(self.tstats.to_numpy())),
            index=self.params.index,
            name="p_value",
        )

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals ``params ± q · std_errors``.

        ``q`` is the normal (or t) quantile, or the uniform-band critical value
        when the results carry one and ``level`` equals its ``band_level``.
        """
        level = check_level(level)
        if self.critical_values is not None and np.isclose(level, self.band_level):
            q = self.critical_values.to_numpy()
        else:
            q = self._dist().ppf(0.5 + level / 2)
        half = q * self.std_errors.to_numpy()
        return pd.DataFrame(
            {"lower": self.params.to_numpy() - half, "upper": self.params.to_numpy() + half},
            index=self.params.index,
        )

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame: one row per estimate with SE, statistic, p-value and CI."""
        ci = self.conf_int(level)
        frame = pd.concat([self.params, self.std_errors, self.tstats, self.pvalues], axis=1)
        frame["ci_lower"] = ci["lower"]
        frame["ci_upper"] = ci["upper"]
        return frame

    def summary(self, level: float = 0.95) -> Summary:
        """The estimates with their intervals, the header lines of ``info`` and the
        exclusions: print it, show it in a notebook, or export it (``as_latex``,
        ``as_csv``)."""
        table = self.to_frame(level).rename(
            columns={"ci_lower": f"[{level:.0%}", "ci_upper": "CI]"}
        )
        notes = []
        if self.ledger is not None and len(self.ledger):
            notes.append(f"Rows excluded: {self.ledger.n_rows_dropped} "
                         f"({self.ledger.n_persons_dropped} units), see .ledger")
        return Summary(self.title, table, info=self.info, notes=notes)

    def to_latex(self, level: float = 0.95) -> str:
        """The summary table as a LaTeX ``table`` (booktabs)."""
        return self.summary(level).as_latex()

    def plot(self, ax=None, *, level: float = 0.95, text: Mapping[str, str] | None = None):
        """Estimates with their confidence intervals, one row each (a coefficient plot).

        ``text`` overrides the fixed text: ``title``, ``xlabel``, ``interval`` (legend
        entry of the bars, ``{level}`` is replaced). Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        words = {"title": self.title, "xlabel": "Estimate",
                 "interval": "{level:.0%} confidence interval", **(text or {})}
        ci = self.conf_int(level)
        names = [str(n) for n in self.params.index]
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.45 * len(names)))
        else:
            fig = ax.figure
        y = np.arange(len(names))[::-1]
        ax.hlines(y, ci["lower"], ci["upper"], color="#1f77b4", lw=2,
                  label=words["interval"].format(level=level))
        ax.plot(self.params.to_numpy(), y, "o", color="#1f77b4")
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, names)
        ax.set_xlabel(words["xlabel"])
        if words["title"]:
            ax.set_title(words["title"], loc="left")
        ax.legend(loc="best", frameon=False)
        fig.tight_layout()
        return fig

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}, {len(self.params)} estimates>"

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: its statistic, degrees of freedom, p-value and method.

    ``df`` is the (numerator) degrees of freedom, ``df_denom`` the denominator's for an
    F statistic; either is ``None`` when the reference distribution has none (a
    bootstrap or permutation test). ``null`` says what is tested.
    """

    __test__ = False  # a result, not a pytest test class

    statistic: float
    pvalue: float
    method: str
    df: float | None = None
    df_denom: float | None = None
    null: str = ""

    def _df_text(self) -> str:
        if self.df is None:
            return ""
        text = format_cell(self.df, count=True)
        if self.df_denom is not None:
            text += f", {format_cell(self.df_denom, count=True)}"
        return f"({text})"

    def __str__(self) -> str:
        null = f" (H0: {self.null})" if self.null else ""
        return (f"{self.method}{null}: statistic{self._df_text()} = {self.statistic:.4f}, "
                f"p = {self.pvalue:.4g}")

    def to_series(self) -> pd.Series:
        """``statistic``, ``df``, ``df_denom``, ``pvalue`` and ``method`` as a Series."""
        return pd.Series({"statistic": self.statistic, "df": self.df,
                          "df_denom": self.df_denom, "pvalue": self.pvalue,
                          "method": self.method}, name=self.null or "test")

    def _repr_html_(self) -> str:
        return self.to_series().to_frame().to_html()


def compare(results: Mapping[str, EstimateResults] | Sequence[EstimateResults], *,
            level: float | None = None, stars: bool = False, decimals: int = 4) -> Summary:
    """Several results side by side, one column each (like linearmodels ``compare`` or
    pyfixest ``etable``).

    Each estimate is shown over its standard error in parentheses, then the interval
    at ``level`` when one is given; the columns are named by the mapping's keys (or
    the results' titles); a last row gives the number of observations of the results
    that know it (``n_obs`` or ``info["Observations"]``). ``stars`` adds ``*``/``**``/``***`` at 10/5/1 %. Returns a
    :class:`~evalkit.summary.Summary`: ``print`` it, show it in a notebook, or call
    ``as_latex()`` / ``as_csv()``; ``.table`` is the DataFrame.
    """
    if not isinstance(results, Mapping):
        results = {getattr(r, "title", f"({i + 1})") or f"({i + 1})": r
                   for i, r in enumerate(results)}
    if not results:
        raise ValueError("compare() needs at least one results object.")
    names = []
    for res in results.values():
        names += [n for n in res.params.index if n not in names]
    rows = {}
    for name in names:
        rows[(str(name), "estimate")] = {}
        rows[(str(name), "std. error")] = {}
        if level is not None:
            rows[(str(name), f"{level:.0%} CI")] = {}
    for column, res in results.items():
        ci = res.conf_int(level) if level is not None else None
        for name in res.params.index:
            p = float(res.pvalues[name])
            mark = "" if not stars or not np.isfinite(p) else (
                "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else "")
            rows[(str(name), "estimate")][column] = (
                format_cell(float(res.params[name]), decimals) + mark)
            rows[(str(name), "std. error")][column] = (
                f"({format_cell(float(res.std_errors[name]), decimals)})")
            if ci is not None:
                rows[(str(name), f"{level:.0%} CI")][column] = (
                    f"[{format_cell(float(ci.loc[name, 'lower']), decimals)}, "
                    f"{format_cell(float(ci.loc[name, 'upper']), decimals)}]")
    n_obs = {column: _n_obs(res) for column, res in results.items()}
    if any(n is not None for n in n_obs.values()):
        rows[("Observations", "")] = {c: format_cell(n, count=True) for c, n in n_obs.items()
                                      if n is not None}
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(results))
    table.index = pd.MultiIndex.from_tuples(table.index, names=["parameter", ""])
    table = table.fillna("")
    notes = ["Standard errors in parentheses."]
    if stars:
        notes.append("* p < 0.1, ** p < 0.05, *** p < 0.01")
    return Summary("Comparison of estimates", table, notes=notes, decimals=decimals)


def _n_obs(res) -> int | None:
    """Number of observations a results object reports (attribute or summary info), if any."""
    n = getattr(res, "n_obs", None)
    if n is None:
        n = getattr(res, "info", {}).get("Observations")
    return int(n) if isinstance(n, (int, np.integer)) else None


def _aligned(values, index: pd.Index) -> pd.Series:
    """``values`` on ``index``: by label when they carry the same labels, else by position."""
    if isinstance(values, pd.Series) and values.index.sort_values().equals(index.sort_values()):
        return values.astype(float).reindex(index)
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.size == 1 and len(index) != 1:
        array = np.repeat(array, len(index))
    if array.size != len(index):
        raise ValueError(f"expected {len(index)} values, got {array.size}")
    return pd.Series(array, index=index)
