"""Locale formatting done by hand (no system locale) and complete translations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalkit.errors import ConfigError
from evalkit.report import i18n
from evalkit.report.i18n import (
    NBSP,
    format_estimate,
    format_number,
    format_percent,
    format_pvalue,
    frame_labels,
)


@pytest.mark.parametrize(
    ("value", "decimals", "fr", "en"),
    [
        (1234.5, 1, f"1{NBSP}234,5", "1,234.5"),
        (1234567, None, f"1{NBSP}234{NBSP}567", "1,234,567"),
        (np.int64(999), None, "999", "999"),
        (-1234.5, 1, f"\u22121{NBSP}234,5", "\u22121,234.5"),  # typographic minus
        (0.0534, 3, "0,053", "0.053"),
        (-0.0001, 3, "0,000", "0.000"),  # no negative zero
        (12.0, None, "12", "12"),
        (0.5, None, "0,500", "0.500"),
        (float("nan"), 2, "–", "–"),
        (math.inf, 2, "∞", "∞"),
        (None, 2, "–", "–"),
    ],
)
def test_format_number(value, decimals, fr, en):
    assert format_number(value, "fr", decimals) == fr
    assert format_number(value, "en", decimals) == en


def test_percent_pvalue_estimate():
    assert format_percent(0.1234, "fr") == f"12,3{NBSP}%"
    assert format_percent(0.1234, "en") == "12.3%"
    assert format_pvalue(0.0004, "fr") == f"<{NBSP}0,001"
    assert format_pvalue(0.0456, "en") == "0.046"
    assert format_estimate(0.0534, 0.036, 0.0706, "en") == "0.053 (95% CI 0.036 to 0.071)"
    assert format_estimate(0.0534, 0.036, 0.0706, "fr") == (
        f"0,053 (IC à 95{NBSP}%{NBSP}: 0,036 à 0,071)"
    )


def test_every_label_in_both_languages_and_bad_language_refused():
    for key, entry in i18n._LABELS.items():
        assert set(entry) == {"fr", "en"}, key
        assert entry["fr"] and entry["en"], key
    assert frame_labels("fr")["contents"] == "Sommaire"
    assert frame_labels("en")["contents"] == "Contents"
    with pytest.raises(ConfigError, match="one of"):
        format_number(1, "de")
