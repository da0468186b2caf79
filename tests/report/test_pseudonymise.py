"""Pseudonyms are keyed HMAC-SHA256, never a plain hash, and need a key."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ConfigError, DisclosureError
from evalkit.pseudonymise import Pseudonymiser, pseudonymise

KEY_HEX = "00112233445566778899aabbccddeeff" * 2


def test_matches_rfc2104_hmac_sha256(monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY_HEX)
    frame = pd.DataFrame({"person_id": ["185057512345678", "P2", None], "x": [1, 2, 3]})
    out = pseudonymise(frame, "person_id", length=64)
    expected = hmac.new(bytes.fromhex(KEY_HEX), b"185057512345678", hashlib.sha256).hexdigest()
    assert out.loc[0, "person_id"] == expected
    assert out.loc[0, "person_id"] != hashlib.sha256(b"185057512345678").hexdigest()
    assert pd.isna(out.loc[2, "person_id"])
    assert out["x"].tolist() == [1, 2, 3]
    assert frame.loc[0, "person_id"] == "185057512345678"  # input untouched


def test_stable_for_a_key_and_different_across_keys(monkeypatch):
    monkeypatch.setenv("K1", KEY_HEX)
    monkeypatch.setenv("K2", bytes(range(100, 132)).hex())
    a = Pseudonymiser("K1").one(42)
    assert a == Pseudonymiser("K1").one("42")
    assert a != Pseudonymiser("K2").one(42)
    assert len(a) == 32


def test_missing_or_short_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("EVALKIT_PSEUDONYM_KEY", raising=False)
    with pytest.raises(ConfigError, match="EVALKIT_PSEUDONYM_KEY is not set"):
        Pseudonymiser()
    monkeypatch.setenv("SHORT", "abcd")
    with pytest.raises(ConfigError, match="at least 32"):
        Pseudonymiser("SHORT")


def test_key_never_in_repr_and_missing_id_refused(monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY_HEX)
    p = Pseudonymiser()
    assert KEY_HEX not in repr(p) and "0011" not in repr(p)
    with pytest.raises(DisclosureError):
        p.one(None)


# Finding 6 of issue 17: pseudonyms must not depend on how the id column is stored.
def test_float_ids_from_one_missing_value_join_integer_ids(monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY_HEX)
    # The repro: one missing value turns the id column into floats (1.0, 2.0, NaN).
    persons = pd.DataFrame({"id": [1, 2], "age": [30, 40]})
    spells = pd.DataFrame({"id": [1, 2, None], "state": ["A", "B", "C"]})
    assert spells["id"].dtype == float
    joined = pseudonymise(persons, "id").merge(pseudonymise(spells, "id"), on="id")
    assert len(joined) == 2
    expected = hmac.new(bytes.fromhex(KEY_HEX), b"1", hashlib.sha256).hexdigest()[:32]
    p = Pseudonymiser()
    assert p.one(1) == p.one(1.0) == p.one(np.int64(1)) == p.one(np.float32(1)) == expected
    assert pseudonymise(spells, "id")["id"].isna().tolist() == [False, False, True]


def test_string_ids_are_stripped_and_normalised_but_not_read_as_numbers(monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY_HEX)
    p = Pseudonymiser()
    assert p.one(" H0012 ") == p.one("H0012")
    assert p.one("Ange\u0301lique") == p.one("Angélique")  # NFD vs NFC
    assert p.one("007") != p.one(7)


@pytest.mark.parametrize("value", [1.5, float("inf"), True, 2.0**60, ""])
def test_ids_that_cannot_be_canonical_are_refused(monkeypatch, value):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY_HEX)
    with pytest.raises(DisclosureError):
        Pseudonymiser().one(value)


@pytest.mark.parametrize(("raw", "message"), [
    ("g" + KEY_HEX[1:], "non-hexadecimal"),                 # 64 chars, one typo
    ("0" * 64, "placeholder"),                              # all-zero key
    ("z" * 40, "placeholder"),                              # one repeated byte as text
    ("ab" * 32, "placeholder"),                             # hex of one repeated byte
    ("abcd" * 3, "at least 32"),                            # too short
])
def test_malformed_keys_are_refused(monkeypatch, raw, message):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", raw)
    with pytest.raises(ConfigError, match=message):
        Pseudonymiser()


def test_text_passphrase_and_hex_keys_are_accepted(monkeypatch):
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", "une phrase secrète assez longue pour la clé 2024")
    Pseudonymiser().one(1)
    monkeypatch.setenv("EVALKIT_PSEUDONYM_KEY", KEY_HEX.upper())
    assert Pseudonymiser().one(1) == hmac.new(bytes.fromhex(KEY_HEX), b"1",
                                              hashlib.sha256).hexdigest()[:32]
