"""Exception and warning types raised by evalkit.

Every error a user can trigger with bad input is a subclass of :class:`EvalkitError`
and its message names the column, shows a few offending rows or values and says
what to do. Catch ``EvalkitError`` to handle all of them.
"""

from __future__ import annotations


class EvalkitError(Exception):
    """Base class of every error evalkit raises on purpose."""


class DataValidationError(EvalkitError, ValueError):
    """The input table breaks its data contract."""


class MissingColumnError(DataValidationError):
    """A required column is absent."""


class ColumnTypeError(DataValidationError, TypeError):
    """A column has a dtype the contract cannot use."""


class DuplicateKeyError(DataValidationError):
    """A key that must be unique (e.g. person x period) repeats."""


class PeriodGapError(DataValidationError):
    """A unit's periods are not contiguous where the contract requires it."""


class UnknownCategoryError(DataValidationError):
    """Values outside the declared categories (states, groups, codes)."""


class TreatmentTimingError(DataValidationError):
    """Treatment switches off, or starts outside the observed periods."""


class EmptyDataError(DataValidationError):
    """Nothing is left to analyse (empty input, all-missing column, all rows excluded)."""


class DesignError(DataValidationError):
    """The declared randomisation design does not match the data (a block with one unit,
    a cluster with both arms, more permutations asked than the design allows)."""


class InputFileError(EvalkitError, OSError):
    """A file cannot be read (missing, unknown format, unreadable)."""


class ConfigError(EvalkitError, ValueError):
    """A configuration file or argument is invalid."""


class EstimationError(EvalkitError, RuntimeError):
    """An estimator cannot produce a defensible number on this data."""


class OverlapError(EstimationError):
    """Propensity scores at 0 or 1: treated and comparison units do not overlap."""


class OutputBusyError(EvalkitError, OSError):
    """Another run is writing the same report output."""


class DisclosureError(EvalkitError):
    """Output would reveal person identifiers or small counts."""


class EvalkitWarning(UserWarning):
    """Base class of evalkit warnings (few clusters, extreme weights, ...)."""


#: Below this many clusters, cluster-robust standard errors are unreliable
#: (biased downwards, over-rejecting tests); every estimator warns under it.
MIN_CLUSTERS = 30


class OverlapWarning(EvalkitWarning):
    """A propensity score fitted but with poor overlap (scores at 0 or 1, separation, no
    convergence): the fit is returned so that overlap can be inspected and plotted."""


class FewClustersWarning(EvalkitWarning):
    """Cluster-robust inference with fewer than :data:`MIN_CLUSTERS` clusters."""


#: Below this many persons in a group, normal-approximation p-values and intervals of the
#: cohort estimators are unreliable; every estimator warns under it.
MIN_GROUP_SIZE = 10


class SmallGroupWarning(EvalkitWarning):
    """A treated or comparison group has fewer than :data:`MIN_GROUP_SIZE` persons."""


class ZeroVarianceWarning(EvalkitWarning):
    """A standard error is zero: no test or confidence interval can be given."""
