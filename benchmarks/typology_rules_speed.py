"""Rule typology of the seven CPAS career types on 1 million persons x 60 months.

Target (issue 5): under 30 s. Ours: :class:`evalkit.typology.rules.RuleTypology` on the
dense int8 person x month matrix (vectorised numpy, 200,000-row chunks). Peer: the
straightforward pandas way, ``groupby(person).apply`` of a per-person function
implementing the same rules on the long table; it is timed on a subsample (it would
take minutes at full size) and its per-person rate projected to 1 M, and its types
are checked equal to ours on that subsample.

    python benchmarks/typology_rules_speed.py [--persons 1000000] [--months 60]
                                              [--peer-persons 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

_EMP = np.array([True, True, True, False, False, False, False, False])  # FT PT SE | others
_PEER_TYPE = {3: "onem_activation", 5: "integration_income", 6: "allowance"}


def _peer_rule(states: pd.Series, min_gap=2, min_share=0.5, min_interruptions=2) -> str:
    """Per-person rules the plain pandas way: one Python call per person (numpy inside)."""
    codes = states.cat.codes.to_numpy()
    emp = _EMP[codes]
    share = emp.mean()
    after = (~emp & (np.cumsum(emp) > 0)).astype(np.int8)
    edges = np.diff(np.concatenate(([0], after, [0])))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    n_int = int((runs >= min_gap).sum())
    if share >= min_share:
        return "sustainable_interrupted" if n_int else "sustainable"
    counts = np.bincount(codes, minlength=8)
    status = np.concatenate(([emp.sum()], counts[3:]))  # EMP, ACT, UB, RIS, ALW, INA
    dominant = int(status.argmax())
    if dominant and dominant + 2 in _PEER_TYPE:
        return _PEER_TYPE[dominant + 2]
    return "nonsustainable_interrupted" if n_int >= min_interruptions else "nonsustainable"


def bench_rule_typology(n_persons: int = 1_000_000, n_months: int = 60,
                        peer_persons: int = 20_000, seed: int = 1) -> dict:
    """Time the rule typology at full size and the pandas groupby-apply peer on a subsample."""
    from evalkit.datasets import cpas_careers
    from evalkit.typology.rules import RuleTypology
    from evalkit.typology.states import CAREER_TYPE_CODES, CPAS_ALPHABET

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    types = rng.permutation(np.repeat(np.arange(7), cpas_careers.type_quotas(n_persons)))
    matrix = cpas_careers.simulate_matrix(types, n_months, rng)
    t_gen = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = RuleTypology(matrix, alphabet=CPAS_ALPHABET).fit()
    t_ours = time.perf_counter() - t0
    recovered = float((res.types["career_type"].cat.codes.to_numpy() == types).mean())

    sub = matrix[:peer_persons]
    long = pd.DataFrame({
        "person_id": np.repeat(np.arange(peer_persons), n_months),
        "state": pd.Categorical.from_codes(sub.ravel(), categories=list(CPAS_ALPHABET)),
    })
    t0 = time.perf_counter()
    peer = long.groupby("person_id", sort=True)["state"].apply(_peer_rule)
    t_peer_sub = time.perf_counter() - t0
    ours_sub = np.array(CAREER_TYPE_CODES)[res.types["career_type"].cat.codes.to_numpy()[
        :peer_persons]]
    agree = bool((peer.to_numpy() == ours_sub).all())
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
    shares = res.to_frame()[["share", "study_share"]]
    print((100 * shares).round(2).to_string())
    return {"seconds": t_ours, "peer_seconds_projected": t_peer, "peer_agrees": agree,
            "recovery": recovered, "generate_seconds": t_gen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--peer-persons", type=int, default=20_000)
    args = parser.parse_args()
    bench_rule_typology(args.persons, args.months, args.peer_persons)


if __name__ == "__main__":
    main()
