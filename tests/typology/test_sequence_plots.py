"""TraMineR-style plots of any study's Sequences: palette, period labels, wrapped panels.

Every figure is written to PNG (``EVALKIT_PLOT_DIR`` keeps them for a look; a temporary
folder otherwise) so that a drawing error anywhere in the figure fails the test.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from mvad_reference import STATES, load_mvad, month_columns
from numpy.testing import assert_allclose, assert_array_equal

from evalkit.data import Sequences
from evalkit.errors import DataValidationError
from evalkit.typology import descriptives as D
from evalkit.typology.cluster_quality import compare_partitions, quality_range
from evalkit.typology.clustering import ward
from evalkit.typology.distances import sequence_distances
from evalkit.typology.palette import (
    CPAS_COLORS,
    PaletteWarning,
    default_colors,
    min_color_distance,
)
from evalkit.typology.plots import (
    frequent_sequences,
    plot_chronogram,
    plot_frequent,
    plot_index,
    plot_mean_time,
    plot_modal_states,
    plot_quality_range,
    plot_representative,
    representative_sequences,
)

LABELS = {"employment": "Employment", "FE": "Further education", "HE": "Higher education",
          "joblessness": "Joblessness", "school": "School", "training": "Training"}


@pytest.fixture(scope="module")
def mvad():
    frame = load_mvad()
    cols = month_columns(frame, tramineer_window=False)
    seq = Sequences.from_wide(frame, id="id", columns=cols, alphabet=STATES, labels=LABELS)
    group = pd.Series(frame["gcse5eq"].map({"yes": "5+ GCSEs", "no": "Fewer GCSEs"}).to_numpy(),
                      index=frame["id"].to_numpy())
    return frame, seq, group


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    path = os.environ.get("EVALKIT_PLOT_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        return path
    return str(tmp_path_factory.mktemp("plots"))


def save(fig, out_dir, name):
    fig.savefig(os.path.join(out_dir, f"{name}.png"), dpi=80, bbox_inches="tight")
    texts = {t.get_text() for t in fig.findobj(plt.Text)}
    plt.close(fig)
    return texts


# --- palette ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_states", range(2, 10))
def test_default_palette_keeps_every_pair_of_states_apart(n_states):
    colors = list(default_colors([f"s{i}" for i in range(n_states)]).values())
    assert len(set(colors)) == n_states
    # Delta E 1976 > 20 for normal vision, > 15 under each simulated dichromacy
    # (a just-noticeable difference is ~2.3; tab10's blue/purple fall to 4.6 for protanopes).
    assert min_color_distance(colors) > 20
    for deficiency in ("protanopia", "deuteranopia", "tritanopia"):
        assert min_color_distance(colors, deficiency) > 15, deficiency


def test_cpas_palette_is_as_distinguishable_and_larger_alphabets_warn():
    assert min_color_distance(CPAS_COLORS.values()) > 20
    assert min(min_color_distance(CPAS_COLORS.values(), d)
               for d in ("protanopia", "deuteranopia", "tritanopia")) > 15
    with pytest.warns(PaletteWarning, match="9 colours"):
        default_colors([f"s{i}" for i in range(12)])


def test_cielab_distance_matches_a_hand_computation():
    # White is L*=100, black L*=0, a*=b*=0: Delta E = 100.
    assert_allclose(min_color_distance(["#ffffff", "#000000"]), 100.0, atol=1e-3)
    # sRGB red is L*a*b* = (53.24, 80.09, 67.20) (CIE D65): red-black = hypot of those = 117.33.
    assert_allclose(min_color_distance(["#ff0000", "#000000"]), np.linalg.norm([53.24, 80.09, 67.20]), atol=0.02)


# --- the plots, on mvad ---------------------------------------------------------------------


def test_index_plot_by_group_wraps_panels_and_labels_periods(mvad, out_dir):
    frame, seq, group = mvad
    fig = plot_index(seq, group=group, ncols=1)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["5+ GCSEs", "Fewer GCSEs"]
    # Panels on two rows (ncols=1), one legend for the figure.
    assert panels[0].get_position().y0 > panels[1].get_position().y0
    assert len(fig.legends) == 1
    ticks = [t.get_text() for t in panels[0].get_xticklabels()]
    assert ticks[0] == "Jul.93" and all(t in seq.periods for t in ticks)
    n_yes = int((frame["gcse5eq"] == "yes").sum())
    assert panels[0].images[0].get_array().shape == (n_yes, 72)
    texts = save(fig, out_dir, "index_by_group")
    assert {"Joblessness", "Higher education"} <= texts


def test_chronogram_of_sequences_equals_state_distribution(mvad, out_dir):
    _, seq, group = mvad
    fig = plot_chronogram(seq, group=group)
    dist = D.state_distribution(seq, groups=group)
    first = fig.axes[0]
    top_of_first_band = first.collections[0].get_paths()[0].vertices[:, 1].max()
    assert_allclose(top_of_first_band, dist.xs("5+ GCSEs", level=0)["employment"].max())
    save(fig, out_dir, "chronogram_by_group")


def test_frequent_sequences_table_and_plot(mvad, out_dir):
    _, seq, group = mvad
    table = frequent_sequences(seq, n=10)
    # Hand count of the most frequent full sequence.
    rows, counts = np.unique(seq.matrix, axis=0, return_counts=True)
    assert table["count"].iloc[0] == counts.max()
    assert_array_equal(seq.matrix[table["row"].iloc[0]], rows[counts.argmax()])
    assert table["count"].is_monotonic_decreasing
    fig = plot_frequent(seq, n=10, group=group)
    assert len(fig.axes) == 2
    save(fig, out_dir, "frequent_by_group")


def test_representative_sequences_cover_the_requested_share(mvad, out_dir):
    _, seq, group = mvad
    d = sequence_distances(seq, method="HAM")
    rep = representative_sequences(d, coverage=0.25)
    assert rep["coverage"][-1] >= 0.25 and np.all(np.diff(rep["coverage"]) > 0)
    # The first representative is the densest sequence.
    from scipy.spatial.distance import squareform
    square = squareform(d)
    density = (square <= 0.1 * square.max()).sum(axis=1)
    assert rep["density"][0] == density.max()
    fig = plot_representative(seq, d, group=group)
    save(fig, out_dir, "representative_by_group")
    with pytest.raises(DataValidationError, match="same sequences"):
        plot_representative(seq.subset(np.arange(seq.n_persons) < 10), d)


def test_mean_time_and_modal_states(mvad, out_dir):
    _, seq, group = mvad
    fig = plot_mean_time(seq, group=group)
    widths = np.array([p.get_width() for p in fig.axes[0].patches]).reshape(len(STATES), -1)
    assert_allclose(widths.sum(axis=0), 72.0)
    save(fig, out_dir, "mean_time_by_group")
    fig = plot_modal_states(seq, group=group)
    dist = D.state_distribution(seq, groups=group).xs("Fewer GCSEs", level=0)
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert_allclose(heights, dist.max(axis=1).to_numpy())
    save(fig, out_dir, "modal_states_by_group")


def test_quality_range_plot_and_partition_checks(mvad, out_dir):
    frame, seq, _ = mvad
    d = sequence_distances(seq, method="HAM")
    tree = ward(d)
    table = quality_range(d, tree)
    fig = plot_quality_range(table)
    lines = fig.axes[0].get_lines()
    asw = next(line for line in lines if line.get_label() == "ASW")
    z = (table["ASW"] - table["ASW"].mean()) / table["ASW"].std(ddof=1)
    assert_allclose(asw.get_ydata(), z)
    save(fig, out_dir, "quality_range")
    # compare_partitions refuses swapped or mismatched arguments.
    clusters = tree.labels(4)
    types = np.where(frame["gcse5eq"] == "yes", "qualified", "unqualified")
    ok = compare_partitions(types, clusters)
    assert list(ok.crosstab.index[:-1]) == ["qualified", "unqualified"]
    with pytest.raises(DataValidationError, match="look swapped"):
        compare_partitions(clusters, types)
    with pytest.raises(DataValidationError, match="Ward tree"):
        compare_partitions(types, tree)
    by_id = pd.Series(types, index=frame["id"].to_numpy())
    other = pd.Series(clusters, index=frame["id"].to_numpy() + 1)
    with pytest.raises(DataValidationError, match="different persons"):
        compare_partitions(by_id, other)
    shuffled = pd.Series(clusters, index=frame["id"].to_numpy()).sample(frac=1, random_state=1)
    assert compare_partitions(by_id, shuffled).crosstab.equals(ok.crosstab)
