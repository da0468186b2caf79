"""Load and validate 10 million person-months (cpas_careers at scale).

Target (issue 2): under 60 s and under 4 GiB peak memory on a 2-core, 24 GiB machine.

The data are generated once to ``benchmarks/_data/`` (git-ignored) as Parquet and
CSV. Each measurement runs in a fresh subprocess so its peak resident memory
(``ru_maxrss``) is its own. As a point of comparison the script also times the
bare pandas read of the same file: the ratio shows what validation adds.

    python benchmarks/data_load_speed.py [--persons 277778] [--months 36]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from evalkit.data import Sequences, read_table
path, mode = sys.argv[1], sys.argv[2]
frame = read_table(path)
t_read = time.perf_counter() - t0
if mode == "validate":
    seq = Sequences(frame, id="person_id", period="month", state="state",
                    alphabet=["FT", "PT", "SE", "ACT", "UB", "RIS", "ALW", "INA"], source=path)
    shape = list(seq.matrix.shape)
else:
    shape = list(frame.shape)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
print(json.dumps({"seconds": elapsed, "read_seconds": t_read, "peak_gib": peak, "shape": shape}))
"""


def make_data(n_persons: int, n_months: int) -> dict[str, Path]:
    from evalkit.datasets import cpas_careers

    DATA.mkdir(parents=True, exist_ok=True)
    stem = DATA / f"cpas_{n_persons}x{n_months}"
    paths = {"parquet": stem.with_suffix(".parquet"), "csv": stem.with_suffix(".csv")}
    if all(p.exists() for p in paths.values()):
        return paths
    t0 = time.perf_counter()
    long = cpas_careers.generate(seed=1, n_persons=n_persons, n_months=n_months).tables[
        "sequences"]
    print(f"generated {len(long):,} person-months in {time.perf_counter() - t0:.1f} s")
    long.to_parquet(paths["parquet"], index=False)
    long.to_csv(paths["csv"], index=False)
    return paths


def measure(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=277_778)
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()
    paths = make_data(args.persons, args.months)
    n = args.persons * args.months
    print(f"\n{n:,} person-months ({args.persons:,} persons x {args.months} months)")
    print(f"{'input':8} {'evalkit read+validate':>24} {'pandas read only':>18} {'ratio':>7}"
          f" {'peak GiB (evalkit)':>19}")
    for fmt, path in paths.items():
        ours = measure(path, "validate")
        bare = measure(path, "read")
        print(f"{fmt:8} {ours['seconds']:>22.1f} s {bare['seconds']:>16.1f} s "
              f"{ours['seconds'] / bare['seconds']:>6.1f}x {ours['peak_gib']:>18.2f}")
    print("target: < 60 s and < 4 GiB")


if __name__ == "__main__":
    main()
