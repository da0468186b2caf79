"""What a programme report declares: its inputs, analyses, parameters and builder.

Each evaluated programme (``hope_in_stations``, ``rsa_experiment``,
``cpas_careers``) has one module in :mod:`evalkit.report` holding a
:class:`ProgrammeSpec`. The batch command validates configurations against
it and the notebooks call the same ``build``: the analysis code exists once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.data import read_table
from evalkit.errors import ConfigError

__all__ = [
    "PROGRAMMES",
    "InputSpec",
    "ParamSpec",
    "ProgrammeSpec",
    "get_programme",
    "read_inputs",
    "sample_paths",
]

PROGRAMMES = {
    "hope_in_stations": "evalkit.report.hope_in_stations",
    "rsa_experiment": "evalkit.report.rsa_experiment",
    "cpas_careers": "evalkit.report.cpas_careers",
}


@dataclass(frozen=True)
class InputSpec:
    """An input table of a programme."""

    doc: str
    required: bool = True
    id_column: str | None = None  # person identifiers: never rendered


@dataclass(frozen=True)
class ParamSpec:
    """A parameter: kind (``int``, ``float``, ``str``, ``bool``, ``"list[str]"``), default, bounds."""

    kind: Any
    default: Any
    doc: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value, where: str):
        """Validated value, or :class:`ConfigError` saying what is expected at ``where``."""
        kind = self.kind
        if kind == "list[str]":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{where} must be a list of strings, got {value!r}")
            bad = [v for v in value if self.choices and v not in self.choices]
            if bad:
                raise ConfigError(f"{where}: unknown value(s) {bad}; allowed: {list(self.choices)}")
            return list(value)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind in (int, float) and isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(
                f"{where} must be {_kind_name(kind)}, got {type(value).__name__} {value!r}"
            )
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{where} must be one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where} must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{where} must be <= {self.maximum}, got {value!r}")
        return value


def _kind_name(kind) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        kind, str(kind)
    )


@dataclass(frozen=True)
class ProgrammeSpec:
    """A programme report: declared inputs/analyses/parameters and the function building it.

    ``build(tables, *, analyses, params, lang, seed, threshold) -> Section``
    receives the input tables by name (``threshold``: the report's disclosure
    threshold, for estimators that protect their own tables); ``generate(seed) -> tables`` draws synthetic inputs
    of the same shape (tests, demos).
    """

    name: str
    title: Mapping[str, str]
    inputs: Mapping[str, InputSpec]
    analyses: Mapping[str, str]
    parameters: Mapping[str, ParamSpec]
    build: Callable[..., Any]
    generate: Callable[[int], dict[str, pd.DataFrame]]
    read_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.parameters.items()}

    def identifier_columns(self) -> dict[str, str]:
        return {name: s.id_column for name, s in self.inputs.items() if s.id_column}


def get_programme(name: str) -> ProgrammeSpec:
    """The :class:`ProgrammeSpec` of programme ``name``."""
    if name not in PROGRAMMES:
        raise ConfigError(f"unknown programme {name!r}; known: {sorted(PROGRAMMES)}")
    return importlib.import_module(PROGRAMMES[name]).PROGRAMME


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
