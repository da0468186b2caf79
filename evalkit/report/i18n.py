"""Fixed labels of reports in French and English, and locale number formatting.

Numbers are formatted here rather than through the system locale, which is
process-global, often missing on servers (``fr_FR.UTF-8`` is not installed in
most containers) and not thread-safe. French uses a no-break space as
thousands separator and a decimal comma (``1 234,5``; ``12,3 %``), English a
comma and a decimal point (``1,234.5``; ``12.3%``). Negative numbers take the
typographic minus sign (U+2212, ``−0,5``) in both languages, not the hyphen,
which is shorter and may break a line.
"""

from __future__ import annotations

import math
import numbers

from evalkit.errors import ConfigError

__all__ = [
    "LANGUAGES",
    "check_lang",
    "choose",
    "column_label",
    "format_estimate",
    "format_number",
    "format_percent",
    "format_pvalue",
    "frame_labels",
    "label",
    "warning_lead",
]

LANGUAGES = ("fr", "en")
NBSP = "\u00a0"
MINUS = "\u2212"

_SEPARATORS = {"fr": (NBSP, ","), "en": (",", ".")}

# Fixed text of the report frame and of standard result columns.
_LABELS: dict[str, dict[str, str]] = {
    "contents": {"fr": "Sommaire", "en": "Contents"},
    "generated": {"fr": "Rapport produit par evalkit", "en": "Report produced by evalkit"},
    "provenance": {"fr": "Provenance", "en": "Provenance"},
    "evalkit_version": {"fr": "Version d'evalkit", "en": "evalkit version"},
    "python_version": {"fr": "Version de Python", "en": "Python version"},
    "packages": {"fr": "Bibliothèques", "en": "Libraries"},
    "inputs": {"fr": "Fichiers d'entrée", "en": "Input files"},
    "file": {"fr": "Fichier", "en": "File"},
    "bytes": {"fr": "Octets", "en": "Bytes"},
    "sha256": {"fr": "SHA-256", "en": "SHA-256"},
    "parameters": {"fr": "Paramètres", "en": "Parameters"},
    "parameter": {"fr": "Paramètre", "en": "Parameter"},
    "value": {"fr": "Valeur", "en": "Value"},
    "seed": {"fr": "Graine aléatoire", "en": "Random seed"},
    "started": {"fr": "Début", "en": "Started"},
    "finished": {"fr": "Fin", "en": "Finished"},
    "duration": {"fr": "Durée", "en": "Duration"},
    "config": {"fr": "Configuration", "en": "Configuration"},
    "disclosure_threshold": {
        "fr": "Seuil de secret statistique",
        "en": "Disclosure threshold",
    },
    "unavailable": {"fr": "Section non disponible", "en": "Section not available"},
    "failed": {"fr": "Échec de la section", "en": "Section failed"},
    "unavailable_sections": {
        "fr": "Sections non disponibles ou en échec",
        "en": "Sections not available or failed",
    },
    "reason": {"fr": "Raison", "en": "Reason"},
    "warnings": {"fr": "Avertissements", "en": "Warnings"},
    "warning_detail": {"fr": "Message technique (en anglais) de chaque avertissement, une "
                       "fois par message :", "en": "Technical message of each warning, once "
                       "per message:"},
    "summary": {"fr": "Synthèse", "en": "Summary"},
    "colon": {"fr": "\u00a0: ", "en": ": "},
    "technical_ref": {"fr": "note technique ", "en": "technical note "},
    "technical_appendix": {"fr": "Annexe : messages techniques", "en": "Appendix: technical messages"},
    "sections": {"fr": "sections ", "en": "sections "},
    "table": {"fr": "Tableau", "en": "Table"},
    "figure": {"fr": "Figure", "en": "Figure"},
    "suppressed_note": {
        "fr": "s : secret statistique — effectif inférieur à {threshold} personnes, ou cellule "
        "masquée pour qu'un tel effectif ne puisse pas être recalculé à partir des totaux.",
        "en": "s: suppressed — fewer than {threshold} persons, or masked so that such a count "
        "cannot be derived from the totals.",
    },
    "flow_title": {"fr": "Flux des exclusions", "en": "Exclusion flow"},
    "flow_input": {"fr": "Données reçues", "en": "Data received"},
    "flow_remaining": {"fr": "Restent", "en": "Remaining"},
    "flow_excluded": {"fr": "Exclus", "en": "Excluded"},
    "flow_rows": {"fr": "lignes", "en": "rows"},
    "flow_persons": {"fr": "personnes", "en": "persons"},
    "flow_note": {
        "fr": "Les effectifs du flux ne sont pas masqués : les effectifs de départ et "
        "d'analyse étant publiés, un masquage serait illusoire. Les motifs d'exclusion ne "
        "doivent donc pas décrire de caractéristique sensible.",
        "en": "Flow counts are not masked: with the input and analysed sizes published, "
        "masking would be illusory. Exclusion reasons must therefore not describe a sensitive "
        "characteristic.",
    },
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    # Standard column names of evalkit results frames.
    "col.step": {"fr": "Étape", "en": "Step"},
    "col.reason": {"fr": "Motif", "en": "Reason"},
    "col.n_rows": {"fr": "Lignes exclues", "en": "Rows excluded"},
    "col.n_persons": {"fr": "Personnes exclues", "en": "Persons excluded"},
    "col.rows_after": {"fr": "Lignes restantes", "en": "Rows remaining"},
    "col.persons_after": {"fr": "Personnes restantes", "en": "Persons remaining"},
    "col.estimate": {"fr": "Estimation", "en": "Estimate"},
    "col.std_error": {"fr": "Erreur type", "en": "Std. error"},
    "col.t_stat": {"fr": "Statistique", "en": "Statistic"},
    "col.p_value": {"fr": "p", "en": "p-value"},
    "col.ci_lower": {"fr": "IC inf.", "en": "CI lower"},
    "col.ci_upper": {"fr": "IC sup.", "en": "CI upper"},
    "col.n": {"fr": "Effectif", "en": "N"},
    "col.share": {"fr": "Part", "en": "Share"},
    "col.truth": {"fr": "Valeur vraie", "en": "True value"},
}


# What each evalkit warning means for the reader of a report, and what to do about it. The
# technical message (English, with the figures) is shown under it.
_WARNING_LEADS: dict[str, dict[str, str]] = {
    "FewClustersWarning": {
        "fr": "Peu de grappes : avec si peu de grappes, les erreurs types groupées "
        "sont sous-estimées et les intervalles de confiance trop étroits. Lire les p-valeurs "
        "comme indicatives ; le bootstrap sauvage par grappes, quand il est présenté, est "
        "plus fiable.",
        "en": "Few clusters: with so few clusters, clustered standard errors are "
        "underestimated and confidence intervals too narrow. Read the p-values as indicative; "
        "the wild cluster bootstrap, where shown, is more reliable.",
    },
    "ExtremeWeightsWarning": {
        "fr": "Poids extrêmes : quelques personnes pèsent très lourd dans l'estimation, qui "
        "devient instable. Vérifier le recouvrement des scores de propension et préférer les "
        "estimateurs doublement robustes ou restreindre l'analyse au support commun.",
        "en": "Extreme weights: a few people carry much of the estimate, which becomes "
        "unstable. Check the overlap of propensity scores and prefer doubly robust estimators "
        "or restrict the analysis to the common support.",
    },
    "ForbiddenComparisonWarning": {
        "fr": "Comparaisons interdites : le coefficient à effets fixes utilise des unités déjà "
        "traitées comme témoins et peut être biaisé si l'effet varie dans le temps. Préférer "
        "l'estimation de Callaway et Sant'Anna.",
        "en": "Forbidden comparisons: the fixed-effects coefficient uses already-treated units "
        "as controls and may be biased when the effect changes over time. Prefer the "
        "Callaway–Sant'Anna estimate.",
    },
    "SmallGroupWarning": {
        "fr": "Groupe d'une seule unité : l'estimation de ce groupe repose sur une seule unité "
        "et doit être lue avec prudence.",
        "en": "Single-unit group: this group's estimate rests on one unit and must be read "
        "with caution.",
    },
}
_WARNING_DEFAULT = {
    "fr": "Avertissement du calcul : le résultat concerné est à interpréter avec prudence.",
    "en": "",
}


def warning_lead(kind: str, lang: str) -> str:
    """Sentence explaining an evalkit warning class (``"FewClustersWarning"``) to a reader.

    Unknown classes get a generic sentence in French (the message itself is
    English) and none in English.
    """
    entry = _WARNING_LEADS.get(kind, _WARNING_DEFAULT)
    return entry[check_lang(lang)]


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise :class:`ConfigError`."""
    if lang not in LANGUAGES:
        raise ConfigError(f"report language must be one of {LANGUAGES}, got {lang!r}")
    return lang


def label(key: str, lang: str, **fields) -> str:
    """Translated fixed label ``key`` (``KeyError`` if unknown: labels are code, not data)."""
    text = _LABELS[key][check_lang(lang)]
    return text.format(**fields) if fields else text


def frame_labels(lang: str) -> dict[str, str]:
    """All fixed labels of the report frame in ``lang`` (for the page template)."""
    check_lang(lang)
    return {key: value[lang] for key, value in _LABELS.items() if not key.startswith("col.")}


def column_label(name: str, lang: str) -> str:
    """Header for a results column: translated if standard, else the name itself."""
    entry = _LABELS.get(f"col.{name}")
    return entry[lang] if entry else str(name)


def format_number(value, lang: str, decimals: int | None = None) -> str:
    """Format a number for ``lang``: ``1 234,5`` (fr) or ``1,234.5`` (en).

    Parameters
    ----------
    value
        int, float or numpy scalar. NaN/None give ``"–"``; infinities ``∞``.
        Negative numbers start with :data:`MINUS` (U+2212).
    decimals
        Digits after the decimal mark; ``None`` prints integers (and
        integral floats) without decimals and other floats with 3.
    """
    thousands, mark = _SEPARATORS[check_lang(lang)]
    if value is None:
        return "–"
    if isinstance(value, bool):
        return label("yes" if value else "no", lang)
    if not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral) and decimals is None:
        decimals = 0
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else MINUS + "∞"
    if decimals is None:
        decimals = 0 if value.is_integer() else 3
    text = f"{abs(value):,.{decimals}f}"
    if text.strip("0.,") == "":
        negative = False  # no "-0,000"
    else:
        negative = value < 0
    whole, _, frac = text.partition(".")
    whole = whole.replace(",", thousands)
    out = whole + (mark + frac if frac else "")
    return (MINUS if negative else "") + out


def format_percent(share, lang: str, decimals: int = 1) -> str:
    """A share (0.123) as a percentage: ``12,3 %`` (fr) or ``12.3%`` (en)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    number = format_number(100 * float(share), lang, decimals)
    return f"{number}{NBSP}%" if lang == "fr" else f"{number}%"


def choose(lang: str, fr: str, en: str) -> str:
    """The French or English version of a sentence written by a section builder."""
    return fr if check_lang(lang) == "fr" else en


def format_estimate(estimate, lower, upper, lang: str, *, decimals: int = 3,
                    level: float = 0.95) -> str:
    """``0,053 (IC à 95 % : 0,036 à 0,071)`` / ``0.053 (95% CI 0.036 to 0.071)``."""
    est = format_number(estimate, lang, decimals)
    lo, hi = format_number(lower, lang, decimals), format_number(upper, lang, decimals)
    pct = format_percent(level, lang, 0)
    if lang == "fr":
        return f"{est} (IC à {pct}{NBSP}: {lo} à {hi})"
    return f"{est} ({pct} CI {lo} to {hi})"


def format_pvalue(p, lang: str) -> str:
    """p-value with 3 decimals, ``< 0,001`` below that."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if p < 0.001:
        return f"<{NBSP}{format_number(0.001, lang, 3)}"
    return format_number(p, lang, 3)
