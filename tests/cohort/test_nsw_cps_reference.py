"""NSW treated vs CPS-1 comparison men (Dehejia & Wahba specification) against independent
computations written here with statsmodels + numpy.

The data are causaldata's ``nsw_mixtape`` (185 treated) and ``cps_mixtape`` (15,992 CPS-1
men) as shipped: ``age``/``educ`` int8, earnings float32. The squares, cubes and interactions
of the Dehejia–Wahba (2002) / Mixtape logit are built in float64 here; evalkit upcasts the
int8 columns itself. 58 comparison men get scores below 1e-8: harmless for the ATT, whose
weights ``e/(1-e)`` vanish there, so no method may refuse.
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from evalkit.cohort import PropensityScore, balance_table
from evalkit.cohort.comparison import CohortComparison
from evalkit.cohort.weighting import ExtremeWeightsWarning
from evalkit.errors import OverlapError, OverlapWarning

causaldata = pytest.importorskip("causaldata")

SPEC = ["age", "agesq", "agecube", "educ", "educsq", "marr", "nodegree", "black", "hisp",
        "re74", "re75", "u74", "u75", "educ_re74"]


@pytest.fixture(scope="module")
def reference(nsw_cps):
    """Independent nuisance fits: statsmodels logit and OLS of re78 among comparison men."""
    x = sm.add_constant(nsw_cps[SPEC].to_numpy(float))
    d = nsw_cps["treat"].to_numpy(float)
    y = nsw_cps["re78"].to_numpy(float)
    logit = sm.Logit(d, x).fit(disp=0, maxiter=200, method="newton")
    assert logit.mle_retvals["converged"]
    ps = logit.predict(x)
    ols0 = sm.OLS(y[d == 0], x[d == 0]).fit()
    return {"d": d, "y": y, "ps": ps, "lin": x @ logit.params, "m0": x @ ols0.params}


@pytest.fixture(scope="module")
def model(nsw_cps):
    return CohortComparison(nsw_cps, group="treat", outcome="re78", covariates=SPEC)


def fit_quiet(model, method, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtremeWeightsWarning)
        return model.fit(method=method, estimand="ATT", **options)


def test_no_refusal_and_scores_equal_statsmodels(nsw_cps, reference):
    with pytest.warns(OverlapWarning, match="0 treated and 3 comparison"):
        ps = PropensityScore(nsw_cps, group="treat", covariates=SPEC).fit()
    assert_allclose(ps.ps, reference["ps"], rtol=1e-6, atol=1e-12)
    t = reference["d"] == 1
    assert 0.001 < ps.ps[t].min() and ps.ps[t].max() < 0.94
    assert (ps.ps[~t] < 1e-8).sum() == 3
    table = ps.overlap()  # overlap can be inspected (and plotted) despite the warning
    assert table["n"].tolist() == [185, 15992]


def test_ipw_and_ess_equal_hand_computation(model, reference):
    d, y, e = reference["d"], reference["y"], reference["ps"]
    t = d == 1
    w0 = e[~t] / (1 - e[~t])
    expected = y[t].mean() - np.dot(w0, y[~t]) / w0.sum()
    res = fit_quiet(model, "ipw")
    assert_allclose(res.params.iloc[0], expected, rtol=1e-6)
    assert_allclose(res.counts["ess_control"].iloc[0], w0.sum() ** 2 / np.dot(w0, w0),
                    rtol=1e-6)
    assert res.counts["ess_treated"].iloc[0] == pytest.approx(185)


def test_aipw_equals_hand_computation(model, reference):
    d, y, e, m0 = reference["d"], reference["y"], reference["ps"], reference["m0"]
    t = d == 1
    w0 = e[~t] / (1 - e[~t])
    r0 = y - m0
    expected = r0[t].mean() - np.dot(w0, r0[~t]) / w0.sum()  # Sant'Anna & Zhao (2020)
    res = fit_quiet(model, "aipw")
    assert_allclose(res.params.iloc[0], expected, rtol=1e-6)
    assert_allclose(res.counts["ess_control"].iloc[0], w0.sum() ** 2 / np.dot(w0, w0),
                    rtol=1e-6)


@pytest.mark.parametrize("m", [1, 5])
def test_nearest_neighbour_matching_equals_hand_computation(model, reference, m):
    """M nearest comparison men on the logit score, ties at the M-th distance included."""
    d, y, z = reference["d"], reference["y"], reference["lin"]
    t = np.flatnonzero(d == 1)
    c = np.flatnonzero(d == 0)
    dist = np.abs(z[t][:, None] - z[c][None, :])
    kth = np.sort(dist, axis=1)[:, m - 1]
    chosen = dist <= kth[:, None] * (1 + 1e-7) + 1e-12
    y0 = (chosen * y[c]).sum(axis=1) / chosen.sum(axis=1)
    res = fit_quiet(model, "matching", n_neighbors=m)
    assert_allclose(res.params.iloc[0], np.mean(y[t] - y0), rtol=1e-9)
    k = (chosen / chosen.sum(axis=1, keepdims=True)).sum(axis=0)  # times used, 1/|J| each
    assert res.counts["n_control"].iloc[0] == (k > 0).sum()
    assert_allclose(res.counts["ess_control"].iloc[0], k.sum() ** 2 / np.dot(k, k), rtol=1e-9)


def test_matching_without_replacement_counts_and_matched_data(nsw_cps, model, reference):
    res = fit_quiet(model, "matching", replace=False)
    md = res.matched_data()
    # greedy 1:1 without replacement, treated in decreasing score order (hand-written)
    d, y, z = reference["d"], reference["y"], reference["lin"]
    t = np.flatnonzero(d == 1)
    available = np.ones(len(d), dtype=bool)
    available[t] = False
    partner = {}
    for i in t[np.argsort(-z[t], kind="stable")]:
        free = np.flatnonzero(available)
        j = free[np.argmin(np.abs(z[free] - z[i]))]
        partner[i] = j
        available[j] = False
    controls = np.array([partner[i] for i in t])
    assert_allclose(res.params.iloc[0], np.mean(y[t] - y[controls]), rtol=1e-9)
    assert res.counts["n_control"].iloc[0] == 185 == len(set(controls))
    assert len(md) == 370 and set(md.index) == set(t) | set(controls)
    assert (md["weights"] == 1).all()
    assert md["subclass"].notna().all() and (md.groupby("subclass")["treat"].sum() == 1).all()
    assert set(md.columns) >= {"data_id", "re78", "treat", "weights", "subclass"}
    # balance after matching, by hand: mean differences over the pairs, SD of the treated
    # before matching (cobalt / MatchIt's standardisation for the ATT)
    bal = balance_table(md, group="treat", covariates=["age", "educ", "re74", "black"], weights_array="weights")
    full = balance_table(nsw_cps, group="treat", covariates=["age", "educ", "re74", "black"])
    for col in ["age", "educ", "re74"]:
        x = nsw_cps[col].to_numpy(float)
        smd = (x[t].mean() - x[controls].mean()) / x[t].std(ddof=1)
        assert_allclose(bal.table.loc[col, "smd_adj"], smd, rtol=1e-9)
        assert_allclose(full.table.loc[col, "smd_un"],
                        (x[t].mean() - x[d == 0].mean()) / x[t].std(ddof=1), rtol=1e-9)
    black = nsw_cps["black"].to_numpy(float)
    assert_allclose(bal.table.loc["black", "smd_adj"], black[t].mean() - black[controls].mean(),
                    atol=1e-12)


def test_ate_refuses_with_working_remedy(model):
    with pytest.raises(OverlapError, match="at 0 or 1 for 0 treated and 3 comparison"):
        model.fit(method="ipw", estimand="ATE")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtremeWeightsWarning)
        res = model.fit(method="ipw", estimand="ATE", trim=0.01)
    assert np.isfinite(res.params.iloc[0]) and np.isfinite(res.std_errors.iloc[0])
    assert "trimming" in set(res.ledger.to_frame()["step"])


def test_small_integer_columns_are_upcast_before_arithmetic():
    """causaldata stores age, educ and the dummies as int8: evalkit works in float64 (an int8
    age**2 or a sum of squares would wrap around silently)."""
    from evalkit.data.persons import PersonTable

    nsw = causaldata.nsw_mixtape.load_pandas().data
    assert nsw["age"].dtype == np.int8 and nsw["re78"].dtype == np.float32
    nsw = nsw.assign(w=(nsw["educ"] % 3 + 1).astype(np.int16), pid=np.arange(len(nsw)))
    cov = ["age", "educ", "black", "marr", "nodegree", "re74"]
    table = PersonTable(nsw, id="pid", group="treat", covariates=cov, outcomes=["re78"],
                        weight="w")
    assert all(table.data[c].dtype == np.float64 for c in [*cov, "re78", "w"])
    as_float = nsw.astype({c: np.float64 for c in [*cov, "re78", "w"]})
    for method, options in [("ra", {}), ("aipw", {}),
                            ("matching", {"match_on": "covariates"})]:
        raw = CohortComparison(nsw, group="treat", outcome="re78", covariates=cov,
                               weight="w").fit(method=method, estimand="ATT", **options)
        ref = CohortComparison(as_float, group="treat", outcome="re78", covariates=cov,
                               weight="w").fit(method=method, estimand="ATT", **options)
        assert_allclose(raw.params, ref.params, rtol=1e-13)
        assert_allclose(raw.std_errors, ref.std_errors, rtol=1e-13)
    bal_raw = balance_table(nsw, group="treat", covariates=cov).table
    bal_ref = balance_table(as_float, group="treat", covariates=cov).table
    assert_allclose(bal_raw["smd_un"], bal_ref["smd_un"], rtol=1e-13)
