"""Figures of state sequences: chronogram, index plot, career-type shares.

Each function returns a matplotlib ``Figure`` and takes an optional ``ax`` (single-panel
figures) so it can be placed in a report or a notebook grid. Colours are fixed per
state (the CPAS alphabet has its own palette), so figures are comparable across groups
and reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Colours of the CPAS states: jobs in greens, activation and benefits in blues/oranges.
CPAS_COLORS: dict[str, str] = {
    "FT": "#1b7837", "PT": "#7fbf7b", "SE": "#c2a5cf", "ACT": "#2166ac",
    "UB": "#f4a582", "RIS": "#d6604d", "ALW": "#878787", "INA": "#e0e0e0",
}


def state_colors(alphabet) -> dict[str, str]:
    """A colour per state: the CPAS palette where it applies, else matplotlib's tab20."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    return {s: CPAS_COLORS.get(s, matplotlib.colors.to_hex(cmap(i % 20)))
            for i, s in enumerate(alphabet)}


def _figure(ax, figsize=(8, 4.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_type_shares(frame: pd.DataFrame, ax=None, lang: str = "en"):
    """Horizontal bars of type shares with their CI, and the shares the study reports.

    ``frame`` is :meth:`RuleTypologyResults.to_frame` (columns ``label``, ``share``,
    ``ci_lower``, ``ci_upper``, optional ``study_share``).
    """
    fig, ax = _figure(ax, (8, 4))
    y = np.arange(len(frame))[::-1]
    share = 100 * frame["share"].to_numpy()
    err = 100 * np.vstack([frame["share"] - frame["ci_lower"], frame["ci_upper"] - frame["share"]])
    ax.barh(y, share, xerr=err, color="#4393c3", capsize=3,
            label="Rules" if lang == "en" else "Règles")
    if "study_share" in frame:
        ax.scatter(100 * frame["study_share"].to_numpy(), y, marker="D", color="black", zorder=3,
                   label="CPAS study" if lang == "en" else "Étude CPAS")
    ax.set_yticks(y, frame["label"])
    ax.set_xlabel("% of persons" if lang == "en" else "% des personnes")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def plot_chronogram(distribution: pd.DataFrame, *, labels=None, colors=None, ax=None,
                    title: str | None = None, lang: str = "en", xlabel: str | None = None,
                    legend_outside: bool = False):
    """Stacked state distribution by period (chronogram), one panel per group.

    ``distribution`` is :func:`evalkit.typology.descriptives.state_distribution` output:
    index period (or (group, period)), one column per state, rows summing to 1.
    ``xlabel`` names the period axis (none by default). With ``legend_outside`` the
    legend goes right of the figure, beyond its drawing area, instead of in a strip
    kept for it: long state names then never overlap the panels (saved with
    ``bbox_inches="tight"`` the legend is included).
    """
    import matplotlib.pyplot as plt

    groups = ([None] if distribution.index.nlevels == 1
              else list(distribution.index.get_level_values(0).unique()))
    if ax is not None and len(groups) > 1:
        raise ValueError("a grouped chronogram needs its own figure: leave ax=None")
    if ax is None:
        fig, axes = plt.subplots(1, len(groups), figsize=(4 + 3 * len(groups), 4.5),
                                 sharey=True, squeeze=False)
        axes = axes[0]
    else:
        fig, axes = ax.figure, [ax]
    colors = colors or state_colors(distribution.columns)
    labels = labels or {}
    for panel, group in zip(axes, groups, strict=True):
        part = distribution if group is None else distribution.xs(group, level=0)
        x = np.arange(len(part))
        panel.stackplot(x, part.to_numpy().T, colors=[colors[s] for s in part.columns],
                        labels=[labels.get(s, s) for s in part.columns], step=None)
        panel.set_xlim(0, max(len(part) - 1, 1))
        panel.set_ylim(0, 1)
        ticks = x[:: max(len(x) // 6, 1)]
        panel.set_xticks(ticks, [str(part.index[i]) for i in ticks])
        if group is not None:
            panel.set_title(str(group))
    axes[0].set_ylabel("share of persons" if lang == "en" else "part des personnes")
    if xlabel:
        for panel in axes:
            panel.set_xlabel(xlabel)
    handles, names = axes[0].get_legend_handles_labels()
    place = ({"loc": "center left", "bbox_to_anchor": (1.0, 0.5)} if legend_outside
             else {"loc": "center right"})
    # Top state on top, as in the stack.
    fig.legend(handles[::-1], names[::-1], frameon=False, fontsize=8, **place)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=None if legend_outside else (0, 0, 0.8, 1))
    return fig


def plot_index(matrix: np.ndarray, alphabet, *, groups=None, order=None, labels=None,
               colors=None, ax=None, group_labels=None, lang: str = "en",
               max_rows: int = 5000, seed: int = 0):
    """Index plot: one horizontal line per person, coloured by state month by month.

    Persons are sorted by ``groups`` (e.g. career type) then by ``order`` (a sort key,
    default: the sequences themselves, lexicographically). Above ``max_rows`` persons a
    simple random subsample (``seed``) of ``max_rows`` persons is drawn, shown in sort order.
    Missing months are white.
    """
    from matplotlib.colors import ListedColormap

    fig, ax = _figure(ax, (8, 6))
    m = np.asarray(matrix)
    n = m.shape[0]
    keys = [m[:, j] for j in range(m.shape[1] - 1, -1, -1)] if order is None else [order]
    if groups is not None:
        group_codes, group_names = pd.factorize(pd.Series(groups), sort=True)
        keys.append(group_codes)
    idx = np.lexsort(keys)
    if n > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
        idx = idx[keep]
    shown = m[idx]
    colors = colors or state_colors(alphabet)
    cmap = ListedColormap(["#ffffff"] + [colors[s] for s in alphabet])
    ax.imshow(shown + 1, aspect="auto", interpolation="nearest", cmap=cmap,
              vmin=0, vmax=len(alphabet))
    if groups is not None:
        sorted_groups = group_codes[idx]
        bounds = np.flatnonzero(np.diff(sorted_groups)) + 0.5
        for b in bounds:
            ax.axhline(b, color="black", linewidth=0.8)
        starts = np.concatenate([[0], np.ceil(bounds).astype(int)])
        ends = np.concatenate([np.ceil(bounds).astype(int), [len(idx)]])
        names = [str(group_names[g]) for g in sorted_groups[starts]]
        if group_labels:
            names = [group_labels.get(g, g) for g in names]
        ax.set_yticks((starts + ends) / 2 - 0.5, names)
    else:
        ax.set_yticks([])
    ax.set_xlabel("month" if lang == "en" else "mois")
    from matplotlib.patches import Patch

    labels = labels or {}
    ax.legend(handles=[Patch(color=colors[s], label=labels.get(s, s)) for s in alphabet],
              loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_mean_time(mean_time: pd.DataFrame, *, labels=None, colors=None, ax=None,
                   lang: str = "en"):
    """Stacked horizontal bars of the mean time in each state, one bar per group.

    ``mean_time`` is :func:`evalkit.typology.descriptives.mean_time_in_state` output
    (rows states, columns groups).
    """
    fig, ax = _figure(ax, (8, 0.5 * mean_time.shape[1] + 2))
    colors = colors or state_colors(mean_time.index)
    labels = labels or {}
    y = np.arange(mean_time.shape[1])[::-1]
    left = np.zeros(mean_time.shape[1])
    for state, row in mean_time.iterrows():
        ax.barh(y, row.to_numpy(), left=left, color=colors[state], label=labels.get(state, state))
        left += row.to_numpy()
    ax.set_yticks(y, [str(c) for c in mean_time.columns])
    ax.set_xlabel("mean number of periods" if lang == "en" else "nombre moyen de périodes")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_transition_rates(rates: pd.DataFrame, *, labels=None, ax=None, lang: str = "en",
                          decimals: int = 2):
    """Heatmap of a transition-rate matrix (rows: from-state, columns: to-state), annotated.

    ``rates`` is :func:`evalkit.typology.descriptives.transition_rates` output for one
    group (select a group with ``rates.xs(group, level="group")``).
    """
    if rates.index.nlevels > 1:
        raise ValueError("pass the rates of one group: rates.xs(group, level='group')")
    fig, ax = _figure(ax, (1.0 * rates.shape[1] + 2.5, 0.8 * rates.shape[0] + 1.5))
    labels = labels or {}
    values = rates.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.{decimals}f}", ha="center", va="center",
                        fontsize=7, color="white" if values[i, j] > 0.6 else "black")
    ax.set_xticks(range(values.shape[1]), [labels.get(s, s) for s in rates.columns],
                  rotation=45, ha="right")
    ax.set_yticks(range(values.shape[0]), [labels.get(s, s) for s in rates.index])
    ax.set_xlabel("to" if lang == "en" else "vers")
    ax.set_ylabel("from" if lang == "en" else "depuis")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
