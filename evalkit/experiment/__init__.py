"""Design-based tools for randomised and cluster-randomised experiments.

- :mod:`~evalkit.experiment.assignment` — the declared randomisation design, checked
  against the data, enumerated or sampled;
- :mod:`~evalkit.experiment.randomization` — randomisation inference with any
  estimator as the statistic, exact or Monte Carlo, CI by test inversion;
- :mod:`~evalkit.experiment.difference_in_means` — Neyman difference in means,
  block-weighted / block fixed effects, cluster-level estimates;
- :mod:`~evalkit.experiment.lin` — Lin (2013) covariate adjustment;
- :mod:`~evalkit.experiment.lee_bounds` — Lee (2009) bounds for outcomes observed only
  for a selected subsample, covariate-tightened, with Imbens–Manski intervals;
- :mod:`~evalkit.experiment.power` — analytic power and MDE (individual, cluster, DiD),
  power curves; :mod:`~evalkit.experiment.simulated_power` — power by simulation.
"""

from evalkit.experiment.assignment import Assignment
from evalkit.experiment.difference_in_means import DesignResults, DifferenceInMeans
from evalkit.experiment.lee_bounds import LeeBounds, LeeBoundsResults
from evalkit.experiment.lin import LinAdjustment
from evalkit.experiment.power import (
    PowerCurve,
    mde_cluster,
    mde_did,
    mde_individual,
    minimum_size,
    power_cluster,
    power_curve,
    power_did,
    power_individual,
)
from evalkit.experiment.randomization import RandomizationResults, randomization_test
from evalkit.experiment.simulated_power import SimulatedPower, simulate_power

__all__ = [
    "Assignment",
    "DesignResults",
    "DifferenceInMeans",
    "LeeBounds",
    "LeeBoundsResults",
    "LinAdjustment",
    "PowerCurve",
    "RandomizationResults",
    "SimulatedPower",
    "mde_cluster",
    "mde_did",
    "mde_individual",
    "minimum_size",
    "power_cluster",
    "power_curve",
    "power_did",
    "power_individual",
    "randomization_test",
    "simulate_power",
]
