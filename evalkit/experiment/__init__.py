"""Design-based tools for randomised and cluster-randomised experiments.

- :mod:`~evalkit.experiment.assignment` — the declared randomisation design, checked
  against the data, enumerated or sampled;
- :mod:`~evalkit.experiment.randomization` — randomisation inference with any
  estimator as the statistic, exact or Monte Carlo, CI by test inversion;
- :mod:`~evalkit.experiment.difference_in_means` — Neyman difference in means,
  block-weighted / block fixed effects, cluster-level estimates;
- :mod:`~evalkit.experiment.lin` — Lin (2013) covariate adjustment.
"""

from evalkit.experiment.assignment import Assignment
from evalkit.experiment.difference_in_means import DesignResults, DifferenceInMeans
from evalkit.experiment.lin import LinAdjustment
from evalkit.experiment.randomization import RandomizationResults, randomization_test

__all__ = ["Assignment", "DesignResults", "DifferenceInMeans", "LinAdjustment", "RandomizationResults", "randomization_test"]
