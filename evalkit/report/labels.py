"""Readable names of the programmes' variables, for tables and figures of reports.

Estimators name rows after data columns (``months_homeless``), the dummies
they expand categorical columns into (``sex_female``, balance tables) or
model terms (``age_band[26-35]``, formula-based models). A reader of the
report needs "Mois sans abri", "Sexe : femme", "Âge : 26–35 ans".
:func:`variable_label` turns any of those forms into a label in the report's
language; names it does not know are returned unchanged, so a variable
added by a user shows up under its own name rather than not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from evalkit.report.i18n import check_lang

__all__ = ["VARIABLES", "Labels", "label_index", "level_label", "variable_label", "variable_labels"]

# Names of model terms every report may show (fr, en); a programme's own variables are
# labelled by its definition ([labels.variables], [labels.values.<variable>]).
VARIABLES: dict[str, tuple[str, str]] = {
    "intercept": ("Constante", "Intercept"),
    "Intercept": ("Constante", "Intercept"),
    "const": ("Constante", "Intercept"),
}

_BAND = re.compile(r"^(\d+)-(\d+)$")
_TERM = re.compile(r"^(?P<var>[^\[\]]+)\[(?:T\.)?(?P<level>[^\[\]]*)\]$")


def level_label(variable: str, level, lang: str,
                levels: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> str:
    """Readable level of a categorical variable (age bands as ``26–35 ans``).

    ``levels`` maps ``(variable, level)`` to ``(fr, en)`` (a programme's value labels).
    """
    index = 0 if check_lang(lang) == "fr" else 1
    text = str(level)
    pair = (levels or {}).get((variable, text)) or {"True": ("oui", "yes"),
                                             "False": ("non", "no")}.get(text)
    if pair is not None:
        return pair[index]
    band = _BAND.match(text)
    if band:
        low, high = band.groups()
        return f"{low}–{high} ans" if index == 0 else f"{low}–{high}"
    return text


def variable_label(name, lang: str, extra: Mapping[str, tuple[str, str]] | None = None,
                   levels: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> str:
    """Readable label of a variable, dummy (``sex_female``) or model term (``sex[M]``).

    Parameters
    ----------
    name
        Column name, ``<variable>_<level>`` dummy, or ``<variable>[<level>]``
        / ``<variable>[T.<level>]`` term.
    lang
        ``"fr"`` or ``"en"``.
    extra
        More ``name -> (fr, en)`` labels (a section's own variables), taking
        precedence over :data:`VARIABLES`.
    levels
        ``(variable, level) -> (fr, en)`` labels of values.

    Returns
    -------
    str
        ``"Sexe : femme"`` (fr) / ``"Sex: female"`` (en) for a level; the
        name unchanged when unknown.
    """
    index = 0 if check_lang(lang) == "fr" else 1
    known = {**VARIABLES, **(extra or {})}
    text = str(name)
    if text in known:
        return known[text][index]
    term = _TERM.match(text)
    if term and term["var"] not in known:
        # An unlabelled variable's term still reads "sexe : F", not "sexe[F]".
        separator = "\u00a0: " if index == 0 else ": "
        return f"{term['var']}{separator}{level_label(term['var'], term['level'], lang, levels)}"
    if term and term["var"] in known:
        variable = term["var"]
    else:
        # Dummies: the longest known variable the name starts with ("nationality_group_EU").
        variable = max((v for v in known if text.startswith(v + "_")), key=len, default=None)
        if variable is None:
            return text
    level = term["level"] if term and term["var"] == variable else text[len(variable) + 1:]
    separator = "\u00a0: " if index == 0 else ": "
    return f"{known[variable][index]}{separator}{level_label(variable, level, lang, levels)}"


def variable_labels(names: Iterable, lang: str,
                    extra: Mapping[str, tuple[str, str]] | None = None) -> dict[str, str]:
    """``{name: label}`` for ``names`` (for ``DataFrame.rename`` or figure ticks)."""
    return {str(n): variable_label(n, lang, extra) for n in names}


def label_index(frame: pd.DataFrame, lang: str, name: str | None = None,
                extra: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """``frame`` with its (single-level) row labels replaced by readable ones, index named ``name``."""
    out = frame.rename(index=lambda v: variable_label(v, lang, extra))
    if name is not None:
        out.index.name = name
    return out


class Labels:
    """A programme's labels of variables and values in French and English.

    ``variables``: ``name -> (fr, en)``; ``values``: ``(variable, value) -> (fr, en)``.
    Names without a label are shown as they are, so a user's column appears
    under its own name rather than not at all.
    """

    def __init__(self, variables: Mapping[str, tuple[str, str]] | None = None,
                 values: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> None:
        self.variables = dict(variables or {})
        self.values = dict(values or {})

    def variable(self, name, lang: str) -> str:
        """Label of a column, dummy (``sex_female``) or model term (``sex[M]``)."""
        return variable_label(name, lang, self.variables, self.values)

    def value(self, variable: str, value, lang: str) -> str:
        """Label of one value of ``variable`` (``"female"`` -> ``"femme"``)."""
        return level_label(variable, value, lang, self.values)

    def names(self, names: Iterable, lang: str) -> dict[str, str]:
        return {str(n): self.variable(n, lang) for n in names}

    def index(self, frame: pd.DataFrame, lang: str, name: str | None = None) -> pd.DataFrame:
        out = frame.rename(index=lambda v: self.variable(v, lang))
        if name is not None:
            out.index.name = name
        return out

    def pair(self, name: str) -> tuple[str, str]:
        """``(fr, en)`` label of ``name`` (the name itself when unlabelled)."""
        return (self.variable(name, "fr"), self.variable(name, "en"))
