"""EstimateResults reproduces statsmodels' inference from the same estimates and SEs."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evalkit.data import ExclusionLedger
from evalkit.results import EstimateResults


@pytest.fixture(scope="module")
def ols():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"const": 1.0, "x1": rng.normal(size=60), "x2": rng.normal(size=60)})
    y = 1 + 0.3 * x["x1"] + rng.normal(size=60)
    return sm.OLS(y, x).fit()


def test_t_inference_matches_statsmodels(ols):
    res = EstimateResults(ols.params, ols.bse, df_resid=ols.df_resid)
    np.testing.assert_allclose(res.pvalues, ols.pvalues, rtol=1e-12)
    np.testing.assert_allclose(res.conf_int(0.9).to_numpy(), ols.conf_int(0.1).to_numpy(),
                               rtol=1e-12)


def test_normal_inference_matches_statsmodels_z(ols):
    robust = ols.get_robustcov_results("HC1", use_t=False)
    res = EstimateResults(pd.Series(robust.params, ols.params.index),
                          pd.Series(robust.bse, ols.params.index))
    np.testing.assert_allclose(res.pvalues, robust.pvalues, rtol=1e-12)
    np.testing.assert_allclose(res.conf_int().to_numpy(), robust.conf_int(), rtol=1e-12)


def test_uniform_band_critical_values_used_at_band_level():
    res = EstimateResults(pd.Series([1.0, 2.0], index=["a", "b"]), pd.Series([0.5, 0.5]),
                          critical_values=pd.Series([2.5, 2.5], index=["a", "b"]))
    np.testing.assert_allclose(res.conf_int()["lower"], [-0.25, 0.75])
    np.testing.assert_allclose(res.conf_int(0.9)["lower"], [1 - 1.6448536 * 0.5, 2 - 1.6448536 * 0.5])


def test_frame_and_summary_mention_ledger():
    ledger = ExclusionLedger(10, 10, "x")
    ledger.record("estimation", "outcome missing", 2, 2)
    res = EstimateResults(pd.Series([1.0], index=["att"]), pd.Series([0.1]), ledger=ledger,
                          title="ATT", info={"estimator": "test"})
    frame = res.to_frame()
    assert list(frame.columns) == ["estimate", "std_error", "t_stat", "p_value", "ci_lower",
                                   "ci_upper"]
    text = res.summary()
    assert "estimator: test" in text and "Rows excluded: 2" in text
    with pytest.raises(ValueError):
        res.conf_int(1.5)
