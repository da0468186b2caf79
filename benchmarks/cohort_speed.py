"""Speed of the cohort estimators: propensity-score matching + AIPW on 1,000,000 persons x 20
covariates (target: under 60 s in total, analytic standard errors included), and since issue
12 also entropy balancing and the pooled (Lin 2013) regression adjustment, counted in the
same 60 s total.

Peer: statsmodels ``TreatmentEffect`` (statsmodels.treatment.treatment_effects), the only
Python implementation of AIPW with Stata-equivalent standard errors. Its SEs come from a GMM
polished by Nelder-Mead over all nuisance parameters, which does not finish in reasonable
time at 1M x 20, so the side-by-side is reported twice:

* at 1,000,000 persons: the peer's point estimate only (``return_results=False``; its logit
  fitted by statsmodels too) vs our estimate *with* SEs;
* at --peer-n persons (default 20,000): both with standard errors.

statsmodels has no matching estimator; matching is timed alone (no Python peer reproduces
Abadie-Imbens SEs). The pooled regression adjustment is compared with statsmodels WLS with
HC2 covariance on the same centred-interaction design (its peer in the tests). Entropy
balancing has no Python peer (R ``ebal``/``WeightIt``); it is timed alone. Optimal full
matching needs the treated x comparison distance matrix, so it is timed at --full-n persons
(default 10,000), alone (R ``optmatch`` is its peer). Run: ``python benchmarks/cohort_speed.py [--n 1000000] [--k 20]``.
The figures are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_data(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, k))
    gamma = rng.uniform(-0.3, 0.3, k)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-0.8 + x @ gamma)))).astype(np.int8)
    y = 1.0 + x @ rng.uniform(-1, 1, k) + d * (1.0 + 0.5 * x[:, 0]) + rng.standard_normal(n)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(k)])
    frame["d"] = d
    frame["y"] = y
    return frame


def time_ours(frame: pd.DataFrame, covariates: list[str]) -> dict:
    """Each timed step starts from a fresh model, so each includes its own logit fit."""
    from evalkit.cohort.comparison import CohortComparison

    out = {}
    for key, method, estimand in (("matching", "matching", "ATT"), ("aipw_ATT", "aipw", "ATT"),
                                  ("aipw_ATE", "aipw", "ATE"), ("ebal", "ebal", "ATT"),
                                  ("ra_pooled", "ra_pooled", "ATT")):
        start = time.perf_counter()
        model = CohortComparison(frame, group="d", outcome="y", covariates=covariates)
        out.setdefault("validate", time.perf_counter() - start)
        start = time.perf_counter()
        res = model.fit(method=method, estimand=estimand)
        out[key] = time.perf_counter() - start
        out[f"{key}_est"] = (res.params.iloc[0], res.std_errors.iloc[0])
    return out


def time_peer_lin(frame: pd.DataFrame, covariates: list[str]) -> tuple[float, tuple]:
    """statsmodels WLS + HC2 on [1, d, x - xbar_T, d (x - xbar_T)] (the ATT centring)."""
    import statsmodels.api as sm

    start = time.perf_counter()
    x = frame[covariates].to_numpy(float)
    d = frame["d"].to_numpy(float)
    xc = x - x[d == 1].mean(axis=0)
    design = np.column_stack([np.ones_like(d), d, xc, d[:, None] * xc])
    res = sm.OLS(frame["y"].to_numpy(float), design).fit(cov_type="HC2")
    return time.perf_counter() - start, (res.params[1], res.bse[1])


def time_full_matching(n: int, k: int) -> tuple[float, tuple, int]:
    from evalkit.cohort.comparison import CohortComparison

    frame = make_data(n, k, seed=2)
    model = CohortComparison(frame, group="d", outcome="y",
                             covariates=[f"x{j}" for j in range(k)])
    start = time.perf_counter()
    res = model.fit(method="fullmatch", estimand="ATT")
    elapsed = time.perf_counter() - start
    return elapsed, (res.params.iloc[0], res.std_errors.iloc[0]), int(frame["d"].sum())


def time_peer(frame: pd.DataFrame, covariates: list[str], with_se: bool) -> tuple[float, tuple]:
    import statsmodels.api as sm
    from statsmodels.regression.linear_model import OLS
    from statsmodels.treatment.treatment_effects import TreatmentEffect

    start = time.perf_counter()
    x = sm.add_constant(frame[covariates].to_numpy(float))
    d = frame["d"].to_numpy()
    select = sm.Logit(d, x).fit(disp=0)
    te = TreatmentEffect(OLS(frame["y"].to_numpy(float), x), d, results_select=select)
    if with_se:
        res = te.aipw()
        est = (res.effect[0], res.sd[0])
    else:
        est = (te.aipw(return_results=False)[0], np.nan)
    return time.perf_counter() - start, est


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--peer-n", type=int, default=20_000)
    parser.add_argument("--full-n", type=int, default=10_000)
    args = parser.parse_args()
    covariates = [f"x{j}" for j in range(args.k)]

    # compile the numba kernels outside the timed region
    time_ours(make_data(2_000, 3), ["x0", "x1", "x2"])

    frame = make_data(args.n, args.k)
    ours = time_ours(frame, covariates)
    total = (ours["validate"] + ours["matching"] + ours["aipw_ATT"] + ours["ebal"]
             + ours["ra_pooled"])
    print(f"n = {args.n:,} persons x {args.k} covariates, treated share "
          f"{frame['d'].mean():.2f}")
    print(f"  evalkit validation (PersonTable)        {ours['validate']:7.2f} s")
    print(f"  evalkit PS matching ATT + AI(2016) SE  {ours['matching']:7.2f} s   "
          f"est {ours['matching_est'][0]:.4f} (SE {ours['matching_est'][1]:.4f})")
    print(f"  evalkit AIPW ATT + IF SE                {ours['aipw_ATT']:7.2f} s   "
          f"est {ours['aipw_ATT_est'][0]:.4f} (SE {ours['aipw_ATT_est'][1]:.4f})")
    print(f"  evalkit AIPW ATE + IF SE                {ours['aipw_ATE']:7.2f} s   "
          f"est {ours['aipw_ATE_est'][0]:.4f} (SE {ours['aipw_ATE_est'][1]:.4f})")
    print(f"  evalkit entropy balancing ATT + IF SE   {ours['ebal']:7.2f} s   "
          f"est {ours['ebal_est'][0]:.4f} (SE {ours['ebal_est'][1]:.4f})   (no Python peer)")
    print(f"  evalkit pooled RA (Lin) ATT + HC2 SE    {ours['ra_pooled']:7.2f} s   "
          f"est {ours['ra_pooled_est'][0]:.4f} (SE {ours['ra_pooled_est'][1]:.4f})")
    print(f"  TOTAL validation + matching + AIPW ATT + ebal + pooled RA  {total:7.2f} s   "
          "(target < 60 s; each estimator fits its own propensity score)")
    lin_time, lin_est = time_peer_lin(frame, covariates)
    print(f"  statsmodels OLS HC2 (Lin design) {lin_time:7.2f} s   est {lin_est[0]:.4f} "
          f"(SE {lin_est[1]:.4f});  ratio peer/evalkit = {lin_time / ours['ra_pooled']:.2f}")
    peer_time, peer_est = time_peer(frame, covariates, with_se=False)
    print(f"  statsmodels TreatmentEffect.aipw ATE, point estimate only: {peer_time:7.2f} s "
          f"est {peer_est[0]:.4f};  ratio peer/evalkit(with SE) = "
          f"{peer_time / ours['aipw_ATE']:.2f}")

    small = make_data(args.peer_n, args.k, seed=1)
    ours_small = time_ours(small, covariates)
    peer_small, peer_small_est = time_peer(small, covariates, with_se=True)
    print(f"n = {args.peer_n:,}: evalkit AIPW ATE with SE {ours_small['aipw_ATE']:.3f} s "
          f"(est {ours_small['aipw_ATE_est'][0]:.5f}, SE {ours_small['aipw_ATE_est'][1]:.5f}); "
          f"statsmodels with SE {peer_small:.3f} s (est {peer_small_est[0]:.5f}, "
          f"SE {peer_small_est[1]:.5f}); ratio peer/evalkit = "
          f"{peer_small / ours_small['aipw_ATE']:.1f}")
    full_time, full_est, n_treated = time_full_matching(args.full_n, args.k)
    print(f"n = {args.full_n:,} ({n_treated:,} treated): evalkit optimal full matching ATT "
          f"(logit + matching + SE) {full_time:.2f} s (est {full_est[0]:.4f}, "
          f"SE {full_est[1]:.4f}); no Python peer (R optmatch)")


if __name__ == "__main__":
    main()
