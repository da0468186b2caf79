"""Figures of state sequences, in the manner of TraMineR's ``seqplot`` family.

Every function takes a :class:`evalkit.data.Sequences` (or, where noted, the table a
descriptive function returned) and returns a matplotlib ``Figure``:

- :func:`plot_index` (``seqIplot``): one line per person, coloured by state;
- :func:`plot_chronogram` (``seqdplot``): state distribution by period;
- :func:`plot_frequent` (``seqfplot``): the most frequent sequences, bar heights
  proportional to their frequency;
- :func:`plot_representative` (``seqrplot``): representative sequences chosen by
  neighbourhood density from a distance matrix;
- :func:`plot_mean_time` (``seqmtplot``): mean time in each state;
- :func:`plot_modal_states` (``seqmsplot``): the most frequent state of each period.

With ``group=`` (a Series indexed by person id, or an array in row order) each draws
one panel per group, wrapped onto rows of ``ncols`` panels, with one legend for the
figure. State labels and colours come from the Sequences (``labels=``, ``colors=``);
the default palette is colour-blind safe (:mod:`evalkit.typology.palette`). The time
axis shows the data's period labels (months such as ``Sep.93``, calendar months,
or month numbers).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError
from evalkit.typology.palette import default_colors, sequence_colors
from evalkit.typology.states import (
    as_sequences,
    person_groups,
    person_weights,
    sequence_labels,
)


def state_colors(alphabet) -> dict[str, str]:
    """A colour per state of ``alphabet`` (the default palette; see
    :func:`evalkit.typology.palette.default_colors`)."""
    return default_colors(alphabet)


def _text(lang: str, en: str, fr: str) -> str:
    return en if lang == "en" else fr


def _figure(ax, figsize=(8, 4.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _style(seq, labels, colors, lang):
    """Labels and colours of ``seq``'s states, overridden by the arguments."""
    shown = {**sequence_labels(seq, lang), **(labels or {})}
    palette = {**sequence_colors(seq), **(colors or {})}
    return shown, palette


def _groups(seq, group, group_labels):
    """(row codes, panel names): one panel per group in sorted order, or one panel."""
    codes, names = person_groups(group, seq)
    if names is None:
        return codes, [None]
    group_labels = group_labels or {}
    return codes, [group_labels.get(n, n) for n in names]


def _panels(n_panels: int, ncols: int | None, width: float, height: float, ax,
            sharey: bool = True):
    """A figure with ``n_panels`` axes wrapped onto rows of ``ncols`` (unused slots removed)."""
    import matplotlib.pyplot as plt

    if ax is not None:
        if n_panels > 1:
            raise ValueError("a grouped figure needs its own figure: leave ax=None")
        return ax.figure, [ax]
    ncols = min(n_panels, ncols or (3 if n_panels > 4 else n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols + 2.5, height * nrows),
                             sharey=sharey, squeeze=False)
    flat = list(axes.ravel())
    for extra in flat[n_panels:]:
        fig.delaxes(extra)
    return fig, flat[:n_panels]


def _period_ticks(panel, periods, edges: bool = False) -> None:
    """Tick the period axis with the data's period labels (a subset that fits the panel)."""
    n = len(periods)
    longest = max((len(str(p)) for p in periods), default=1)
    width = panel.get_position().width * panel.figure.get_figwidth()
    # About 0.09 inch per character at the default tick size, plus a gap.
    max_ticks = max(2, int(width / (0.09 * longest + 0.25)))
    step = max(1, math.ceil(n / max_ticks))
    ticks = np.arange(0, n, step)
    panel.set_xticks(ticks + (0.5 if edges else 0.0), [str(periods[i]) for i in ticks])


def _legend(fig, alphabet, labels, colors, outside: bool = True, handles=None) -> None:
    """One legend for the figure, right of the panels, states top-down in alphabet order."""
    from matplotlib.patches import Patch

    handles = handles or [Patch(facecolor=colors[s], edgecolor="none", label=labels[s])
                          for s in alphabet]
    place = ({"loc": "center left", "bbox_to_anchor": (1.0, 0.5)} if outside
             else {"loc": "center right"})
    fig.legend(handles=handles, frameon=False, fontsize=8, **place)
    fig.tight_layout(rect=None if outside else (0, 0, 0.78, 1))


def _finish(fig, panels, names, xlabel, ylabel, title) -> None:
    for panel, name in zip(panels, names, strict=True):
        if name is not None:
            panel.set_title(str(name), fontsize=10)
        if xlabel:
            panel.set_xlabel(xlabel)
    for panel in panels:
        if panel.get_subplotspec() is None or panel.get_subplotspec().is_first_col():
            panel.set_ylabel(ylabel)
    if title:
        fig.suptitle(title)


# --- index plot --------------------------------------------------------------------------


def plot_index(data, *, group=None, sort=None, alphabet=None, labels=None, colors=None,
               group_labels=None, ax=None, ncols: int | None = None, lang: str = "en",
               max_rows: int = 5000, seed: int = 0, title: str | None = None,
               xlabel: str | None = None, legend_outside: bool = True):
    """Index plot (TraMineR ``seqIplot``): one horizontal line per person, by period.

    Persons are sorted by ``sort`` (a sort key per person) or, by default, by their
    sequences read from the first period (lexicographic order of states). With ``group``,
    one panel per group. Above ``max_rows`` persons (per panel) a simple random sample
    (``seed``) is shown, in sort order. Missing periods are white.
    ``data`` is a :class:`~evalkit.data.Sequences` or a code matrix with ``alphabet``.
    """
    from matplotlib.colors import ListedColormap

    seq = as_sequences(data, alphabet=alphabet)
    labels, colors = _style(seq, labels, colors, lang)
    codes, names = _groups(seq, group, group_labels)
    m = seq.matrix
    if sort is None:
        keys = [m[:, j] for j in range(m.shape[1] - 1, -1, -1)]
    else:
        keys = [np.asarray(sort)]
    order = np.lexsort(keys)
    fig, panels = _panels(len(names), ncols, 4.2, 3.6 if len(names) > 1 else 5.5, ax,
                          sharey=False)
    cmap = ListedColormap(["#ffffff"] + [colors[s] for s in seq.alphabet])
    rng = np.random.default_rng(seed)
    for g, panel in enumerate(panels):
        rows = order[codes[order] == g]
        if len(rows) > max_rows:
            rows = rows[np.sort(rng.choice(len(rows), max_rows, replace=False))]
        panel.imshow(m[rows] + 1, aspect="auto", interpolation="nearest", cmap=cmap,
                     vmin=0, vmax=len(seq.alphabet), extent=(0, m.shape[1], len(rows), 0))
        _period_ticks(panel, seq.periods, edges=True)
        panel.set_yticks([0, len(rows)], ["", f"n = {len(rows)}"], fontsize=8)
    _finish(fig, panels, names, xlabel, _text(lang, "persons", "personnes"), title)
    _legend(fig, seq.alphabet, labels, colors, legend_outside)
    return fig


# --- chronogram --------------------------------------------------------------------------


def plot_chronogram(data, *, group=None, weights_array=None, labels=None, colors=None, ax=None,
                    group_labels=None, ncols: int | None = None, title: str | None = None,
                    lang: str = "en", xlabel: str | None = None, legend_outside: bool = False,
                    alphabet=None):
    """Chronogram (TraMineR ``seqdplot``): stacked state distribution by period.

    ``data`` is a :class:`~evalkit.data.Sequences` (distribution computed here, by
    ``group`` and with person weights ``weights_array`` when given) or a table returned by
    :func:`evalkit.typology.descriptives.state_distribution` (index period, or (group,
    period); one column per state). One panel per group, wrapped onto rows of ``ncols``.
    ``legend_outside`` puts the legend beyond the figure's drawing area (saved with
    ``bbox_inches="tight"`` it is included) instead of in a strip kept for it.
    """
    from evalkit.typology.descriptives import state_distribution

    if isinstance(data, pd.DataFrame) and not _is_long_table(data):
        distribution = data
        base = default_colors(distribution.columns)
        colors = {**base, **(colors or {})}
        labels = {s: (labels or {}).get(s, s) for s in distribution.columns}
    else:
        seq = as_sequences(data, alphabet=alphabet)
        labels, colors = _style(seq, labels, colors, lang)
        distribution = state_distribution(seq, groups=group, weights_array=weights_array)
    groups = ([None] if distribution.index.nlevels == 1
              else list(distribution.index.get_level_values(0).unique()))
    fig, panels = _panels(len(groups), ncols, 3.4, 3.2 if len(groups) > 1 else 4.5, ax)
    for panel, g in zip(panels, groups, strict=True):
        part = distribution if g is None else distribution.xs(g, level=0)
        x = np.arange(len(part))
        panel.stackplot(x, part.to_numpy().T, colors=[colors[s] for s in part.columns],
                        labels=[labels[s] for s in part.columns])
        panel.set_xlim(0, max(len(part) - 1, 1))
        panel.set_ylim(0, 1)
        _period_ticks(panel, part.index)
    names = [None if g is None else (group_labels or {}).get(g, g) for g in groups]
    _finish(fig, panels, names, xlabel, _text(lang, "share of persons", "part des personnes"),
            title)
    handles, _ = panels[0].get_legend_handles_labels()
    # Top state on top, as in the stack.
    _legend(fig, None, None, None, legend_outside, handles=handles[::-1])
    return fig


def _is_long_table(frame: pd.DataFrame) -> bool:
    """A long person x period table (to validate) rather than a distribution table."""
    return {"person_id", "state"} <= set(frame.columns)


# --- frequent and representative sequences ------------------------------------------------


def _draw_bars(panel, rows: np.ndarray, heights: np.ndarray, alphabet, colors) -> None:
    """Sequences as stacked bars of period cells, each ``heights[i]`` high (bottom up)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    boxes, faces = [], []
    bottom = 0.0
    for row, h in zip(rows, heights, strict=True):
        for t, code in enumerate(row):
            boxes.append(Rectangle((t, bottom), 1, h))
            faces.append("#ffffff" if code < 0 else colors[alphabet[code]])
        bottom += h
    panel.add_collection(PatchCollection(boxes, facecolors=faces, edgecolors="none"))
    panel.set_xlim(0, rows.shape[1] if len(rows) else 1)


def frequent_sequences(data, *, n: int = 10, group=None, weights_array=None,
                       alphabet=None) -> pd.DataFrame:
    """The ``n`` most frequent sequences (TraMineR ``seqtab``), by group.

    Returns one row per (group, rank): ``sequence`` (states joined by ``-``), ``count``
    (weighted), ``share`` of the group's persons, ``row`` (a row of ``matrix`` holding it).
    """
    seq = as_sequences(data, alphabet=alphabet)
    w = person_weights(weights_array, seq)
    w = np.ones(seq.n_persons) if w is None else w
    codes, names = person_groups(group, seq)
    out = []
    for g, name in enumerate(names or [None]):
        rows = np.flatnonzero(codes == g)
        unique, first, inverse = np.unique(seq.matrix[rows], axis=0, return_index=True,
                                           return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=w[rows], minlength=len(unique))
        top = np.lexsort((first, -counts))[:n]
        for rank, u in enumerate(top, start=1):
            out.append({"group": name, "rank": rank,
                        "sequence": "-".join(seq.alphabet[c] if c >= 0 else "*"
                                             for c in unique[u]),
                        "count": counts[u], "share": counts[u] / w[rows].sum(),
                        "row": int(rows[first[u]])})
    frame = pd.DataFrame(out)
    return frame.drop(columns="group") if names is None else frame


def plot_frequent(data, *, n: int = 10, group=None, weights_array=None, labels=None, colors=None,
                  group_labels=None, ncols: int | None = None, ax=None, lang: str = "en",
                  title: str | None = None, xlabel: str | None = None, alphabet=None,
                  legend_outside: bool = True):
    """Frequent sequences (TraMineR ``seqfplot``): the ``n`` most frequent sequences of
    each group, drawn bottom-up from the most frequent, bar heights proportional to
    their frequency; the y axis reads the cumulative percentage of persons covered."""
    seq = as_sequences(data, alphabet=alphabet)
    labels, colors = _style(seq, labels, colors, lang)
    table = frequent_sequences(seq, n=n, group=group, weights_array=weights_array)
    codes, names = _groups(seq, group, group_labels)
    fig, panels = _panels(len(names), ncols, 4.0, 3.4 if len(names) > 1 else 4.5, ax)
    parts = [table] if "group" not in table else [
        table[table["group"] == g] for g in table["group"].unique()]
    for panel, part in zip(panels, parts, strict=True):
        _draw_bars(panel, seq.matrix[part["row"].to_numpy()], 100 * part["share"].to_numpy(),
                   seq.alphabet, colors)
        panel.set_ylim(0, max(100 * part["share"].sum(), 1e-9))
        _period_ticks(panel, seq.periods, edges=True)
    _finish(fig, panels, names, xlabel,
            _text(lang, f"cumulative % (top {n})", f"% cumulé ({n} plus fréquentes)"), title)
    _legend(fig, seq.alphabet, labels, colors, legend_outside)
    return fig


def representative_sequences(distances, *, coverage: float = 0.25, radius: float = 0.10,
                             n_max: int | None = None) -> dict:
    """Representative sequences by neighbourhood density (Gabadinho et al. 2011,
    TraMineR ``seqrep(criterion="density")``).

    Each sequence's density is the number of sequences within ``radius x max distance``
    of it. Candidates are taken in decreasing density; one is kept unless it lies within
    that radius of a representative already kept; selection stops when the kept ones
    cover ``coverage`` of the sequences (share within the radius of some
    representative) or ``n_max`` are kept.

    Returns ``{"rows": rows of the representatives, "coverage": share covered by each
    (cumulative), "density": their neighbourhood sizes}``.
    """
    from scipy.spatial.distance import squareform

    from evalkit.typology.clustering import as_condensed, n_items_from_condensed

    d = as_condensed(distances)
    n = n_items_from_condensed(d)
    square = squareform(d)
    limit = radius * float(d.max()) if d.size else 0.0
    near = square <= limit
    density = near.sum(axis=1)
    candidates = np.lexsort((square.sum(axis=1), -density))
    kept, covered, cumulative = [], np.zeros(n, dtype=bool), []
    for i in candidates:
        if kept and near[i, kept].any():
            continue
        kept.append(int(i))
        covered |= near[i]
        cumulative.append(covered.mean())
        if covered.mean() >= coverage or (n_max is not None and len(kept) >= n_max):
            break
    return {"rows": np.array(kept), "coverage": np.array(cumulative),
            "density": density[kept]}


def plot_representative(data, distances, *, group=None, coverage: float = 0.25,
                        radius: float = 0.10, n_max: int | None = 10, labels=None,
                        colors=None, group_labels=None, ncols: int | None = None, ax=None,
                        lang: str = "en", title: str | None = None,
                        xlabel: str | None = None, alphabet=None,
                        legend_outside: bool = True):
    """Representative sequences (TraMineR ``seqrplot``) of each group, chosen by
    :func:`representative_sequences` on the group's own distances; bar heights are the
    share of the group each representative covers (its neighbourhood, first come)."""
    from scipy.spatial.distance import squareform

    from evalkit.typology.clustering import as_condensed

    seq = as_sequences(data, alphabet=alphabet)
    labels, colors = _style(seq, labels, colors, lang)
    square = squareform(as_condensed(distances))
    if square.shape[0] != seq.n_persons:
        raise DataValidationError(
            f"distances are for {square.shape[0]} sequences but the Sequences hold "
            f"{seq.n_persons}; compute them on the same sequences")
    codes, names = _groups(seq, group, group_labels)
    fig, panels = _panels(len(names), ncols, 4.0, 3.0 if len(names) > 1 else 4.0, ax)
    for g, panel in enumerate(panels):
        rows = np.flatnonzero(codes == g)
        sub = squareform(square[np.ix_(rows, rows)], checks=False)
        rep = representative_sequences(sub, coverage=coverage, radius=radius, n_max=n_max)
        shares = np.diff(np.concatenate([[0.0], rep["coverage"]]))
        _draw_bars(panel, seq.matrix[rows[rep["rows"]]], 100 * shares, seq.alphabet, colors)
        panel.set_ylim(0, max(100 * rep["coverage"][-1], 1e-9))
        _period_ticks(panel, seq.periods, edges=True)
        panel.text(0.99, 0.98, _text(lang, f"coverage {rep['coverage'][-1]:.0%}",
                                     f"couverture {rep['coverage'][-1]:.0%}"),
                   transform=panel.transAxes, ha="right", va="top", fontsize=8)
    _finish(fig, panels, names, xlabel,
            _text(lang, "% of persons covered", "% des personnes couvertes"), title)
    _legend(fig, seq.alphabet, labels, colors, legend_outside)
    return fig


# --- mean time and modal states -------------------------------------------------------------


def plot_mean_time(data, *, group=None, weights_array=None, labels=None, colors=None, ax=None,
                   lang: str = "en", title: str | None = None, alphabet=None,
                   legend_outside: bool = True):
    """Mean time in each state (TraMineR ``seqmtplot``): stacked horizontal bars, one
    bar per group, adding up to the follow-up.

    ``data`` is a :class:`~evalkit.data.Sequences` or the table returned by
    :func:`evalkit.typology.descriptives.mean_time_in_state` (rows states, columns groups).
    """
    from evalkit.typology.descriptives import mean_time_in_state

    if isinstance(data, pd.DataFrame) and not _is_long_table(data):
        mean_time = data
        states = list(mean_time.index)
        colors = {**default_colors(states), **(colors or {})}
        labels = {s: (labels or {}).get(s, s) for s in states}
    else:
        seq = as_sequences(data, alphabet=alphabet)
        labels, colors = _style(seq, labels, colors, lang)
        mean_time = mean_time_in_state(seq, groups=group, weights_array=weights_array)
        states = list(seq.alphabet)
    fig, ax = _figure(ax, (8, 0.5 * mean_time.shape[1] + 2))
    y = np.arange(mean_time.shape[1])[::-1]
    left = np.zeros(mean_time.shape[1])
    for state in states:
        row = mean_time.loc[state].to_numpy(dtype=float)
        ax.barh(y, row, left=left, color=colors[state], label=labels[state])
        left += row
    ax.set_yticks(y, [str(c) for c in mean_time.columns])
    ax.set_xlabel(_text(lang, "mean number of periods", "nombre moyen de périodes"))
    if title:
        ax.set_title(title)
    handles, _ = ax.get_legend_handles_labels()
    _legend(fig, None, None, None, legend_outside, handles=handles)
    return fig


def plot_modal_states(data, *, group=None, weights_array=None, labels=None, colors=None,
                      group_labels=None, ncols: int | None = None, ax=None, lang: str = "en",
                      title: str | None = None, xlabel: str | None = None, alphabet=None,
                      legend_outside: bool = True):
    """Modal states (TraMineR ``seqmsplot``): at each period a bar as high as the share
    of the most frequent state, coloured by that state; the sequence of these states is
    the group's modal state sequence."""
    from evalkit.typology.descriptives import state_distribution

    seq = as_sequences(data, alphabet=alphabet)
    labels, colors = _style(seq, labels, colors, lang)
    dist = state_distribution(seq, groups=group, weights_array=weights_array)
    groups = [None] if dist.index.nlevels == 1 else list(dist.index.get_level_values(0).unique())
    fig, panels = _panels(len(groups), ncols, 3.4, 3.0 if len(groups) > 1 else 4.0, ax)
    for panel, g in zip(panels, groups, strict=True):
        part = dist if g is None else dist.xs(g, level=0)
        values = part.to_numpy(dtype=float)
        modal = values.argmax(axis=1)
        x = np.arange(len(part))
        panel.bar(x + 0.5, values[x, modal], width=1.0,
                  color=[colors[part.columns[j]] for j in modal], edgecolor="none")
        panel.set_xlim(0, len(part))
        panel.set_ylim(0, 1)
        _period_ticks(panel, part.index, edges=True)
    names = [None if g is None else (group_labels or {}).get(g, g) for g in groups]
    _finish(fig, panels, names, xlabel,
            _text(lang, "share in the modal state", "part dans la situation modale"), title)
    _legend(fig, seq.alphabet, labels, colors, legend_outside)
    return fig


# --- other figures ----------------------------------------------------------------------------


def plot_type_shares(frame: pd.DataFrame, ax=None, lang: str = "en",
                     benchmark_label: str | None = None):
    """Horizontal bars of type shares with their CI, and benchmark shares when given.

    ``frame`` is :meth:`RuleTypologyResults.to_frame` (columns ``label``, ``share``,
    ``ci_lower``, ``ci_upper``, optional ``benchmark_share``).
    """
    fig, ax = _figure(ax, (8, 4))
    y = np.arange(len(frame))[::-1]
    share = 100 * frame["share"].to_numpy()
    err = 100 * np.vstack([frame["share"] - frame["ci_lower"], frame["ci_upper"] - frame["share"]])
    ax.barh(y, share, xerr=err, color="#56B4E9", capsize=3, label=_text(lang, "Rules", "Règles"))
    if "benchmark_share" in frame:
        ax.scatter(100 * frame["benchmark_share"].to_numpy(), y, marker="D", color="black",
                   zorder=3, label=benchmark_label or _text(lang, "Benchmark", "Référence"))
    ax.set_yticks(y, frame["label"])
    ax.set_xlabel(_text(lang, "% of persons", "% des personnes"))
    ax.legend(loc="lower right", frameon=False)
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
    ax.set_xlabel(_text(lang, "to", "vers"))
    ax.set_ylabel(_text(lang, "from", "depuis"))
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_quality_range(table: pd.DataFrame, *, indices=None, norm: str = "zscore", ax=None,
                       lang: str = "en", title: str | None = None):
    """Quality indices against the number of clusters (WeightedCluster's
    ``plot(clustrange)``).

    ``table`` is :func:`evalkit.typology.cluster_quality.quality_range` output (index
    ``k``). ``norm="zscore"`` standardises each index over k (as WeightedCluster's
    ``norm="zscore"``) so they share one axis; ``"none"`` draws raw values. HC (smaller
    is better) is drawn as is: read its minimum.
    """
    if norm not in ("zscore", "none"):
        raise ValueError(f"norm must be 'zscore' or 'none', got {norm!r}")
    indices = list(indices or [c for c in ("PBC", "HG", "HGSD", "ASW", "ASWw", "CH", "R2",
                                           "CHsq", "R2sq", "HC") if c in table.columns])
    missing = [i for i in indices if i not in table.columns]
    if missing:
        raise DataValidationError(f"indices {missing} are not in the table ({list(table.columns)})")
    fig, ax = _figure(ax, (7, 4.2))
    palette = list(default_colors(range(len(indices))).values()) if len(indices) <= 9 else None
    for j, name in enumerate(indices):
        values = table[name].astype(float)
        if norm == "zscore":
            sd = values.std(ddof=1)
            values = (values - values.mean()) / (sd if sd > 0 else 1.0)
        ax.plot(table.index, values, marker="o", label=name,
                color=None if palette is None else palette[j])
    ax.set_xticks(list(table.index))
    ax.set_xlabel(_text(lang, "number of clusters (k)", "nombre de classes (k)"))
    ax.set_ylabel(_text(lang, "index (z-score over k)", "indice (score z selon k)")
                  if norm == "zscore" else _text(lang, "index value", "valeur de l'indice"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
