"""Shared cohort fixtures: NSW treated vs CPS-1 comparison men (causaldata)."""

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def nsw_cps():
    """185 NSW treated + 15,992 CPS-1 men, columns as causaldata ships them (age/educ int8,
    earnings float32) plus the Dehejia–Wahba (2002) / Mixtape terms built in float64
    (``age ** 3`` in int8 would wrap around)."""
    causaldata = pytest.importorskip("causaldata")
    nsw = causaldata.nsw_mixtape.load_pandas().data
    cps = causaldata.cps_mixtape.load_pandas().data
    df = pd.concat([nsw[nsw["treat"] == 1], cps], ignore_index=True)
    age, educ = df["age"].astype(float), df["educ"].astype(float)
    df["agesq"], df["agecube"], df["educsq"] = age**2, age**3, educ**2
    df["u74"], df["u75"] = (df["re74"] == 0).astype(float), (df["re75"] == 0).astype(float)
    df["educ_re74"] = educ * df["re74"].astype(float)
    return df
