"""Callaway & Sant'Anna (2021) difference-in-differences with staggered adoption.

Reference: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-
Differences with multiple time periods", *Journal of Econometrics* 225(2),
200-230; implementation choices follow the R package ``did`` (``att_gt``),
against whose published output the tests check this module.

For each cohort ``g`` (units first treated at ``g``) and period ``t`` the
group-time effect

``ATT(g, t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | C]``

compares the change since a base period ``b`` of cohort ``g`` with that of a
comparison group ``C``: never-treated units (``control_group="nevertreated"``)
or units not yet treated at ``max(t, b) + anticipation``
(``"notyettreated"``). The base period is ``g - anticipation - 1`` for
post-treatment cells; for pre-treatment cells it is ``t - 1``
(``base_period="varying"``, R's default: pseudo-effects of consecutive
periods) or ``g - anticipation - 1`` (``"universal"``: an event-study
normalisation, the reference cell is reported as 0 with no standard error).
Each cell is a two-period DiD estimated by :mod:`evalkit.did.drdid`
(outcome regression, IPW or doubly robust when covariates are given).

Inference uses the cells' influence functions: analytic standard errors
(clustered when ``cluster`` is given) or the multiplier bootstrap with
uniform confidence bands (:mod:`evalkit.did.multiplier_bootstrap`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalkit.did.cs_results import CallawaySantAnnaResults, Inference
from evalkit.did.drdid import CollinearCovariatesError, drdid_panel, drdid_rcs
from evalkit.did.staggered_data import StaggeredData, prepare_staggered
from evalkit.errors import ConfigError, EstimationError, OverlapError
from evalkit.options import check_level, check_option, renamed

ControlGroup = Literal["nevertreated", "notyettreated"]
Method = Literal["unconditional", "or", "ipw", "dr"]
BasePeriod = Literal["varying", "universal"]
Unbalanced = Literal["rcs", "balance"]
Multiplier = Literal["rademacher", "mammen"]


class CallawaySantAnna:
    """Group-time average treatment effects ATT(g, t) with staggered adoption.

    Parameters
    ----------
    data
        An :class:`evalkit.data.Panel`, or a DataFrame with the column names
        below (a Panel is then built from it, validating the input).
    outcome, unit, period, first_treated
        Column names (DataFrame input). ``first_treated`` is the first
        treated period, 0 or missing for never-treated units. With a Panel,
        ``outcome`` defaults to its first outcome.
    treatment
        Alternative to ``first_treated`` (DataFrame input): a 0/1 indicator per
        row; a treatment that switches off raises ``TreatmentTimingError``.
    control_group
        ``"nevertreated"`` (R default) or ``"notyettreated"``.
    method
        ``"unconditional"`` (no covariates), ``"or"`` (outcome regression),
        ``"ipw"`` (normalised inverse probability weighting) or ``"dr"``
        (doubly robust, R default). Without covariates all four coincide.
    covariates
        Pre-treatment covariate columns (the values in the earlier period of
        each 2x2 comparison are used, as R ``did`` does for panels).
        Categorical / text columns are one-hot encoded (first level dropped).
    anticipation
        Number of periods before ``g`` in which units may already react.
    base_period
        ``"varying"`` (R default) or ``"universal"``.
    weight
        Sampling-weight column (time-invariant within units for panels).
    cluster
        Cluster column (e.g. the zone treatment was assigned by); must
        contain whole units. Standard errors and bootstrap are clustered.
    repeated_cross_section
        Different units in each period (DataFrame input; a Panel says it
        itself).
    unbalanced
        What to do with a panel where some units miss some periods (also after
        dropping missing outcomes): ``"rcs"`` (default) estimates each 2x2 cell
        with the repeated cross-section estimators on all observations and sums
        influence functions by unit (R ``allow_unbalanced_panel = TRUE``);
        ``"balance"`` keeps only units observed in every period, recording the
        others in the ledger (R's default).

    Examples
    --------
    >>> model = CallawaySantAnna(df, outcome="lemp", unit="countyreal", period="year",
    ...                          first_treated="first.treat")
    >>> res = model.fit(seed=1)
    >>> res.aggregate("dynamic").plot()
    """

    @renamed(estimation="method")
    def __init__(
        self,
        data,
        *,
        outcome: str | None = None,
        unit: str | None = None,
        period: str | None = None,
        first_treated: str | None = None,
        treatment: str | None = None,
        control_group: ControlGroup = "nevertreated",
        method: Method = "dr",
        covariates=None,
        anticipation: int = 0,
        base_period: BasePeriod = "varying",
        weight: str | None = None,
        cluster: str | None = None,
        repeated_cross_section: bool = False,
        unbalanced: Unbalanced = "rcs",
    ) -> None:
        check_option("control_group", control_group, ControlGroup)
        check_option("method", method, Method)
        check_option("base_period", base_period, BasePeriod)
        check_option("unbalanced", unbalanced, Unbalanced)
        covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
        if method == "unconditional" and covariates:
            raise ConfigError(
                f"method='unconditional' takes no covariates (got {covariates}); use "
                "'or', 'ipw' or 'dr' to condition on them."
            )
        if not (isinstance(anticipation, (int, np.integer)) and anticipation >= 0):
            raise ConfigError(f"anticipation must be a non-negative integer, got {anticipation!r}.")
        self.control_group = control_group
        self.method = method
        self.covariates = covariates
        self.anticipation = int(anticipation)
        self.base_period = base_period
        self.data: StaggeredData = prepare_staggered(
            data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
            treatment=treatment, covariates=covariates, weight=weight, cluster=cluster,
            repeated_cross_section=repeated_cross_section, control_group=control_group,
            anticipation=self.anticipation, unbalanced=unbalanced,
        )
        # Non-numeric covariates arrive one-hot encoded ("sex[M]"): use those names.
        self.covariates = self.data.covariate_names
        self.outcome = outcome
        self._cells = None

    # ------------------------------------------------------------------ estimation
    @renamed(alpha=("level", lambda alpha: 1 - alpha))
    def fit(
        self,
        *,
        bootstrap: bool = True,
        n_boot: int = 999,
        level: float = 0.95,
        uniform_bands: bool = True,
        seed=None,
        multiplier: Multiplier = "rademacher",
    ) -> CallawaySantAnnaResults:
        """Estimate every ATT(g, t) and its influence function.

        Parameters
        ----------
        bootstrap
            Multiplier-bootstrap standard errors (R default). ``False`` gives
            analytic influence-function standard errors.
        n_boot
            Bootstrap draws.
        level
            Confidence level of the bands / intervals (0.95).
        uniform_bands
            Simultaneous (sup-t) bands over all reported estimates (needs the
            bootstrap; with ``bootstrap=False`` intervals are pointwise).
        seed
            Seed of the bootstrap multipliers.
        multiplier
            ``"rademacher"`` (R ``did``) or ``"mammen"``.

        Notes
        -----
        The bootstrap draws multipliers once for the ATT(g, t) and the cohort
        shares; every later :meth:`~CallawaySantAnnaResults.aggregate` reuses
        them (R ``aggte`` draws afresh: same distribution, and here the ATT(g, t)
        and their aggregates come from one coherent set of draws).
        """
        level = check_level(level)
        check_option("multiplier", multiplier, Multiplier)
        if bootstrap and int(n_boot) < 2:
            raise ConfigError(f"n_boot must be at least 2, got {n_boot!r}.")
        if self._cells is None:  # point estimates do not depend on fit()'s arguments
            self._cells = self._estimate_cells()
        cells, influence = self._cells
        inference = Inference(influence, self.data, bootstrap=bootstrap, n_boot=int(n_boot),
                              level=level, seed=seed, multiplier=multiplier)
        return CallawaySantAnnaResults(cells=cells, inference=inference, data=self.data,
                                       model=self, uniform_bands=uniform_bands)

    def _plan(self):
        return cell_plan(self.data.periods, self.data.groups, self.anticipation,
                         self.base_period)

    def _estimate_cells(self):
        d = self.data
        plan = self._plan()
        influence = np.zeros((d.n, len(plan)), order="F")
        rows = []
        never = np.isinf(d.unit_group)
        for k, (g, cur, base, threshold) in enumerate(plan):
            t = d.periods[cur]
            if cur == base:  # universal base period: the normalised reference cell
                rows.append((int(g), t, d.periods[base], 0.0, g <= t, 0, 0))
                continue
            treat = d.unit_group == g
            if self.control_group == "nevertreated":
                comp = never
            else:
                comp = never | ((d.unit_group > threshold) & ~treat)
            att, psi, n_treat, n_comp = self._cell(g, t, cur, base, treat, comp)
            influence[:, k] = psi
            rows.append((int(g), t, d.periods[base], att, g <= t, n_treat, n_comp))
        cells = pd.DataFrame(rows, columns=["group", "time", "base_period", "att", "post",
                                            "n_treated", "n_comparison"])
        influence.setflags(write=False)  # shared by every fit() of this model
        return cells, influence

    def _cell(self, g, t, cur, base, treat, comp):
        """One 2x2 DiD: ATT and its influence function over all ``n`` units/rows."""
        d = self.data
        if not comp.any():
            rule = ("never-treated units" if self.control_group == "nevertreated" else
                    f"units not yet treated at {d.periods[max(cur, base)]}"
                    + (f" + anticipation {self.anticipation}" if self.anticipation else ""))
            raise EstimationError(
                f"No comparison unit for cohort {g:g} in period {t}: there are no {rule}. "
                "Use the other control_group, or restrict the periods analysed."
            )
        # Without covariates OR, IPW and DR are the same simple DiD (points and influence
        # functions); the OR path computes it without fitting a propensity score.
        method = self.method if d.covariate_names else "or"
        try:
            if d.layout == "balanced":
                idx = np.flatnonzero(treat | comp)
                x = _with_intercept(d.x_wide[min(cur, base)][idx]) if d.covariate_names else None
                res = drdid_panel(d.y_wide[idx, cur], d.y_wide[idx, base], treat[idx], x,
                                  d.w_wide[min(cur, base)][idx], method=method)
                psi = np.zeros(d.n)
                psi[idx] = res.influence * (d.n / len(idx))
                return res.att, psi, int(treat.sum()), int(comp.sum())
            rows = np.concatenate([d.period_rows[cur], d.period_rows[base]])
            unit = d.row_unit[rows]
            rows = rows[treat[unit] | comp[unit]]
            unit = d.row_unit[rows]
            post = (d.row_period[rows] == cur).astype(float)
            dg = treat[unit].astype(float)
            self._check_rcs_cell(g, t, d.periods[base], dg, post)
            x = _with_intercept(d.row_x[rows]) if d.covariate_names else None
            res = drdid_rcs(d.row_y[rows], post, dg, x, d.row_w[rows], method=method)
            psi = np.bincount(unit, weights=res.influence * (d.n / len(rows)), minlength=d.n)
            present = np.bincount(unit, minlength=d.n) > 0
            return res.att, psi, int((present & treat).sum()), int((present & comp).sum())
        except OverlapError as exc:
            raise OverlapError(f"Cohort {g:g}, period {t}: {exc}") from exc
        except CollinearCovariatesError as exc:
            names = [self.covariates[p] for p in exc.positions]
            what = (f"covariate(s) {names} are constant" if names
                    else "the covariates are collinear")
            raise EstimationError(
                f"Cohort {g:g}, period {t}: {what} within the treated cohort or its comparison "
                f"group ({exc}). Drop them, or use method='unconditional'."
            ) from exc

    @staticmethod
    def _check_rcs_cell(g, t, b, dg, post):
        counts = {
            f"cohort {g:g} in period {t}": (dg * post).sum(),
            f"cohort {g:g} in base period {b}": (dg * (1 - post)).sum(),
            f"comparison units in period {t}": ((1 - dg) * post).sum(),
            f"comparison units in base period {b}": ((1 - dg) * (1 - post)).sum(),
        }
        empty = [name for name, c in counts.items() if c == 0]
        if empty:
            raise EstimationError(
                f"ATT({g:g}, {t}) cannot be estimated: no observation of {', '.join(empty)}."
            )


def cell_plan(periods: np.ndarray, groups: np.ndarray, anticipation: int,
              base_period: str) -> list[tuple]:
    """(group, time index, base index, comparison threshold) of every ATT(g, t) cell.

    The base period is ``g - anticipation - 1`` for post-treatment cells and
    for ``base_period="universal"``; ``t - 1`` for pre-treatment cells with
    ``"varying"``. Not-yet-treated comparisons are cohorts treated after the
    threshold ``max(t, base) + anticipation``.
    """
    varying = base_period == "varying"
    shift = 1 if varying else 0
    plan = []
    for g in groups:
        last_pre = int(np.flatnonzero(periods + anticipation < g)[-1])
        for ti in range(len(periods) - shift):
            cur = ti + shift
            base = ti if varying else last_pre
            if periods[cur] >= g - anticipation:
                base = last_pre
            threshold = periods[max(cur, base)] + anticipation
            plan.append((g, cur, base, threshold))
    return plan


def _with_intercept(x: np.ndarray) -> np.ndarray:
    # Explicit intercept, so a covariate equal to 1 is caught as collinear rather
    # than mistaken for the intercept column.
    return np.column_stack([np.ones(len(x)), x])

