"""Declarative definitions of monitoring indicators.

An :class:`Indicator` says *what* is measured, independently of the data
layout: its kind, numerator and denominator (columns or expressions, see
:mod:`evalkit.indicators.expressions`), the population (filters) and the
disaggregations to publish. :class:`Disaggregations` maps the standard
disaggregation roles (``sex``, ``age_band``, ``territory``, ``period``,
``status``) to the columns of a given data set, and defines the age bands.

Kinds
-----
``proportion``
    Share of the population (rows passing ``filters`` and the ``denominator``
    condition, if any) for which ``numerator`` (a condition, or a 0/1 column)
    is true. Wilson score interval.
``rate``
    ``sum(numerator) / sum(denominator) * per``: events per unit of exposure
    (e.g. exits to employment per 1,000 person-months). Exact Poisson
    interval on the event count, so the numerator must be counts.
``mean``
    Mean of ``numerator`` over the population. Student t interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalkit.errors import ConfigError
from evalkit.indicators.expressions import Expression
from evalkit.options import check_option

KINDS = ("proportion", "rate", "mean")
ROLES = ("sex", "age_band", "territory", "period", "status")


@dataclass(frozen=True)
class Indicator:
    """One monitoring indicator.

    Parameters
    ----------
    name
        Identifier (used as column/row key).
    label_fr, label_en
        Labels for French and English reports.
    kind
        ``"proportion"``, ``"rate"`` or ``"mean"`` (see module docstring).
    numerator
        Column or expression. Proportion: a condition (``"state == 'job'"``)
        or a 0/1 or boolean column. Rate: event counts. Mean: the value.
    denominator
        Proportion: optional condition restricting the population
        (``"eligible"``). Rate: the exposure (column or expression, > 0).
        Mean: must be ``None``.
    filters
        Conditions every counted row satisfies (combined with ``and``).
    disaggregations
        Roles (``sex``, ``age_band``, ``territory``, ``period``, ``status``) or
        plain column names; cells are published for their full cross and, by
        default, every margin.
    per
        Multiplier of a rate (e.g. 1000) or of a proportion (100 = percent).
    unit_fr, unit_en
        Unit shown in reports (``"%"``, ``"pour 1 000 mois-personnes"``).
    """

    name: str
    label_fr: str
    label_en: str
    kind: str
    numerator: str
    denominator: str | None = None
    filters: tuple[str, ...] = ()
    disaggregations: tuple[str, ...] = ()
    per: float = 1.0
    unit_fr: str = ""
    unit_en: str = ""

    def __post_init__(self) -> None:
        check_option("kind", self.kind, KINDS, where=f"indicator {self.name!r}")
        if isinstance(self.filters, str):
            object.__setattr__(self, "filters", (self.filters,))
        if isinstance(self.disaggregations, str):
            object.__setattr__(self, "disaggregations", (self.disaggregations,))
        object.__setattr__(self, "filters", tuple(self.filters))
        object.__setattr__(self, "disaggregations", tuple(self.disaggregations))
        if len(set(self.disaggregations)) != len(self.disaggregations):
            raise ConfigError(f"indicator {self.name!r}: a disaggregation is listed twice")
        if self.kind == "rate" and self.denominator is None:
            raise ConfigError(
                f"indicator {self.name!r}: a rate needs a denominator (the exposure, e.g. "
                "'person_months')"
            )
        if self.kind == "mean" and self.denominator is not None:
            raise ConfigError(
                f"indicator {self.name!r}: a mean has no denominator; restrict the population "
                "with filters instead"
            )
        if not self.per > 0:
            raise ConfigError(f"indicator {self.name!r}: per must be positive, got {self.per!r}")
        # Parse now so that a bad expression fails at definition time.
        self.expressions()

    @classmethod
    def from_dict(cls, spec: dict) -> Indicator:
        """Build from a mapping (e.g. a ``[[indicators]]`` table of a TOML report config).

        Keys are the field names; ``label = {fr = ..., en = ...}`` is accepted
        for ``label_fr`` / ``label_en``. Unknown keys raise :class:`ConfigError`.
        """
        spec = dict(spec)
        label = spec.pop("label", None)
        if isinstance(label, dict):
            spec.setdefault("label_fr", label.get("fr"))
            spec.setdefault("label_en", label.get("en"))
        fields = set(cls.__dataclass_fields__)
        unknown = sorted(set(spec) - fields)
        if unknown:
            raise ConfigError(f"unknown indicator key(s) {unknown}; allowed: {sorted(fields)}")
        missing = sorted(f for f in ("name", "label_fr", "label_en", "kind", "numerator")
                         if spec.get(f) is None)
        if missing:
            raise ConfigError(f"indicator {spec.get('name', '?')!r} lacks {missing}")
        for key in ("filters", "disaggregations"):
            if key in spec and isinstance(spec[key], list):
                spec[key] = tuple(spec[key])
        return cls(**spec)

    def expressions(self) -> dict[str, Expression | None]:
        """Parsed numerator, denominator and filter expressions."""
        return {
            "numerator": Expression.parse(self.numerator),
            "denominator": None if self.denominator is None else Expression.parse(self.denominator),
            "filters": [Expression.parse(f) for f in self.filters],
        }

    def label(self, lang: str = "en") -> str:
        """Label in ``lang`` (``"fr"`` or ``"en"``)."""
        return self.label_fr if lang == "fr" else self.label_en

    def unit(self, lang: str = "en") -> str:
        return self.unit_fr if lang == "fr" else self.unit_en


@dataclass(frozen=True)
class AgeBands:
    """Age bands ``[edges[i], edges[i+1])``; the last band is open (``65+``).

    Labels default to ``"18-24"``, ``"25-34"``, ..., ``"65+"`` (ages below the
    first edge get ``"<18"``).
    """

    edges: tuple[float, ...] = (18, 25, 35, 50, 65)
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        edges = tuple(float(e) for e in self.edges)
        if len(edges) < 1 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ConfigError(f"age band edges must be increasing, got {self.edges!r}")
        object.__setattr__(self, "edges", edges)
        labels = self.labels or self.default_labels(edges)
        if len(labels) != len(edges) + 1:
            raise ConfigError(
                f"age bands need {len(edges) + 1} labels (one below the first edge, one per band), "
                f"got {len(labels)}"
            )
        object.__setattr__(self, "labels", tuple(labels))

    @staticmethod
    def default_labels(edges) -> tuple[str, ...]:
        def fmt(x):
            return str(int(x)) if float(x).is_integer() else str(x)

        out = [f"<{fmt(edges[0])}"]
        for lo, hi in zip(edges, edges[1:], strict=False):
            hi_label = fmt(hi - 1) if float(hi).is_integer() and float(lo).is_integer() else fmt(hi)
            out.append(f"{fmt(lo)}-{hi_label}")
        out.append(f"{fmt(edges[-1])}+")
        return tuple(out)

    def assign(self, age) -> np.ndarray:
        """Band label of each age (object array; None where age is missing)."""
        age = np.asarray(age, dtype=float)
        idx = np.searchsorted(np.asarray(self.edges), age, side="right")
        labels = np.asarray(self.labels, dtype=object)[idx]
        labels[np.isnan(age)] = None
        return labels

    def to_ibis(self, column):
        """Ibis ``CASE`` expression giving the same labels as :meth:`assign`."""
        import ibis

        cases = [(column.isnull(), ibis.null("string"))]
        cases += [(column < edge, label)
                  for edge, label in zip(self.edges, self.labels[:-1], strict=True)]
        return ibis.cases(*cases, else_=self.labels[-1])


@dataclass(frozen=True)
class Disaggregations:
    """Where each disaggregation role lives in a data set.

    Parameters
    ----------
    sex, territory, period, status
        Column names (``None`` if the data has no such column).
    age
        Column of ages in years, banded with ``age_bands`` for the
        ``age_band`` role; or give ``age_band`` as a column already banded.
    age_band
        Column of pre-computed age bands (takes precedence over ``age``).
    age_bands
        :class:`AgeBands` used with ``age``.
    """

    sex: str | None = "sex"
    age: str | None = "age"
    age_band: str | None = None
    territory: str | None = None
    period: str | None = None
    status: str | None = None
    age_bands: AgeBands = field(default_factory=AgeBands)

    def resolve(self, name: str) -> tuple[str, str, AgeBands | None]:
        """``(output column, source column, bands or None)`` of a role or plain column."""
        if name == "age_band":
            if self.age_band is not None:
                return "age_band", self.age_band, None
            if self.age is None:
                raise ConfigError("the age_band disaggregation needs Disaggregations(age=...) or age_band=...")
            return "age_band", self.age, self.age_bands
        if name in ROLES:
            column = getattr(self, name)
            if column is None:
                raise ConfigError(
                    f"the {name!r} disaggregation has no column: pass Disaggregations({name}='column')"
                )
            return name, column, None
        return name, name, None
