"""Several event studies on one figure (e.g. TWFE, Callaway–Sant'Anna, Sun–Abraham, imputation)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from evalkit.did.event_study import finish_event_axes


def plot_event_studies(results: Mapping[str, object], *, level: float = 0.95, ax=None,
                       text=None):
    """Estimates by event time with their confidence intervals, one colour per estimator.

    ``results`` maps a legend label to any results indexed by event time with
    ``params`` and ``conf_int(level)``: :class:`~evalkit.did.event_study.EventStudyResults`,
    :class:`~evalkit.did.sun_abraham.SunAbrahamResults`,
    :class:`~evalkit.did.imputation.ImputationResults`, a Callaway–Sant'Anna dynamic
    aggregation. Points are shifted sideways so intervals do not overlap; a reference
    period missing from an estimator is drawn at 0 by none of them (each shows what it
    estimates). ``text`` overrides ``"xlabel"``, ``"ylabel"`` (formatted with ``level``)
    and ``"title"``. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    text = {"xlabel": "Periods relative to first treatment",
            "ylabel": "Effect ({level:.0%} CI)", "title": None, **(text or {})}
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.8))
    else:
        fig = ax.figure
    n = len(results)
    width = 0.6 / max(n, 1)
    for k, (label, res) in enumerate(results.items()):
        params = res.params
        ci = res.conf_int(level)
        keep = np.isfinite(ci["lower"].to_numpy())
        e = params.index.to_numpy(dtype=float)[keep] + (k - (n - 1) / 2) * width
        est = params.to_numpy()[keep]
        ax.errorbar(e, est, yerr=[est - ci["lower"].to_numpy()[keep],
                                  ci["upper"].to_numpy()[keep] - est],
                    fmt="o", markersize=4, capsize=2, label=label)
    finish_event_axes(ax, text, level)
    return fig
