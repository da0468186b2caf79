"""Lee (2009) bounds on an effect for an outcome observed only for a selected subsample.

Earnings are seen only for people in work, survey answers only for responders. If the
programme changes who is observed, comparing observed means mixes the effect with a
change in composition. Assuming *monotonicity* (the arm can only add people to the
observed, never remove them: ``S(1) >= S(0)``, or the reverse for every person), Lee
(2009, Rev. Econ. Stud. 76(3)) bounds the effect on the *always-observed*
``E[Y(1) - Y(0) | S(0) = S(1) = 1]``:

* ``q1``, ``q0`` are the observed shares in the treated and control arms; with
  ``q1 >= q0`` the treated observed contain a share ``p = (q1 - q0) / q1`` of people
  observed only because of the programme (the *trimming proportion*);
* the lower bound trims the top ``p`` of the treated observed outcomes, the upper
  bound the bottom ``p``:
  ``LB = mean(y_1 | y_1 <= y_1[1-p]) - mean(y_0)``, ``UB = mean(y_1 | y_1 >= y_1[p]) - mean(y_0)``.
  Trimming is of the empirical distribution: the observation straddling the cut
  enters with a fractional weight, so ties are handled exactly. With ``q0 > q1`` the
  control arm is trimmed instead.

Covariate-tightened bounds (Lee 2009, section 4.2): within cells of discrete
covariates the bounds are computed as above and averaged with the share of the
always-observed in each cell, ``w_x ∝ P(x) q0(x)`` (with treated trimmed). They are
narrower when covariates predict the outcome. Every cell needs ``min_cell`` observed
people in each arm.

Inference: standard errors of each bound by the stratified (within-arm) bootstrap
(``n_boot``, ``seed``), and the Imbens & Manski (2004) interval, which covers the
effect (not the whole identified set) with probability ``level``:
``[LB - C sigma_L, UB + C sigma_U]`` with ``C`` solving
``Phi(C + (UB - LB) / max(sigma_L, sigma_U)) - Phi(-C) = level``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evalkit.data.validation import show_values
from evalkit.errors import ConfigError, DataValidationError, DesignError
from evalkit.experiment.assignment import treated_indicator
from evalkit.experiment.inputs import analysis_frame
from evalkit.results import EstimateResults
from evalkit.summary import Summary


class LeeBoundsResults(EstimateResults):
    """Lower and upper Lee bounds (``params["lower"]``, ``params["upper"]``).

    Attributes
    ----------
    trimming_proportion
        Share ``p = (q_high - q_low) / q_high`` of the trimmed arm's observed outcomes
        removed, over the whole sample (per cell in ``cells`` for tightened bounds).
    trimmed_arm
        ``"treated"`` or ``"control"``.
    observed_share
        Observed share by arm (``{"treated": q1, "control": q0}``).
    replicates
        Bootstrap replicates of the bounds (``n_boot`` x 2).
    cells
        Per-cell table for covariate-tightened bounds (else None).
    """

    def __init__(self, bounds, replicates, *, trimming_proportion, trimmed_arm, observed_share,
                 cells, n_boot, seed, covariates, ledger) -> None:
        se = np.std(replicates, axis=0, ddof=1)
        info = {"Estimand": "effect on the always-observed (Lee 2009)",
                "Observed share (treated / control)":
                    f"{observed_share['treated']:.3f} / {observed_share['control']:.3f}",
                "Trimming proportion": f"{trimming_proportion:.3f} ({trimmed_arm} arm)",
                "Standard errors": f"stratified bootstrap, {n_boot} draws (seed {seed})"}
        if covariates:
            info["Tightened by cells of"] = ", ".join(covariates)
        super().__init__(pd.Series({"lower": bounds[0], "upper": bounds[1]}),
                         pd.Series({"lower": se[0], "upper": se[1]}),
                         title="Lee (2009) bounds", info=info, ledger=ledger)
        self.trimming_proportion = float(trimming_proportion)
        self.trimmed_arm = trimmed_arm
        self.observed_share = observed_share
        self.replicates = replicates
        self.cells = cells

    def imbens_manski(self, level: float = 0.95) -> tuple[float, float]:
        """Imbens & Manski (2004) interval covering the effect with probability ``level``."""
        if not 0 < level < 1:
            raise ConfigError(f"level must be in (0, 1), got {level!r}")
        lower, upper = self.params.to_numpy()
        s_low, s_up = self.std_errors.to_numpy()
        c = imbens_manski_critical_value(upper - lower, max(s_low, s_up), level)
        return float(lower - c * s_low), float(upper + c * s_up)

    def summary(self, level: float = 0.95) -> Summary:
        lo, hi = self.imbens_manski(level)
        summary = super().summary(level)
        summary.notes.append(f"Imbens-Manski {level:.0%} CI for the effect: [{lo:.4f}, {hi:.4f}]")
        return summary


def imbens_manski_critical_value(width: float, sigma: float, level: float) -> float:
    """``C`` with ``Phi(C + width / sigma) - Phi(-C) = level`` (Imbens & Manski 2004)."""
    if sigma <= 0 or not np.isfinite(sigma):
        return float(stats.norm.ppf(0.5 + level / 2))
    ratio = max(width, 0.0) / sigma
    return float(optimize.brentq(
        lambda c: stats.norm.cdf(c + ratio) - stats.norm.cdf(-c) - level, 0.0, 10.0))


class LeeBounds:
    """Lee (2009) bounds for ``outcome`` observed only where ``observed`` is 1.

    Parameters
    ----------
    data
        A DataFrame or :class:`~evalkit.data.PersonTable`, one row per randomised person.
    group, treated
        The randomised arm (boolean/0-1, or a label column with ``treated``).
    outcome
        The outcome, missing for people not observed.
    observed
        0/1 column of observation (in work, responded); default: the outcome is present.
        The outcome must be present wherever it is 1.
    covariates
        Discrete pre-randomisation covariates whose cells tighten the bounds.
    min_cell
        Observed people needed in each arm of every cell.
    """

    def __init__(self, data, *, group: str, outcome: str, observed: str | None = None,
                 covariates: Sequence[str] | None = None, treated: Hashable | None = None,
                 min_cell: int = 10) -> None:
        self.covariates = list(covariates or [])
        frame, self.ledger = analysis_frame(
            data, where="Lee bounds", required=[group, *self.covariates],
            numeric=[outcome] + ([observed] if observed else []),
            roles={"group": group, "outcome": outcome, "observed": observed,
                   "covariates": self.covariates})
        self.arm = treated_indicator(frame[group], group, treated)
        y = frame[outcome].to_numpy(float)
        if observed is None:
            seen = ~np.isnan(y)
        else:
            values = frame[observed]
            if values.isna().any() or not set(values.unique()) <= {0, 1}:
                raise DataValidationError(
                    f"Lee bounds: observed column {observed!r} must be 0/1 without missing "
                    f"values; found {show_values(values.unique())}.")
            seen = values.to_numpy() == 1
            gaps = seen & np.isnan(y)
            if gaps.any():
                raise DataValidationError(
                    f"Lee bounds: outcome {outcome!r} is missing for {int(gaps.sum())} row(s) "
                    f"marked observed in {observed!r} (rows {show_values(np.flatnonzero(gaps))}"
                    "). Fix the observed flag or the outcome.")
        self.y, self.seen = y, seen
        self.cells = (pd.Series(["all"] * len(frame)) if not self.covariates else
                      frame[self.covariates].astype(str).agg(" | ".join, axis=1))
        self.min_cell = int(min_cell)
        self._check_cells()

    def _check_cells(self) -> None:
        arm = pd.Series(np.where(self.arm, "treated", "control"), name="arm")
        table = pd.crosstab(self.cells, arm, values=self.seen.astype(int),
                            aggfunc="sum").reindex(columns=["treated", "control"]).fillna(0)
        minimum = self.min_cell if self.covariates else 2
        thin = table.index[(table < minimum).any(axis=1)]
        if len(thin):
            counts = "; ".join(f"{c}: {int(table.loc[c, 'treated'])} treated, "
                               f"{int(table.loc[c, 'control'])} control"
                               for c in list(thin)[:5])
            if not self.covariates:
                raise DesignError(
                    f"Lee bounds need at least 2 observed outcomes in each arm ({counts}).")
            raise DesignError(
                f"Lee bounds: cell(s) of {', '.join(self.covariates)} with fewer than "
                f"{minimum} observed people in an arm ({counts}). Use coarser or fewer "
                "covariates (or none), or lower min_cell knowingly.")

    def fit(self, *, n_boot: int = 500, seed: int | None = None) -> LeeBoundsResults:
        """Bounds, trimming proportion and bootstrap standard errors."""
        if n_boot < 2:
            raise ConfigError(f"n_boot must be at least 2, got {n_boot!r}.")
        codes, labels = pd.factorize(self.cells, sort=True)
        bounds, trimming, arm_trimmed, cell_table = _bounds(self.y, self.seen, self.arm, codes,
                                                            labels)
        rng = np.random.default_rng(seed)
        treated_idx, control_idx = np.flatnonzero(self.arm), np.flatnonzero(~self.arm)
        replicates = np.empty((n_boot, 2))
        for b in range(n_boot):
            idx = np.concatenate([rng.choice(treated_idx, len(treated_idx)),
                                  rng.choice(control_idx, len(control_idx))])
            replicates[b] = _bounds(self.y[idx], self.seen[idx], self.arm[idx], codes[idx],
                                    labels, strict=False)[0]
        share = {"treated": float(self.seen[self.arm].mean()),
                 "control": float(self.seen[~self.arm].mean())}
        return LeeBoundsResults(bounds, replicates, trimming_proportion=trimming,
                                trimmed_arm=arm_trimmed, observed_share=share,
                                cells=cell_table if self.covariates else None, n_boot=n_boot,
                                seed=seed, covariates=self.covariates, ledger=self.ledger)


def trimmed_mean(values: np.ndarray, keep: float, *, top: bool) -> float:
    """Mean of the lowest (``top=False``) or highest share ``keep`` of ``values``.

    The empirical distribution is trimmed: the value straddling the cut enters with a
    fractional weight, e.g. keeping 0.5 of ``[1, 2, 3]`` gives ``(1 + 0.5*2) / 1.5``.
    """
    ordered = np.sort(values)[::-1] if top else np.sort(values)
    mass = keep * len(ordered)
    weights = np.clip(mass - np.arange(len(ordered)), 0.0, 1.0)
    return float(weights @ ordered / mass)


def _bounds(y, seen, arm, codes, labels, strict: bool = True):
    """Bounds (averaged over cells), overall trimming proportion, trimmed arm, cell table."""
    q1_all, q0_all = seen[arm].mean(), seen[~arm].mean()
    trim_treated = q1_all >= q0_all
    high_all, low_all = (q1_all, q0_all) if trim_treated else (q0_all, q1_all)
    rows = []
    for code, label in enumerate(labels):
        in_cell = codes == code
        t, c = in_cell & arm, in_cell & ~arm
        y1, y0 = y[seen & t], y[seen & c]
        if not strict and (len(y1) == 0 or len(y0) == 0):
            continue  # a bootstrap draw emptied the cell; its weight is zero there
        q1, q0 = len(y1) / t.sum(), len(y0) / c.sum()
        high, low = (q1, q0) if trim_treated else (q0, q1)
        # Sampling noise can reverse the arms' order in a cell; monotonicity says it
        # cannot, so nothing is trimmed there.
        p = max(0.0, (high - low) / high)
        if trim_treated:
            lower = trimmed_mean(y1, 1 - p, top=False) - y0.mean()
            upper = trimmed_mean(y1, 1 - p, top=True) - y0.mean()
        else:
            lower = y1.mean() - trimmed_mean(y0, 1 - p, top=True)
            upper = y1.mean() - trimmed_mean(y0, 1 - p, top=False)
        # Share of the always-observed in the cell: P(x) * (lower observed share).
        rows.append((label, in_cell.mean() * low, p, lower, upper, q1, q0, int(in_cell.sum())))
    weight = np.array([r[1] for r in rows])
    weight = weight / weight.sum()
    bounds = (float(weight @ [r[3] for r in rows]), float(weight @ [r[4] for r in rows]))
    trimming = float((high_all - low_all) / high_all)
    table = None
    if strict:
        table = pd.DataFrame(rows, columns=["cell", "weight", "trimming_proportion", "lower",
                                            "upper", "observed_treated", "observed_control",
                                            "n"]).set_index("cell")
        table["weight"] = weight
    return bounds, trimming, "treated" if trim_treated else "control", table
