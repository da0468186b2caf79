"""Synthetic data with known true effects; the source of ``data_samples/``.

Each module has ``generate(*, seed, <sizes>) -> SyntheticDataset`` (tables + truth) and
``SAMPLE_KWARGS``, the arguments that produce ``data_samples/``:

- :mod:`~evalkit.datasets.rsa_experiment` — staggered rSa roll-out, quarterly panel, with
  heterogeneous and dynamic true ATT(g,t);
- :mod:`~evalkit.datasets.hope_in_stations` — station surveys before/after service
  integration, follow-up with attrition, collaboration networks, with known ATT;
- :mod:`~evalkit.datasets.cpas_careers` — monthly careers after an article 60§7 contract,
  drawn from the seven CPAS types in the study's proportions;
- :mod:`~evalkit.datasets.activation_earnings` — randomised activation programme with
  earnings seen only for people in work (known selection, for Lee bounds); not a sample.
"""

from evalkit.datasets import activation_earnings, cpas_careers, hope_in_stations, rsa_experiment
from evalkit.datasets.base import ColumnDoc, SyntheticDataset

__all__ = [
    "ColumnDoc",
    "SyntheticDataset",
    "activation_earnings",
    "cpas_careers",
    "hope_in_stations",
    "rsa_experiment",
]
