"""Build programme sections and whole reports; the one path shared by CLI and notebooks.

:func:`programme_section` reads a programme's inputs (hashing them into the
provenance), registers their person identifiers so they can never be
rendered, and builds the programme's section, turning any failure into a
marked section. :func:`build_report` does it for every programme of a
configuration; :func:`run_report` also writes the file, atomically, and never
over the last good report when a section failed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.data.validation import show_values
from evalkit.errors import MissingColumnError
from evalkit.report.builder import Report
from evalkit.report.config import ReportConfig
from evalkit.report.elements import Section
from evalkit.report.figures import figure_language
from evalkit.report.guarded import build_section, explaining_key_errors
from evalkit.report.output import output_lock, report_target
from evalkit.report.programme import ProgrammeSpec, get_programme, read_inputs, sample_paths
from evalkit.report.provenance import InputFile, Provenance
from evalkit.report.redaction import redacting

__all__ = [
    "RunResult",
    "build_report",
    "missing_column_explainer",
    "programme_report",
    "programme_section",
    "project_path",
    "run_report",
]

log = logging.getLogger("evalkit.report")


def project_path(path: str | Path, start: str | Path | None = None) -> Path:
    """``path`` resolved against the project root (nearest folder up with a pyproject.toml).

    Notebooks run from ``notebooks/`` in Jupyter but from the repository root
    under papermill; resolving against the root makes ``"data_samples"`` mean
    the same folder in both. Absolute paths, and any path when no root is
    found, are used as given (relative to the working directory).
    """
    path = Path(path)
    if path.is_absolute():
        return path
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / path
    return here / path


def programme_section(
    name: str,
    report: Report,
    *,
    paths: Mapping[str, str | Path] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    analyses: Sequence[str] | None = None,
    params: Mapping | None = None,
    seed: int = 0,
    spec: ProgrammeSpec | None = None,
) -> Section:
    """Section of programme ``name`` for ``report``, from input files or tables.

    Parameters
    ----------
    name
        Programme name (``"hope_in_stations"``, ``"rsa_experiment"``, ``"cpas_careers"``).
    report
        The report it goes into: gives the language, receives the input hashes
        and the person identifiers to protect.
    paths, tables
        Input files by input name (read and hashed), or tables already loaded.
    analyses
        Sub-sections to build (default: all the programme offers).
    params
        Parameter overrides (default: the programme's defaults).
    seed
        Random seed of bootstraps and permutations.
    spec
        The programme definition (default: :func:`get_programme` of ``name``).
    """
    spec = spec or get_programme(name)
    title = spec.title[report.lang]
    chosen = list(analyses) if analyses is not None else list(spec.analyses)
    overrides = dict(params or {})
    settings = {**spec.defaults(), **overrides}

    def load_and_build() -> Section:
        if tables is not None:
            data = dict(tables)
        else:
            for input_name, path in (paths or {}).items():
                report.provenance.inputs.append(
                    InputFile.from_path(path, f"{name}/{input_name}: {Path(path).name}")
                )
            data = read_inputs(spec, paths or {})
        for input_name, column in spec.identifier_columns(overrides).items():
            frame = data.get(input_name)
            if frame is not None and column in frame.columns:
                report.protect_id_column(column, frame[column])
        explain = missing_column_explainer(name, data, settings, paths or {})
        with figure_language(report.lang), explaining_key_errors(explain):
            try:
                return spec.build(data, analyses=chosen, params=overrides, lang=report.lang,
                                  seed=seed, threshold=report.threshold, files=paths)
            except KeyError as exc:
                raise (explain(exc) or exc) from exc

    report.provenance.update({f"{name}.analyses": chosen})
    shown = spec.effective(overrides, chosen)
    report.provenance.update({f"{name}.{k}": v for k, v in shown.items()})
    # Failure reasons, warnings and logs of this section name no registered identifier.
    with redacting(lambda: report.guard):
        return build_section(title, load_and_build, key=name)


def missing_column_explainer(name: str, data: Mapping[str, pd.DataFrame], settings: Mapping,
                             paths: Mapping[str, str | Path]):
    """A function turning an analysis' ``KeyError`` for a column into a clear error.

    The column is matched to the parameter(s) whose value it is; the error
    names the inputs (file and columns) it is missing from and the
    configuration key that sets it, like the data layer's
    :class:`~evalkit.errors.MissingColumnError`.
    """
    present = set().union(*(map(str, f.columns) for f in data.values())) if data else set()

    def explain(exc: KeyError) -> MissingColumnError | None:
        text = " ".join(map(str, exc.args))
        for param, value in settings.items():
            for column in value if isinstance(value, list) else [value]:
                if not isinstance(column, str) or not column or column in present:
                    continue
                if not re.search(rf"(?<![\w]){re.escape(column)}(?![\w])", text):
                    continue
                inputs = "; ".join(
                    f"input '{k}' ({Path(paths[k]).name if k in paths else 'table'}) has "
                    f"{show_values(list(map(str, f.columns)), limit=8)}"
                    for k, f in data.items()
                )
                return MissingColumnError(
                    f"{name}: column {column!r} (parameter '{param}') is not in the inputs: "
                    f"{inputs}. Set the key '{name}.parameters.{param}' in the configuration "
                    "to the name of your column, or rename the column in the file."
                )
        return None

    return explain


def programme_report(
    names: str | Sequence[str],
    *,
    data_dir: str | Path = "data_samples",
    lang: str = "fr",
    seed: int = 0,
    threshold: int | None = None,
    title: str | None = None,
    params: Mapping[str, Mapping] | None = None,
    analyses: Mapping[str, Sequence[str]] | None = None,
) -> Report:
    """A report on one or several programmes, for notebooks.

    Parameters
    ----------
    names
        Programme name(s), in report order.
    data_dir
        Folder laid out like ``data_samples/`` (``<programme>_<table>.csv``),
        resolved with :func:`project_path`; empty: synthetic data drawn at ``seed``.
    params, analyses
        Per programme name: parameter overrides and analyses to run.
    threshold
        Disclosure threshold (default 11).
    """
    names = [names] if isinstance(names, str) else list(names)
    if title is None:
        title = get_programme(names[0]).title[lang] if len(names) == 1 else {
            "fr": "Rapport annuel d'évaluation", "en": "Annual evaluation report"}[lang]
    report = Report(title, lang=lang, **({} if threshold is None else {"threshold": threshold}))
    report.provenance.seed = seed
    for name in names:
        if data_dir:
            inputs = {"paths": sample_paths(name, project_path(data_dir))}
        else:
            report.provenance.update({f"{name}.data": f"synthetic, generated at seed {seed}"})
            inputs = {"tables": get_programme(name).generate(seed)}
        report.add(programme_section(
            name, report, params=(params or {}).get(name), seed=seed,
            analyses=(analyses or {}).get(name), **inputs,
        ))
    report.provenance.finish()
    return report


def build_report(config: ReportConfig, *, lang: str | None = None) -> Report:
    """Build (not write) the report a configuration describes."""
    provenance = Provenance(seed=config.seed)
    if config.path is not None:
        provenance.config = InputFile.from_path(config.path)
    lang = lang or config.lang
    report = Report(
        config.title[lang],
        lang=lang,
        threshold=config.disclosure_threshold,
        subtitle=config.subtitle[lang],
        provenance=provenance,
    )
    for prog in config.programmes:
        log.info("building %s (%s)", prog.name, ", ".join(prog.analyses))
        report.add(
            programme_section(
                prog.name,
                report,
                paths=prog.inputs,
                analyses=prog.analyses,
                params=prog.parameters,
                seed=config.seed,
                spec=prog.spec,
            )
        )
    provenance.finish()
    return report


@dataclass
class RunResult:
    """Outcome of :func:`run_report`."""

    path: Path
    written: Path
    failures: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_report(
    config: ReportConfig, *, output_dir: str | Path | None = None, lang: str | None = None,
    pdf: bool = False,
) -> RunResult:
    """Build the report and write it atomically.

    When every section succeeded the report replaces ``NAME.html``. When one
    failed, the report (showing the failure) goes to ``NAME.failed.html`` and
    ``NAME.html`` -- the last good report -- is left untouched. ``pdf`` also
    writes ``NAME.pdf`` for a successful report (WeasyPrint).
    """
    out_dir = Path(output_dir) if output_dir is not None else config.output_dir
    target = report_target(out_dir, config.output_name)
    with output_lock(target):
        report = build_report(config, lang=lang)
        written = report.publish(target, pdf=pdf)
    failures = [f"{s.title}: {s.reason}" for s in report.failures]
    unavailable = [f"{s.title}: {s.reason}" for s in report.unavailable]
    return RunResult(target, written, failures, unavailable)
