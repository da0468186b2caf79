"""Report configuration files (TOML): reading and validation with line numbers.

A configuration names the programmes to report on, each with its input files,
analyses and parameters::

    title = { fr = "Rapport annuel d'évaluation", en = "Annual evaluation report" }
    lang = "fr"
    seed = 2024
    disclosure_threshold = 11
    root = "../.."                 # paths below are relative to it (itself relative to this file)
    output_dir = "reports/output"

    [rsa_experiment]
    analyses = ["descriptives", "twfe", "callaway_santanna"]
    [rsa_experiment.inputs]
    panel = "data_samples/rsa_experiment_panel.csv"
    [rsa_experiment.parameters]
    n_boot = 499

Every error is a :class:`~evalkit.errors.ConfigError` naming the key and its
line; unknown keys are refused with the closest known key suggested, since a
misspelt optional key would otherwise be silently ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.disclosure import DEFAULT_THRESHOLD
from evalkit.errors import ConfigError
from evalkit.report.i18n import LANGUAGES
from evalkit.report.output import check_output_name
from evalkit.report.params import ParamSpec
from evalkit.report.programme import PROGRAMMES, ProgrammeSpec, get_programme
from evalkit.report.tomlkeys import key_lines as _key_lines
from evalkit.report.tomlkeys import line_of
from evalkit.report.tomlkeys import unknown_key as _unknown

__all__ = ["ProgrammeConfig", "ReportConfig", "load_config", "parse_config"]

_TOP = {
    "title": ParamSpec(str, "", "report title, or { fr = ..., en = ... } (default: the programme's)"),
    "subtitle": ParamSpec(str, "", "line under the title, or { fr = ..., en = ... }"),
    "lang": ParamSpec(str, "fr", "report language", choices=LANGUAGES),
    "seed": ParamSpec(int, 2024, "random seed (bootstrap, permutations)", minimum=0),
    "disclosure_threshold": ParamSpec(
        int, DEFAULT_THRESHOLD, "counts of persons below it are masked", minimum=1
    ),
    "root": ParamSpec(str, ".", "base of relative paths, relative to the configuration file"),
    "output_dir": ParamSpec(str, "reports/output", "directory of the report"),
    "output_name": ParamSpec(str, "", "file name without .html (default: the config's name)"),
}
_PROGRAMME_KEYS = ("programme", "analyses", "inputs", "parameters")


@dataclass
class ProgrammeConfig:
    """One programme of a report: its definition, inputs (absolute paths), analyses, and
    the parameters the configuration sets (the definition gives the others)."""

    name: str
    inputs: dict[str, Path]
    analyses: list[str]
    parameters: dict[str, Any]
    spec: ProgrammeSpec | None = None


@dataclass
class ReportConfig:
    """A validated report configuration (``title``/``subtitle``: text per language)."""

    path: Path | None
    title: dict[str, str]
    subtitle: dict[str, str]
    lang: str
    seed: int
    disclosure_threshold: int
    output_dir: Path
    output_name: str
    programmes: list[ProgrammeConfig] = field(default_factory=list)

    @property
    def output_path(self) -> Path:
        return self.output_dir / f"{self.output_name}.html"


def load_config(path: str | Path) -> ReportConfig:
    """Read and validate a TOML report configuration."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"configuration {path} is not UTF-8 text: {exc}") from exc
    return parse_config(text, path)


def parse_config(text: str, path: Path | None = None) -> ReportConfig:
    """Validate configuration ``text``; relative paths resolve against ``path``'s directory."""
    name = str(path) if path else "<config>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from exc
    lines = _key_lines(text)

    def where(*keys: str) -> str:
        dotted = ".".join(keys)
        line = line_of(lines, keys)
        return f"{name}, line {line}: key '{dotted}'" if line else f"{name}: key '{dotted}'"

    known_top = [*_TOP, *PROGRAMMES]
    for key in data:
        # Any table is a programme (package, beside the config, or `programme = path`).
        if key not in _TOP and not isinstance(data[key], dict):
            _unknown(key, known_top, where(key))
    values = {}
    for key, spec in _TOP.items():
        if key in ("title", "subtitle") and isinstance(data.get(key), dict):
            values[key] = _by_language(data[key], lambda sub, key=key: where(key, sub))
            continue
        values[key] = spec.check(data[key], where(key)) if key in data else spec.default
    if values["output_name"]:
        check_output_name(values["output_name"], where("output_name"))

    base = path.parent if path else Path.cwd()
    root = (base / values["root"]).resolve()
    programmes = []
    for prog_name in [k for k in data if k not in _TOP]:
        programmes.append(_programme(prog_name, data[prog_name], root, where, base))
    if not programmes:
        raise ConfigError(
            f"{name}: no programme to report on; add a table for one of {sorted(PROGRAMMES)}, "
            "e.g. [rsa_experiment] with [rsa_experiment.inputs]"
        )
    if len(programmes) == 1:
        default_title = dict(programmes[0].spec.title)
    else:
        default_title = {"fr": "Rapport annuel d'évaluation", "en": "Annual evaluation report"}
    title = values["title"] or default_title
    return ReportConfig(
        path=path,
        title=title if isinstance(title, dict) else dict.fromkeys(LANGUAGES, title),
        subtitle=values["subtitle"] if isinstance(values["subtitle"], dict)
        else dict.fromkeys(LANGUAGES, values["subtitle"]),
        lang=values["lang"],
        seed=values["seed"],
        disclosure_threshold=values["disclosure_threshold"],
        output_dir=(root / values["output_dir"]),
        output_name=values["output_name"] or (path.stem if path else "report"),
        programmes=programmes,
    )


def _programme(prog_name: str, table: dict, root: Path, where, base: Path) -> ProgrammeConfig:
    definition = table.get("programme")
    if definition is not None and not isinstance(definition, str):
        raise ConfigError(f"{where(prog_name, 'programme')} must be the path of a programme "
                          "definition (string)")
    try:
        spec = get_programme(prog_name, beside=base, path=definition)
    except ConfigError as exc:
        key = (prog_name, "programme") if definition is not None else (prog_name,)
        raise ConfigError(f"{where(*key)}: {exc}") from None
    for key in table:
        if key not in _PROGRAMME_KEYS:
            _unknown(key, _PROGRAMME_KEYS, where(prog_name, key))

    analyses = list(spec.analyses)
    if "analyses" in table:
        analyses = ParamSpec("list[str]", None, "", choices=tuple(spec.analyses)).check(
            table["analyses"], where(prog_name, "analyses")
        )
        if not analyses:
            raise ConfigError(f"{where(prog_name, 'analyses')} is empty; list at least one of "
                              f"{list(spec.analyses)}")

    inputs_table = table.get("inputs", {})
    if not isinstance(inputs_table, dict):
        raise ConfigError(f"{where(prog_name, 'inputs')} must be a table of name = \"path\"")
    inputs = {}
    for key, value in inputs_table.items():
        if key not in spec.inputs:
            _unknown(key, list(spec.inputs), where(prog_name, "inputs", key))
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where(prog_name, 'inputs', key)} must be a file path (string)")
        inputs[key] = (root / value).resolve()
    missing = [k for k, s in spec.inputs.items() if s.required and k not in inputs]
    if missing:
        raise ConfigError(
            f"{where(prog_name, 'inputs')}: required input(s) {missing} missing "
            f"({'; '.join(f'{k}: {spec.inputs[k].doc}' for k in missing)})"
        )

    params_table = table.get("parameters", {})
    if not isinstance(params_table, dict):
        raise ConfigError(f"{where(prog_name, 'parameters')} must be a table")
    params = {}
    for key, value in params_table.items():
        if key not in spec.parameters:
            _unknown(key, list(spec.parameters), where(prog_name, "parameters", key))
        params[key] = spec.parameters[key].check(value, where(prog_name, "parameters", key))
    return ProgrammeConfig(prog_name, inputs, analyses, params, spec)


def _by_language(table: dict, where) -> dict[str, str]:
    """A text given per language, ``{ fr = "...", en = "..." }``; both are required."""
    for key, value in table.items():
        if key not in LANGUAGES:
            _unknown(key, LANGUAGES, where(key))
        if not isinstance(value, str):
            raise ConfigError(f"{where(key)} must be a string, got {value!r}")
    missing = [lang for lang in LANGUAGES if lang not in table]
    if missing:
        raise ConfigError(f"{where(missing[0]).rsplit('.', 1)[0]}' gives no text for {missing}; "
                          "give both fr and en")
    return dict(table)
