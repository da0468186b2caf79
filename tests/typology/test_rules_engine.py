"""Rule typology by window functions in an engine equals the in-memory RuleTypology.

cpas_careers scaled up (10,000 persons x 36 months), with missing states and
absent months (skipped by both), person by person: every figure the rules
use and the type; then the same on Spark local (small data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.datasets import cpas_careers
from evalkit.engine import connect
from evalkit.errors import DataValidationError, DuplicateKeyError, UnknownCategoryError
from evalkit.typology import RuleTypology
from evalkit.typology.rules import CareerRules
from evalkit.typology.rules_engine import RuleTypologyEngine

FIGURES = ["employment_share", "dominant_share", "n_interruptions", "longest_interruption",
           "n_job_spells", "first_job_month", "months_observed"]


def holed(n_persons, seed=1):
    seq = cpas_careers.generate(seed=seed, n_persons=n_persons)["sequences"]
    rng = np.random.default_rng(seed)
    seq["state"] = seq["state"].astype(object)
    seq.loc[rng.random(len(seq)) < 0.03, "state"] = None  # missing state
    return seq[rng.random(len(seq)) > 0.03].reset_index(drop=True)  # absent months


def assert_same(engine_res, memory_res):
    assert (engine_res.counts == memory_res.counts).all()
    assert_allclose(engine_res.params, memory_res.params, rtol=1e-12)
    assert_allclose(engine_res.std_errors, memory_res.std_errors, rtol=1e-12)
    got = engine_res.persons_frame().sort_values("person_id").reset_index(drop=True)
    want = memory_res.types.sort_values("person_id").reset_index(drop=True)
    assert (got["person_id"].to_numpy() == want["person_id"].to_numpy()).all()
    assert (got["career_type"].astype(str) == want["career_type"].astype(str)).all()
    for col in FIGURES:
        assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12,
                        err_msg=col)


@pytest.mark.parametrize("rules", [CareerRules(), CareerRules(
    sustainable_min_share=0.4, min_interruption_months=3, nonsustainable_min_interruptions=1,
    min_months=30)])
def test_duckdb_equals_in_memory(tmp_path, rules):
    seq = holed(10_000)
    seq.to_parquet(tmp_path / "seq.parquet")
    memory = RuleTypology(seq, rules=rules, unequal_length="pad", too_short="exclude").fit()
    engine = RuleTypologyEngine(tmp_path / "seq.parquet", rules=rules, too_short="exclude",
                                threads=2).fit()
    assert_same(engine, memory)
    assert engine.ledger.n_persons == memory.ledger.n_persons
    assert_allclose(engine.to_frame()["share"], memory.to_frame()["share"], rtol=1e-12)


def test_input_errors():
    seq = holed(300)
    with pytest.raises(UnknownCategoryError, match="XX"):
        RuleTypologyEngine(seq.assign(state=seq["state"].replace("UB", "XX"))).fit()
    with pytest.raises(DuplicateKeyError, match="1 \\(person, month\\)"):
        RuleTypologyEngine(pd.concat([seq, seq.iloc[:1]])).fit()
    with pytest.raises(DataValidationError, match="fewer than 40"):
        RuleTypologyEngine(seq, rules=CareerRules(min_months=40)).fit()


def test_spark_equals_in_memory(spark):
    seq = holed(400, seed=5)
    memory = RuleTypology(seq, unequal_length="pad", too_short="exclude").fit()
    with connect("spark", spark=spark) as session:
        engine = RuleTypologyEngine(seq, too_short="exclude", engine=session).fit()
        assert_same(engine, memory)
