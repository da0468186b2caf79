"""Pseudonymisation of person identifiers with a keyed hash (HMAC-SHA256).

A plain hash of an identifier is not a pseudonym: a French NIR hashed with
SHA-256 is found again in seconds by hashing every NIR compatible with sex,
birth year/month and département. HMAC-SHA256 with a secret key held outside
the analysis (one key per project, never in the code, the data or the report)
cannot be reversed that way; the same key gives the same pseudonym, so tables
from several sources still join.

The key is read from an environment variable (``EVALKIT_PSEUDONYM_KEY`` by
default) and must be at least 32 bytes once decoded; generate one with
``python -c "import secrets; print(secrets.token_hex(32))"``. A key written in
hexadecimal is decoded; a 64- or 128-character value that is not valid
hexadecimal is refused (a mistyped hex key would otherwise silently become a
different text key), and so are placeholder keys (all zeros, one repeated
byte, fewer than 8 distinct bytes).

Identifiers are canonicalised before hashing so that the same person gets the
same pseudonym whatever the column's type: whole numbers stored as floats
(``1.0``, which a single missing value produces in pandas) hash as ``1``,
strings are stripped of surrounding spaces and Unicode-normalised (NFC).
Strings are not read as numbers (``"007"`` stays ``007``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import numbers
import os
import re
import unicodedata

import numpy as np
import pandas as pd

from evalkit.errors import ConfigError, DisclosureError, MissingColumnError

__all__ = [
    "DEFAULT_KEY_VARIABLE",
    "MIN_KEY_BYTES",
    "Pseudonymiser",
    "canonical_identifier",
    "pseudonymise",
]

DEFAULT_KEY_VARIABLE = "EVALKIT_PSEUDONYM_KEY"
MIN_KEY_BYTES = 32
MIN_DISTINCT_KEY_BYTES = 8
_HEX = re.compile(r"[0-9a-fA-F]*")
# Beyond 2**53 a float no longer holds every whole number: its digits are not the id's.
_EXACT_FLOAT_LIMIT = 2**53


def canonical_identifier(identifier) -> str:
    """The text an identifier is hashed as, the same whatever its storage type.

    ``1``, ``np.int64(1)``, ``1.0`` and ``np.float32(1.0)`` all give ``"1"``;
    ``" H0012 "`` gives ``"H0012"`` (NFC-normalised). Booleans, fractional
    numbers, floats too large to hold a whole number exactly, and missing
    values are refused with :class:`~evalkit.errors.DisclosureError`.
    """
    if identifier is None or (not isinstance(identifier, str) and pd.isna(identifier)):
        raise DisclosureError("cannot pseudonymise a missing identifier")
    if isinstance(identifier, (bool, np.bool_)):
        raise DisclosureError("an identifier cannot be a boolean (True/False); check the id column")
    if isinstance(identifier, str):
        text = unicodedata.normalize("NFC", identifier).strip()
        if not text:
            raise DisclosureError("cannot pseudonymise an empty identifier")
        return text
    if isinstance(identifier, numbers.Integral):
        return str(int(identifier))
    if isinstance(identifier, numbers.Real):
        value = float(identifier)
        if not math.isfinite(value) or not value.is_integer():
            raise DisclosureError(
                f"identifier {value!r} is not a whole number; identifiers are codes -- read the "
                "id column as text (dtype=str) if it holds such values"
            )
        if abs(value) > _EXACT_FLOAT_LIMIT:
            raise DisclosureError(
                "an identifier stored as a float is too large to be exact (above 2**53): read "
                "the id column as text (e.g. read_csv(..., dtype={'id': str}))"
            )
        return str(int(value))
    return canonical_identifier(str(identifier))


class Pseudonymiser:
    """Keyed pseudonyms: ``HMAC-SHA256(key, canonical_identifier(id))`` as hexadecimal.

    Parameters
    ----------
    key_variable
        Environment variable holding the key (hexadecimal if it parses as
        such, else its UTF-8 bytes).
    length
        Number of hexadecimal characters kept (16..64). 16 characters (64 bits)
        make a collision among 10 million people about 3 in a million.
    key
        The key itself, for callers that read it from a vault; never pass a
        literal written in code.

    Raises
    ------
    ConfigError
        The variable is unset or empty, or the key is shorter than 32 bytes.
    """

    def __init__(
        self,
        key_variable: str = DEFAULT_KEY_VARIABLE,
        *,
        length: int = 32,
        key: bytes | None = None,
    ) -> None:
        if not 16 <= length <= 64:
            raise ConfigError(f"pseudonym length must be between 16 and 64 hex characters, got {length}")
        if key is None:
            raw = os.environ.get(key_variable, "")
            if not raw:
                raise ConfigError(
                    f"environment variable {key_variable} is not set: pseudonymisation needs the "
                    "project's secret key there (generate one with "
                    "`python -c \"import secrets; print(secrets.token_hex(32))\"` and keep it "
                    "outside the data and the code)"
                )
            key = _decode_key(raw)
            source = f"environment variable {key_variable}"
        else:
            source = "the key given"
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"the pseudonymisation key in {source} is {len(key)} bytes; at least "
                f"{MIN_KEY_BYTES} are needed (64 hexadecimal characters)"
            )
        if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
            raise ConfigError(
                f"the pseudonymisation key in {source} is a placeholder (only "
                f"{len(set(key))} distinct byte value(s), e.g. all zeros), not a secret; "
                "generate one with `python -c \"import secrets; print(secrets.token_hex(32))\"`"
            )
        self._key = bytes(key)
        self.length = length

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymiser(length={self.length})"

    def one(self, identifier) -> str:
        """Pseudonym of one identifier (see :func:`canonical_identifier`; missing refused)."""
        text = canonical_identifier(identifier)
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[: self.length]

    def series(self, ids: pd.Series) -> pd.Series:
        """Pseudonyms of a Series of identifiers; missing identifiers stay missing."""
        present = ids.notna()
        mapping = {v: self.one(v) for v in pd.unique(ids[present])}
        out = pd.Series(pd.NA, index=ids.index, dtype="string", name=ids.name)
        out[present] = ids[present].map(mapping).astype("string")
        return out


def pseudonymise(
    frame: pd.DataFrame,
    columns: str | list[str],
    *,
    key_variable: str = DEFAULT_KEY_VARIABLE,
    length: int = 32,
) -> pd.DataFrame:
    """Copy of ``frame`` with identifier ``columns`` replaced by keyed pseudonyms.

    Parameters
    ----------
    frame
        Table holding direct identifiers (person id, NIR, ...).
    columns
        Identifier column(s) to replace.
    key_variable, length
        See :class:`Pseudonymiser`.

    Returns
    -------
    DataFrame
        Same rows and columns; identifiers replaced by
        ``HMAC-SHA256(key, canonical_identifier(id))`` (hex, first ``length``
        characters).
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(
            f"identifier columns {missing} not in the table (columns: {list(frame.columns)[:10]})"
        )
    pseudo = Pseudonymiser(key_variable, length=length)
    out = frame.copy()
    for col in columns:
        out[col] = pseudo.series(frame[col])
    return out


def _decode_key(raw: str) -> bytes:
    """Hexadecimal keys are decoded; other text is used as its UTF-8 bytes.

    A value of a hex key's length (64 or 128 characters) that is not valid
    hexadecimal is a corrupted hex key, refused rather than used as text.
    """
    text = raw.strip()
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    if len(text) in (64, 128):
        bad = sorted({ch for ch in text if not _HEX.fullmatch(ch)})
        raise ConfigError(
            f"the pseudonymisation key has the length of a hexadecimal key ({len(text)} "
            f"characters) but contains {len(bad)} non-hexadecimal character(s); a mistyped "
            "key would give different pseudonyms -- copy the key again (0-9, a-f only)"
        )
    return raw.encode("utf-8")
