"""CONSORT-style flow diagram of an exclusion ledger, drawn as plain SVG.

The diagram is a column of boxes (data received, then what remains after each
step) with, beside each arrow, a box saying what the step excluded and why.
It is written directly as SVG text -- no layout engine, fully deterministic --
from ``ExclusionLedger.to_frame()`` (columns step, reason, n_rows, n_persons,
rows_after, persons_after; the first row is the input).
"""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import escape

import pandas as pd

from evalkit.errors import MissingColumnError
from evalkit.report.i18n import format_number, label

__all__ = ["LEDGER_COLUMNS", "ledger_frame", "flow_svg"]

LEDGER_COLUMNS = ("step", "reason", "n_rows", "n_persons", "rows_after", "persons_after")

_WIDTH = 720
_MAIN_X, _MAIN_W = 10, 300
_SIDE_X, _SIDE_W = 390, 320
_LINE = 16
_PAD = 8
_GAP = 26
_WRAP_MAIN, _WRAP_SIDE = 44, 46


def ledger_frame(ledger) -> pd.DataFrame:
    """The ledger as a frame with :data:`LEDGER_COLUMNS` (accepts a ledger or its frame)."""
    frame = ledger.to_frame() if hasattr(ledger, "to_frame") else pd.DataFrame(ledger)
    missing = [c for c in LEDGER_COLUMNS if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"an exclusion ledger frame needs columns {list(LEDGER_COLUMNS)}; missing {missing}"
        )
    return frame.loc[:, list(LEDGER_COLUMNS)].reset_index(drop=True)


def _counts(rows: int, persons: int, lang: str) -> str:
    if rows == persons:
        return f"{format_number(persons, lang)} {label('flow_persons', lang)}"
    return (
        f"{format_number(rows, lang)} {label('flow_rows', lang)}, "
        f"{format_number(persons, lang)} {label('flow_persons', lang)}"
    )


def _box(x: int, y: int, width: int, lines: list[str], css: str) -> tuple[str, int]:
    height = 2 * _PAD + _LINE * len(lines)
    parts = [f'<rect class="{css}" x="{x}" y="{y}" width="{width}" height="{height}" rx="4"/>']
    for k, line in enumerate(lines):
        weight = ' font-weight="bold"' if k == 0 else ""
        parts.append(
            f'<text x="{x + _PAD}" y="{y + _PAD + _LINE * (k + 1) - 4}"{weight}>{escape(line)}</text>'
        )
    return "\n".join(parts), height


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(str(text), width) or [""]


def flow_svg(ledger, lang: str = "en") -> str:
    """SVG text of the flow diagram of ``ledger`` (an ExclusionLedger or its frame)."""
    frame = ledger_frame(ledger)
    first = frame.iloc[0]
    parts: list[str] = []
    y = 10
    main_lines = [label("flow_input", lang)] + _wrap(first["reason"], _WRAP_MAIN)
    main_lines.append(_counts(int(first["n_rows"]), int(first["n_persons"]), lang))
    svg, height = _box(_MAIN_X, y, _MAIN_W, main_lines, "main")
    parts.append(svg)
    y += height
    for _, step in frame.iloc[1:].iterrows():
        side_lines = [f"{label('flow_excluded', lang)} — {step['step']}"]
        side_lines += _wrap(step["reason"], _WRAP_SIDE)
        side_lines.append(_counts(int(step["n_rows"]), int(step["n_persons"]), lang))
        side_height = 2 * _PAD + _LINE * len(side_lines)
        arrow_top = y
        side_y = y + _GAP // 2
        arrow_bottom = side_y + side_height + _GAP // 2
        x_mid = _MAIN_X + _MAIN_W // 2
        parts.append(
            f'<line class="arrow" x1="{x_mid}" y1="{arrow_top}" x2="{x_mid}" y2="{arrow_bottom}"/>'
        )
        branch_y = side_y + side_height // 2
        parts.append(
            f'<line class="arrow" x1="{x_mid}" y1="{branch_y}" x2="{_SIDE_X}" y2="{branch_y}"/>'
        )
        svg, _ = _box(_SIDE_X, side_y, _SIDE_W, side_lines, "side")
        parts.append(svg)
        y = arrow_bottom
        main_lines = [
            label("flow_remaining", lang),
            _counts(int(step["rows_after"]), int(step["persons_after"]), lang),
        ]
        svg, height = _box(_MAIN_X, y, _MAIN_W, main_lines, "main")
        parts.append(svg)
        y += height
    total_height = y + 10
    style = (
        "<style>text{font:12px sans-serif;fill:#111}"
        "rect.main{fill:#eef3f8;stroke:#2c4a6b}rect.side{fill:#fbf3e9;stroke:#8a5a1c}"
        "line.arrow{stroke:#333;stroke-width:1.2;marker-end:url(#head)}</style>"
    )
    marker = (
        '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#333"/></marker></defs>'
    )
    title = escape(label("flow_title", lang))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {total_height}" '
        f'width="{_WIDTH}" height="{total_height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>{style}{marker}\n" + "\n".join(parts) + "\n</svg>"
    )
