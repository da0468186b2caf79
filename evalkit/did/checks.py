"""Input checks shared by the difference-in-differences estimators.

Every DiD estimator needs the same guarantees before it computes anything:
a validated :class:`~evalkit.data.Panel`, an outcome with its missing rows
dropped *and recorded*, a comparison group, enough clusters for
cluster-robust inference, groups of more than one unit, and covariates that
are not absorbed by the fixed effects. These functions raise (or warn with)
the :mod:`evalkit.errors` types, naming the column and the offending values.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.data import ExclusionLedger, Panel
from evalkit.data.validation import show_values
from evalkit.errors import (
    MIN_CLUSTERS,
    ConfigError,
    DataValidationError,
    EmptyDataError,
    EvalkitWarning,
    FewClustersWarning,
    MissingColumnError,
)


class SmallGroupWarning(EvalkitWarning):
    """A treatment cohort (or arm) holds a single unit."""


def _as_label(value):
    """Period-like floats (2005.0) shown as integers in messages."""
    if isinstance(value, float) and np.isfinite(value) and value.is_integer():
        return int(value)
    return value


def encode_covariates(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """One-hot encode non-numeric covariates (first category dropped).

    Numeric and boolean columns are kept as they are. A categorical or text
    column ``c`` becomes indicator columns ``c[level]`` for every level but the
    first (the reference), so a regression with an intercept stays full rank.
    Missing values stay missing in every indicator, so rows with a missing
    covariate are still dropped (and recorded) by the Panel contract.

    Returns the frame with the indicator columns added and the list of the
    numeric covariate names to use.
    """
    names: list[str] = []
    added = {}
    for column in covariates:
        if column not in frame.columns:
            raise MissingColumnError(
                f"covariate {column!r} is not a column of the data; available: "
                f"{show_values(map(str, frame.columns), 15)}"
            )
        series = frame[column]
        if pd.api.types.is_bool_dtype(series.dtype) or (
            pd.api.types.is_numeric_dtype(series.dtype)
            and not isinstance(series.dtype, pd.CategoricalDtype)
        ):
            names.append(column)
            continue
        cat = series.astype("category")
        levels = list(cat.cat.categories)
        if len(levels) < 2:
            raise DataValidationError(
                f"covariate {column!r} has a single category ({show_values(levels)}): it cannot "
                "explain anything. Drop it from covariates."
            )
        missing = cat.isna().to_numpy()
        for level in levels[1:]:
            name = f"{column}[{level}]"
            values = (cat == level).to_numpy(dtype=float)
            values[missing] = np.nan
            added[name] = values
            names.append(name)
    if added:
        frame = frame.assign(**added)
    return frame, names


def as_panel(
    data,
    *,
    outcome: str | None,
    unit: str,
    period: str,
    first_treated: str | None,
    treatment: str | None = None,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
    weight: str | None = None,
    repeated_cross_section: bool = False,
    estimator: str = "DiD",
    ledger: ExclusionLedger | None = None,
) -> tuple[Panel, str, list[str]]:
    """Validated :class:`Panel` from a Panel or a DataFrame plus column names.

    Non-numeric covariates are one-hot encoded first (:func:`encode_covariates`).
    Gaps are allowed (unbalanced panels); each estimator says whether it needs
    balance. ``ledger`` continues an exclusion ledger opened before (rows the
    caller already dropped). Returns ``(panel, outcome, covariate_names)``.
    """
    if isinstance(data, Panel):
        outcome = outcome or (data.outcomes[0] if data.outcomes else None)
        if outcome is None or outcome not in data.data.columns:
            raise ConfigError(
                f"{estimator}: name the outcome column (outcome=...); the Panel declares "
                f"outcomes {data.outcomes}."
            )
        covariates = list(covariates) if covariates is not None else list(data.covariates)
        absent = [c for c in [*covariates, *([cluster] if cluster else [])]
                  if c not in data.data.columns]
        if absent:
            raise MissingColumnError(
                f"{estimator}: column(s) {show_values(absent)} are not in the Panel; declare them "
                "with Panel(..., covariates=[...], cluster=...)."
            )
        return data, outcome, covariates
    if outcome is None:
        raise ConfigError(f"{estimator}: name the outcome column, e.g. outcome='return_to_work'.")
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(
            f"{estimator}: data must be an evalkit.data.Panel or a pandas DataFrame, got "
            f"{type(data).__name__}."
        )
    frame, names = encode_covariates(data, list(covariates or []))
    panel = Panel(
        frame,
        unit=unit,
        period=period,
        outcomes=[outcome],
        first_treated=first_treated,
        treatment=treatment,
        covariates=names,
        cluster=cluster,
        weight=weight,
        repeated_cross_section=repeated_cross_section,
        allow_gaps=True,
        ledger=ledger,
    )
    return panel, outcome, names


def fixed_effects_panel(data, *, outcome, unit, period, first_treated, treatment, covariates,
                        cluster, estimator: str) -> tuple[Panel, str, list[str], str]:
    """:func:`as_panel` for unit + period fixed-effects estimators (TWFE, event study).

    Refuses repeated cross-sections (unit effects need the same units over
    time) and defaults the cluster to the Panel's, else the unit. Returns
    ``(panel, outcome, covariates, cluster)``.
    """
    panel, outcome, names = as_panel(
        data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
        treatment=treatment, covariates=covariates, cluster=cluster, estimator=estimator)
    if panel.repeated_cross_section:
        raise ConfigError(
            f"{estimator} needs a panel (the same units over time); for repeated cross-sections "
            "use DiD2x2(..., repeated_cross_section=True) or Callaway-Sant'Anna."
        )
    return panel, outcome, names, cluster or panel.cluster or panel.unit


def usable_rows(panel: Panel, outcome: str, estimator: str) -> tuple[pd.DataFrame, ExclusionLedger]:
    """Rows with an observed outcome; the others go into a copy of the panel's ledger."""
    ledger = panel.ledger.copy()
    frame = ledger.drop(
        panel.data,
        panel.data[outcome].isna().to_numpy(),
        step=estimator,
        reason=f"{outcome} missing",
        id_col=panel.unit,
    )
    if len(frame) == 0:
        raise EmptyDataError(
            f"{estimator}: outcome {outcome!r} is missing on every row. Exclusion ledger:\n{ledger}"
        )
    return frame, ledger


def require_comparison_group(frame: pd.DataFrame, first_treated: str, unit: str,
                             estimator: str, *, need_never_treated: bool = False) -> None:
    """Raise :class:`EmptyDataError` if no unit can serve as a comparison.

    A comparison exists when some units are never treated, or (unless
    ``need_never_treated``) when cohorts start at different periods.
    """
    ft = frame[first_treated].to_numpy(dtype=float)
    n_never = int(frame.loc[np.isinf(ft), unit].nunique())
    cohorts = np.unique(ft[np.isfinite(ft)])
    if len(cohorts) == 0:
        raise EmptyDataError(
            f"{estimator}: no unit is ever treated (column {first_treated!r} is never-treated "
            "everywhere): there is no effect to estimate. Check the treatment timing column."
        )
    if n_never == 0 and (need_never_treated or len(cohorts) < 2):
        raise EmptyDataError(
            f"{estimator}: no untreated comparison units: every unit is treated "
            f"(first treated periods {show_values(cohorts.astype(int).tolist())}) and "
            + ("this estimator needs never-treated units. " if need_never_treated else
               "all at the same period. ")
            + "DiD needs units that are not (yet) treated to learn the counterfactual trend: add "
            "comparison units, or restrict the window to periods before the last cohort starts."
        )


def check_clusters(clusters: np.ndarray, name: str, estimator: str) -> int:
    """Count clusters; warn (:class:`FewClustersWarning`) below :data:`MIN_CLUSTERS`."""
    n = int(pd.unique(clusters).size)
    if n < 2:
        raise DataValidationError(
            f"{estimator}: cluster variable {name!r} has a single cluster: cluster-robust "
            "standard errors need at least two (in practice 30 or more). Cluster at a finer level."
        )
    if n < MIN_CLUSTERS:
        warnings.warn(
            f"{estimator}: only {n} clusters in {name!r}. Cluster-robust standard errors rely on "
            f"many clusters; with fewer than {MIN_CLUSTERS} they are biased downwards and tests "
            "over-reject, even with the CRV1 small-sample correction and t(G-1) critical values. "
            "Treat these p-values as indicative and use a wild cluster bootstrap for inference: "
            "results.wild_cluster_bootstrap() (restricted, Webb weights; Roodman et al. 2019).",
            FewClustersWarning,
            stacklevel=3,
        )
    return n


def check_group_sizes(frame: pd.DataFrame, group: str, unit: str, estimator: str,
                      *, action: str = "warn", labels: dict | None = None,
                      shown_as: str | None = None) -> pd.Series:
    """Units per group; a group with a single unit warns or raises.

    ``shown_as`` names the user's column in the message when ``group`` is a
    column the estimator built itself.

    ``action="raise"`` raises :class:`DataValidationError` (a 2x2 arm of one
    unit leaves nothing to estimate its variance from); ``"warn"`` emits
    :class:`SmallGroupWarning` (a staggered cohort of one unit is identified
    but its ATT rests on one unit).
    """
    sizes = frame.groupby(group, sort=True)[unit].nunique()
    single = sizes[sizes < 2]
    if len(single):
        shown = [labels.get(g, g) if labels else _as_label(g) for g in single.index]
        message = (
            f"{estimator}: group(s) {show_values(shown)} of {shown_as or repr(group)} contain a single unit: their "
            "effect (and its variance) rests on one unit. "
        )
        if action == "raise":
            raise DataValidationError(message + "Pool them with another group or collect more units.")
        warnings.warn(message + "Interpret the estimates for these groups with care.",
                      SmallGroupWarning, stacklevel=3)
    return sizes


def check_covariates_vary(frame: pd.DataFrame, covariates: Sequence[str], within: str | None,
                          estimator: str, why: str, *, shown_as: str | None = None) -> None:
    """Raise when a covariate is constant (overall, or within every group of ``within``).

    ``within=None`` checks the covariate varies at all; ``within=unit`` checks
    it varies within some unit (otherwise unit fixed effects absorb it).
    """
    bad = []
    for column in covariates:
        if within is None:
            constant = frame[column].nunique(dropna=True) <= 1
        else:
            constant = bool((frame.groupby(within, sort=False)[column].nunique(dropna=True) <= 1).all())
        if constant:
            bad.append(column)
    if bad:
        where = "has a single value" if within is None else f"is constant within every {shown_as or repr(within)}"
        raise DataValidationError(
            f"{estimator}: covariate(s) {show_values(bad)} {where}: {why} Drop them from covariates, "
            "or interact them with time if you want their effect to vary over periods."
        )


def treated_indicator(frame: pd.DataFrame, period: str, first_treated: str) -> np.ndarray:
    """``D_it = 1{t >= first_treated_i}`` (0 for never-treated units)."""
    return (frame[period].to_numpy() >= frame[first_treated].to_numpy()).astype(float)


def staggered_sample(panel: Panel, outcome: str, covariates: Sequence[str],
                     estimator: str) -> tuple[pd.DataFrame, ExclusionLedger]:
    """Rows and ledger for a unit + period fixed-effects estimator (TWFE, event study).

    Drops rows with a missing outcome (recorded), requires a comparison
    group, warns on single-unit cohorts and refuses covariates constant within
    every unit (absorbed by the unit effects).
    """
    frame, ledger = usable_rows(panel, outcome, estimator)
    require_comparison_group(frame, panel.first_treated, panel.unit, estimator)
    check_group_sizes(frame, panel.first_treated, panel.unit, estimator, action="warn")
    if covariates:
        check_covariates_vary(
            frame, covariates, panel.unit, estimator,
            "unit fixed effects absorb time-invariant covariates, so their coefficients are not "
            "identified and they do not change the estimate.")
    return frame, ledger
