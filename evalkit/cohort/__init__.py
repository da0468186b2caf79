"""Cohort comparison: balance, propensity scores, matching, weighting, doubly robust, attrition.

``CohortComparison(data, group=..., outcome=..., covariates=...).fit(method=...)`` runs
difference in means, regression adjustment (per group or pooled, Lin 2013), IPW,
nearest-neighbour or optimal full matching, entropy balancing or AIPW for the ATT or ATE;
matching results give ``matched_data()``; ``balance_table``, ``attrition``,
``adjust_outcomes`` and ``evalue`` add the diagnostics an evaluation report needs.
"""

from evalkit.cohort.attrition import AttritionResults, attrition, wwc_boundary, wwc_classify
from evalkit.cohort.balance import BalanceTable, balance_table
from evalkit.cohort.comparison import METHODS, CohortComparison, compare_methods
from evalkit.cohort.multiplicity import adjust_outcomes, bh_adjust, holm_adjust, romano_wolf
from evalkit.cohort.propensity import PropensityScore, PropensityScoreResults, crump_alpha
from evalkit.cohort.results import CohortEstimateResults
from evalkit.cohort.sensitivity import (
    EValue,
    evalue,
    evalues_for_results,
    rosenbaum_bounds,
    sensitivity_gamma,
)
from evalkit.cohort.weighting import ExtremeWeightsWarning

__all__ = [
    "METHODS",
    "AttritionResults",
    "BalanceTable",
    "CohortComparison",
    "CohortEstimateResults",
    "EValue",
    "ExtremeWeightsWarning",
    "PropensityScore",
    "PropensityScoreResults",
    "adjust_outcomes",
    "attrition",
    "balance_table",
    "bh_adjust",
    "compare_methods",
    "crump_alpha",
    "evalue",
    "evalues_for_results",
    "holm_adjust",
    "romano_wolf",
    "rosenbaum_bounds",
    "sensitivity_gamma",
    "wwc_boundary",
    "wwc_classify",
]
