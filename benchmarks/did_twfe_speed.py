"""Speed of the classic DiD estimators on the rSa benchmark panel (200,000 recipients x 16 quarters).

* generation of the panel (``evalkit.datasets.rsa_experiment``; target: a few seconds);
* TWFE with zone-clustered SEs: our within kernel + CRV1 (default) beside the peer
  ``linearmodels.PanelOLS(entity_effects=True, time_effects=True).fit(cov_type="clustered")``
  on the same data (coefficients compared);
* event study (leads/lags, 15 event-time dummies) and Bacon decomposition, ours only (no Python
  peer: statsmodels would need 200,000 dummies).

Run: ``python benchmarks/did_twfe_speed.py [--n 200000]``. Figures come from one run on a
shared 2-core machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()

    from evalkit.datasets import rsa_experiment
    from evalkit.did.bacon import BaconDecomposition
    from evalkit.did.event_study import EventStudy
    from evalkit.did.twfe import TWFE

    t0 = time.perf_counter()
    ds = rsa_experiment.generate(n_units=args.n, n_zones=100)
    t_gen = time.perf_counter() - t0
    panel = ds["panel"]
    print(f"rsa_experiment.generate: {len(panel):,} rows in {t_gen:.2f} s")

    t0 = time.perf_counter()
    ours = TWFE(panel, outcome="return_to_work", cluster="zone_id").fit()
    t_ours = time.perf_counter() - t0

    from linearmodels import PanelOLS

    t0 = time.perf_counter()
    frame = panel.set_index(["unit_id", "period"])
    d = ((frame["first_treated"] > 0)
         & (frame.index.get_level_values("period") >= frame["first_treated"])).astype(float)
    peer = PanelOLS(frame["return_to_work"].astype(float), pd.DataFrame({"treated": d}),
                    entity_effects=True, time_effects=True).fit(
        cov_type="clustered", clusters=frame["zone_id"])
    t_peer = time.perf_counter() - t0
    assert np.isclose(ours.att, peer.params["treated"], rtol=1e-8)
    print(f"TWFE (incl. Panel validation): evalkit {t_ours:.2f} s | linearmodels PanelOLS "
          f"{t_peer:.2f} s | ratio peer/ours {t_peer / t_ours:.1f}x | beta {ours.att:.5f} both")

    t0 = time.perf_counter()
    es = EventStudy(panel, outcome="return_to_work", cluster="zone_id", leads=7, lags=8).fit()
    print(f"EventStudy ({len(es.params)} coefficients): {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bacon = BaconDecomposition(panel, outcome="return_to_work").fit()
    print(f"BaconDecomposition ({len(bacon.comparisons)} 2x2s): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
