"""Difference-in-differences: 2x2, TWFE, event study, Callaway–Sant'Anna, Goodman-Bacon,
Sun–Abraham, Borusyak–Jaravel–Spiess imputation, HonestDiD sensitivity to violations
of parallel trends.

All estimators take a :class:`evalkit.data.Panel` (balanced, unbalanced or repeated
cross-sections) or a DataFrame with column names, and return results objects with
``params``, ``std_errors``, ``conf_int()``, ``summary()``, ``to_frame()`` and ``plot()``.
"""

from evalkit.did.bacon import BaconDecomposition, BaconResults, ForbiddenComparisonWarning
from evalkit.did.callaway_santanna import CallawaySantAnna
from evalkit.did.checks import SmallGroupWarning
from evalkit.did.cs_engine import CallawaySantAnnaEngine, CohortMoments, cohort_moments
from evalkit.did.cs_results import (
    AggregatedResults,
    CallawaySantAnnaResults,
    ContrastTest,
    PreTest,
)
from evalkit.did.drdid import TwoPeriodDiD, drdid_panel, drdid_rcs
from evalkit.did.event_study import EventStudy, EventStudyResults, PretrendTest
from evalkit.did.honest_did import HonestDiD, HonestDiDResults
from evalkit.did.imputation import Imputation, ImputationResults
from evalkit.did.sun_abraham import SunAbraham, SunAbrahamResults
from evalkit.did.twfe import TWFE, TWFEResults
from evalkit.did.twoby2 import DiD2x2, DiD2x2Results
from evalkit.did.wild_bootstrap import WildBootstrapResult, wild_cluster_bootstrap
from evalkit.errors import FewClustersWarning

__all__ = [
    "AggregatedResults",
    "BaconDecomposition",
    "BaconResults",
    "CohortMoments",
    "CallawaySantAnna",
    "CallawaySantAnnaEngine",
    "CallawaySantAnnaResults",
    "ContrastTest",
    "DiD2x2",
    "DiD2x2Results",
    "EventStudy",
    "EventStudyResults",
    "FewClustersWarning",
    "HonestDiD",
    "HonestDiDResults",
    "Imputation",
    "ImputationResults",
    "ForbiddenComparisonWarning",
    "PreTest",
    "PretrendTest",
    "SmallGroupWarning",
    "SunAbraham",
    "SunAbrahamResults",
    "TWFE",
    "TWFEResults",
    "TwoPeriodDiD",
    "WildBootstrapResult",
    "cohort_moments",
    "drdid_panel",
    "drdid_rcs",
    "wild_cluster_bootstrap",
]
