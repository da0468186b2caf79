"""The CPAS career state alphabet and the seven career types, with French/English labels.

The alphabet follows the monthly statuses used to follow people after an article
60§7 contract (Belgian CPAS job-activation contract). Codes are short, stable
strings; their position in :data:`CPAS_ALPHABET` is the integer code used in the
dense ``int8`` person x month matrix (``-1`` = missing month).

The seven career types are those of the CPAS "activation durable" study, in the
order the study reports them, with the share of persons it found in each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.data import ExclusionLedger, Sequences
from evalkit.errors import (
    ColumnTypeError,
    DataValidationError,
    EmptyDataError,
    UnknownCategoryError,
)
from evalkit.options import check_option


@dataclass(frozen=True)
class StateInfo:
    """One state of the alphabet: short code and labels."""

    code: str
    label_en: str
    label_fr: str

    def label(self, lang: str = "en") -> str:
        return _pick(self.label_en, self.label_fr, lang)


@dataclass(frozen=True)
class CareerTypeInfo:
    """One career type of the CPAS study: code, labels, share reported by the study."""

    code: str
    label_en: str
    label_fr: str
    study_share: float

    def label(self, lang: str = "en") -> str:
        return _pick(self.label_en, self.label_fr, lang)


def _pick(en: str, fr: str, lang: str) -> str:
    check_option("lang", lang, ("en", "fr"))
    return en if lang == "en" else fr


CPAS_STATES: tuple[StateInfo, ...] = (
    StateInfo("FT", "Full-time job", "Emploi à temps plein"),
    StateInfo("PT", "Part-time job", "Emploi à temps partiel"),
    StateInfo("SE", "Self-employed", "Indépendant"),
    StateInfo("ACT", "Activation (ONEM)", "Activation (ONEM)"),
    StateInfo("UB", "Unemployment benefit / job seeker", "Allocations de chômage / demandeur d'emploi"),
    StateInfo("RIS", "Integration income (RIS)", "Revenu d'intégration (RIS)"),
    StateInfo("ALW", "Other allowance (pension, invalidity, career break)",
              "Autre allocation (pension, invalidité, interruption de carrière)"),
    StateInfo("INA", "Inactive / unknown", "Inactif / inconnu"),
)

#: State codes, in integer-code order.
CPAS_ALPHABET: tuple[str, ...] = tuple(s.code for s in CPAS_STATES)

#: States that count as employment (a job): full-time, part-time, self-employed.
EMPLOYMENT_STATES: tuple[str, ...] = ("FT", "PT", "SE")

CAREER_TYPES: tuple[CareerTypeInfo, ...] = (
    CareerTypeInfo("sustainable", "Sustainable career", "Carrière durable", 0.193),
    CareerTypeInfo("sustainable_interrupted", "Sustainable, interrupted",
                   "Durable interrompue", 0.072),
    CareerTypeInfo("nonsustainable_interrupted", "Non-sustainable, interrupted",
                   "Non durable interrompue", 0.188),
    CareerTypeInfo("nonsustainable", "Non-sustainable", "Non durable", 0.283),
    CareerTypeInfo("integration_income", "Integration income (RIS)",
                   "Revenu d'intégration (RIS)", 0.082),
    CareerTypeInfo("allowance", "Allowance (pension, invalidity, career break)",
                   "Allocation (pension, invalidité, interruption de carrière)", 0.129),
    CareerTypeInfo("onem_activation", "ONEM activation", "Activation ONEM", 0.053),
)

#: Career type codes, in the study's order (the integer code of a type is its position).
CAREER_TYPE_CODES: tuple[str, ...] = tuple(t.code for t in CAREER_TYPES)

#: Shares of the seven types reported by the CPAS study (sum to 1).
STUDY_SHARES: dict[str, float] = {t.code: t.study_share for t in CAREER_TYPES}


def state_labels(lang: str = "en") -> dict[str, str]:
    """Code -> label of every CPAS state, in ``lang`` (``"en"`` or ``"fr"``)."""
    return {s.code: s.label(lang) for s in CPAS_STATES}


def sequence_labels(seq, lang: str = "en") -> dict[str, str]:
    """State code -> label for every state of ``seq``: the labels the Sequences carry,
    else the CPAS label of a CPAS state code, else the code itself."""
    cpas = state_labels(lang) if set(seq.alphabet) <= set(CPAS_ALPHABET) else {}
    own = getattr(seq, "labels", {}) or {}
    return {s: own.get(s, cpas.get(s, s)) for s in seq.alphabet}


def career_type_labels(lang: str = "en") -> dict[str, str]:
    """Code -> label of the seven career types, in ``lang`` (``"en"`` or ``"fr"``)."""
    return {t.code: t.label(lang) for t in CAREER_TYPES}


def state_codes(alphabet: tuple[str, ...], states: tuple[str, ...] | list[str]) -> np.ndarray:
    """Integer codes of ``states`` in ``alphabet`` (raises ``UnknownCategoryError`` if absent)."""
    missing = [s for s in states if s not in alphabet]
    if missing:
        raise UnknownCategoryError(
            f"states {missing} are not in the alphabet {list(alphabet)}; "
            "pass states that the sequences use (check the alphabet or the rule parameters)"
        )
    return np.array([alphabet.index(s) for s in states], dtype=np.int8)


# --- inputs as Sequences over an alphabet ------------------------------------------------------


def as_sequences(data, *, id: str = "person_id", period: str = "month",  # noqa: A002
                 state: str = "state", alphabet=None, unequal_length: str = "raise"):
    """Return ``data`` as :class:`evalkit.data.Sequences`.

    ``data`` may already be a ``Sequences`` (returned as is), a long DataFrame with
    ``id``/``period``/``state`` columns (validated by ``Sequences``; a state outside
    ``alphabet`` raises ``UnknownCategoryError``), or a dense integer matrix of codes
    into ``alphabet`` (``-1`` = missing; ids are ``1..n`` and periods ``1..T``).
    ``unequal_length`` is passed to ``Sequences`` for a DataFrame (``"pad"`` keeps
    persons with missing months, as ``-1``).
    """
    if isinstance(data, Sequences):
        return data
    if isinstance(data, pd.DataFrame):
        return Sequences(data, id=id, period=period, state=state, alphabet=alphabet,
                         unequal_length=unequal_length)
    if isinstance(data, np.ndarray):
        if alphabet is None:
            raise DataValidationError("a state matrix needs alphabet=[...] to name its codes")
        if data.ndim != 2 or not np.issubdtype(data.dtype, np.integer):
            raise ColumnTypeError(
                f"a state matrix must be a 2-d integer array (persons x periods), got "
                f"{data.ndim}-d {data.dtype}")
        if data.size == 0:
            raise EmptyDataError("the state matrix is empty (no person or no period)")
        alphabet = tuple(str(a) for a in alphabet)
        bad = (data < -1) | (data >= len(alphabet))
        if bad.any():
            values = np.unique(data[bad])[:5].tolist()
            raise DataValidationError(
                f"the state matrix holds codes {values} outside 0..{len(alphabet) - 1} "
                f"(alphabet {list(alphabet)}) and -1 (missing); recode them")
        seq = object.__new__(Sequences)
        seq.id, seq.period, seq.state = "person_id", "period", "state"
        seq.matrix = np.ascontiguousarray(data, dtype=np.int8)
        seq.ids = np.arange(1, data.shape[0] + 1)
        seq.periods = pd.Index(np.arange(1, data.shape[1] + 1), name="period")
        seq.alphabet = alphabet
        seq.labels = {}
        seq.colors = {}
        seq.ledger = ExclusionLedger(int((data >= 0).sum()), data.shape[0], "state matrix")
        return seq
    raise ColumnTypeError(
        f"expected Sequences, a long DataFrame or a state matrix, got {type(data).__name__}")


def _align(values, seq, what: str) -> np.ndarray:
    """Per-person values aligned with ``seq.ids``: a Series indexed by id, or an array
    in row order."""
    if isinstance(values, pd.Series):
        aligned = values.reindex(pd.Index(seq.ids))
        if aligned.isna().any():
            lacking = seq.ids[aligned.isna().to_numpy()][:5].tolist()
            raise DataValidationError(
                f"{what}: {int(aligned.isna().sum())} person(s) have no {what[:-1]} (e.g. ids "
                f"{lacking}); give a Series indexed by every person id, without missing values")
        return aligned.to_numpy()
    out = np.asarray(values)
    if out.shape != (seq.n_persons,):
        raise DataValidationError(
            f"{what}: expected {seq.n_persons} values (one per sequence, in row order) or a "
            f"Series indexed by person id, got shape {out.shape}")
    if pd.isna(out).any():
        raise DataValidationError(f"{what}: {int(pd.isna(out).sum())} missing value(s)")
    return out


def person_weights(weights, seq) -> np.ndarray | None:
    """Person weights aligned with ``seq.ids`` (a Series by id, or an array in row order).

    Raises ``DataValidationError`` for missing, negative or all-zero weights and for
    persons without a weight.
    """
    if weights is None:
        return None
    w = _align(weights, seq, "weights").astype(float)
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise DataValidationError(
            "weights must be finite, non-negative and not all zero; found "
            f"{np.unique(w[~np.isfinite(w) | (w < 0)])[:5].tolist() or 'all zero'}")
    return w


def person_groups(groups, seq) -> tuple[np.ndarray, list | None]:
    """Group codes (0..G-1, in sorted label order) per sequence row, and the labels.

    ``groups=None`` gives one group (codes all 0, labels ``None``).
    """
    if groups is None:
        return np.zeros(seq.n_persons, dtype=np.int64), None
    if isinstance(getattr(groups, "dtype", None), pd.CategoricalDtype):
        # A categorical keeps its own order of groups (e.g. types in the study's order).
        categories = list(groups.categories if isinstance(groups, pd.Categorical)
                          else groups.cat.categories)
        plain = groups.astype(object)
        values = _align(plain if isinstance(plain, pd.Series) else np.asarray(plain), seq,
                        "groups")
        present = set(values)
        used = [c for c in categories if c in present]
        return pd.Categorical(values, categories=used).codes.astype(np.int64), used
    values = _align(groups, seq, "groups")
    codes, labels = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.int64), list(labels)


def skip_missing(matrix: np.ndarray) -> np.ndarray:
    """The matrix with each row's missing months (-1) moved to its end, order kept.

    Per-person run computations then treat the months either side of a gap as adjacent.
    """
    missing = matrix < 0
    if not missing.any():
        return matrix
    order = np.argsort(missing, axis=1, kind="stable")
    return np.take_along_axis(matrix, order, axis=1)
