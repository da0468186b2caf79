"""What ``results.summary(level)`` returns: one object, printed, shown in Jupyter, exported.

A :class:`Summary` holds a title, header lines (estimator, sample, standard errors...),
one table and closing notes. ``print(summary)`` gives the text table, a notebook shows
``_repr_html_``, and ``as_latex()`` / ``as_csv()`` export it for a paper or a
spreadsheet. Counts print as integers (``185``, not ``185.0000``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Summary", "format_cell"]

#: Column names that hold counts of persons, units, observations or clusters.
COUNT_PREFIXES = ("n_", "n ")
COUNT_NAMES = {"n", "N", "count", "counts", "n_obs", "nobs", "df", "df_denom"}


def is_count_column(name: Any, values: pd.Series) -> bool:
    """A column of whole numbers named like a count (``n``, ``n_treated``, ``df``...)."""
    text = str(name)
    named = text in COUNT_NAMES or text.startswith(COUNT_PREFIXES)
    if not named:
        return False
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numbers) == 0 or np.all(np.isclose(numbers, np.round(numbers))))


def format_cell(value: Any, decimals: int = 4, *, count: bool = False) -> str:
    """One cell as text: integers and counts without decimals, floats with ``decimals``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return f"{value:d}"
    if isinstance(value, Real):
        if count and float(value).is_integer():
            return f"{int(value):d}"
        return f"{value:.{decimals}f}"
    return str(value)


class Summary:
    """Printable, exportable summary of a results object.

    Parameters
    ----------
    title
        First line.
    table
        The estimates (or statistics) table.
    info
        Header lines ``key: value`` shown above the table.
    notes
        Lines shown below the table (tests, exclusions, warnings).
    more
        Further tables by caption (sample sizes, a classification...), shown after the
        main one.
    decimals
        Decimals of non-count numbers.
    counts
        Extra columns to print as integers (columns named ``n``, ``n_*``, ``df`` are
        recognised).
    """

    def __init__(self, title: str, table: pd.DataFrame, *, info: Mapping[str, Any] | None = None,
                 notes: Iterable[str] = (), decimals: int = 4, counts: Sequence[str] = (),
                 more: Mapping[str, pd.DataFrame] | None = None):
        self.title = title
        self.table = table
        self.info = dict(info or {})
        self.notes = [str(n) for n in notes if n]
        self.decimals = decimals
        self._counts = set(counts)
        self.more = dict(more or {})

    # ------------------------------------------------------------------ formatting
    def formatted(self, table: pd.DataFrame | None = None) -> pd.DataFrame:
        """A table (default: the main one) with every cell as text, counts as integers."""
        table = self.table if table is None else table
        out = pd.DataFrame(index=table.index)
        for i, column in enumerate(table.columns):
            values = table.iloc[:, i]
            count = column in self._counts or is_count_column(column, values)
            out[column] = [format_cell(v, self.decimals, count=count) for v in values.tolist()]
        return out

    def _info_lines(self) -> list[str]:
        return [f"{key}: {format_cell(value, self.decimals, count=True)}"
                for key, value in self.info.items()]

    def as_text(self) -> str:
        """The plain-text summary (what ``print`` shows)."""
        width = max(len(self.title), 40)
        lines = [self.title, "=" * width, *self._info_lines()]
        if self.info:
            lines.append("-" * width)
        lines.append(self.formatted().to_string())
        for caption, table in self.more.items():
            lines += ["-" * width, caption, self.formatted(table).to_string()]
        if self.notes:
            lines.append("-" * width)
            lines.extend(self.notes)
        return "\n".join(lines)

    def as_csv(self) -> str:
        """The main table as CSV, numbers at full precision (for a spreadsheet or a script)."""
        return self.table.to_csv()

    def as_latex(self, caption: str | None = None) -> str:
        """The main table in a ``table`` environment with a booktabs ``tabular``.

        Needs ``\\usepackage{booktabs}``; header lines and notes go below the table.
        """
        frame = self.formatted()
        index_names = [n if n is not None else "" for n in frame.index.names]
        header = [*index_names, *map(str, frame.columns)]
        align = "l" * len(index_names) + "r" * len(frame.columns)
        rows = []
        for key, values in zip(frame.index, frame.itertuples(index=False), strict=True):
            keys = key if isinstance(key, tuple) else (key,)
            cells = [*(format_cell(k, self.decimals, count=True) for k in keys), *values]
            rows.append(" & ".join(_latex_escape(c) for c in cells) + r" \\")
        body = [
            r"\begin{table}[htbp]",
            r"\centering",
            rf"\caption{{{_latex_escape(caption or self.title)}}}",
            rf"\begin{{tabular}}{{{align}}}",
            r"\toprule",
            " & ".join(_latex_escape(h) for h in header) + r" \\",
            r"\midrule",
            *rows,
            r"\bottomrule",
            r"\end{tabular}",
        ]
        notes = self._info_lines() + self.notes
        if notes:
            body.append(r"\par\smallskip{\footnotesize "
                        + r"\\ ".join(_latex_escape(n) for n in notes) + "}")
        body.append(r"\end{table}")
        return "\n".join(body)

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(self.title)}</b></p>"]
        if self.info:
            items = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                            f"<td style='text-align:left'>"
                            f"{html.escape(format_cell(v, self.decimals, count=True))}</td></tr>"
                            for k, v in self.info.items())
            parts.append(f"<table>{items}</table>")
        parts.append(self.formatted().to_html())
        for caption, table in self.more.items():
            parts.append(f"<p>{html.escape(caption)}</p>" + self.formatted(table).to_html())
        if self.notes:
            parts.append("<p>" + "<br>".join(html.escape(n) for n in self.notes) + "</p>")
        return "\n".join(parts)

    # ------------------------------------------------------------------ str-like
    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def __contains__(self, text: str) -> bool:
        return text in self.as_text()

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            return self.as_text() == other
        return NotImplemented

    __hash__ = None  # mutable, compared by content


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def _latex_escape(text: Any) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
