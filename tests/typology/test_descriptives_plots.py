"""Chronogram and index plot: what is drawn is the data (sorted as documented)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402

from evalkit.datasets import cpas_careers  # noqa: E402
from evalkit.typology import descriptives as D  # noqa: E402
from evalkit.typology.plots import (  # noqa: E402
    plot_chronogram,
    plot_index,
    plot_mean_time,
    plot_transition_rates,
    state_colors,
)
from evalkit.typology.rules import RuleTypology  # noqa: E402
from evalkit.typology.states import CPAS_ALPHABET, state_labels  # noqa: E402


@pytest.fixture(scope="module")
def data():
    return cpas_careers.generate(seed=8, n_persons=600, n_months=24)


def test_chronogram_stacks_the_state_distribution(data):
    dist = D.state_distribution(data["sequences"])
    fig = plot_chronogram(dist, labels=state_labels("fr"), lang="fr")
    ax = fig.axes[0]
    # One filled band per state; the top of the last band is 1 at every month.
    assert len(ax.collections) == len(CPAS_ALPHABET)
    top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
    assert_allclose(top, 1.0)
    assert ax.get_ylabel() == "part des personnes"
    plt.close(fig)


def test_grouped_chronogram_has_one_panel_per_group(data):
    types = RuleTypology(data["sequences"]).fit().types.set_index("person_id")["career_type"]
    dist = D.state_distribution(data["sequences"], groups=types.astype(str))
    fig = plot_chronogram(dist)
    assert len(fig.axes) == types.nunique()
    plt.close(fig)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="own figure"):
        plot_chronogram(dist, ax=ax)
    plt.close("all")


def test_index_plot_draws_sequences_sorted_within_each_group(data):
    m = data.truth["matrix"]
    groups = np.asarray(data.truth["career_type"]["career_type"].astype(str))
    fig = plot_index(m, alphabet=CPAS_ALPHABET, group=groups)
    names = sorted(set(groups))
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert [ax.get_title() for ax in panels] == names
    for ax, name in zip(panels, names, strict=True):
        rows = m[groups == name]
        order = np.lexsort([rows[:, j] for j in range(rows.shape[1] - 1, -1, -1)])
        assert_array_equal(np.asarray(ax.images[0].get_array()), rows[order] + 1)
    # Seven panels wrap onto rows of three, with one legend for the figure.
    assert len({round(ax.get_position().y0, 3) for ax in panels}) == 3
    assert len(fig.legends) == 1
    plt.close(fig)


def test_index_plot_subsamples_large_inputs(data):
    fig = plot_index(data.truth["matrix"], alphabet=CPAS_ALPHABET, max_rows=100)
    assert fig.axes[0].images[0].get_array().shape == (100, 24)
    plt.close(fig)


def test_state_colors_cover_any_alphabet():
    colors = state_colors(["FT", "x", "y"])
    assert len(set(colors.values())) == 3
    assert state_colors(["FT", "UB"]) == {"FT": "#009E73", "UB": "#E69F00"}


def test_rule_results_draw_chronogram_and_index_plot_by_type(data):
    res = RuleTypology(data["sequences"]).fit()
    fig = res.chronogram(lang="fr")
    assert len(fig.axes) == res.types["career_type"].nunique()
    assert "Carrière durable" in [ax.get_title() for ax in fig.axes]
    plt.close(fig)
    fig = res.index_plot()
    shown = sum(ax.images[0].get_array().shape[0] for ax in fig.axes if ax.images)
    assert shown == 600
    plt.close(fig)


def test_mean_time_bars_add_up_to_the_follow_up(data):
    types = np.asarray(data.truth["career_type"]["career_type"].astype(str))
    mean_time = D.mean_time_in_state(data.truth["matrix"], alphabet=CPAS_ALPHABET, groups=types)
    fig = plot_mean_time(mean_time, labels=state_labels("en"))
    widths = np.array([p.get_width() for p in fig.axes[0].patches]).reshape(
        len(CPAS_ALPHABET), -1)
    assert_allclose(widths.sum(axis=0), 24.0)
    plt.close(fig)


def test_transition_heatmap_shows_the_rates(data):
    rates = D.transition_rates(data.truth["matrix"], alphabet=CPAS_ALPHABET)
    fig = plot_transition_rates(rates)
    assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), rates.to_numpy())
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"{rates.iloc[0, 0]:.2f}" in texts
    plt.close(fig)
    grouped = D.transition_rates(data.truth["matrix"], alphabet=CPAS_ALPHABET,
                                 groups=np.arange(600) % 2)
    with pytest.raises(ValueError, match="one group"):
        plot_transition_rates(grouped)
