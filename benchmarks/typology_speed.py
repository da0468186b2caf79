"""Speed of sequence distances: evalkit vs sequenzo 0.1.42, and vs the single-core DP limit.

Targets (issue 5): the full OM distance matrix at least as fast as sequenzo, and within 3x
of the single-core dynamic-programming limit per core.

Every timed run is a fresh subprocess (wall time of the call only, after a warm-up call on
10 sequences so numba's cached machine code and sequenzo's extension are loaded; memory is
the subprocess's peak resident set size, and its growth during the timed call). Both return
the condensed matrix. sequenzo's constant cost 2 is its ``sm="CONSTANT"`` (which it routes to
its LCS kernel); 1.999 is passed as a matrix, which keeps it on its general OM DP.

Cases
    mvad (712 persons x 72 months): OM constant cost 2 / indel 1 (sequenzo routes it to its
    LCS kernel), OM constant 1.999 (its general DP), OM TRATE (indel auto).
    synthetic (Markov chains, 8 states, 72 months): OM TRATE at 1,000 and 2,000 persons for both,
    then 10,000 for evalkit; sequenzo at 10,000 is projected from its measured quadratic
    scaling (it did not finish in 5 minutes in earlier runs; projected 25-30 min).
    DP limit: a plain one-pair numba OM loop on one thread (DP cells per second), next to
    our kernel on one thread and on all threads.

    python benchmarks/typology_speed.py [--big 10000] [--skip-big]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

# ../shared/reference beside the repository, or EVALKIT_REFERENCE.
REFERENCE = os.environ.get(
    "EVALKIT_REFERENCE",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "reference"))
MVAD = os.path.join(REFERENCE, "typology", "mvad.csv")
STATES = ["employment", "FE", "HE", "joblessness", "school", "training"]


def mvad_codes() -> np.ndarray:
    import pandas as pd

    frame = pd.read_csv(MVAD)
    mapping = {s: i for i, s in enumerate(STATES)}
    return np.column_stack([frame[c].map(mapping).to_numpy() for c in frame.columns[14:]]).astype(np.int8)


def synthetic_codes(n: int, months: int = 72, n_states: int = 8, seed: int = 1) -> np.ndarray:
    """Markov careers: stay with probability 0.9, else move to a uniformly drawn state."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, months), dtype=np.int8)
    x[:, 0] = rng.integers(0, n_states, size=n)
    for t in range(1, months):
        move = rng.uniform(size=n) < 0.1
        x[:, t] = np.where(move, rng.integers(0, n_states, size=n), x[:, t - 1])
    return x


def load(dataset: str, n: int) -> np.ndarray:
    return mvad_codes() if dataset == "mvad" else synthetic_codes(n)


# ------------------------------------------------------------------ worker (one timed call)


def evalkit_call(x: np.ndarray, sm: str):
    """Warm up, then return the timed call (full OM distance matrix, condensed)."""
    from evalkit.typology.distances import sequence_distances

    if sm == "TRATE":
        args, kwargs = ("OM", "TRATE", "auto"), {}
    else:
        args, kwargs = ("OM", "CONSTANT", 1.0), {"cval": float(sm)}
    sequence_distances(x[:10], *args, **kwargs)
    return lambda: sequence_distances(x, *args, **kwargs)


def sequenzo_call(x: np.ndarray, sm: str):
    """Warm up, then return the timed call (``get_distance_matrix``, condensed output)."""
    import pandas as pd
    from sequenzo import SequenceData, get_distance_matrix

    n_states = int(x.max()) + 1
    states = [f"s{i}" for i in range(n_states)]
    cols = [f"t{t}" for t in range(x.shape[1])]

    def data(rows):
        frame = pd.DataFrame(np.asarray(states, dtype=object)[rows], columns=cols)
        frame.insert(0, "id", np.arange(len(frame)))
        with contextlib.redirect_stdout(io.StringIO()):
            return SequenceData(frame, time=cols, id_col="id", states=states)

    if sm == "TRATE":
        kwargs = {"sm": "TRATE", "indel": "auto"}
    elif sm == "2":
        kwargs = {"sm": "CONSTANT", "indel": 1.0}  # sequenzo's own constant 2 (its LCS route)
    else:
        kwargs = {"sm": float(sm) * (1 - np.eye(n_states)), "indel": 1.0}
    small, full = data(x[:10]), data(x)

    def call(seqdata):
        with contextlib.redirect_stdout(io.StringIO()):
            return get_distance_matrix(seqdata, method="OM", full_matrix=False, **kwargs)

    call(small)
    return lambda: call(full)


def worker(spec: dict) -> dict:
    x = load(spec["dataset"], spec["n"])
    n_unique = int(np.unique(x, axis=0).shape[0])
    run = (evalkit_call if spec["tool"] == "evalkit" else sequenzo_call)(x, spec["sm"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**spec, "seconds": seconds, "peak_mb": peak / 1024, "growth_mb": (peak - before) / 1024,
            "n_unique": n_unique}


def timed(tool: str, dataset: str, n: int, sm: str, timeout: float = 3600) -> dict:
    spec = {"tool": tool, "dataset": dataset, "n": n, "sm": sm}
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {**spec, "seconds": float("nan"), "peak_mb": float("nan"), "growth_mb": float("nan"),
                "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1])


# ------------------------------------------------------------------ single-core DP limit


def dp_limit() -> dict:
    """Cells/s of a plain one-pair OM loop (one thread) vs our lockstep kernel (1 and all threads)."""
    import numba
    from numba import njit

    from evalkit.typology.costs import trate_costs
    from evalkit.typology.distances import om_condensed

    @njit(cache=False)
    def plain_pairs(U, sm, indel, out):
        n, m = U.shape
        prev = np.empty(m + 1)
        curr = np.empty(m + 1)
        pos = 0
        for u in range(n - 1):
            for v in range(u + 1, n):
                for j in range(m + 1):
                    prev[j] = j * indel
                for i in range(1, m + 1):
                    curr[0] = i * indel
                    row = sm[U[u, i - 1]]
                    for j in range(1, m + 1):
                        best = prev[j] + indel
                        ins = curr[j - 1] + indel
                        sub = prev[j - 1] + row[U[v, j - 1]]
                        if ins < best:
                            best = ins
                        if sub < best:
                            best = sub
                        curr[j] = best
                    prev, curr = curr, prev
                out[pos] = prev[m]
                pos += 1

    x = np.unique(synthetic_codes(600), axis=0)
    sm = trate_costs(x, 8)
    indel = sm.max() / 2
    n, m = x.shape
    cells = n * (n - 1) / 2 * m * m
    lengths = np.full(n, m, dtype=np.int64)
    out_plain, out_ours = np.empty(n * (n - 1) // 2), np.empty(n * (n - 1) // 2)
    plain_pairs(x[:5], sm, indel, out_plain[:10])
    om_condensed(x[:5], lengths[:5], sm, indel, out_ours[:10])
    threads = numba.get_num_threads()
    t0 = time.perf_counter()
    plain_pairs(x, sm, indel, out_plain)
    plain = cells / (time.perf_counter() - t0)
    numba.set_num_threads(1)
    t0 = time.perf_counter()
    om_condensed(x, lengths, sm, indel, out_ours)
    ours_1 = cells / (time.perf_counter() - t0)
    numba.set_num_threads(threads)
    t0 = time.perf_counter()
    om_condensed(x, lengths, sm, indel, out_ours)
    ours_all = cells / (time.perf_counter() - t0)
    assert np.allclose(out_plain, out_ours, rtol=0, atol=1e-9)
    return {"plain_1thread": plain, "ours_1thread": ours_1, "ours_all": ours_all, "threads": threads}


# ------------------------------------------------------------------ rule typology (typo-rules)
# >>> bench_rule_typology() is added here by the rule-typology engineer (typo-rules). <<<
# Target (issue 5): the seven CPAS career types by rule on 1 million persons x 60 months in
# under 30 s. Peer: the straightforward pandas way, groupby(person).apply of a per-person
# function implementing the same rules; timed on a subsample (it would take minutes at full
# size), projected linearly to the full size, and checked to give the same types.

_RULE_EMP = np.array([True, True, True, False, False, False, False, False])  # FT PT SE | rest
_RULE_PEER_TYPE = {3: "onem_activation", 5: "integration_income", 6: "allowance"}


def _peer_rule(states, min_gap=2, min_share=0.5, min_interruptions=2) -> str:
    """Per-person CPAS rules the plain pandas way: one Python call per person."""
    codes = states.cat.codes.to_numpy()
    emp = _RULE_EMP[codes]
    after = (~emp & (np.cumsum(emp) > 0)).astype(np.int8)
    edges = np.diff(np.concatenate(([0], after, [0])))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    n_int = int((runs >= min_gap).sum())
    if emp.mean() >= min_share:
        return "sustainable_interrupted" if n_int else "sustainable"
    counts = np.bincount(codes, minlength=8)
    status = np.concatenate(([emp.sum()], counts[3:]))  # EMP, ACT, UB, RIS, ALW, INA
    dominant = int(status.argmax())
    if dominant and dominant + 2 in _RULE_PEER_TYPE:
        return _RULE_PEER_TYPE[dominant + 2]
    return "nonsustainable_interrupted" if n_int >= min_interruptions else "nonsustainable"


def bench_rule_typology(n_persons: int = 1_000_000, n_months: int = 60,
                        peer_persons: int = 20_000, seed: int = 1) -> dict:
    """Time RuleTypology.fit on the int8 matrix and the groupby-apply peer on a subsample."""
    import pandas as pd

    from evalkit.datasets import cpas_careers
    from evalkit.typology.rules import RuleTypology
    from evalkit.typology.states import CAREER_TYPE_CODES, CPAS_ALPHABET, STUDY_SHARES

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    types = rng.permutation(np.repeat(np.arange(7), cpas_careers.type_quotas(n_persons)))
    matrix = cpas_careers.simulate_matrix(types, n_months, rng)
    t_gen = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = RuleTypology(matrix, alphabet=CPAS_ALPHABET, benchmark=STUDY_SHARES).fit()
    t_ours = time.perf_counter() - t0
    codes = res.types["career_type"].cat.codes.to_numpy()
    recovered = float((codes == types).mean())

    long = pd.DataFrame({
        "person_id": np.repeat(np.arange(peer_persons), n_months),
        "state": pd.Categorical.from_codes(matrix[:peer_persons].ravel(),
                                           categories=list(CPAS_ALPHABET)),
    })
    t0 = time.perf_counter()
    peer = long.groupby("person_id", sort=True)["state"].apply(_peer_rule)
    t_peer_sub = time.perf_counter() - t0
    agree = bool((peer.to_numpy() == np.array(CAREER_TYPE_CODES)[codes[:peer_persons]]).all())
    t_peer = t_peer_sub * n_persons / peer_persons

    print(f"rule typology, {n_persons:,} persons x {n_months} months "
          f"({n_persons * n_months / 1e6:.0f} M person-months; shared 2-core machine)")
    print(f"  generate int8 matrix (cpas_careers)     {t_gen:8.2f} s")
    print(f"  evalkit RuleTypology.fit (numpy)         {t_ours:8.2f} s   (target < 30 s)")
    print(f"  pandas groupby.apply, {peer_persons:,} persons  {t_peer_sub:8.2f} s"
          f" -> projected {t_peer:,.0f} s for {n_persons:,}")
    print(f"  ratio peer / evalkit                      {t_peer / t_ours:8.0f} x")
    print(f"  peer types equal ours on the subsample: {agree}; "
          f"generator types recovered: {recovered:.2%}")
    print((100 * res.to_frame()[["share", "benchmark_share"]]).round(2).to_string())
    return {"seconds": t_ours, "peer_seconds_projected": t_peer, "peer_agrees": agree,
            "recovery": recovered, "generate_seconds": t_gen}


# <<< end of bench_rule_typology section >>>


def _row(r: dict) -> str:
    err = f"  ERROR {r['error']}" if "error" in r else ""
    return (f"{r['tool']:9s} {r['dataset']:9s} n={r['n']:>6,d} uniq={r.get('n_unique', 0):>6,d} "
            f"sm={r['sm']:6s} {r['seconds']:9.2f} s  peak {r['peak_mb']:7.0f} MB "
            f"(+{r['growth_mb']:6.0f} MB){err}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--big", type=int, default=10_000, help="synthetic size for evalkit alone")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--peer-sizes", default="1000,2000", help="synthetic sizes run by both")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    import numba

    print(f"typology distances benchmark -- {os.cpu_count()} CPUs (shared machine), "
          f"numba threads {numba.get_num_threads()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("\n== mvad, full OM distance matrix (712 persons x 72 months)")
    for sm in ("2", "1.999", "TRATE"):
        ours, peer = timed("evalkit", "mvad", 712, sm), timed("sequenzo", "mvad", 712, sm)
        print(_row(ours))
        print(_row(peer))
        print(f"   -> sequenzo / evalkit time = {peer['seconds'] / ours['seconds']:.2f}x")

    print("\n== synthetic Markov careers x 72 months, OM TRATE")
    sizes = [int(s) for s in args.peer_sizes.split(",")]
    peer_fit = []
    for n in sizes:
        ours, peer = timed("evalkit", "synthetic", n, "TRATE"), timed("sequenzo", "synthetic", n, "TRATE")
        print(_row(ours))
        print(_row(peer))
        print(f"   -> sequenzo / evalkit time = {peer['seconds'] / ours['seconds']:.2f}x")
        peer_fit.append((peer.get("n_unique", n), peer["seconds"]))
    # DP work grows with the number of distinct pairs: project t ~ c * u^2 from the largest run
    u_last, t_last = peer_fit[-1]
    if len(peer_fit) > 1:
        (u0, t0), (u1, t1) = peer_fit[-2], peer_fit[-1]
        slope = np.log(t1 / t0) / np.log(u1 / u0)
        print(f"   sequenzo scaling exponent between n={sizes[-2]:,} and {sizes[-1]:,}: {slope:.2f} "
              "(2 = quadratic)")
    if not args.skip_big:
        big = timed("evalkit", "synthetic", args.big, "TRATE")
        print(_row(big))
        projected = t_last * (big.get("n_unique", args.big) / u_last) ** 2
        print(f"   sequenzo projected at n={args.big:,} (quadratic from n={sizes[-1]:,}): "
              f"{projected:,.0f} s = {projected / 60:.1f} min -> {projected / big['seconds']:.1f}x evalkit")

    print("\n== DP cells per second (OM, TRATE costs, 8 states, 72 x 72 cells per pair)")
    lim = dp_limit()
    print(f"plain one-pair numba loop, 1 thread : {lim['plain_1thread']:.3g} cells/s  (single-core DP limit)")
    print(f"evalkit lockstep kernel, 1 thread   : {lim['ours_1thread']:.3g} cells/s  "
          f"= {lim['ours_1thread'] / lim['plain_1thread']:.2f}x the limit")
    per_core = lim["ours_all"] / lim["threads"]
    print(f"evalkit lockstep kernel, {lim['threads']} threads  : {lim['ours_all']:.3g} cells/s "
          f"({per_core:.3g} per thread = {per_core / lim['plain_1thread']:.2f}x the limit; target >= 0.33x)")

    print("\n== rule typology (seven CPAS career types)")
    bench_rule_typology()


if __name__ == "__main__":
    main()
