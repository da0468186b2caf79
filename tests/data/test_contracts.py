"""Each validation rule of the data contracts raises its own error with the column and fix."""

import numpy as np
import pandas as pd
import pytest

from evalkit.data import Panel, PersonTable, Sequences, numeric_design
from evalkit.errors import (
    ColumnTypeError,
    DataValidationError,
    DuplicateKeyError,
    EmptyDataError,
    MissingColumnError,
    PeriodGapError,
    TreatmentTimingError,
    UnknownCategoryError,
)


@pytest.fixture
def panel_frame():
    units = np.repeat(np.arange(1, 7), 4)
    period = np.tile([2001, 2002, 2003, 2004], 6)
    first = np.repeat([2003, 2003, 2004, 0, 0, 0], 4)
    y = np.arange(24, dtype=float)
    return pd.DataFrame({"unit": units, "year": period, "g": first, "y": y,
                         "x": np.linspace(0, 1, 24), "site": np.repeat(list("aabbcc"), 4)})


def make_panel(frame, **kw):
    args = dict(unit="unit", period="year", outcomes=["y"], first_treated="g")
    args.update(kw)
    return Panel(frame, **args)


class TestPanel:
    def test_valid_panel(self, panel_frame):
        p = make_panel(panel_frame)
        assert p.is_balanced
        np.testing.assert_array_equal(p.cohorts, [2003, 2004])
        assert np.isinf(p.data.loc[p.data.unit == 4, "g"]).all()
        assert p.treated().sum() == 2 * 2 + 1
        assert len(p.ledger) == 0

    def test_missing_column_names_role_and_fix(self, panel_frame):
        with pytest.raises(MissingColumnError, match=r"period='period'.*Available columns"):
            Panel(panel_frame, unit="unit", outcomes=["y"], first_treated="g")

    def test_wrong_dtype_shows_values(self, panel_frame):
        panel_frame["y"] = panel_frame["y"].astype(object)
        panel_frame.loc[3, "y"] = "n/a"
        with pytest.raises(ColumnTypeError, match=r"'y' \(outcome\).*'n/a'"):
            make_panel(panel_frame)

    def test_fractional_period(self, panel_frame):
        panel_frame["year"] = panel_frame["year"] + 0.5
        with pytest.raises(ColumnTypeError, match="whole numbers"):
            make_panel(panel_frame)

    def test_duplicate_unit_period(self, panel_frame):
        frame = pd.concat([panel_frame, panel_frame.iloc[[0]]])
        with pytest.raises(DuplicateKeyError, match=r"unit x period"):
            make_panel(frame)

    def test_gap_detected_and_allowed_on_request(self, panel_frame):
        frame = panel_frame.drop(index=1)
        with pytest.raises(PeriodGapError, match="allow_gaps=True"):
            make_panel(frame)
        assert not make_panel(frame, allow_gaps=True).is_balanced

    def test_late_entry_is_not_a_gap(self, panel_frame):
        assert not make_panel(panel_frame.drop(index=0)).is_balanced

    def test_treatment_switching_off(self, panel_frame):
        d = (panel_frame["year"] >= panel_frame["g"]).astype(int).where(panel_frame["g"] > 0, 0)
        d.iloc[3] = 0  # unit 1 treated in 2003, not in 2004
        frame = panel_frame.assign(d=d).drop(columns="g")
        with pytest.raises(TreatmentTimingError, match="switches off"):
            Panel(frame, unit="unit", period="year", outcomes=["y"], treatment="d")

    def test_first_treated_derived_from_indicator(self, panel_frame):
        d = ((panel_frame["year"] >= panel_frame["g"]) & (panel_frame["g"] > 0)).astype(int)
        p = Panel(panel_frame.assign(d=d).drop(columns="g"), unit="unit", period="year",
                  outcomes=["y"], treatment="d")
        np.testing.assert_array_equal(p.cohorts, [2003, 2004])

    def test_first_treated_varying_within_unit(self, panel_frame):
        panel_frame.loc[0, "g"] = 2004
        with pytest.raises(TreatmentTimingError, match="changes within"):
            make_panel(panel_frame)

    @pytest.mark.parametrize("value", [2001, 2000, 2007])
    def test_first_treated_outside_window(self, panel_frame, value):
        panel_frame.loc[panel_frame.unit == 1, "g"] = value
        with pytest.raises(TreatmentTimingError, match="outside"):
            make_panel(panel_frame)
        p = make_panel(panel_frame, out_of_window="drop")
        assert p.n_units == 5
        assert p.ledger.to_frame()["n_persons"].tolist() == [6, 1]

    def test_all_missing_outcome(self, panel_frame):
        panel_frame["y"] = np.nan
        with pytest.raises(EmptyDataError, match="'y' is missing on every row"):
            make_panel(panel_frame)

    def test_missing_covariate_rows_go_to_ledger(self, panel_frame):
        panel_frame.loc[[0, 5], "x"] = np.nan
        p = make_panel(panel_frame, covariates=["x"], allow_gaps=True)
        entry = p.ledger.entries[-1]
        assert (entry.reason, entry.n_rows, entry.n_persons) == ("x missing", 2, 0)
        assert len(p) == 22
        with pytest.raises(DataValidationError, match="missing='drop'"):
            make_panel(panel_frame, covariates=["x"], missing="raise")

    def test_empty_after_exclusions(self, panel_frame):
        panel_frame["x"] = np.nan
        with pytest.raises(EmptyDataError, match="no row is left"):
            make_panel(panel_frame, covariates=["x"])

    def test_repeated_cross_sections_skip_gap_checks(self, panel_frame):
        frame = panel_frame.assign(unit=np.arange(24), site=panel_frame["g"].astype(str))
        frame = frame.drop(index=[1, 2])
        p = make_panel(frame, repeated_cross_section=True, cluster="site")
        assert not p.is_balanced and p.n_units == 22


@pytest.fixture
def persons():
    rng = np.random.default_rng(1)
    n = 40
    return pd.DataFrame({
        "pid": [f"P{i:03d}" for i in range(n)],
        "cohort": np.where(np.arange(n) < 20, "integrated", "comparison"),
        "age": rng.integers(18, 70, n).astype(float),
        "sex": rng.choice(["F", "M"], n),
        "shelter": rng.integers(0, 2, n),
        "w": rng.uniform(0.5, 2, n),
    })


class TestPersonTable:
    def test_valid(self, persons):
        pt = PersonTable(persons, id="pid", group="cohort", covariates=["age", "sex"],
                         outcomes=["shelter"], weight="w")
        assert pt.groups == ["comparison", "integrated"]
        assert isinstance(pt.data["sex"].dtype, pd.CategoricalDtype)
        assert list(numeric_design(pt).columns) == ["age", "sex_M"]

    def test_duplicate_ids(self, persons):
        persons.loc[1, "pid"] = "P000"
        with pytest.raises(DuplicateKeyError, match="person id"):
            PersonTable(persons, id="pid", group="cohort")

    def test_negative_and_zero_weights(self, persons):
        bad = persons.assign(w=persons.w.where(persons.index != 3, -1.0))
        with pytest.raises(DataValidationError, match="negative"):
            PersonTable(bad, id="pid", group="cohort", weight="w")
        with pytest.raises(DataValidationError, match="zero on every row"):
            PersonTable(persons.assign(w=0.0), id="pid", group="cohort", weight="w")

    def test_missing_group_is_ledgered(self, persons):
        persons.loc[[2, 3], "cohort"] = None
        pt = PersonTable(persons, id="pid", group="cohort")
        assert pt.ledger.n_rows_dropped == 2 and pt.ledger.n_persons_dropped == 2

    def test_categorical_must_be_covariate(self, persons):
        with pytest.raises(DataValidationError, match="also be listed"):
            PersonTable(persons, id="pid", group="cohort", categorical=["sex"])

    def test_not_a_dataframe(self):
        with pytest.raises(ColumnTypeError, match="expects a pandas DataFrame"):
            PersonTable([[1, 2]], id="pid", group="cohort")


class TestSequences:
    def long(self):
        return pd.DataFrame({"pid": np.repeat([1, 2, 3], 4), "m": np.tile([1, 2, 3, 4], 3),
                             "s": list("AABB" "BBBC" "CCAA")})

    def test_matrix_and_roundtrip(self):
        seq = Sequences(self.long(), id="pid", period="m", state="s", alphabet=["A", "B", "C"])
        np.testing.assert_array_equal(seq.matrix, [[0, 0, 1, 1], [1, 1, 1, 2], [2, 2, 0, 0]])
        back = seq.to_long()
        assert back["s"].astype(str).tolist() == self.long()["s"].tolist()

    def test_unknown_state(self):
        with pytest.raises(UnknownCategoryError, match=r"(?s)'C' \(3 rows\).*Allowed states"):
            Sequences(self.long(), id="pid", period="m", state="s", alphabet=["A", "B"])

    def test_duplicate_person_period(self):
        long = pd.concat([self.long(), self.long().iloc[[0]]])
        with pytest.raises(DuplicateKeyError):
            Sequences(long, id="pid", period="m", state="s")

    def test_unequal_length_policies(self):
        long = self.long().drop(index=[3, 11])
        with pytest.raises(PeriodGapError, match="unequal_length='pad'"):
            Sequences(long, id="pid", period="m", state="s")
        padded = Sequences(long, id="pid", period="m", state="s", unequal_length="pad")
        assert (padded.matrix == -1).sum() == 2
        cut = Sequences(long, id="pid", period="m", state="s", unequal_length="truncate")
        assert cut.matrix.shape == (3, 3)
        assert cut.ledger.entries[-1].n_rows == 1

    def test_missing_states_are_ledgered(self):
        long = self.long()
        long.loc[[0, 1, 2, 3], "s"] = None
        seq = Sequences(long, id="pid", period="m", state="s")
        assert seq.n_persons == 2 and seq.ledger.n_persons_dropped == 1

    def test_spells_with_fill_and_overlap(self):
        spells = pd.DataFrame({"pid": [1, 1, 2], "s": ["FT", "UB", "RIS"],
                               "start": [1, 5, 2], "end": [3, 6, 4]})
        seq = Sequences.from_spells(spells, id="pid", state="s", start="start", end="end",
                                    fill_state="INA", horizon=6)
        assert seq.alphabet == ("FT", "INA", "RIS", "UB")
        np.testing.assert_array_equal(seq.matrix, [[0, 0, 0, 1, 3, 3], [2, 2, 2, 1, 1, 1]])
        spells.loc[1, "start"] = 3
        with pytest.raises(DuplicateKeyError, match="overlap"):
            Sequences.from_spells(spells, id="pid", state="s", start="start", end="end")


class TestRepeatedCrossSectionTiming:
    def frame(self):
        # Two sites x two waves, three respondents per cell; site "a" treated from wave 2.
        site = np.repeat(["a", "a", "b", "b"], 3)
        wave = np.tile(np.repeat([1, 2], 3), 2)
        return pd.DataFrame({"rid": np.arange(12), "site": site, "wave": wave,
                             "d": ((site == "a") & (wave == 2)).astype(int),
                             "y": np.arange(12.0)})

    def test_timing_is_derived_per_site(self):
        p = Panel(self.frame(), unit="rid", period="wave", outcomes=["y"], treatment="d",
                  cluster="site", repeated_cross_section=True)
        ft = p.data.groupby("site")["first_treated"].first()
        assert ft["a"] == 2 and np.isinf(ft["b"])

    def test_site_is_required(self):
        with pytest.raises(DataValidationError, match="need cluster="):
            Panel(self.frame(), unit="rid", period="wave", outcomes=["y"], treatment="d",
                  repeated_cross_section=True)

    def test_mixed_treatment_within_site_wave(self):
        frame = self.frame()
        frame.loc[3, "d"] = 0
        with pytest.raises(TreatmentTimingError, match="within the same site and period"):
            Panel(frame, unit="rid", period="wave", outcomes=["y"], treatment="d",
                  cluster="site", repeated_cross_section=True)

    def test_first_treated_must_be_constant_within_site(self):
        frame = self.frame().assign(g=lambda f: np.where(f.site == "a", 2, 0))
        frame.loc[0, "g"] = 0
        with pytest.raises(TreatmentTimingError, match="changes within 1 site"):
            Panel(frame, unit="rid", period="wave", outcomes=["y"], first_treated="g",
                  cluster="site", repeated_cross_section=True)
