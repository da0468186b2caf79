"""Figures for Callaway–Sant'Anna results: ATT(g, t) by cohort and aggregations."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

PRE_COLOUR, POST_COLOUR = "#1f77b4", "#d62728"

# Fixed text of the aggregate plots; callers (reports in other languages) override any key.
# "overall" is formatted with ``value`` (the overall ATT).
AGGREGATE_TEXT = {
    "pre": "pre-treatment",
    "post": "post-treatment",
    "estimate": "estimate",
    "event_xlabel": "periods since treatment (event time e)",
    "event_ylabel": "ATT(e)",
    "group_xlabel": "cohort (first treated period)",
    "calendar_xlabel": "period",
    "ylabel": "ATT",
    "overall": "overall ATT {value:.4f}",
}


GROUP_TIME_TEXT = {
    "pre": "pre",
    "post": "post",
    "cohort": "cohort {group}",
    "xlabel": "period",
    "ylabel": "ATT(g,t)",
}


def plot_group_time(frame, *, band_label: str, ax=None, text=None, tick_labels=None):
    """One panel per cohort: ATT(g, t) against t with intervals, pre vs post coloured.

    ``frame`` is ``CallawaySantAnnaResults.to_frame()`` (index group, time).
    ``text`` overrides entries of :data:`GROUP_TIME_TEXT` (``"cohort"`` is
    formatted with ``group``, the cohort's text); ``tick_labels`` maps periods
    (and so cohorts, named by their first period) to the text shown for them.
    """
    import matplotlib.pyplot as plt

    text = {**GROUP_TIME_TEXT, **(text or {})}
    tick_labels = tick_labels or {}

    groups = frame.index.get_level_values("group").unique()
    if ax is None:
        fig, axes = plt.subplots(len(groups), 1, figsize=(7, 1.9 * len(groups) + 0.6),
                                 sharex=True, squeeze=False)
        axes = axes[:, 0]
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    for axis, g in zip(axes, groups, strict=False):
        part = frame.xs(g, level="group")
        post = part["post"].to_numpy(dtype=bool)
        for mask, colour, label in ((~post, PRE_COLOUR, text["pre"]),
                                    (post, POST_COLOUR, text["post"])):
            if not mask.any():
                continue
            sub = part[mask]
            axis.errorbar(sub.index, sub["estimate"],
                          yerr=[sub["estimate"] - sub["ci_lower"], sub["ci_upper"] - sub["estimate"]],
                          fmt="o", color=colour, capsize=3, label=label)
        axis.axhline(0, color="grey", lw=0.8)
        axis.set_title(text["cohort"].format(group=tick_labels.get(g, f"{g:g}")), fontsize=9,
                       loc="left")
        axis.set_ylabel(text["ylabel"])
    axes[-1].set_xlabel(text["xlabel"])
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    if tick_labels:
        axes[-1].xaxis.set_major_formatter(
            FuncFormatter(lambda v, _pos: tick_labels.get(v, f"{v:g}")))
    handles = {}
    for axis in axes:  # one legend entry per kind, whichever cohort panel has it
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    axes[0].legend(handles.values(), handles.keys(), title=band_label, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_aggregate(frame, kind: str, *, overall: float, band_label: str, ax=None,
                   text=None, tick_labels=None):
    """Event-study plot (``dynamic``) or estimates by cohort / period with intervals.

    ``text`` overrides entries of :data:`AGGREGATE_TEXT` (axis labels, legend);
    ``tick_labels`` maps x values (cohorts, periods) to the text shown under them.
    """
    import matplotlib.pyplot as plt

    text = {**AGGREGATE_TEXT, **(text or {})}

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    x = np.asarray(frame.index, dtype=float) if kind != "simple" else np.zeros(len(frame))
    est = frame["estimate"].to_numpy()
    err = [est - frame["ci_lower"].to_numpy(), frame["ci_upper"].to_numpy() - est]
    if kind == "dynamic":
        pre = x < 0
        for mask, colour, label in ((pre, PRE_COLOUR, text["pre"]),
                                    (~pre, POST_COLOUR, text["post"])):
            ax.errorbar(x[mask], est[mask], yerr=[err[0][mask], err[1][mask]], fmt="o",
                        color=colour, capsize=3, label=label)
        ax.axvline(-0.5, color="grey", ls=":", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(text["event_xlabel"])
        ax.set_ylabel(text["event_ylabel"])
    else:
        ax.errorbar(x, est, yerr=err, fmt="o", color=POST_COLOUR, capsize=3,
                    label=text["estimate"])
        ax.set_xlabel({"group": text["group_xlabel"], "calendar": text["calendar_xlabel"],
                       "simple": ""}[kind])
        ax.set_ylabel(text["ylabel"])
        if kind == "simple":
            ax.set_xticks([])
        elif tick_labels:
            ax.set_xticks(x, [tick_labels.get(v, tick_labels.get(int(v), f"{v:g}")) for v in x])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axhline(overall, color=POST_COLOUR, ls="--", lw=0.8,
               label=text["overall"].format(value=overall))
    ax.legend(title=band_label, fontsize=8, loc="best")
    fig.tight_layout()
    return fig
