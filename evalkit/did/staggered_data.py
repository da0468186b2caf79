"""Arrays of a staggered-adoption design, prepared once for group-time DiD.

:func:`prepare_staggered` turns a :class:`~evalkit.data.Panel` (or a plain
DataFrame with column names) into the numpy arrays the Callaway–Sant'Anna
estimator works on, applying R ``did``'s pre-processing rules and recording
every dropped row in the exclusion ledger:

* rows with a missing outcome are dropped;
* units first treated in (or before) the first period, net of anticipation,
  have no pre-treatment period ("always treated") and are dropped;
* units first treated after the last period (+ anticipation) are never
  treated within the window and serve as never-treated units;
* with no never-treated unit and not-yet-treated controls, periods from the
  last cohort's start (- anticipation) on are dropped and that cohort serves
  only as a comparison group.

Three layouts come out: a balanced panel (wide ``n_units x n_periods``
outcome matrix), an unbalanced panel (long rows, treated as repeated
cross-sections with unit-level influence functions, R's
``allow_unbalanced_panel = TRUE``) and repeated cross-sections (each row its
own unit).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.data import ExclusionLedger, Panel
from evalkit.did.checks import (
    SmallGroupWarning,
    check_clusters,
    check_covariates_vary,
    encode_covariates,
    usable_rows,
)
from evalkit.errors import ConfigError, EmptyDataError, EstimationError, MissingColumnError

STEP = "CallawaySantAnna"


@dataclass
class StaggeredData:
    """Validated arrays for group-time DiD estimation.

    ``n`` is the dimension of the influence functions: units for panels
    (balanced or not), rows for repeated cross-sections. Arrays prefixed
    ``unit_`` have length ``n``; arrays prefixed ``row_`` one entry per
    observation (long layouts only).
    """

    layout: str  # "balanced", "unbalanced" or "rcs"
    periods: np.ndarray
    groups: np.ndarray  # cohorts with ATT(g, t) to estimate
    unit_group: np.ndarray  # first treated period, inf = never treated
    unit_weight: np.ndarray
    unit_cluster: np.ndarray | None  # integer codes
    covariate_names: list[str]
    ledger: ExclusionLedger
    notes: list[str] = field(default_factory=list)
    # balanced layout
    y_wide: np.ndarray | None = None  # (n, T)
    x_wide: np.ndarray | None = None  # (T, n, k)
    w_wide: np.ndarray | None = None  # (T, n)
    # long layouts
    row_unit: np.ndarray | None = None
    row_period: np.ndarray | None = None  # index into periods
    row_y: np.ndarray | None = None
    row_x: np.ndarray | None = None
    row_w: np.ndarray | None = None
    period_rows: list[np.ndarray] | None = None

    @property
    def n(self) -> int:
        return len(self.unit_group)

    @property
    def n_clusters(self) -> int | None:
        return None if self.unit_cluster is None else int(self.unit_cluster.max()) + 1


def prepare_staggered(
    data,
    *,
    outcome: str | None,
    unit: str | None,
    period: str | None,
    first_treated: str | None,
    treatment: str | None = None,
    covariates=None,
    weight: str | None = None,
    cluster: str | None = None,
    repeated_cross_section: bool = False,
    control_group: str = "nevertreated",
    anticipation: int = 0,
    unbalanced: str = "rcs",
) -> StaggeredData:
    """Validate the input and build :class:`StaggeredData` (see module docstring)."""
    panel, covariates, notes = _as_panel(data, outcome, unit, period, first_treated, treatment,
                                         covariates, weight, cluster, repeated_cross_section)
    outcome = outcome or (panel.outcomes[0] if panel.outcomes else None)
    if outcome is None or outcome not in panel.data.columns:
        raise MissingColumnError(
            f"Outcome column {outcome!r} is not in the panel; pass outcome= one of {panel.outcomes}."
        )
    covs = list(covariates) if covariates is not None else []
    missing = [c for c in covs if c not in panel.data.columns]
    if missing:
        raise MissingColumnError(
            f"Covariate(s) {missing} are not in the panel. Declare them in Panel(covariates=...) "
            "or pass a DataFrame."
        )
    weight_col = weight or panel.weight
    cluster_col = cluster or panel.cluster
    rcs = panel.repeated_cross_section
    u, t, g = panel.unit, panel.period, panel.first_treated

    frame, ledger = usable_rows(panel, outcome, STEP)
    for col in covs:
        frame = ledger.drop(frame, frame[col].isna().to_numpy(), step=STEP,
                            reason=f"covariate {col} missing", id_col=u)
    if len(frame) == 0:
        raise EmptyDataError(f"No row is left after dropping missing values. Ledger:\n{ledger}")
    check_covariates_vary(frame, covs, None, STEP,
                          "it cannot adjust for anything and makes the regressions singular.")

    periods = np.sort(frame[t].unique())
    ft = frame[g].to_numpy(dtype=float)
    late = np.isfinite(ft) & (ft > periods[-1] + anticipation)
    if late.any():
        ft = np.where(late, np.inf, ft)
        frame = frame.assign(**{g: ft})
        n_late = frame.loc[late, u].nunique()
        notes.append(f"{n_late} unit(s) first treated after the last period used as never treated")
    always = np.isfinite(ft) & (ft <= periods[0] + anticipation)
    frame = ledger.drop(
        frame, always, step=STEP,
        reason=(f"treated in or before the first period {periods[0]}"
                + (f" + anticipation {anticipation}" if anticipation else "")
                + ": no pre-treatment period (always treated)"), id_col=u)
    if len(frame) == 0:
        raise EmptyDataError("Every unit is treated from the first period: no pre-treatment data.")

    ft = frame[g].to_numpy(dtype=float)
    cohorts = np.unique(ft[np.isfinite(ft)])
    if len(cohorts) == 0:
        raise EstimationError(f"No unit is ever treated ({g!r} is never-treated for all units).")
    if not np.isinf(ft).any():
        if control_group == "nevertreated":
            raise EstimationError(
                "control_group='nevertreated' but no unit is never treated (all units have a "
                f"finite {g!r}). Use control_group='notyettreated': later cohorts then serve as "
                "comparisons until they start."
            )
        last = cohorts[-1]
        if len(cohorts) < 2:
            raise EstimationError(
                f"No comparison unit: every unit is treated from {last} and none is never treated."
            )
        frame = ledger.drop(
            frame, (frame[t] >= last - anticipation).to_numpy(), step=STEP,
            reason=(f"period >= {last - anticipation}: no never-treated unit, the last cohort "
                    f"({last:g}) is only a not-yet-treated comparison"), id_col=u)
        notes.append(f"no never-treated units: cohort {last:g} used only as comparison; "
                     f"periods >= {last - anticipation:g} dropped")
        periods = np.sort(frame[t].unique())
        ft = frame[g].to_numpy(dtype=float)
        cohorts = cohorts[cohorts < last]
    cohorts = cohorts[cohorts > periods[0] + anticipation]
    if len(periods) < 2:
        raise EstimationError("At least two periods are needed for DiD.")

    balanced = (not rcs) and len(frame) == frame[u].nunique() * len(periods)
    if not rcs and not balanced and unbalanced == "balance":
        frame, cohorts = _balance(frame, u, t, g, periods, cohorts, ledger, control_group)
        balanced = True
    layout = "rcs" if rcs else ("balanced" if balanced else "unbalanced")
    if layout == "unbalanced":
        notes.append("unbalanced panel: 2x2 cells estimated as repeated cross-sections, "
                     "influence functions summed by unit (R did allow_unbalanced_panel=TRUE)")

    data_out = _arrays(frame, layout, outcome, u, t, g, covs, weight_col, cluster_col, periods)
    out = StaggeredData(layout=layout, periods=periods, groups=cohorts, covariate_names=covs,
                        ledger=ledger, notes=notes, **data_out)
    _check_sizes(out, control_group, cluster_col)
    return out


def _balance(frame, u, t, g, periods, cohorts, ledger, control_group):
    """Keep units observed in every period (R did's default), recording the others."""
    counts = frame.groupby(u, sort=False)[t].transform("size").to_numpy()
    frame = ledger.drop(frame, counts < len(periods), step=STEP, id_col=u,
                        reason="unit not observed in every period (unbalanced='balance')")
    if len(frame) == 0:
        raise EmptyDataError("No unit is observed in every period; use unbalanced='rcs'.")
    ft = frame[g].to_numpy(dtype=float)
    if control_group == "nevertreated" and not np.isinf(ft).any():
        raise EstimationError(
            "After keeping only units observed in every period no never-treated unit is left. "
            "Use unbalanced='rcs' (keeps every observation) or control_group='notyettreated'."
        )
    return frame, cohorts[np.isin(cohorts, ft)]


def _as_panel(data, outcome, unit, period, first_treated, treatment, covariates, weight,
              cluster, repeated_cross_section) -> tuple[Panel, list[str], list[str]]:
    if isinstance(data, Panel):
        return data, list(covariates or []), []
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"data must be an evalkit Panel or a pandas DataFrame, got {type(data)}.")
    if outcome is None or unit is None or period is None or (first_treated is None and treatment is None):
        raise ConfigError(
            "With a DataFrame, give outcome=, unit=, period= and first_treated= (or treatment=) "
            "column names; or build an evalkit.data.Panel first."
        )
    if repeated_cross_section and first_treated is None:
        raise ConfigError(
            "With repeated cross-sections give first_treated= (the first treated period of the "
            "respondent's site or group): a per-respondent treatment indicator cannot tell a "
            "respondent interviewed before their site started from a never-treated one."
        )
    frame, covariates = encode_covariates(data, list(covariates or []))
    notes = []
    ledger = None
    if {first_treated, period, unit} <= set(frame.columns):
        # The Panel contract refuses cohorts outside the window; R did's rules instead:
        # cohorts starting after the last period are never treated within it, and units
        # treated from the first period on (always treated) are dropped, with this reason.
        ft = pd.to_numeric(frame[first_treated], errors="coerce")
        periods = pd.to_numeric(frame[period], errors="coerce")
        late = (ft > periods.max()).to_numpy()
        if late.any():
            frame = frame.assign(**{first_treated: ft.where(~late, 0)})
            notes.append(f"{frame.loc[late, unit].nunique()} unit(s) first treated after "
                         "the last period used as never treated")
        always = ((ft <= periods.min()) & (ft != 0)).to_numpy()
        if always.any():
            ledger = ExclusionLedger.start(frame, unit, "DataFrame")
            frame = ledger.drop(
                frame, always, step=STEP, id_col=unit,
                reason=f"treated in or before the first period {periods.min():g} "
                       "(always treated): no pre-treatment period")
    return Panel(
        frame, unit=unit, period=period, outcomes=[outcome], first_treated=first_treated,
        treatment=treatment, covariates=covariates, cluster=cluster, weight=weight,
        repeated_cross_section=repeated_cross_section, allow_gaps=True, out_of_window="drop",
        source="DataFrame", ledger=ledger,
    ), covariates, notes


def _arrays(frame, layout, outcome, u, t, g, covs, weight_col, cluster_col, periods) -> dict:
    pidx = np.searchsorted(periods, frame[t].to_numpy())
    k = len(covs)
    x_long = frame[covs].to_numpy(dtype=float) if k else np.zeros((len(frame), 0))
    y_long = frame[outcome].to_numpy(dtype=float)
    w_long = (frame[weight_col].to_numpy(dtype=float) if weight_col
              else np.ones(len(frame)))
    if layout == "rcs":
        codes = np.arange(len(frame))
    else:
        codes = pd.factorize(frame[u], sort=True)[0]
    n = int(codes.max()) + 1
    first_row = np.full(n, -1)
    first_row[codes[::-1]] = np.arange(len(frame))[::-1]  # first row of each unit
    unit_group = frame[g].to_numpy(dtype=float)[first_row]
    unit_weight = w_long[first_row]
    unit_cluster = None
    if cluster_col:
        cl = pd.factorize(frame[cluster_col], sort=True)[0]
        if layout != "rcs":
            varies = np.bincount(codes, weights=cl, minlength=n) != cl[first_row] * np.bincount(
                codes, minlength=n)
            if varies.any():
                raise ConfigError(
                    f"Cluster column {cluster_col!r} changes over time within {int(varies.sum())} "
                    "unit(s); clusters must contain whole units (e.g. the zone of assignment)."
                )
        unit_cluster = cl[first_row]
    out = dict(unit_group=unit_group, unit_weight=unit_weight, unit_cluster=unit_cluster)
    if layout == "balanced":
        T = len(periods)
        y_wide = np.empty((n, T))
        y_wide[codes, pidx] = y_long
        x_wide = np.empty((T, n, k))
        x_wide[pidx, codes] = x_long
        w_wide = np.empty((T, n))
        w_wide[pidx, codes] = w_long
        out.update(y_wide=y_wide, x_wide=x_wide, w_wide=w_wide)
    else:
        order = np.argsort(pidx, kind="stable")
        bounds = np.searchsorted(pidx[order], np.arange(len(periods) + 1))
        out.update(
            row_unit=codes, row_period=pidx, row_y=y_long, row_x=x_long, row_w=w_long,
            period_rows=[order[bounds[j]:bounds[j + 1]] for j in range(len(periods))],
        )
    return out


def _check_sizes(data: StaggeredData, control_group: str, cluster_name: str | None) -> None:
    k = len(data.covariate_names)
    required = k + 5  # R did's rule of thumb for a usable group
    sizes = {gv: int(np.sum(data.unit_group == gv)) for gv in data.groups}
    n_never = int(np.isinf(data.unit_group).sum())
    small = {gv: s for gv, s in sizes.items() if s < required}
    if small:
        listing = ", ".join(f"{gv:g}: {s}" for gv, s in small.items())
        single = [gv for gv, s in small.items() if s == 1]
        extra = (
            f" Cohort(s) {', '.join(f'{gv:g}' for gv in single)} have a single unit: their "
            "ATT(g,t) is one unit's change, and its standard error reflects only the comparison "
            "group's sampling noise, not the treated unit's own variability."
            if single else ""
        )
        warnings.warn(
            f"Small cohorts (fewer than {required} units = number of covariates + 5, R did's "
            f"threshold): {listing}. Their ATT(g,t) are noisy and influence-function standard "
            f"errors unreliable.{extra} Consider pooling cohorts.",
            SmallGroupWarning, stacklevel=4,
        )
    if control_group == "nevertreated" and 0 < n_never < required:
        raise EstimationError(
            f"Only {n_never} never-treated unit(s) (at least {required} needed with {k} "
            "covariate(s)). Use control_group='notyettreated'."
        )
    if data.unit_cluster is not None:
        check_clusters(data.unit_cluster, cluster_name, STEP)
