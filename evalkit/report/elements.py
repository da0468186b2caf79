"""Content blocks of a report: text, tables, figures, exclusion flows, sections.

Blocks hold data; they become HTML when the report is rendered, in the
report's language and with its disclosure threshold, so one set of sections
can be rendered in French and in English. Tables of person counts are
protected here (:mod:`evalkit.disclosure`) -- a section builder cannot
forget it, it only has to say which columns are counts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.disclosure import suppress_counts, suppress_long
from evalkit.errors import DisclosureError, MissingColumnError
from evalkit.report.figures import (
    current_figure_language,
    figure_to_svg,
    localise_numbers,
    svg_data_uri,
)
from evalkit.report.flow import flow_svg, ledger_frame
from evalkit.report.i18n import (
    column_label,
    format_number,
    format_percent,
    format_pvalue,
    label,
)

__all__ = ["Figure", "IdentifierGuard", "LedgerFlow", "ReportWarning", "Section", "Table", "Text"]

SUPPRESSED = "s"
_PVALUE_COLUMNS = {"p_value", "pvalue", "p", "p_val", "pval"}


def _is_pvalue(column) -> bool:
    """p-value columns by name: p_value, wcb_p_value, p_holm, p_bh, p_romano_wolf..."""
    name = str(column)
    return name in _PVALUE_COLUMNS or name.endswith("_p_value") or name.startswith("p_")


# Numeric ids this long are matched in text; shorter ones cannot be told from counts or
# years, so they are protected by their column (tables showing it are refused).
MIN_NUMERIC_ID_DIGITS = 5
REDACTED = "‹id›"


@dataclass(frozen=True)
class IdentifierGuard:
    """Person identifiers that must never be rendered.

    ``columns``: names of identifier columns (a table showing one is refused
    whatever its values); ``values``: the identifiers themselves, as text
    (a table cell or text block equal to one is refused; error and warning
    messages have them replaced by ``‹id›``, see :meth:`redact`).
    """

    columns: frozenset[str] = frozenset()
    values: frozenset[str] = frozenset()

    def merged(self, columns=(), values=()) -> IdentifierGuard:
        return IdentifierGuard(
            self.columns | frozenset(map(str, columns)),
            self.values | frozenset(str(v) for v in values if not pd.isna(v)),
        )

    def with_id_column(self, column: str, ids: pd.Series) -> IdentifierGuard:
        """Also protect identifier column ``column`` holding ``ids`` (text or numbers).

        Text ids are protected by value; numeric ids (also integers stored as
        floats) by value when they have at least ``MIN_NUMERIC_ID_DIGITS`` digits,
        as the text a message would print them as (``1850675178889``, not
        ``1850675178889.0``).
        """
        from evalkit.pseudonymise import canonical_identifier

        unique = pd.unique(ids.dropna())
        if pd.api.types.is_numeric_dtype(ids) and not pd.api.types.is_bool_dtype(ids):
            texts = set()
            for value in unique:
                try:
                    text = canonical_identifier(value)
                except Exception:  # noqa: BLE001 -- fractional "ids" are not protected by value
                    continue
                if len(text.lstrip("-")) >= MIN_NUMERIC_ID_DIGITS:
                    texts.add(text)
            values = texts
        else:
            values = {str(v).strip() for v in unique} - {""}
        return self.merged([column], values)

    def redact(self, text: str) -> str:
        """``text`` with every protected identifier replaced by ``‹id›`` (for messages)."""
        if not self.values or not text:
            return text
        return re.sub(r"[\w-]+", lambda m: REDACTED if m.group(0) in self.values else m.group(0),
                      str(text))

    def check_frame(self, frame: pd.DataFrame, where: str) -> None:
        shown = [c for c in frame.columns if str(c) in self.columns]
        if shown:
            raise DisclosureError(
                f"{where} shows the person identifier column(s) {shown}; aggregate the data or "
                "drop the column before reporting"
            )
        if not self.values:
            return
        for col in frame.columns:
            series = frame[col]
            if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                continue
            hits = series.dropna().astype(str)
            hits = hits[hits.isin(self.values)]
            if len(hits):
                raise DisclosureError(
                    f"{where}: column {col!r} contains {len(hits)} person identifier(s); "
                    "person identifiers never go into a report"
                )

    def check_text(self, text: str, where: str) -> None:
        if not self.values:
            return
        tokens = set(re.findall(r"[\w-]+", text))
        found = tokens & self.values
        if found:
            raise DisclosureError(
                f"{where} contains {len(found)} person identifier(s); rewrite the text without them"
            )


@dataclass
class Text:
    """Paragraphs of text.

    Blank lines separate paragraphs; lines starting with ``- `` form a bullet
    list; ``**bold**`` is bold, ``*italic*`` italic. Everything else is escaped
    (no raw HTML).
    """

    body: str

    def render(self, guard: IdentifierGuard, where: str) -> str:
        guard.check_text(self.body, where)
        blocks = []
        for block in re.split(r"\n\s*\n", self.body.strip()):
            lines = [line.strip() for line in block.splitlines() if line.strip()]
            if not lines:
                continue
            if all(line.startswith("- ") for line in lines):
                items = "".join(f"<li>{inline_html(line[2:])}</li>" for line in lines)
                blocks.append(f"<ul>{items}</ul>")
            else:
                blocks.append(f"<p>{inline_html(' '.join(lines))}</p>")
        return "\n".join(blocks)


def inline_html(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", text)


@dataclass
class Table:
    """A table, from any DataFrame or results object's ``to_frame()``.

    Parameters
    ----------
    frame
        The data; a non-default index is shown as leading column(s).
    caption
        Title shown above the table (numbered by the report).
    counts
        Columns holding numbers of persons. They (and ``dependent`` columns)
        go through disclosure control before rendering: counts under the
        report threshold masked, with secondary suppression.
    by
        ``(row_dimensions, column_dimension)`` when the table is tidy (one
        row per cell of a cross-tabulation, one count column); protection
        is then applied to that two-way layout (:func:`suppress_long`).
        Default: the count columns of each row form the two-way layout.
    dependent
        Columns computed from the counted persons (shares, means, CIs),
        masked with their count. Default: every other numeric column.
    decimals
        Digits after the decimal mark for non-integer columns (one number or
        per column).
    percent
        Columns holding shares (0-1) shown as percentages.
    labels
        Header overrides; standard result columns are translated otherwise.
    note
        Text under the table.
    shares
        Share columns (0-1) mapped to the count column they are a share of. A
        share and its count give the number of persons with (and without) the
        attribute: a share is masked when either is between 1 and the
        threshold minus one (zeros are allowed, as for indicator numerators).
    suppressed
        Boolean frame (same shape as the displayed table) of cells already
        suppressed by upstream disclosure control, e.g.
        ``IndicatorResults.publishable``: shown as suppressed, never as values.
    """

    frame: pd.DataFrame
    caption: str = ""
    counts: Sequence[str] = ()
    by: tuple[Sequence[str], str | None] | None = None
    dependent: Sequence[str] | None = None
    decimals: int | Mapping[str, int] = 3
    percent: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    shares: Mapping[str, str] = field(default_factory=dict)
    suppressed: pd.DataFrame | None = None

    @classmethod
    def from_results(cls, results: Any, caption: str = "", *, level: float = 0.95, **kwargs):
        """Table of ``results.to_frame(level)`` (any evalkit results object)."""
        return cls(results.to_frame(level), caption or getattr(results, "title", ""), **kwargs)

    def _flat(self) -> pd.DataFrame:
        frame = self.frame
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame)
        if not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None):
            names = [n if n is not None else "" for n in frame.index.names]
            if len(names) == 1 and names[0] == "":
                names = [" "]
            frame = frame.rename_axis(names).reset_index()
        if isinstance(frame.columns, pd.MultiIndex):
            frame.columns = [" / ".join(map(str, c)).strip(" /") for c in frame.columns]
        return frame

    def protected(self, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The frame after disclosure control, and the mask of suppressed cells."""
        frame, mask = self._count_protected(threshold)
        raw = self._flat()
        for share, count in self.shares.items():
            if share not in raw.columns or count not in raw.columns:
                raise MissingColumnError(
                    f"table {self.caption!r}: shares maps {share!r} to {count!r}, "
                    f"not both in {list(raw.columns)}"
                )
            n = raw[count].astype(float)
            with_attribute = (raw[share].astype(float) * n).round()
            small = pd.concat([with_attribute, n - with_attribute], axis=1)
            small = ((small > 0) & (small < threshold)).any(axis=1)
            frame[share] = frame[share].mask(small)
            mask[share] = mask[share] | small
        if self.suppressed is not None:
            upstream = self._flat_mask(self.suppressed, frame)
            frame, mask = frame.mask(upstream), mask | upstream
        return frame, mask

    def _flat_mask(self, suppressed: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
        # Same flattening as the table: index levels become (unsuppressed) leading columns.
        flags = Table(suppressed)._flat() if not isinstance(suppressed.index, pd.RangeIndex) \
            else suppressed
        flags = flags.reset_index(drop=True).reindex(columns=frame.columns)
        if flags.shape != frame.shape:
            raise DisclosureError(
                f"table {self.caption!r}: the suppressed-cell mask has shape {flags.shape}, "
                f"the table {frame.shape}"
            )
        flags = flags.where(flags.isin([True, False]), False).astype(bool)
        return flags.set_axis(frame.index)

    def _count_protected(self, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame = self._flat()
        counts = list(self.counts)
        mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
        if not counts or frame.empty:
            return frame, mask
        missing = [c for c in counts if c not in frame.columns]
        if missing:
            raise MissingColumnError(
                f"table {self.caption!r}: count columns {missing} not in {list(frame.columns)}"
            )
        dims = []
        if self.by is not None:
            rows, column = self.by
            dims = [*rows, *([column] if column is not None else [])]
        dependent = self.dependent
        if dependent is None:
            dependent = [
                c
                for c in frame.columns
                if c not in counts
                and c not in dims
                and pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])
            ]
        if self.by is not None:
            if len(counts) != 1:
                raise DisclosureError(
                    f"table {self.caption!r}: a tidy table (by=...) has one count column, "
                    f"got {counts}"
                )
            masked, row_mask = suppress_long(
                frame, counts[0], rows=list(rows), column=column, dependent=list(dependent),
                threshold=threshold,
            )
            for col in [counts[0], *dependent]:
                mask[col] = mask[col] | row_mask
            return masked, mask
        # Missing counts are absent combinations: known to be empty, never a masked zero.
        _, count_mask = suppress_counts(frame[counts], threshold, margins=False)
        row_mask = count_mask.any(axis=1)
        masked = frame.copy()
        for col in counts:
            masked[col] = masked[col].mask(count_mask[col])
            mask[col] = mask[col] | count_mask[col]
        for col in dependent:
            masked[col] = masked[col].mask(row_mask)
            mask[col] = mask[col] | row_mask
        return masked, mask

    def render(self, lang: str, threshold: int, guard: IdentifierGuard, number: int) -> str:
        """HTML of the table, numbered ``number``; identical data give identical HTML."""
        where = f"table {self.caption!r}"
        raw = self._flat()
        guard.check_frame(raw, where)
        guard.check_text(self.caption + " " + self.note, where)
        frame, mask = self.protected(threshold)
        percent = set(self.percent)
        head = "".join(
            f'<th scope="col">{html.escape(self.labels.get(c) or column_label(c, lang))}</th>'
            for c in frame.columns
        )
        numeric_cols = {
            c: pd.api.types.is_numeric_dtype(raw[c]) and not pd.api.types.is_bool_dtype(raw[c])
            for c in frame.columns
        }
        body = []
        for i in range(len(frame)):
            cells = []
            for c in frame.columns:
                if mask.at[i, c]:
                    text, css = SUPPRESSED, "num suppressed"
                else:
                    text = self._cell(frame.at[i, c], c, raw[c], lang, percent)
                    css = "num" if numeric_cols[c] else ""
                attr = f' class="{css}"' if css else ""
                cells.append(f"<td{attr}>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        notes = []
        if self.note:
            notes.append(f"<p>{inline_html(self.note)}</p>")
        if mask.to_numpy().any():
            notes.append(f"<p>{html.escape(label('suppressed_note', lang, threshold=threshold))}</p>")
        caption = f"{label('table', lang)} {number}"
        if self.caption:
            caption += f" — {self.caption}"
        foot = f'<div class="table-notes">{"".join(notes)}</div>' if notes else ""
        return (
            f'<figure class="table" id="table-{number}"><figcaption>{html.escape(caption)}'
            f"</figcaption><div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>"
            + "\n".join(body)
            + f"</tbody></table></div>{foot}</figure>"
        )

    def _cell(self, value, column, series: pd.Series, lang: str, percent: set) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return "–"
        if isinstance(value, (bool, np.bool_)):
            return label("yes" if value else "no", lang)
        if isinstance(value, (int, float, np.integer, np.floating)):
            if column in percent:
                return format_percent(float(value), lang, self._decimals(column, 1))
            if _is_pvalue(column):
                return format_pvalue(float(value), lang)
            if (isinstance(value, (int, np.integer)) or column in self.counts
                    or _whole_numbers(series)):
                return format_number(int(round(float(value))), lang)
            return format_number(float(value), lang, self._decimals(column, 3))
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        return str(value)

    def _decimals(self, column, default: int) -> int:
        if isinstance(self.decimals, Mapping):
            return int(self.decimals.get(column, default))
        return default if column in self.percent else int(self.decimals)


@dataclass
class Figure:
    """A figure: a matplotlib Figure (converted to deterministic SVG at once) or SVG text.

    ``lang`` gives the numbers on the axes the format of that language
    (default: the language set by :func:`~evalkit.report.figures.figure_language`,
    which reports set while building their sections).
    """

    figure: Any
    caption: str = ""
    alt: str = ""
    lang: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.figure, str):
            # Numbers in the language the figure is drawn for: given, or set by the report.
            lang = self.lang or current_figure_language()
            if lang:
                localise_numbers(self.figure, lang)
            self.figure = figure_to_svg(self.figure)

    def render(self, lang: str, guard: IdentifierGuard, number: int) -> str:
        where = f"figure {self.caption!r}"
        guard.check_text(self.caption + " " + self.alt, where)
        guard.check_text(_svg_text(self.figure), where)
        caption = f"{label('figure', lang)} {number}"
        if self.caption:
            caption += f" — {self.caption}"
        alt = html.escape(self.alt or self.caption or caption, quote=True)
        return (
            f'<figure class="figure" id="figure-{number}"><img alt="{alt}" '
            f'src="{svg_data_uri(self.figure)}"/><figcaption>{html.escape(caption)}'
            "</figcaption></figure>"
        )


def _whole_numbers(series: pd.Series) -> bool:
    """A numeric column holding only whole numbers (counts read as floats): shown as integers,
    never as ``13,000`` -- which a French reader takes for thirteen and an English one for
    thirteen thousand."""
    if not pd.api.types.is_float_dtype(series):
        return False
    values = series.dropna().to_numpy(dtype=float)
    return bool(values.size) and bool(np.all(np.isfinite(values) & (values == np.round(values))))


def _svg_text(svg: str) -> str:
    # Matplotlib draws text as glyph paths and keeps the string in a comment.
    return " ".join(re.findall(r"<!--(.*?)-->", svg, flags=re.S) + re.findall(r">([^<>]+)<", svg))


@dataclass
class LedgerFlow:
    """CONSORT-style flow of an :class:`~evalkit.data.ExclusionLedger`, with its table."""

    ledger: Any
    caption: str = ""

    def render(self, lang: str, guard: IdentifierGuard, number: int) -> tuple[str, str]:
        frame = ledger_frame(self.ledger)
        guard.check_frame(frame, "exclusion flow")
        guard.check_text(" ".join(frame["reason"].astype(str)), "exclusion flow")
        svg = flow_svg(frame, lang)
        caption = f"{label('figure', lang)} {number} — {self.caption or label('flow_title', lang)}"
        table_rows = []
        for k, row in frame.iterrows():
            # Row 0 is what was received (step "input"); later steps are named by the estimators.
            step = label("flow_input", lang) if k == 0 else str(row["step"])
            cells = [html.escape(step), html.escape(str(row["reason"]))]
            # The input row counts what was received, not an exclusion.
            cells += [
                f'<td class="num">{"–" if k == 0 else format_number(int(row[c]), lang)}</td>'
                for c in ("n_rows", "n_persons")
            ]
            cells += [
                f'<td class="num">{format_number(int(row[c]), lang)}</td>'
                for c in ("rows_after", "persons_after")
            ]
            table_rows.append(
                "<tr><td>" + cells[0] + "</td><td>" + cells[1] + "</td>" + "".join(cells[2:]) + "</tr>"
            )
        head = "".join(
            f'<th scope="col">{html.escape(column_label(c, lang))}</th>'
            for c in ("step", "reason", "n_rows", "n_persons", "rows_after", "persons_after")
        )
        alt = html.escape(label("flow_title", lang), quote=True)
        return (
            f'<figure class="figure flow" id="figure-{number}"><img alt="{alt}" '
            f'src="{svg_data_uri(svg)}"/><figcaption>{html.escape(caption)}</figcaption>'
            f'<div class="scroll"><table class="ledger"><thead><tr>{head}</tr></thead><tbody>'
            + "\n".join(table_rows)
            + f'</tbody></table></div><div class="table-notes"><p>{html.escape(label("flow_note", lang))}'
            "</p></div></figure>",
            svg,
        )


Status = Literal["ok", "unavailable", "failed"]


@dataclass(frozen=True)
class ReportWarning:
    """A warning raised while building a section: its class name and technical message.

    The class (``FewClustersWarning``...) lets the report explain the warning
    in the reader's language (:func:`evalkit.report.i18n.warning_lead`);
    ``str()`` is the message, as for a plain string.
    """

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Section:
    """A titled part of a report holding blocks and sub-sections.

    ``status`` is ``"ok"``, ``"unavailable"`` (an estimator module is not
    installed or the data lack what it needs: the report says so and goes on)
    or ``"failed"`` (the analysis raised: shown in the report and reported as
    a failure by the batch command). ``reason`` explains the last two.
    ``headline`` (light Markdown) goes to the summary at the top of the report.
    """

    title: str
    content: list[Any] = field(default_factory=list)
    status: Status = "ok"
    reason: str = ""
    key: str | None = None
    warnings: list[ReportWarning | str] = field(default_factory=list)
    headline: str = ""  # one line for the report's summary: estimate, CI and its reading

    def add(self, *blocks: Any) -> Section:
        """Append blocks (Text, Table, Figure, LedgerFlow, Section or str); returns self."""
        for block in blocks:
            self.content.append(Text(block) if isinstance(block, str) else block)
        return self

    @classmethod
    def unavailable(cls, title: str, reason: str, key: str | None = None) -> Section:
        return cls(title, status="unavailable", reason=reason, key=key)

    @classmethod
    def failed(cls, title: str, reason: str, key: str | None = None) -> Section:
        return cls(title, status="failed", reason=reason, key=key)

    def walk(self):
        """This section and all nested sub-sections, depth first."""
        yield self
        for block in self.content:
            if isinstance(block, Section):
                yield from block.walk()
