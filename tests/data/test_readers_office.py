"""French office inputs (issue 17, finding 7): separator, decimal comma and encoding
detected; Stata/SPSS codes kept with their labels; duplicate column names refused.
Property-based: any table written the way office software writes it reads back equal."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.data import Panel, PersonTable, read_table
from evalkit.errors import InputFileError, PeriodGapError


def test_french_excel_export_reads_as_numbers(tmp_path):
    # The repro: ';'-separated, decimal commas, cp1252 accents, CRLF, as French
    # Excel writes it; it failed with "Available columns: 'unit_id;zone_id;...'".
    path = tmp_path / "panel.csv"
    path.write_bytes(
        "unit_id;zone_id;période;revenu;commune\r\n"
        "1;10;1;1234,5;Évreux\r\n1;10;2;1300,25;Évreux\r\n2;11;1;980;Saint-Étienne\r\n"
        "2;11;2;1010,75;Saint-Étienne\r\n".encode("cp1252"))
    frame = read_table(path)
    assert list(frame.columns) == ["unit_id", "zone_id", "période", "revenu", "commune"]
    assert frame["revenu"].tolist() == [1234.5, 1300.25, 980.0, 1010.75]
    assert frame["commune"].iloc[2] == "Saint-Étienne"
    assert pd.api.types.is_integer_dtype(frame["unit_id"])


def test_utf8_with_bom_latin1_and_tabs(tmp_path):
    frame = pd.DataFrame({"âge": [30, 41], "ville": ["Liège", "Namur"], "score": [1.5, 2.0]})
    (tmp_path / "bom.csv").write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))
    back = read_table(tmp_path / "bom.csv")
    assert list(back.columns) == ["âge", "ville", "score"]  # no '\ufeffâge'
    (tmp_path / "latin1.csv").write_bytes(frame.to_csv(index=False, sep="\t").encode("latin-1"))
    back = read_table(tmp_path / "latin1.csv")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_explicit_options_override_detection(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a;b\n1,5;2\n")
    assert read_table(path, decimal=".")["a"].tolist() == ["1,5"]
    assert read_table(path, sep=",").columns.tolist() == ["a;b"]


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id;age;age;sexe\n1;30;31;F\n")
    with pytest.raises(InputFileError, match=r"duplicate column name\(s\) \['age'\]"):
        read_table(path)


def test_stata_value_labels_kept_with_codes(tmp_path):
    frame = pd.DataFrame({"person": [1, 2, 3, 4], "treated": [0, 1, 1, 0],
                          "sex": [1, 2, 2, 1], "outcome": [0.5, 1.5, 2.0, 0.1]})
    path = tmp_path / "survey.dta"
    frame.to_stata(path, write_index=False, value_labels={
        "treated": {0: "contrôle", 1: "traité"}, "sex": {1: "homme", 2: "femme"}},
        variable_labels={"treated": "Groupe expérimental"})
    back = read_table(path)
    assert back["treated"].tolist() == [0, 1, 1, 0]  # codes, usable as a 0/1 group
    assert back.attrs["value_labels"]["treated"] == {0: "contrôle", 1: "traité"}
    assert back.attrs["value_labels"]["sex"] == {1: "homme", 2: "femme"}
    assert back.attrs["variable_labels"]["treated"] == "Groupe expérimental"
    # The repro: the labelled column used to be refused as non-numeric by the contract.
    persons = PersonTable(back, id="person", group="treated", outcomes=["outcome"])
    assert persons.data["treated"].tolist() == [0, 1, 1, 0]


def test_spss_value_labels_kept_with_codes(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame = pd.DataFrame({"treated": [0.0, 1.0, 1.0], "y": [1.0, 2.0, 3.0]})
    path = tmp_path / "s.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "treated": {0.0: "contrôle", 1.0: "traité"}}, column_labels=["Groupe", "Issue"])
    back = read_table(path)
    assert back["treated"].tolist() == [0, 1, 1]
    assert back.attrs["value_labels"]["treated"] == {0.0: "contrôle", 1.0: "traité"}
    assert back.attrs["variable_labels"]["treated"] == "Groupe"


def test_missing_covariate_creating_a_period_gap_says_so():
    # The repro: age missing in the middle period of unit 2 drops that row, leaving a gap
    # that was reported as if the file lacked the row.
    frame = pd.DataFrame({"unit": [1, 1, 1, 2, 2, 2], "period": [1, 2, 3] * 2,
                          "y": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                          "first_treated": [2, 2, 2, 0, 0, 0],
                          "age": [30, 30, 30, 40, None, 40]})
    with pytest.raises(PeriodGapError, match=r"dropped because 'age' is missing"):
        Panel(frame, unit="unit", period="period", outcomes=["y"],
              first_treated="first_treated", covariates=["age"])


# -- property: what office software writes, read_table reads back -------------------------
NA_WORDS = {"NA", "NULL", "NaN", "nan", "null", "None", "N/A", "n/a", "-NaN", "-nan",
            "<NA>", "#NA", "#N/A", "1.#IND", "-1.#QNAN", "-1.#IND", "1.#QNAN", "#N/A N/A"}
_text = st.text(alphabet=string.ascii_letters + "éèàçœÉ€ '-", min_size=1, max_size=8)
_names = st.lists(st.text(alphabet=string.ascii_lowercase + "éà _", min_size=1, max_size=10)
                  .map(str.strip).filter(bool), min_size=2, max_size=5, unique=True)


@st.composite
def office_tables(draw):
    names = draw(_names)
    n = draw(st.integers(2, 12))
    columns = {}
    for k, name in enumerate(names):
        kind = draw(st.sampled_from(["int", "float", "text"])) if k else "int"
        if kind == "int":
            columns[name] = draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n))
        elif kind == "float":
            values = draw(st.lists(st.integers(-10**6, 10**6), min_size=n, max_size=n))
            columns[name] = [v / 100 + 0.005 for v in values]  # always a fractional part
        else:
            # pandas' missing-value words (NA, NULL, n/a...) are read as missing: documented.
            columns[name] = draw(st.lists(_text.filter(lambda t: t.strip() == t and
                                                       not t.replace("-", "").isdigit()
                                                       and t not in NA_WORDS),
                                          min_size=n, max_size=n))
    frame = pd.DataFrame(columns)
    sep = draw(st.sampled_from([",", ";", "\t"]))
    decimal = draw(st.sampled_from([".", ","])) if sep != "," else "."
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    line = draw(st.sampled_from(["\n", "\r\n"]))
    return frame, sep, decimal, encoding, line


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(office_tables())
def test_office_csv_round_trip(tmp_path, table):
    frame, sep, decimal, encoding, line = table
    path = tmp_path / "t.csv"
    path.write_bytes(frame.to_csv(index=False, sep=sep, decimal=decimal, lineterminator=line,
                                  float_format="%.3f").encode(encoding))
    back = read_table(path)
    assert list(back.columns) == list(frame.columns)
    for col in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[col]):
            np.testing.assert_allclose(back[col].to_numpy(float),
                                       frame[col].round(3).to_numpy(float), atol=1e-9)
        else:
            assert back[col].tolist() == frame[col].tolist()


def test_undetectable_separator_says_which_option_to_pass(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id;age\n1;30;x\n2\n3;40;y;z\n")
    with pytest.raises(InputFileError) as info:
        read_table(path)
    message = str(info.value)
    assert "read_table(path, sep=';')" in message
    assert 'read = { sep = ";" }' in message and "[inputs.NAME]" in message
