"""2x2 DiD errors speak of the user's columns and values, never of internal ones.

DiD2x2 builds internal columns (``_post``, ``_arm``, ``_first_treated``,
``_row_id``) to reuse the Panel machinery; a message naming them, or showing a
numpy repr such as ``np.int64(1)``, means nothing to the person who passed
``group="pilot", period="vague"``.
"""

import re

import numpy as np
import pandas as pd
import pytest

from evalkit.did import DiD2x2
from evalkit.errors import EvalkitError, EvalkitWarning


def _survey(n=20):
    ids = np.repeat(np.arange(n), 2)
    rng = np.random.default_rng(3)
    return pd.DataFrame({"n° ménage": ids, "vague": np.tile(["avant", "après"], n),
                         "pilote gare": (ids < n // 2).astype(int),
                         "nuits en abri": rng.normal(size=2 * n)})


def _one_unit_group(rcs):
    # A one-unit comparison group is refused (a single treated unit only warns).
    d = _survey()
    d["pilote gare"] = (d["n° ménage"] != 0).astype(int)
    kw = dict(repeated_cross_section=True, cluster="n° ménage") if rcs else dict(unit="n° ménage")
    return DiD2x2(d, outcome="nuits en abri", group="pilote gare", period="vague", **kw).fit()


def _covariate_constant_in_groups():
    d = _survey().assign(âge=lambda f: f["pilote gare"] * 10)
    return DiD2x2(d, outcome="nuits en abri", group="pilote gare", period="vague",
                  unit="n° ménage", covariates=["âge"]).fit()


def _duplicate_unit_period():
    d = _survey()
    return DiD2x2(pd.concat([d, d.iloc[:1]]), outcome="nuits en abri", group="pilote gare",
                  period="vague", unit="n° ménage").fit()


CASES = {
    "one-unit group (panel)": (lambda: _one_unit_group(False), ["'pilote gare'"]),
    "one-unit group (cross-sections)": (lambda: _one_unit_group(True), ["'pilote gare'"]),
    "covariate constant within groups": (_covariate_constant_in_groups, ["'pilote gare'", "'âge'"]),
    "duplicate unit x period": (_duplicate_unit_period, ["n° ménage", "vague", "avant"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_messages_name_user_columns_only(case):
    provoke, expected = CASES[case]
    with pytest.raises(EvalkitError) as info:
        provoke()
    message = str(info.value)
    for text in expected:
        assert text in message
    assert not re.search(r"(?<![\w])_(post|arm|first_treated|row_id|w|treated)\b", message), message
    assert "np." not in message and "numpy" not in message, message


def test_single_treated_unit_warning_names_user_column():
    d = _survey()
    d["pilote gare"] = (d["n° ménage"] == 0).astype(int)
    with pytest.warns(EvalkitWarning) as record:
        DiD2x2(d, outcome="nuits en abri", group="pilote gare", period="vague",
               unit="n° ménage").fit()
    message = " ".join(str(w.message) for w in record)
    assert "'pilote gare'" in message and "_arm" not in message, message
