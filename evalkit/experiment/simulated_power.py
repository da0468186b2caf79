"""Power by simulation: draw data from a generator, test, count rejections.

Where no closed form exists (staggered roll-outs, binary outcomes with few sites,
randomisation-inference p-values, Lee bounds), power is the rejection rate over
``n_sim`` data sets drawn from a data-generating process — one of the generators of
:mod:`evalkit.datasets` or the user's own — with Monte Carlo standard error
``sqrt(power (1 - power) / n_sim)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evalkit.errors import ConfigError, EvalkitWarning
from evalkit.results import EstimateResults


@dataclass(frozen=True)
class SimulatedPower:
    """Rejection rate over simulated data sets.

    Attributes
    ----------
    power
        Share of data sets with ``p <= 1 - level``.
    mc_se
        Its Monte Carlo standard error.
    pvalues
        The p-value of every simulated data set.
    level
        Confidence level of the test (its size is ``1 - level``).
    """

    power: float
    mc_se: float
    pvalues: np.ndarray
    level: float

    @property
    def n_sim(self) -> int:
        return len(self.pvalues)

    def conf_int(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation interval of the true power (Monte Carlo error only)."""
        from scipy import stats

        half = stats.norm.ppf(0.5 + level / 2) * self.mc_se
        return max(0.0, self.power - half), min(1.0, self.power + half)


def simulate_power(draw: Callable[[np.random.Generator], object],
                   test: Callable[[object], object], *, n_sim: int = 500,
                   seed: int | None = None, level: float = 0.95,
                   param: str | None = None) -> SimulatedPower:
    """Power of ``test`` on data drawn by ``draw``.

    Parameters
    ----------
    draw
        ``draw(rng) -> data``: one data set from the data-generating process, e.g.
        ``lambda rng: hope_in_stations.generate(seed=int(rng.integers(2**31)))["survey"]``.
    test
        ``test(data)`` returning a p-value, or a results object whose p-value is used
        (``param`` picks the estimate, default its first; a
        :class:`~evalkit.experiment.randomization.RandomizationResults` gives its
        randomisation p-value).
    n_sim, seed
        Number of simulated data sets and the seed of the generator passed to ``draw``.
    level
        The test rejects when ``p <= 1 - level``.
    """
    if n_sim < 1:
        raise ConfigError(f"n_sim must be a positive integer, got {n_sim!r}.")
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1), got {level!r}.")
    rng = np.random.default_rng(seed)
    pvalues = np.empty(n_sim)
    with warnings.catch_warnings():
        # Warnings repeat on every draw (few clusters, ...); the rejection rate is the result.
        warnings.simplefilter("ignore", EvalkitWarning)
        for i in range(n_sim):
            pvalues[i] = _pvalue(test(draw(rng)), param)
    power = float(np.mean(pvalues <= 1 - level + 1e-12))
    return SimulatedPower(power, math.sqrt(power * (1 - power) / n_sim), pvalues, level)


def _pvalue(result, param: str | None) -> float:
    if isinstance(result, EstimateResults):
        pvalues = result.pvalues
        return float(pvalues[param] if param is not None else pvalues.iloc[0])
    return float(result)
