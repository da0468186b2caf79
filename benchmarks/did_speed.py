"""Callaway–Sant'Anna speed: evalkit vs csdid, side by side, in one run.

Task (issue 3 target): doubly robust ATT(g, t) with not-yet-treated controls
and two covariates, 999 multiplier-bootstrap draws, dynamic (event-study)
aggregation with its bootstrap, on ``rsa_experiment`` panels of 10,000 and
200,000 units x 10 quarters (4 cohorts). Each (tool, size) runs in a fresh
Python process; we report wall time of estimation + aggregation (data
generation excluded) and the process's peak resident memory (VmHWM, which
includes the data itself and the interpreter).

csdid runs with its defaults otherwise (faster_mode, ``cband=True`` so both
compute uniform bands). When csdid exceeds ``--timeout`` seconds at a size,
it is stopped there and its time is projected from its measured scaling
(power law through the two largest sizes that finished), clearly marked as
a projection.

Usage: ``python benchmarks/did_speed.py [--sizes 10000 200000] [--timeout 600]``.

``--honest`` times HonestDiD instead (issue 14 target: under 5 s on a 10-period event
study): an event study on ``rsa_experiment`` (10,000 units, event times -5..4, reference
-1, so 4 pre- and 5 post-period coefficients), then R's default sensitivity analyses
for the first post-period effect -- smoothness with the FLCI over 10 values of M, and
relative magnitudes with the C-LF hybrid over Mbar = 0, 0.5, ..., 2 (1,000-point grid)
-- beside the ``honestdid`` peer on the same coefficients (each in a fresh process).

``--staggered`` times the Sun-Abraham and imputation (BJS) event studies on
``rsa_experiment`` panels (default 200,000 units x 10 quarters, no covariates,
unit-clustered SEs) beside pyfixest (``event_study(estimator="saturated")``, its
Sun-Abraham-style saturated regression, and ``did2s``, Gardner's two-stage, whose point
estimates equal BJS), each in a fresh process.
The machine used for the reported figures is shared (2 cores, 8 engineers):
absolute times are noisy, the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

COHORTS = ("2006Q3", "2007Q1", "2007Q3", "2008Q1")
COVARIATES = ["age", "months_on_benefit"]
N_BOOT = 999


def make_data(n_units: int):
    from evalkit.datasets import rsa_experiment

    ds = rsa_experiment.generate(seed=1, n_units=n_units, n_periods=10, cohorts=COHORTS)
    return ds.tables["panel"][["unit_id", "period", "first_treated", "return_to_work",
                               *COVARIATES]].copy()


def run_evalkit(df) -> dict:
    from evalkit.did.callaway_santanna import CallawaySantAnna

    start = time.perf_counter()
    res = CallawaySantAnna(df, outcome="return_to_work", unit="unit_id", period="period",
                           first_treated="first_treated", covariates=COVARIATES,
                           control_group="notyettreated", method="dr"
                           ).fit(n_boot=N_BOOT, seed=1)
    agg = res.aggregate("dynamic")
    return {"seconds": time.perf_counter() - start, "overall": agg.overall_att,
            "se": agg.overall_se}


def run_csdid(df) -> dict:
    import contextlib
    import io
    import warnings

    import numpy as np
    from csdid.att_gt import ATTgt

    np.random.seed(1)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ATTgt(yname="return_to_work", tname="period", idname="unit_id",
                       gname="first_treated", data=df, control_group="notyettreated",
                       xformla="return_to_work~" + "+".join(COVARIATES), cband=True,
                       biters=N_BOOT).fit(est_method="dr", bstrap=True)
        agg = fitted.aggte(typec="dynamic").atte
    return {"seconds": time.perf_counter() - start,
            "overall": float(np.ravel(agg["overall_att"])[0]),
            "se": float(np.ravel(agg["overall_se"])[0])}


def honest_inputs():
    import numpy as np

    from evalkit.did.event_study import EventStudy

    df = make_data(10_000)
    es = EventStudy(df, outcome="return_to_work", unit="unit_id", period="period",
                    first_treated="first_treated", leads=5, lags=4, endpoints="drop").fit()
    return es, np.asarray(es.params), np.asarray(es.cov)


def honest_worker(tool: str, task: str) -> None:
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    es, beta, sigma = honest_inputs()
    n_pre = int((es.params.index < 0).sum())
    n_post = len(beta) - n_pre
    start, cpu = time.perf_counter(), time.process_time()
    if tool == "evalkit":
        from evalkit.did.honest_did import HonestDiD

        h = HonestDiD(es)
        res = (h.fit(restriction="smoothness") if task == "sd"
               else h.fit(restriction="relative_magnitudes"))
        bounds = res.table[["lower", "upper"]].to_numpy()
    else:
        import honestdid

        l_vec = np.eye(n_post)[0]
        if task == "sd":
            out = honestdid.createSensitivityResults(beta, sigma, n_pre, n_post, l_vec=l_vec)
        else:
            out = honestdid.createSensitivityResults_relativeMagnitudes(
                beta, sigma, n_pre, n_post, l_vec=l_vec, Mbarvec=np.arange(0, 2.01, 0.5))
        bounds = out[["lb", "ub"]].to_numpy()
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                      "bounds": bounds.tolist()}))


def honest_main(timeout: float) -> None:
    print("HonestDiD: event study on rsa_experiment (4 pre, 5 post coefficients), target = "
          "first post-period effect")
    for task, label in (("sd", "smoothness, FLCI, 10 values of M"),
                        ("rm", "relative magnitudes, C-LF, Mbar 0..2 by 0.5")):
        times = {}
        for tool in ("evalkit", "honestdid"):
            try:
                out = subprocess.run([sys.executable, __file__, "--honest-worker", tool, task],
                                     capture_output=True, text=True, timeout=timeout, check=True)
                times[tool] = json.loads(out.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                times[tool] = None
        ours, theirs = times["evalkit"], times["honestdid"]
        # The machine is shared: CPU seconds of the process are the steadier figure.
        text = (f"{theirs['seconds']:.1f} s wall, {theirs['cpu']:.1f} s CPU "
                f"({theirs['cpu'] / ours['cpu']:.0f}x CPU)" if theirs
                else f"> {timeout:.0f} s (stopped)")
        print(f"{label}: evalkit {ours['seconds']:.2f} s wall, {ours['cpu']:.2f} s CPU; "
              f"honestdid {text}")
        if theirs:
            import numpy as np

            diff = np.nanmax(np.abs(np.array(ours["bounds"]) - np.array(theirs["bounds"])))
            print(f"  largest difference of the bounds: {diff:.2e}")


def staggered_worker(tool: str, n_units: int) -> None:
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    df = make_data(n_units)
    df["never"] = df["first_treated"] == 0
    start, cpu = time.perf_counter(), time.process_time()
    kw = dict(outcome="return_to_work", unit="unit_id", period="period",
              first_treated="first_treated")
    if tool == "evalkit-sa":
        from evalkit.did.sun_abraham import SunAbraham

        est = SunAbraham(df, **kw).fit().params
    elif tool == "evalkit-bjs":
        from evalkit.did.imputation import Imputation

        est = Imputation(df, **kw).fit().params
    elif tool == "pyfixest-saturated":
        import pyfixest as pf

        fit = pf.event_study(df, yname="return_to_work", idname="unit_id", tname="period",
                             gname="first_treated", estimator="saturated")
        est = fit.coef()
    else:
        import pyfixest as pf

        treated = (df["first_treated"] > 0) & (df["period"] >= df["first_treated"])
        df["treat"] = treated.astype(int)
        df["rel"] = np.where(treated, df["period"] - df["first_treated"], -1.0)
        est = pf.did2s(df, yname="return_to_work", first_stage="~ 0 | unit_id + period",
                       second_stage="~ i(rel, ref=-1.0)", treatment="treat",
                       cluster="unit_id").coef()
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                      "first": float(np.asarray(est)[0])}))


def staggered_main(sizes, timeout: float) -> None:
    print("Sun-Abraham and imputation event studies on rsa_experiment x 10 quarters "
          "(wall / CPU seconds; CPU is the steadier figure on this shared machine)")
    for n in sizes:
        out = {}
        for tool in ("evalkit-sa", "pyfixest-saturated", "evalkit-bjs", "pyfixest-did2s"):
            try:
                run = subprocess.run([sys.executable, __file__, "--staggered-worker", tool,
                                      str(n)], capture_output=True, text=True, timeout=timeout)
                out[tool] = (json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0
                             else run.stderr.strip().splitlines()[-1][:120])
            except subprocess.TimeoutExpired:
                out[tool] = f"stopped after {timeout:.0f} s"
        for ours, peer in (("evalkit-sa", "pyfixest-saturated"), ("evalkit-bjs", "pyfixest-did2s")):
            a, b = out[ours], out[peer]
            text = f"{n} units | {ours}: {a['seconds']:.1f} s wall, {a['cpu']:.1f} s CPU | {peer}: "
            if isinstance(b, dict):
                text += (f"{b['seconds']:.1f} s wall, {b['cpu']:.1f} s CPU | ratio "
                         f"{b['cpu'] / a['cpu']:.1f}x CPU")
            else:
                text += f"failed ({b})"
            print(text)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(tool: str, n_units: int) -> None:
    df = make_data(n_units)
    result = {"evalkit": run_evalkit, "csdid": run_csdid}[tool](df)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def measure(tool: str, n_units: int, timeout: float) -> dict | None:
    try:
        out = subprocess.run([sys.executable, __file__, "--worker", tool, str(n_units)],
                             capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{tool} at {n_units} failed:\n{exc.stderr[-2000:]}") from exc
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--csdid-extra-sizes", type=int, nargs="*", default=[50_000],
                        help="extra csdid sizes used to project its time if it times out")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "N"))
    parser.add_argument("--honest", action="store_true", help="time HonestDiD instead")
    parser.add_argument("--honest-worker", nargs=2, metavar=("TOOL", "TASK"))
    parser.add_argument("--staggered", action="store_true",
                        help="time Sun-Abraham and imputation instead")
    parser.add_argument("--staggered-worker", nargs=2, metavar=("TOOL", "N"))
    args = parser.parse_args()
    if args.staggered_worker:
        staggered_worker(args.staggered_worker[0], int(args.staggered_worker[1]))
        return
    if args.staggered:
        staggered_main([n for n in args.sizes if n >= 200_000] or args.sizes, args.timeout)
        return
    if args.honest_worker:
        honest_worker(*args.honest_worker)
        return
    if args.honest:
        honest_main(args.timeout)
        return
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return

    print(f"CS DiD: DR, not-yet-treated, {len(COVARIATES)} covariates, {N_BOOT} bootstrap draws, "
          "dynamic aggregation; rsa_experiment panels x 10 periods, 4 cohorts")
    measured_csdid: dict[int, dict] = {}
    rows = []
    for n in sorted(set(args.sizes)):
        ours = measure("evalkit", n, args.timeout)
        theirs = measure("csdid", n, args.timeout)
        if theirs is not None:
            measured_csdid[n] = theirs
        rows.append((n, ours, theirs))
    if any(theirs is None for _, _, theirs in rows):
        for n in args.csdid_extra_sizes:
            if n not in measured_csdid:
                res = measure("csdid", n, args.timeout)
                if res is not None:
                    measured_csdid[n] = res

    header = (f"{'units':>9} | {'evalkit s':>9} {'peak MB':>8} | {'csdid s':>12} {'peak MB':>8} | "
              f"{'speed-up':>9} | overall ATT evalkit / csdid")
    print(header)
    print("-" * len(header))
    for n, ours, theirs in rows:
        if theirs is not None:
            ratio = theirs["seconds"] / ours["seconds"]
            print(f"{n:>9} | {ours['seconds']:>9.2f} {ours['peak_rss_mb']:>8.0f} | "
                  f"{theirs['seconds']:>12.2f} {theirs['peak_rss_mb']:>8.0f} | {ratio:>8.1f}x | "
                  f"{ours['overall']:.5f} / {theirs['overall']:.5f}")
            continue
        sizes = sorted(measured_csdid)
        if len(sizes) >= 2:
            import math

            (n1, r1), (n2, r2) = [(s, measured_csdid[s]) for s in sizes[-2:]]
            slope = math.log(r2["seconds"] / r1["seconds"]) / math.log(n2 / n1)
            projected = r2["seconds"] * (n / n2) ** slope
            text = f"~{projected:>10.0f}*"
            ratio = f"~{projected / ours['seconds']:.0f}x*"
            note = (f"* csdid did not finish in {args.timeout:.0f} s; projected from its "
                    f"times at {n1} ({r1['seconds']:.1f} s) and {n2} ({r2['seconds']:.1f} s) "
                    f"units, scaling exponent {slope:.2f}")
        else:
            text, ratio, note = f">{args.timeout:>11.0f}", f">{args.timeout / ours['seconds']:.0f}x", (
                f"csdid did not finish in {args.timeout:.0f} s")
        print(f"{n:>9} | {ours['seconds']:>9.2f} {ours['peak_rss_mb']:>8.0f} | {text:>12} "
              f"{'-':>8} | {ratio:>9} | {ours['overall']:.5f} / -")
        print(note)
    extra = {s: r for s, r in measured_csdid.items() if s not in {n for n, _, _ in rows}}
    for s, r in extra.items():
        print(f"csdid at {s} units: {r['seconds']:.2f} s, peak {r['peak_rss_mb']:.0f} MB "
              "(used for the projection)")


if __name__ == "__main__":
    main()
