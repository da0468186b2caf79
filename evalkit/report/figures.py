"""Matplotlib figures as deterministic, self-contained SVG.

The same figure drawn twice must give the same bytes, or two runs of a report
cannot be compared: matplotlib stamps the creation date in the SVG metadata
and draws element ids from a random salt unless ``svg.hashsalt`` is fixed.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg", force=False)  # reports are built headless

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402

__all__ = ["figure_to_svg", "svg_data_uri"]

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
