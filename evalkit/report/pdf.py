"""Optional PDF output of a report, through WeasyPrint.

The HTML report is the deliverable; a PDF is a convenience for people who file
reports as PDF. WeasyPrint renders the report's print stylesheet (A4, no page
break inside tables or figures) in well under a second per page, without a
browser. It is optional: ``pip install weasyprint``, which needs the Pango
libraries (Debian: ``libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.report.output import write_atomic

__all__ = ["check_pdf_prerequisites", "write_pdf"]

log = logging.getLogger("evalkit.report")


def check_pdf_prerequisites():
    """The ``weasyprint`` module, or :class:`ConfigError` saying what to install.

    Called before any analysis runs, so a missing PDF renderer does not cost a
    whole report run.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango missing under the Python package
        raise ConfigError(
            "PDF output needs WeasyPrint: `pip install weasyprint` (on Debian/Ubuntu also "
            f"`apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0`); {exc}"
        ) from exc
    return weasyprint


def write_pdf(html: str, path: str | Path) -> Path:
    """Render report ``html`` to a PDF at ``path`` (atomically).

    Raises
    ------
    ConfigError
        WeasyPrint or its system libraries are not installed.
    """
    weasyprint = check_pdf_prerequisites()
    # The report has no external resource, so no base URL and nothing fetched.
    data = weasyprint.HTML(string=html).write_pdf()
    written = write_atomic(path, data)
    log.info("PDF written to %s (%d bytes)", written, len(data))
    return written
