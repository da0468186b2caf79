"""Callaway–Sant'Anna from engine sufficient statistics (evalkit.did.cs_engine).

Every number must equal the in-memory CallawaySantAnna (unconditional,
analytic SEs) to 1e-10 — cells, the four aggregations with their overall
ATT, clustered SEs and the pre-test — on rsa_experiment scaled up and on
mpdta, whose analytic SEs are also checked against R ``did``'s output; and
the same on Spark local.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.datasets import rsa_experiment
from evalkit.did import CallawaySantAnna
from evalkit.did.cs_engine import CallawaySantAnnaEngine
from evalkit.engine import connect
from evalkit.errors import DuplicateKeyError, MissingColumnError, TreatmentTimingError

TOL = dict(rtol=1e-10, atol=1e-13)
RSA = dict(outcome="return_to_work", unit="unit_id", period="period",
           first_treated="first_treated")
MPDTA = dict(outcome="lemp", unit="countyreal", period="year", first_treated="first.treat")
# R did README, att_gt(xformla = ~1, bstrap = FALSE): analytic SEs, 4 printed decimals.
R_ANALYTIC_SE = [0.0233, 0.0310, 0.0364, 0.0344, 0.0233, 0.0196, 0.0178, 0.0202,
                 0.0150, 0.0164, 0.0179, 0.0167]


@pytest.fixture(scope="module")
def rsa():
    # Scaled up from the sample (3,000 units), with zone shocks so clusters matter.
    return rsa_experiment.generate(seed=11, n_units=12_000, n_zones=40,
                                   zone_shock_sd=0.03)["panel"]


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv"))


def assert_same(engine_res, memory_res):
    assert_allclose(engine_res.params.to_numpy(), memory_res.params.to_numpy(), **TOL)
    assert_allclose(engine_res.std_errors.to_numpy(), memory_res.std_errors.to_numpy(),
                    equal_nan=True, **TOL)
    assert engine_res.params.index.equals(memory_res.params.index)
    assert (engine_res.cells[["n_treated", "n_comparison"]].to_numpy()
            == memory_res.cells[["n_treated", "n_comparison"]].to_numpy()).all()
    for kind in ("simple", "dynamic", "group", "calendar"):
        e, m = engine_res.aggregate(kind), memory_res.aggregate(kind)
        assert_allclose(e.params.to_numpy(), m.params.to_numpy(), **TOL)
        assert_allclose(e.std_errors.to_numpy(), m.std_errors.to_numpy(), **TOL)
        assert_allclose([e.overall_att, e.overall_se], [m.overall_att, m.overall_se], **TOL)
    if memory_res.pretest is not None:
        assert_allclose(engine_res.pretest.statistic, memory_res.pretest.statistic, rtol=1e-9)
        assert engine_res.pretest.df == memory_res.pretest.df


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("cluster", [None, "zone_id"])
def test_rsa_equals_in_memory(rsa, control_group, base_period, cluster):
    kw = dict(RSA, control_group=control_group, base_period=base_period, cluster=cluster)
    memory = CallawaySantAnna(rsa, method="unconditional", **kw).fit(bootstrap=False)
    engine = CallawaySantAnnaEngine(rsa, threads=2, **kw).fit()
    assert_same(engine, memory)


def test_mpdta_equals_in_memory_and_r_analytic_se(mpdta, tmp_path):
    path = tmp_path / "mpdta.parquet"
    mpdta.to_parquet(path)
    memory = CallawaySantAnna(mpdta, method="unconditional", **MPDTA).fit(bootstrap=False)
    engine = CallawaySantAnnaEngine(path, **MPDTA).fit()
    assert_same(engine, memory)
    assert_allclose(engine.std_errors.to_numpy(), R_ANALYTIC_SE, atol=5e-5)


def test_anticipation_and_hive_partitioned_input(rsa, tmp_path):
    rsa.to_parquet(tmp_path / "panel", partition_cols=["departement"])
    kw = dict(RSA, anticipation=1, control_group="notyettreated")
    memory = CallawaySantAnna(rsa, method="unconditional", **kw).fit(bootstrap=False)
    with connect("duckdb", threads=2) as session:
        table = session.table(tmp_path / "panel")
        assert "departement" in table.columns  # the partition key is a column
        engine = CallawaySantAnnaEngine(tmp_path / "panel", engine=session, **kw).fit()
    assert_same(engine, memory)


def test_incomplete_and_always_treated_units_in_ledger(mpdta):
    df = mpdta.copy()
    df.loc[df.index[:3], "lemp"] = np.nan  # one county loses 3 years
    df.loc[df["countyreal"] == df["countyreal"].iloc[-1], "first.treat"] = 2003
    memory = CallawaySantAnna(df, method="unconditional", unbalanced="balance",
                              **MPDTA).fit(bootstrap=False)
    engine = CallawaySantAnnaEngine(df, **MPDTA).fit()
    assert_same(engine, memory)
    ledger = engine.ledger.to_frame()
    assert ledger.loc[0, "n_rows"] == len(df)
    incomplete = ledger[ledger["reason"].str.contains("missing")]
    assert incomplete[["n_rows", "n_persons"]].values.tolist() == [[5, 1]]
    always = ledger[ledger["reason"].str.contains("always treated")]
    assert always[["n_rows", "n_persons"]].values.tolist() == [[5, 1]]
    assert engine.ledger.n_persons == memory.ledger.n_persons == 498


def test_gaussian_bootstrap_matches_analytic_se(mpdta):
    res = CallawaySantAnnaEngine(mpdta, **MPDTA).fit(bootstrap=True, n_boot=4000, seed=3)
    analytic = CallawaySantAnnaEngine(mpdta, **MPDTA).fit().std_errors
    # IQR-based bootstrap SE of a Gaussian: Monte Carlo error ~ 1.7/sqrt(4000) ~ 3 %.
    assert_allclose(res.std_errors.to_numpy(), analytic.to_numpy(), rtol=0.1)
    crit = res.critical_values.iloc[0]
    assert 1.96 < crit < 3.5  # sup-t over 12 cells exceeds the pointwise value
    dyn = res.aggregate("dynamic")
    assert dyn.critical_values is not None


def test_input_errors_name_the_problem(mpdta):
    with pytest.raises(MissingColumnError, match="lemp2"):
        CallawaySantAnnaEngine(mpdta, **{**MPDTA, "outcome": "lemp2"})
    dup = pd.concat([mpdta, mpdta.iloc[:2]])
    with pytest.raises(DuplicateKeyError, match="1 unit"):
        CallawaySantAnnaEngine(dup, **MPDTA)
    switch = mpdta.copy()
    switch.loc[switch.index[0], "first.treat"] = 2006
    with pytest.raises(TreatmentTimingError, match="first.treat"):
        CallawaySantAnnaEngine(switch, **MPDTA)


def test_spark_equals_in_memory(spark, mpdta):
    memory = CallawaySantAnna(mpdta, method="unconditional", cluster=None,
                              control_group="notyettreated", **MPDTA).fit(bootstrap=False)
    with connect("spark", spark=spark) as session:
        engine = CallawaySantAnnaEngine(mpdta, engine=session, control_group="notyettreated",
                                        **MPDTA).fit()
    assert_same(engine, memory)
