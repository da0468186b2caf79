"""Design-based tools for randomised and cluster-randomised experiments.

- :mod:`~evalkit.experiment.assignment` — the declared randomisation design, checked
  against the data, enumerated or sampled;
- :mod:`~evalkit.experiment.randomization` — randomisation inference with any
  estimator as the statistic, exact or Monte Carlo, CI by test inversion.
"""

from evalkit.experiment.assignment import Assignment
from evalkit.experiment.randomization import RandomizationResults, randomization_test

__all__ = ["Assignment", "RandomizationResults", "randomization_test"]
