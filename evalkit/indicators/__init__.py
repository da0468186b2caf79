"""Declarative monitoring indicators with confidence intervals and disclosure control.

``IndicatorModel(indicators, data, disaggregations=...).fit()`` evaluates
:class:`Indicator` definitions (proportions with Wilson intervals, rates, means) by sex,
age band, territory, period or status, in pandas or, for large inputs, in DuckDB.
"""

from evalkit.indicators.cells import ALL, MISSING
from evalkit.indicators.definition import AgeBands, Disaggregations, Indicator
from evalkit.indicators.evaluate import IndicatorModel, IndicatorResults, evaluate_indicators
from evalkit.indicators.expressions import Expression
from evalkit.indicators.intervals import (
    linearised_ratio,
    newcombe_difference_interval,
    poisson_rate_interval,
    t_interval,
    weighted_wilson_interval,
    wilson_interval,
)
from evalkit.indicators.publication import publishable_frame, report_table

__all__ = [
    "ALL",
    "MISSING",
    "AgeBands",
    "Disaggregations",
    "Expression",
    "Indicator",
    "IndicatorModel",
    "IndicatorResults",
    "evaluate_indicators",
    "linearised_ratio",
    "newcombe_difference_interval",
    "poisson_rate_interval",
    "publishable_frame",
    "report_table",
    "t_interval",
    "weighted_wilson_interval",
    "wilson_interval",
]
