"""evalkit: evaluation of social experiments.

Sub-packages: :mod:`evalkit.data` (validated inputs and the exclusion ledger),
:mod:`evalkit.cohort`, :mod:`evalkit.did`, :mod:`evalkit.typology`,
:mod:`evalkit.network`, :mod:`evalkit.indicators`, :mod:`evalkit.report`,
:mod:`evalkit.datasets` and :mod:`evalkit.cli`.
"""

from evalkit.errors import EvalkitError

__version__ = "0.1.0"

__all__ = ["EvalkitError", "__version__"]
