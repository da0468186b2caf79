"""Pseudonyms are keyed HMAC-SHA256, never a plain hash, and need a key."""

from __future__ import annotations

import hashlib
import hmac

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
    monkeypatch.setenv("K2", "ff" * 32)
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
