"""Self-contained HTML evaluation reports (fr/en).

A report is a list of sections (text, tables from any results object's ``to_frame()``,
SVG figures, the exclusion flow) with a provenance block, written as one HTML file with
disclosure control applied to every table of person counts. ``evalkit report CONFIG`` and
the notebooks in ``notebooks/`` both build reports through :func:`run_report`.
"""

from evalkit.report.builder import Report
from evalkit.report.config import ReportConfig, load_config, parse_config
from evalkit.report.elements import Figure, LedgerFlow, ReportWarning, Section, Table, Text
from evalkit.report.figures import figure_language
from evalkit.report.guarded import build_analyses, build_section
from evalkit.report.labels import variable_label, variable_labels
from evalkit.report.programme import PROGRAMMES, get_programme, sample_paths
from evalkit.report.provenance import InputFile, Provenance, file_sha256
from evalkit.report.run import (
    RunResult,
    build_report,
    programme_report,
    programme_section,
    project_path,
    run_report,
)

__all__ = [
    "PROGRAMMES",
    "Figure",
    "InputFile",
    "LedgerFlow",
    "Provenance",
    "Report",
    "ReportWarning",
    "ReportConfig",
    "RunResult",
    "Section",
    "Table",
    "Text",
    "build_analyses",
    "build_report",
    "build_section",
    "figure_language",
    "file_sha256",
    "get_programme",
    "load_config",
    "parse_config",
    "programme_report",
    "programme_section",
    "project_path",
    "run_report",
    "sample_paths",
    "variable_label",
    "variable_labels",
]
