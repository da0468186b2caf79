"""Reusable analysis sections of reports; a programme is a list of them (TOML).

A section turns one input of a programme into a :class:`~evalkit.report.elements.Section`
(text, tables, figures). It knows no programme: it receives

- ``data`` -- an :class:`InputData`: the input's table, its **column roles**
  (``id``, ``period``, ``group``, ``outcomes``, ``covariates``, ``weight``,
  ``cluster``, ``site``, ``first_treated``, ``state``...) and its data contract
  (:class:`~evalkit.data.Panel`, ``PersonTable``, ``Sequences``) built once and
  shared by every section reading that input;
- ``ctx`` -- a :class:`SectionContext`: language, seed, disclosure threshold,
  the programme's **labels** of variables and values (fr/en), the section's
  **text table** (its default sentences in fr/en, any of them replaced by the
  programme definition's ``[analyses.text]``), the other inputs and a cache
  shared by the programme's sections (a rule typology fitted once);
- ``params`` -- its validated parameters (defaults of :attr:`SectionSpec.parameters`,
  overridden by the programme definition, then by the report configuration).

Writing a custom section (for what a TOML file cannot say)::

    # mypackage/sections.py
    from evalkit.report.elements import Section, Table
    from evalkit.report.sections import ParamSpec, SectionSpec

    def build(data, ctx, params):
        frame = data.frame.groupby(data.role("site")).size().to_frame("n")
        section = Section(ctx.text("title"))
        section.add(ctx.text("intro", n_sites=ctx.number(len(frame))))
        return section.add(Table(frame, ctx.text("caption"), counts=["n"]))

    SECTION = SectionSpec(
        name="sites", contract="table", roles=("site",), build=build,
        parameters={"min_n": ParamSpec(int, 1, "smallest site shown", minimum=1)},
        text={"title": ("Sites", "Sites"), "intro": ("{n_sites} sites.", "{n_sites} sites."),
              "caption": ("Personnes par site", "People by site")},
    )

and register it in the package's ``pyproject.toml``::

    [project.entry-points."evalkit.sections"]
    sites = "mypackage.sections:SECTION"

A programme definition then uses it as ``section = "sites"``. Numbers in a
section's prose are formatted (``ctx.number``, ``ctx.percent``, ``ctx.estimate``)
from the same results object as the table or figure beside them.
"""

from __future__ import annotations

import difflib
import importlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pandas as pd

from evalkit.errors import ConfigError
from evalkit.report.elements import Section
from evalkit.report.i18n import (
    check_lang,
    format_estimate,
    format_number,
    format_percent,
    format_pvalue,
)
from evalkit.report.labels import Labels
from evalkit.report.params import ParamSpec

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "InputData",
    "ParamSpec",
    "SectionContext",
    "SectionSpec",
    "get_section",
    "register_section",
    "section_names",
]

ENTRY_POINT_GROUP = "evalkit.sections"

# Built-in sections: name -> module holding it (``SECTIONS`` dict or ``SECTION``).
BUILTIN = {
    "table_descriptives": "evalkit.report.sections.descriptives",
    "panel_descriptives": "evalkit.report.sections.descriptives",
    "survey_descriptives": "evalkit.report.sections.descriptives",
    "sequence_descriptives": "evalkit.report.sections.descriptives",
    "cohort_comparison": "evalkit.report.sections.cohort",
    "cohort_robustness": "evalkit.report.sections.cohort",
    "did_2x2": "evalkit.report.sections.did_2x2",
    "attrition": "evalkit.report.sections.attrition",
    "indicators": "evalkit.report.sections.indicators",
    "service_networks": "evalkit.report.sections.networks",
    "rule_typology": "evalkit.report.sections.typology",
    "type_membership": "evalkit.report.sections.typology",
    "sequence_clustering": "evalkit.report.sections.typology",
    "twfe": "evalkit.report.sections.staggered_did",
    "bacon": "evalkit.report.sections.staggered_did",
    "callaway_santanna": "evalkit.report.sections.staggered_did",
    "honest_did": "evalkit.report.sections.honest_did",
    "experiment": "evalkit.report.sections.experiment",
    "lee_bounds": "evalkit.report.sections.lee_bounds",
    "trajectory_effects": "evalkit.report.sections.trajectories",
}

# Roles a programme definition may give an input's columns. List roles take a list.
ROLES = {
    "id": "person or unit identifier (never shown in a report)",
    "period": "period (wave, quarter, month...)",
    "period_label": "readable name of each period (e.g. 2007Q4)",
    "group": "0/1 or boolean arm (treated / pilot / integrated)",
    "first_treated": "first treated period (0 or empty: never treated)",
    "outcome": "the outcome column",
    "outcomes": "outcome columns (list)",
    "covariates": "covariate columns (list)",
    "weight": "survey weight",
    "cluster": "cluster of standard errors",
    "site": "site / territory / station",
    "state": "state of a sequence",
    "responded": "0/1: re-interviewed (follow-up)",
    "source": "source node of an edge",
    "target": "target node of an edge",
    "wave": "wave of a network edge",
    "organisation": "name of an organisation (not a person)",
    "sector": "sector of an organisation",
    "intensity": "strength of a tie",
    "tie_type": "kind of a tie",
}
LIST_ROLES = {"outcomes", "covariates"}


@dataclass(frozen=True)
class SectionSpec:
    """A reusable analysis section: what it needs and how it is built.

    Parameters
    ----------
    name
        Name used by programme definitions (``section = "twfe"``).
    contract
        Contract of its main input: ``"panel"``, ``"persons"``, ``"sequences"``,
        ``"edges"`` or ``"table"`` (any table).
    roles
        Roles its main input must give (``"outcome"``...); ``optional_roles``
        are used when present.
    build
        ``build(data: InputData, ctx: SectionContext, params: dict) -> Section``.
    parameters
        Its parameters (type, default, bounds).
    text
        Default text table ``key -> (fr, en)``; ``"title"`` is its title. A
        programme replaces any entry in ``[analyses.text]``.
    """

    name: str
    contract: str
    build: Callable[..., Section]
    roles: tuple[str, ...] = ()
    optional_roles: tuple[str, ...] = ()
    parameters: Mapping[str, ParamSpec] = field(default_factory=dict)
    text: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    doc: str = ""

    def defaults(self) -> dict[str, Any]:
        return {name: spec.default for name, spec in self.parameters.items()}


_REGISTERED: dict[str, SectionSpec] = {}


def register_section(spec: SectionSpec) -> SectionSpec:
    """Make ``spec`` usable by programme definitions in this process (tests, notebooks)."""
    _REGISTERED[spec.name] = spec
    return spec


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def section_names() -> list[str]:
    """Names of every section available: built-in, registered and installed plug-ins."""
    return sorted({*BUILTIN, *_REGISTERED, *_entry_points()})


def get_section(name: str) -> SectionSpec:
    """The :class:`SectionSpec` called ``name`` (``ConfigError`` naming the closest one)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in BUILTIN:
        module = importlib.import_module(BUILTIN[name])
        return module.SECTIONS[name]
    plugins = _entry_points()
    if name in plugins:
        spec = plugins[name].load()
        if not isinstance(spec, SectionSpec):
            raise ConfigError(
                f"entry point {name!r} of group {ENTRY_POINT_GROUP!r} gives a "
                f"{type(spec).__name__}, not an evalkit.report.sections.SectionSpec"
            )
        return spec
    close = difflib.get_close_matches(name, section_names(), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"known sections: {section_names()}"
    raise ConfigError(f"unknown section {name!r}; {hint}")


@dataclass
class InputData:
    """One input of a programme: its table, column roles and contract (built once).

    ``contract_factory(frame, roles, source)`` builds the data contract on first
    use of :attr:`contract`; sections reading the same input share it.
    """

    name: str
    frame: pd.DataFrame
    roles: dict[str, Any]
    contract_kind: str = "table"
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    file: str = ""  # the file it was read from, named in errors about its columns
    _contract: Any = None

    def role(self, name: str, default: Any = ...) -> Any:
        """Column given role ``name`` (``ConfigError`` naming the input if not given)."""
        value = self.roles.get(name)
        if value in (None, "", []):
            if default is not ...:
                return default
            raise ConfigError(
                f"input {self.name!r} gives no column the role {name!r} ({ROLES.get(name, '')}); "
                f"add it under [inputs.{self.name}.roles]"
            )
        return value

    def has(self, name: str) -> bool:
        return self.roles.get(name) not in (None, "", [])

    def with_roles(self, overrides: Mapping[str, Any]) -> InputData:
        """The same table seen with some roles changed (an analysis's own roles)."""
        if not overrides:
            return self
        return InputData(self.name, self.frame, {**self.roles, **overrides},
                         self.contract_kind, self.source, self.options, self.file)

    @property
    def contract(self):
        """The input's data contract, validated once (its ledger travels to reports)."""
        if self._contract is None:
            from evalkit.report.contracts import build_contract

            self._contract = build_contract(self)
        return self._contract


@dataclass
class SectionContext:
    """What a section receives besides its data: language, labels, text, shared state."""

    lang: str
    seed: int = 0
    threshold: int = 11
    labels: Labels = field(default_factory=Labels)
    texts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    inputs: Mapping[str, InputData] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    where: str = "section"

    def __post_init__(self) -> None:
        check_lang(self.lang)

    def text(self, key: str, **fields) -> str:
        """Text ``key`` of the section's text table in the report's language, filled."""
        if key not in self.texts:
            raise KeyError(f"{self.where}: no text {key!r}")
        fr, en = self.texts[key]
        template = fr if self.lang == "fr" else en
        try:
            return template.format(**fields) if fields else template
        except (KeyError, IndexError, ValueError) as exc:
            known = sorted(fields)
            raise ConfigError(
                f"{self.where}: text {key!r} ({template[:60]!r}...) uses a field this section "
                f"does not provide ({exc}); available fields: {known}"
            ) from exc

    def choose(self, fr: str, en: str) -> str:
        return fr if self.lang == "fr" else en

    def number(self, value, decimals: int | None = None) -> str:
        return format_number(value, self.lang, decimals)

    def percent(self, share, decimals: int = 1) -> str:
        return format_percent(share, self.lang, decimals)

    def pvalue(self, p) -> str:
        return format_pvalue(p, self.lang)

    def estimate(self, estimate, lower, upper, *, level: float = 0.95, decimals: int = 3) -> str:
        return format_estimate(estimate, lower, upper, self.lang, level=level, decimals=decimals)

    def reading(self, lower, upper, level: float = 0.95) -> str:
        """One-line reading of a confidence interval: above, below or around zero."""
        pct = self.percent(level, 0)
        if lower > 0:
            return self.choose(f"intervalle de confiance à {pct} au-dessus de zéro\u00a0: effet positif",
                               f"{pct} confidence interval above zero: a positive effect")
        if upper < 0:
            return self.choose(f"intervalle de confiance à {pct} au-dessous de zéro\u00a0: effet "
                               "négatif", f"{pct} confidence interval below zero: a negative "
                               "effect")
        return self.choose(f"l'intervalle de confiance à {pct} contient zéro\u00a0: pas d'effet établi",
                           f"the {pct} confidence interval includes zero: no effect established")

    def variable(self, name) -> str:
        return self.labels.variable(name, self.lang)

    def input(self, name: str) -> InputData:
        """Another input of the programme (``ConfigError`` if the report has not got it)."""
        if name not in self.inputs:
            raise ConfigError(
                f"{self.where} needs the input {name!r}; add it under the programme's "
                f"[inputs] in the report configuration (given: {sorted(self.inputs)})"
            )
        return self.inputs[name]

    def shared(self, key, make: Callable[[], Any]) -> Any:
        """``make()`` computed once per programme build (fits reused by several sections)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def text_fields(template: str) -> set[str]:
    """Names of the ``{fields}`` a text template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
