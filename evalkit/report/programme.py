"""Programme definitions (TOML): inputs with column roles, labels, narrative, analyses.

A programme is described in a file, not in Python::

    [programme]
    title = { fr = "Expérimentation du rSa", en = "rSa experiment" }
    narrative = { fr = "Le rSa a été expérimenté dans des zones...", en = "The rSa..." }

    [inputs.panel]
    contract = "panel"                      # panel | persons | sequences | edges | table
    doc = "recipient x quarter panel"
    [inputs.panel.roles]                    # which column plays which role
    id = "unit_id"                          # identifiers: never shown in a report
    period = "period"
    outcome = "return_to_work"
    first_treated = "first_treated"
    cluster = "zone_id"

    [labels.variables]
    return_to_work = { fr = "Retour à l'emploi", en = "Return to work" }
    [labels.values.sex]
    F = { fr = "femme", en = "female" }

    [parameters]                            # values shared by the analyses' sections
    n_boot = 999

    [[analyses]]
    name = "twfe"                           # name used by report configurations
    section = "twfe"                        # a section of evalkit.report.sections
    input = "panel"
    [analyses.text]                         # replace any sentence of the section's text table
    intro = { fr = "Coefficient TWFE : {estimate}.", en = "TWFE coefficient: {estimate}." }

A report configuration names a programme by a table ``[NAME]``: the definition
is ``NAME.toml`` in evalkit's package data (the seed programmes
``hope_in_stations``, ``rsa_experiment``, ``cpas_careers``), or
``NAME.programme.toml`` beside the configuration, or the file given by
``programme = "path/to/x.toml"`` in that table. Every error names the file,
line and key, and suggests the closest known key, section or role.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.data import read_table
from evalkit.data.validation import show_values
from evalkit.errors import ConfigError, MissingColumnError
from evalkit.report.contracts import CONTRACTS
from evalkit.report.elements import Section
from evalkit.report.guarded import build_section
from evalkit.report.i18n import LANGUAGES
from evalkit.report.labels import Labels
from evalkit.report.params import ParamSpec
from evalkit.report.sections import (
    LIST_ROLES,
    ROLES,
    InputData,
    SectionContext,
    SectionSpec,
    get_section,
    section_names,
    text_fields,
)
from evalkit.report.tomlkeys import key_lines, line_of, unknown_key

__all__ = [
    "PROGRAMMES",
    "AnalysisSpec",
    "InputSpec",
    "ParamSpec",
    "ProgrammeSpec",
    "find_programme",
    "get_programme",
    "load_programme",
    "read_inputs",
    "sample_paths",
]

PACKAGE = "evalkit.report.programmes"
PROGRAMMES = tuple(
    sorted(p.name.removesuffix(".toml") for p in resources.files(PACKAGE).iterdir()
           if p.name.endswith(".toml"))
)

_TOP = ("programme", "inputs", "labels", "parameters", "analyses", "samples")
_PROGRAMME = ("title", "narrative")
_INPUT = ("contract", "doc", "required", "roles", "alphabet", "read")
_ANALYSIS = ("name", "section", "input", "roles", "parameters", "text")
_SAMPLES = ("generator", "options")


@dataclass(frozen=True)
class InputSpec:
    """An input table of a programme: its contract and column roles."""

    doc: str
    required: bool = True
    contract: str = "table"
    roles: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id_column(self) -> str | None:
        """Person identifiers (never rendered; protected by the report)."""
        return self.roles.get("id") or None


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis of a programme: a section applied to an input."""

    name: str
    section: SectionSpec
    input: str
    roles: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    text: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def texts(self) -> dict[str, tuple[str, str]]:
        return {**self.section.text, **self.text}

    def title(self, lang: str) -> str:
        fr, en = self.texts().get("title", (self.name, self.name))
        return fr if lang == "fr" else en


@dataclass(frozen=True)
class ProgrammeSpec:
    """A programme: inputs, labels, analyses and the parameters a configuration may set.

    ``parameters``: every section parameter the analyses use and every column
    role of the inputs (a configuration may point a role at another column).
    """

    name: str
    title: Mapping[str, str]
    inputs: Mapping[str, InputSpec]
    analyses: Mapping[str, AnalysisSpec]
    parameters: Mapping[str, ParamSpec]
    narrative: Mapping[str, str] = field(default_factory=dict)
    labels: Labels = field(default_factory=Labels)
    samples: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None
    read_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.parameters.items()}

    def identifier_columns(self, params: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Person-identifier column of each input: its ``id`` role, as the configuration
        ``params`` point it (``id = "nir"``), so protection follows the declared role."""
        out = {}
        for name in self.inputs:
            column = self._roles(name, params or {}).get("id")
            if column:
                out[name] = column
        return out

    def effective(self, overrides: Mapping[str, Any] | None = None,
                  analyses: Sequence[str] | None = None) -> dict[str, Any]:
        """The parameters the analyses run with, for the provenance block.

        A section parameter set differently by some analyses (``baseline`` of the
        attrition analysis) is shown per analysis: ``{analysis: value}``.
        """
        overrides = dict(overrides or {})
        out = {**self.defaults(), **overrides}
        chosen = [self.analyses[a] for a in (analyses or list(self.analyses))]
        for key in self.parameters:
            if key in overrides:
                continue
            values = {a.name: a.parameters.get(key, out[key]) for a in chosen
                      if key in a.section.parameters}
            distinct = {repr(v) for v in values.values()}
            if len(distinct) == 1:
                out[key] = next(iter(values.values()))
            elif distinct:
                out[key] = values
        return out

    def generate(self, seed: int) -> dict[str, pd.DataFrame]:
        """Synthetic inputs of this programme's shape (``[samples]`` of its definition)."""
        generator = self.samples.get("generator")
        if not generator:
            raise ConfigError(f"programme {self.name!r} declares no [samples] generator")
        module = importlib.import_module(generator)
        data = module.generate(seed=seed, **dict(self.samples.get("options", {})))
        return {k: v for k, v in dict(data.tables).items() if k in self.inputs}

    def build(self, tables: Mapping[str, pd.DataFrame], *, analyses: Sequence[str] | None = None,
              params: Mapping[str, Any] | None = None, lang: str = "fr", seed: int = 0,
              threshold: int = 11, files: Mapping[str, str | Path] | None = None) -> Section:
        """The programme's section: narrative, then one guarded sub-section per analysis.

        ``params`` are the report configuration's parameters: they override the
        definition's ``[parameters]`` and each analysis's own ``parameters``.
        ``files`` are the input files by input name (named in errors about their columns).
        """
        overrides = dict(params or {})
        settings = {**self.defaults(), **overrides}
        section = Section(self.title[lang])
        if self.narrative.get(lang):
            section.add(self.narrative[lang])
        inputs = {
            name: InputData(name, frame, self._roles(name, overrides),
                            self.inputs[name].contract if name in self.inputs else "table",
                            f"{self.name}/{name}", dict(self.inputs[name].options)
                            if name in self.inputs else {},
                            Path(files[name]).name if files and name in files else "")
            for name, frame in tables.items()
        }
        cache: dict = {}
        for name in analyses if analyses is not None else list(self.analyses):
            analysis = self.analyses[name]
            section.add(build_section(
                analysis.title(lang), self._run, analysis, inputs, settings, overrides,
                SectionContext(lang, seed, threshold, self.labels, analysis.texts(), inputs,
                               cache, where=f"analysis {name!r} of programme {self.name!r}"),
                key=f"{self.name}-{name}",
            ))
        return section

    def _roles(self, input_name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
        roles = dict(self.inputs[input_name].roles) if input_name in self.inputs else {}
        # A configuration's parameter named like a role points that role at another column.
        return {role: overrides.get(role, column) for role, column in roles.items()}

    def _run(self, analysis: AnalysisSpec, inputs, settings, overrides, ctx) -> Section:
        if analysis.input not in inputs:
            raise ConfigError(f"{ctx.where} needs the input {analysis.input!r}; add it under "
                              f"the programme's inputs in the report configuration")
        data = inputs[analysis.input]
        data = data.with_roles({role: overrides.get(role, column)
                                for role, column in analysis.roles.items()})
        check_columns(data, analysis, self.name,
                      definition=self.path.name if self.path else None)
        spec = analysis.section
        params = {**spec.defaults(),
                  **{k: v for k, v in settings.items() if k in spec.parameters},
                  **dict(analysis.parameters),
                  **{k: v for k, v in overrides.items() if k in spec.parameters}}
        return spec.build(data, ctx, params)


def check_columns(data: InputData, analysis: AnalysisSpec, programme: str, *,
                  definition: str | None = None) -> None:
    """Every column the analysis's roles name is in its input (else say which, where).

    The error names the input and its file, the column, its role, and the keys
    that point the role at another column: the configuration's
    ``PROGRAMME.parameters.ROLE`` and the role in the programme ``definition``.
    """
    import difflib

    spec = analysis.section
    missing_roles = [r for r in spec.roles if not data.has(r)]
    if missing_roles:
        described = "; ".join(f"{r}: {ROLES.get(r, '')}" for r in missing_roles)
        raise ConfigError(
            f"analysis {analysis.name!r} (section {spec.name!r}) of programme {programme!r} "
            f"needs the role(s) {missing_roles} of input {data.name!r}; give them under "
            f"[inputs.{data.name}.roles] ({described})"
        )
    columns = [str(c) for c in data.frame.columns]
    for role in (*spec.roles, *spec.optional_roles):
        value = data.roles.get(role)
        for column in ([value] if isinstance(value, str) else list(value or [])):
            if column and column not in data.frame.columns:
                close = difflib.get_close_matches(column, columns, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}? " if close else ""
                source = f" ({data.file})" if data.file else ""
                in_definition = (f"analyses.{analysis.name}.roles.{role}"
                                 if role in analysis.roles else f"inputs.{data.name}.roles.{role}")
                defined = f" of {definition}" if definition else ""
                raise MissingColumnError(
                    f"input {data.name!r}{source} has no column {column!r} (role {role!r}, "
                    f"parameter {role!r}) that analysis {analysis.name!r} of programme "
                    f"{programme!r} reads; {hint}its columns are {show_values(columns, 30)}. "
                    f"Set the key '{programme}.parameters.{role}' in the configuration to the "
                    f"name of your column (or '{in_definition}' in the programme "
                    f"definition{defined}), or rename the column in the file."
                )


# --------------------------------------------------------------------------- loading


def load_programme(path: str | Path, name: str | None = None) -> ProgrammeSpec:
    """Read and validate the programme definition at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read programme definition {path}: {exc.strerror or exc}") \
            from exc
    return parse_programme(text, name or path.name.removesuffix(".toml").removesuffix(
        ".programme"), path)


def parse_programme(text: str, name: str, path: Path | str | None = None) -> ProgrammeSpec:
    """Validate programme definition ``text`` (``path`` only names it in errors)."""
    where_file = str(path) if path else f"<programme {name}>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where_file}: not valid TOML: {exc}") from exc
    lines = key_lines(text)

    def where(*keys) -> str:
        dotted = ".".join(map(str, keys))
        line = line_of(lines, keys)
        return f"{where_file}, line {line}: key '{dotted}'" if line else \
            f"{where_file}: key '{dotted}'"

    def known(table, allowed, *keys):
        if not isinstance(table, dict):
            raise ConfigError(f"{where(*keys)} must be a table")
        for key in table:
            if key not in allowed:
                unknown_key(key, allowed, where(*keys, key))

    known(data, _TOP)
    head = data.get("programme", {})
    known(head, _PROGRAMME, "programme")
    if "title" not in head:
        raise ConfigError(f"{where_file}: [programme] needs a title = {{ fr = ..., en = ... }}")
    title = _text_pair(head["title"], where, "programme", "title")
    narrative = _text_pair(head.get("narrative", ""), where, "programme", "narrative")

    inputs = {}
    for input_name, table in data.get("inputs", {}).items():
        known(table, _INPUT, "inputs", input_name)
        contract = table.get("contract", "table")
        if contract not in CONTRACTS:
            unknown_key(contract, list(CONTRACTS), where("inputs", input_name, "contract")
                        + f" = {contract!r}")
        roles = table.get("roles", {})
        known(roles, ROLES, "inputs", input_name, "roles")
        for role, column in roles.items():
            _check_role(role, column, where("inputs", input_name, "roles", role))
        options = {"alphabet": table["alphabet"]} if "alphabet" in table else {}
        inputs[input_name] = InputSpec(str(table.get("doc", input_name)),
                                       bool(table.get("required", True)), contract, roles, options)
    if not inputs:
        raise ConfigError(f"{where_file}: no [inputs.NAME] table; declare at least one input")
    read_options = {n: t["read"] for n, t in data.get("inputs", {}).items() if "read" in t}

    labels_table = data.get("labels", {})
    known(labels_table, ("variables", "values"), "labels")
    variables = {k: _text_tuple(v, where, "labels", "variables", k)
                 for k, v in labels_table.get("variables", {}).items()}
    values = {(var, str(value)): _text_tuple(v, where, "labels", "values", var, value)
              for var, table in labels_table.get("values", {}).items()
              for value, v in table.items()}

    shared = data.get("parameters", {})
    known(shared, list(shared), "parameters")
    analyses: dict[str, AnalysisSpec] = {}
    entries = data.get("analyses", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where_file}: no [[analyses]]; add at least one with "
                          f"name, section and input (sections: {section_names()})")
    for k, entry in enumerate(entries):
        known(entry, _ANALYSIS, "analyses", k)
        for key in ("name", "section", "input"):
            if key not in entry:
                raise ConfigError(f"{where('analyses', k)}: [[analyses]] number {k + 1} has no "
                                  f"'{key}'")
        try:
            section = get_section(entry["section"])
        except ConfigError as exc:
            raise ConfigError(f"{where('analyses', k, 'section')}: {exc}") from None
        if entry["input"] not in inputs:
            unknown_key(entry["input"], list(inputs), where("analyses", k, "input")
                        + f" = {entry['input']!r} (an input)")
        contract = inputs[entry["input"]].contract
        if section.contract not in ("table", contract):
            raise ConfigError(
                f"{where('analyses', k, 'input')}: section {section.name!r} reads a "
                f"{section.contract} input, {entry['input']!r} is declared as {contract}"
            )
        roles = entry.get("roles", {})
        known(roles, ROLES, "analyses", k, "roles")
        params = entry.get("parameters", {})
        known(params, list(section.parameters), "analyses", k, "parameters")
        params = {key: section.parameters[key].check(value, where("analyses", k, "parameters",
                                                                     key))
                  for key, value in params.items()}
        texts = entry.get("text", {})
        known(texts, list(section.text), "analyses", k, "text")
        texts = {key: _text_tuple(v, where, "analyses", k, "text", key)
                 for key, v in texts.items()}
        for key, pair in texts.items():
            extra = set().union(*map(text_fields, pair)) - set().union(
                *map(text_fields, section.text[key]))
            if extra:
                raise ConfigError(
                    f"{where('analyses', k, 'text', key)} uses {sorted(extra)}, which section "
                    f"{section.name!r} does not fill in this text (it fills "
                    f"{sorted(set().union(*map(text_fields, section.text[key]))) or 'none'})"
                )
        if entry["name"] in analyses:
            raise ConfigError(f"{where('analyses', k, 'name')}: analysis name "
                              f"{entry['name']!r} is used twice")
        analyses[entry["name"]] = AnalysisSpec(entry["name"], section, entry["input"], roles,
                                               params, texts)

    parameters = _parameters(inputs, analyses, shared, where)
    samples = data.get("samples", {})
    known(samples, _SAMPLES, "samples")
    return ProgrammeSpec(name, title, inputs, analyses, parameters, narrative,
                         Labels(variables, values), samples,
                         Path(path) if path else None, read_options)


def _parameters(inputs, analyses, shared, where) -> dict[str, ParamSpec]:
    """Parameters a configuration may set: section parameters and column roles."""
    out: dict[str, ParamSpec] = {}
    for analysis in analyses.values():
        for key, spec in analysis.section.parameters.items():
            out.setdefault(key, spec)
    for key, value in shared.items():
        if key not in out:
            unknown_key(key, list(out), where("parameters", key) + " (no analysis uses it)")
        spec = out[key]
        out[key] = ParamSpec(spec.kind, spec.check(value, where("parameters", key)), spec.doc,
                             spec.choices, spec.minimum, spec.maximum)
    for input_spec in inputs.values():
        for role, column in input_spec.roles.items():
            if role not in out:
                kind = "list[str]" if role in LIST_ROLES else str
                out[role] = ParamSpec(kind, column, f"column of role {role} ({ROLES[role]})")
    return out


def _check_role(role: str, column, where: str) -> None:
    if role in LIST_ROLES:
        if not (isinstance(column, list) and all(isinstance(c, str) for c in column)):
            raise ConfigError(f"{where} must be a list of column names, got {column!r}")
    elif not isinstance(column, str):
        raise ConfigError(f"{where} must be a column name (string), got {column!r}")


def _text_tuple(value, where, *keys) -> tuple[str, str]:
    pair = _text_pair(value, where, *keys)
    return (pair["fr"], pair["en"])


def _text_pair(value, where, *keys) -> dict[str, str]:
    """A text in both languages: ``{ fr = ..., en = ... }`` (a plain string serves both)."""
    if isinstance(value, str):
        return dict.fromkeys(LANGUAGES, value)
    if not isinstance(value, dict):
        raise ConfigError(f"{where(*keys)} must be a string or {{ fr = ..., en = ... }}")
    for lang, text in value.items():
        if lang not in LANGUAGES:
            unknown_key(lang, LANGUAGES, where(*keys, lang))
        if not isinstance(text, str):
            raise ConfigError(f"{where(*keys, lang)} must be a string, got {text!r}")
    missing = [lang for lang in LANGUAGES if lang not in value]
    if missing:
        raise ConfigError(f"{where(*keys)} gives no text for {missing}; give both fr and en")
    return dict(value)


# --------------------------------------------------------------------------- finding


def find_programme(name: str, *, beside: str | Path | None = None,
                   path: str | Path | None = None) -> Path:
    """File of programme ``name``: ``path``, else ``NAME.programme.toml`` beside, else package."""
    if path is not None:
        path = Path(path)
        if not path.is_absolute() and beside is not None:
            path = Path(beside) / path
        if not path.is_file():
            raise ConfigError(f"programme definition {path} does not exist")
        return path
    if beside is not None:
        local = Path(beside) / f"{name}.programme.toml"
        if local.is_file():
            return local
    if (Path(str(resources.files(PACKAGE))) / f"{name}.toml").is_file():
        return Path(str(resources.files(PACKAGE).joinpath(f"{name}.toml")))
    import difflib

    close = difflib.get_close_matches(name, PROGRAMMES, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ConfigError(
        f"unknown programme {name!r}{hint}; known: {list(PROGRAMMES)}; or write "
        f"{name}.programme.toml beside the configuration, or set programme = \"path/to/{name}.toml\""
        f" in its [{name}] table (evalkit init {name} --data FILE writes one)"
    )


_CACHE: dict[tuple[str, str], ProgrammeSpec] = {}

def get_programme(name: str, *, beside: str | Path | None = None,
                  path: str | Path | None = None) -> ProgrammeSpec:
    """The :class:`ProgrammeSpec` of programme ``name`` (see :func:`find_programme`)."""
    file = find_programme(name, beside=beside, path=path)
    text = file.read_text(encoding="utf-8")
    key = (name, text)
    if key not in _CACHE:
        _CACHE[key] = parse_programme(text, name, file)
    return _CACHE[key]


def read_inputs(spec: ProgrammeSpec, paths: Mapping[str, str | Path]) -> dict[str, pd.DataFrame]:
    """Read the programme's input files (``InputFileError`` naming the file if one is bad)."""
    missing = [n for n, s in spec.inputs.items() if s.required and n not in paths]
    if missing:
        raise ConfigError(f"programme {spec.name}: input(s) {missing} not given")
    return {
        name: read_table(path, **dict(spec.read_options.get(name, {})))
        for name, path in paths.items()
    }


def sample_paths(name: str, data_dir: str | Path) -> dict[str, Path]:
    """Input files of programme ``name`` in a directory laid out like ``data_samples/``.

    Files are named ``<programme>_<input>.csv``; optional inputs are included
    when their file exists, required ones always (a missing one then fails
    with the file's name when read).
    """
    spec = get_programme(name)
    data_dir = Path(data_dir)
    paths = {}
    for input_name, input_spec in spec.inputs.items():
        path = data_dir / f"{name}_{input_name}.csv"
        if input_spec.required or path.exists():
            paths[input_name] = path
    return paths
