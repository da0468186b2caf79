"""Pseudonymisation of person identifiers with a keyed hash (HMAC-SHA256).

A plain hash of an identifier is not a pseudonym: a French NIR hashed with
SHA-256 is found again in seconds by hashing every NIR compatible with sex,
birth year/month and département. HMAC-SHA256 with a secret key held outside
the analysis (one key per project, never in the code, the data or the report)
cannot be reversed that way; the same key gives the same pseudonym, so tables
from several sources still join.

The key is read from an environment variable (``EVALKIT_PSEUDONYM_KEY`` by
default) and must be at least 32 bytes once decoded; generate one with
``python -c "import secrets; print(secrets.token_hex(32))"``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import pandas as pd

from evalkit.errors import ConfigError, DisclosureError, MissingColumnError

__all__ = ["DEFAULT_KEY_VARIABLE", "MIN_KEY_BYTES", "Pseudonymiser", "pseudonymise"]

DEFAULT_KEY_VARIABLE = "EVALKIT_PSEUDONYM_KEY"
MIN_KEY_BYTES = 32


class Pseudonymiser:
    """Keyed pseudonyms: ``HMAC-SHA256(key, str(identifier))`` as hexadecimal.

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
        self._key = bytes(key)
        self.length = length

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymiser(length={self.length})"

    def one(self, identifier) -> str:
        """Pseudonym of one identifier (``None``/NaN are refused)."""
        if identifier is None or (not isinstance(identifier, str) and pd.isna(identifier)):
            raise DisclosureError("cannot pseudonymise a missing identifier")
        digest = hmac.new(self._key, str(identifier).encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[: self.length]

    def series(self, ids: pd.Series) -> pd.Series:
        """Pseudonyms of a Series of identifiers; missing identifiers stay missing."""
        values = ids.astype("string")
        unique = values.dropna().unique()
        mapping = {v: self.one(v) for v in unique}
        return values.map(mapping).astype("string").rename(ids.name)


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
        ``HMAC-SHA256(key, str(id))`` (hex, first ``length`` characters).
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
    try:
        return bytes.fromhex(raw)
    except ValueError:
        return raw.encode("utf-8")
