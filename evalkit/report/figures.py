"""Matplotlib figures as deterministic, self-contained SVG, numbers in the report's language.

The same figure drawn twice must give the same bytes, or two runs of a report
cannot be compared: matplotlib stamps the creation date in the SVG metadata
and draws element ids from a random salt unless ``svg.hashsalt`` is fixed.

Matplotlib writes tick numbers with a decimal point whatever the language
(its locale option depends on the process locale, rarely installed on
servers). :func:`localise_numbers` gives French figures a decimal comma, as in
the tables; reports set the language of the figures their sections draw with
:func:`figure_language`, so estimator plots need no language parameter for it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import matplotlib

matplotlib.use("Agg", force=False)  # reports are built headless

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.ticker import Formatter, ScalarFormatter  # noqa: E402

__all__ = ["current_figure_language", "figure_language", "figure_to_svg", "localise_numbers",
           "svg_data_uri"]

_FIGURE_LANGUAGE: ContextVar[str | None] = ContextVar("evalkit_figure_language", default=None)

_SVG_RC = {"svg.hashsalt": "evalkit", "svg.fonttype": "path"}


def figure_to_svg(figure: MplFigure, *, close: bool = True) -> str:
    """SVG text of ``figure``, byte-identical for identical drawings.

    Parameters
    ----------
    figure
        A matplotlib Figure.
    close
        Close the figure afterwards (reports build many figures; open ones
        would accumulate in pyplot's registry).
    """
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_RC):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    if close:
        plt.close(figure)
    return buffer.getvalue()


def svg_data_uri(svg: str) -> str:
    """``data:`` URI embedding ``svg`` in an ``<img>``.

    An ``<img>`` keeps each figure's element ids (glyphs, clip paths) in its
    own document, where inline SVGs would share one id namespace.
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@contextmanager
def figure_language(lang: str | None) -> Iterator[None]:
    """Within the block, report figures get the number format of ``lang``."""
    token = _FIGURE_LANGUAGE.set(lang)
    try:
        yield
    finally:
        _FIGURE_LANGUAGE.reset(token)


def current_figure_language() -> str | None:
    """Language set by the innermost :func:`figure_language` block (``None`` outside)."""
    return _FIGURE_LANGUAGE.get()


class _DecimalComma(Formatter):
    """Wraps a numeric tick formatter, writing its numbers with a decimal comma."""

    def __init__(self, inner: Formatter) -> None:
        self.inner = inner

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs) -> None:
        self.inner.set_locs(locs)

    def __call__(self, x, pos=None) -> str:
        return self.inner(x, pos).replace(".", ",")

    def format_ticks(self, values) -> list[str]:
        return [text.replace(".", ",") for text in self.inner.format_ticks(values)]

    def get_offset(self) -> str:
        return self.inner.get_offset().replace(".", ",")


def localise_numbers(figure: MplFigure, lang: str) -> MplFigure:
    """Numeric tick labels of every axis of ``figure`` in ``lang`` (decimal comma in French).

    Only automatic numeric ticks change; tick labels set as text (categories,
    quarters) are left as they are. Returns ``figure``.
    """
    if lang != "fr":
        return figure
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, ScalarFormatter):
                axis.set_major_formatter(_DecimalComma(formatter))
    return figure
