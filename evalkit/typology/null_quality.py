"""Is a typology better than chance? Cluster quality against null models of sequences.

The parametric bootstrap of Studer (2021), WeightedCluster's ``seqnullcqi``: draw
``n_sim`` data sets of sequences from a *null model* that keeps some features of the
observed sequences and has no cluster structure, run the same distance and clustering
on each, and compare the observed quality indices (:func:`quality_range`) with their
distribution under the null. An observed index within the null range says the
partition could have arisen from structureless data.

Null models (each keeps the number of sequences and their length):

- ``"stateindep"``: every period's state drawn independently from the observed
  distribution of states at that period (keeps the chronogram, nothing else);
- ``"Markov"``: a first-order Markov chain with the observed first-period distribution
  and the observed (time-homogeneous) transition rates;
- ``"sequencing"``: each sequence's spells put in a random order (keeps every person's
  time in each state and spell lengths, breaks the order of events);
- ``"duration"``: each sequence keeps its succession of states; its spell lengths are
  redrawn as a uniformly random composition of the sequence length (keeps the order
  of states, breaks their timing and durations).

Missing periods are not supported (pass complete sequences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import DataValidationError
from evalkit.typology.states import as_sequences

MODELS = ("stateindep", "Markov", "sequencing", "duration")


def _spells(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    change = np.flatnonzero(np.diff(row)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(row)]]))
    return row[starts], lengths


def simulate_null(matrix: np.ndarray, model: str, rng: np.random.Generator,
                  n_states: int) -> np.ndarray:
    """One data set of sequences from the null ``model`` fitted to ``matrix``."""
    n, t = matrix.shape
    if model == "stateindep":
        out = np.empty_like(matrix)
        for j in range(t):
            out[:, j] = matrix[rng.integers(0, n, n), j]
        return out
    if model == "Markov":
        counts = np.zeros((n_states, n_states))
        np.add.at(counts, (matrix[:, :-1].ravel(), matrix[:, 1:].ravel()), 1)
        rows = counts.sum(axis=1, keepdims=True)
        trans = np.where(rows > 0, counts / np.where(rows > 0, rows, 1), np.eye(n_states))
        cum = np.cumsum(trans, axis=1)
        out = np.empty_like(matrix)
        out[:, 0] = matrix[rng.integers(0, n, n), 0]
        for j in range(1, t):
            u = rng.random(n)[:, None]
            out[:, j] = np.minimum((u > cum[out[:, j - 1]]).sum(axis=1), n_states - 1)
        return out
    if model == "sequencing":
        out = np.empty_like(matrix)
        for i in range(n):
            states, lengths = _spells(matrix[i])
            order = rng.permutation(len(states))
            out[i] = np.repeat(states[order], lengths[order])
        return out
    if model == "duration":
        out = np.empty_like(matrix)
        for i in range(n):
            states, lengths = _spells(matrix[i])
            # New spell lengths: a random composition of t into len(states) positive parts.
            cuts = np.sort(rng.choice(np.arange(1, t), len(states) - 1, replace=False))
            new = np.diff(np.concatenate([[0], cuts, [t]]))
            out[i] = np.repeat(states, new)
        return out
    raise DataValidationError(f"model must be one of {MODELS}, got {model!r}")


@dataclass
class NullQuality:
    """Observed quality indices beside their distribution under a null model.

    ``observed``: :func:`quality_range` table (index k); ``null``: long table of the
    simulated indices (columns ``sim``, ``k`` and one per index); ``standardised``:
    ``(observed - null mean) / null SD`` per k and index; ``threshold``: the ``level``
    quantile of the null *maximum over k* of each index (WeightedCluster's significance
    line: an observed value above it is better than chance for every k at once).
    """

    observed: pd.DataFrame
    null: pd.DataFrame
    model: str
    level: float

    @property
    def null_mean(self) -> pd.DataFrame:
        return self.null.drop(columns="sim").groupby("k").mean()

    @property
    def null_sd(self) -> pd.DataFrame:
        return self.null.drop(columns="sim").groupby("k").std(ddof=1)

    @property
    def standardised(self) -> pd.DataFrame:
        return (self.observed - self.null_mean) / self.null_sd

    @property
    def threshold(self) -> pd.Series:
        best = self.null.drop(columns="k").groupby("sim").max()
        return best.quantile(self.level)

    def to_frame(self, level: float | None = None, *, index: str = "ASW") -> pd.DataFrame:
        """Per k: observed ``index``, null mean, SD, standardised value and the threshold
        (quantile ``level`` of the null maximum; the fitted level by default)."""
        threshold = self.threshold if level is None else (
            self.null.drop(columns="k").groupby("sim").max().quantile(level))
        return pd.DataFrame({
            "observed": self.observed[index],
            "null_mean": self.null_mean[index],
            "null_sd": self.null_sd[index],
            "standardised": self.standardised[index],
            "threshold": threshold[index],
        })

    def plot(self, index: str = "ASW", ax=None, lang: str = "en"):
        """Observed index by k against the null range (min-max band, mean and threshold)."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 4))
        else:
            fig = ax.figure
        grouped = self.null.groupby("k")[index]
        ks = list(self.observed.index)
        ax.fill_between(ks, grouped.min().reindex(ks), grouped.max().reindex(ks),
                        color="#DDDDDD", label=("null range" if lang == "en"
                                                else "étendue sous le modèle nul"))
        ax.plot(ks, grouped.mean().reindex(ks), color="#999999", linestyle="--",
                label="null mean" if lang == "en" else "moyenne sous le modèle nul")
        ax.axhline(self.threshold[index], color="#D55E00", linewidth=1,
                   label=f"{self.level:.0%} " + ("max over k" if lang == "en"
                                                 else "du maximum selon k"))
        ax.plot(ks, self.observed[index], marker="o", color="#0072B2",
                label="observed" if lang == "en" else "observé")
        ax.set_xticks(ks)
        ax.set_xlabel("number of clusters (k)" if lang == "en" else "nombre de classes (k)")
        ax.set_ylabel(index)
        ax.set_title(f"{index}: {self.model} null model" if lang == "en"
                     else f"{index} : modèle nul {self.model}")
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
        return fig


def null_cluster_quality(data, *, model: str = "Markov", n_sim: int = 100,
                         ks=range(2, 11), method: str = "OM", sm="TRATE", indel="auto",
                         level: float = 0.95, seed: int = 0, alphabet=None) -> NullQuality:
    """Cluster quality of a Ward typology against a null model (WeightedCluster
    ``seqnullcqi``; see the module docstring).

    Each of the ``n_sim`` simulated data sets goes through the same steps as the data:
    :func:`sequence_distances` (``method``, ``sm``, ``indel``; TRATE costs re-estimated on
    the simulated data), :func:`ward` and :func:`quality_range` at every k in ``ks``.
    ``n_sim=100`` as WeightedCluster's default ``R``; each costs one distance matrix.
    """
    from evalkit.typology.cluster_quality import quality_range
    from evalkit.typology.clustering import ward
    from evalkit.typology.distances import sequence_distances

    if model not in MODELS:
        raise DataValidationError(f"model must be one of {MODELS}, got {model!r}")
    seq = as_sequences(data, alphabet=alphabet)
    matrix = seq.matrix
    if (matrix < 0).any():
        raise DataValidationError(
            "null models need complete sequences: some periods are missing. Fill or drop "
            "them before checking the typology")
    ks = [int(k) for k in ks]
    if min(ks) < 2 or max(ks) >= len(matrix):
        raise DataValidationError(f"ks must lie in 2..{len(matrix) - 1}, got {ks}")
    k_states = len(seq.alphabet)

    def indices(m):
        d = sequence_distances(m, method=method, sm=sm, indel=indel, alphabet=seq.alphabet)
        tree = ward(d)
        return quality_range(d, tree.labels_range(ks))

    observed = indices(matrix)
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(int(n_sim)):
        table = indices(simulate_null(matrix, model, rng, k_states))
        frames.append(table.reset_index().assign(sim=s))
    null = pd.concat(frames, ignore_index=True)
    return NullQuality(observed, null, model, level)
