"""Property-based tests: no input makes the contracts fail with anything but an EvalkitError,
and what they keep plus what the ledger records always adds up to the input."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.data import Panel, PersonTable, Sequences
from evalkit.errors import EvalkitError

CELL = st.one_of(
    st.none(),
    st.just(np.nan),
    st.integers(-3, 2010),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(),
    st.sampled_from(["", "A", "B", "x", "2003", "n/a", "NaN"]),
    st.just(pd.Timestamp("2020-01-01")),
)
NAMES = ["unit", "period", "y", "g", "x", "d", "s", "w"]


@st.composite
def junk_frames(draw):
    n_rows = draw(st.integers(0, 12))
    # Mostly complete frames, so the checks past "missing column" get exercised too.
    columns = draw(st.one_of(st.just(NAMES), st.just(NAMES), st.just(NAMES),
                             st.lists(st.sampled_from(NAMES), max_size=8, unique=True)))
    data = {}
    for name in columns:
        kind = draw(st.sampled_from(["cells", "ints", "floats", "strings"]))
        if kind == "cells":
            data[name] = pd.Series(draw(st.lists(CELL, min_size=n_rows, max_size=n_rows)),
                                   dtype=object)
        elif kind == "ints":
            data[name] = draw(st.lists(st.integers(0, 4), min_size=n_rows, max_size=n_rows))
        elif kind == "floats":
            data[name] = draw(st.lists(st.floats(-1e3, 1e3) | st.just(np.nan),
                                       min_size=n_rows, max_size=n_rows))
        else:
            data[name] = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n_rows,
                                       max_size=n_rows))
    return pd.DataFrame(data, index=range(n_rows))


def only_evalkit_errors(build):
    try:
        result = build()
    except EvalkitError:
        return None
    return result


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(junk_frames(), st.booleans(), st.booleans())
def test_panel_never_raises_a_raw_library_error(frame, use_treatment, rcs):
    kwargs = dict(unit="unit", period="period", outcomes=["y"], covariates=["x"],
                  cluster="s", weight="w", repeated_cross_section=rcs)
    if use_treatment:
        kwargs.update(first_treated=None, treatment="d")
    else:
        kwargs.update(first_treated="g")
    panel = only_evalkit_errors(lambda: Panel(frame, **kwargs))
    if panel is not None:
        data = panel.data
        assert not data.duplicated(["unit", "period"]).any()
        assert panel.ledger.n_rows == len(data)
        assert panel.ledger.n_rows_start == len(frame)


@SETTINGS
@given(junk_frames())
def test_person_table_never_raises_a_raw_library_error(frame):
    pt = only_evalkit_errors(lambda: PersonTable(
        frame, id="unit", group="g", covariates=["x", "s"], outcomes=["y"], weight="w"))
    if pt is not None:
        assert pt.data["unit"].is_unique
        assert pt.ledger.n_rows == len(pt.data)
        assert pt.ledger.n_rows_dropped == len(frame) - len(pt.data)


@SETTINGS
@given(junk_frames(), st.sampled_from(["raise", "pad", "truncate"]))
def test_sequences_never_raise_a_raw_library_error(frame, policy):
    seq = only_evalkit_errors(lambda: Sequences(
        frame, id="unit", period="period", state="s", unequal_length=policy))
    if seq is not None:
        assert seq.matrix.dtype == np.int8
        assert seq.matrix.max() < len(seq.alphabet)
        if policy == "raise":
            assert (seq.matrix >= 0).all()


@SETTINGS
@given(junk_frames())
def test_spells_never_raise_a_raw_library_error(frame):
    only_evalkit_errors(lambda: Sequences.from_spells(
        frame, id="unit", state="s", start="period", end="g", fill_state="A",
        unequal_length="pad"))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(1, 8), st.sampled_from("ABC")),
             min_size=1, max_size=40, unique_by=lambda t: (t[0], t[1])),
)
def test_sequences_roundtrip_long_table(rows):
    long = pd.DataFrame(rows, columns=["pid", "m", "s"])
    seq = Sequences(long, id="pid", period="m", state="s", alphabet="ABC", unequal_length="pad")
    back = seq.to_long().astype({"s": str})
    expected = long.sort_values(["pid", "m"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), expected, check_dtype=False)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=30),
       st.lists(st.booleans(), min_size=1, max_size=30))
def test_ledger_counts_add_up(missing_x, missing_g):
    n = min(len(missing_x), len(missing_g))
    frame = pd.DataFrame({"pid": range(n), "g": np.where(missing_g[:n], None, "a"),
                          "x": np.where(missing_x[:n], np.nan, 1.0)})
    try:
        pt = PersonTable(frame, id="pid", group="g", covariates=["x"])
    except EvalkitError:
        assert all(missing_x[i] or missing_g[i] for i in range(n))
        return
    dropped = sum(e.n_rows for e in pt.ledger.entries)
    assert dropped + len(pt.data) == n
    assert dropped == sum(missing_x[i] or missing_g[i] for i in range(n))
