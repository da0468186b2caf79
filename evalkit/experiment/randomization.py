"""Randomisation inference (Fisher exact / permutation tests) under the declared design.

The sharp null ``H0(tau): Y_i(1) = Y_i(0) + tau`` for every unit fixes every potential
outcome, so the distribution of any statistic over re-randomisations is known exactly:

    p(tau) = #{a in A : |S(a; Y - tau*T)| >= |S(a_obs; Y - tau*T)|} / |A|

where ``A`` holds the assignments the design can produce (:class:`Assignment`), ``T``
the treatment actually received and ``S`` the statistic. With few assignments (7
stations, 4 of them pilots: C(7, 4) = 35) ``A`` is enumerated and the p-value is exact;
otherwise ``n_perm`` assignments are drawn uniformly and ``p = (1 + hits) / (1 + n_perm)``
(Monte Carlo, valid at any ``n_perm``). The confidence interval collects the ``tau``
whose test is not rejected at ``1 - level`` (test inversion; Imbens & Rubin 2015, ch. 5):
a constant additive effect is assumed for the interval, not for the p-value of
``tau = 0``.

Any estimator can be the statistic: a callable receiving the data with the arm
re-assigned and returning a number or an evalkit results object (``param`` picks the
estimate, default its first). When the statistic is linear in the outcome (difference
in means, OLS, the imputation DiD), ``linear=True`` evaluates each assignment twice
(on ``Y`` and on ``T``) and inverts the test from ``S(Y) - tau*S(T)`` without refitting.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.data.ledger import ExclusionLedger
from evalkit.data.validation import as_numeric
from evalkit.errors import ConfigError, DesignError, EvalkitWarning
from evalkit.experiment.assignment import Assignment
from evalkit.experiment.inputs import analysis_frame
from evalkit.results import EstimateResults

Alternative = Literal["two-sided", "greater", "less"]
#: Designs with at most this many assignments are enumerated when ``n_perm`` is not given.
EXACT_LIMIT = 20_000
#: Monte Carlo draws when the design has more than :data:`EXACT_LIMIT` assignments.
DEFAULT_N_PERM = 9_999
# Assignments are drawn and evaluated in chunks of about this many cells (units x draws),
# so a Monte Carlo test on register-sized individual designs stays in memory.
_CHUNK_CELLS = 2_000_000


class RandomizationResults(EstimateResults):
    """Observed statistic, its randomisation distribution, p-value and inverted CI.

    ``params`` holds the observed statistic, ``std_errors`` the standard deviation of
    its randomisation distribution under ``H0: tau = 0``, ``pvalues`` the randomisation
    p-value and :meth:`conf_int` the test-inversion interval (computed on demand).

    Attributes
    ----------
    distribution
        The statistic under every enumerated (or drawn) assignment, ``tau = 0``.
    exact
        True when every possible assignment was enumerated.
    n_assignments
        Number of assignments the design allows.
    n_draws
        Number of assignments evaluated (all of them when ``exact``).
    assignment
        The :class:`~evalkit.experiment.assignment.Assignment`.
    """

    def __init__(self, name: str, observed: float, distribution: np.ndarray, *, pvalue: float,
                 exact: bool, assignment: Assignment, alternative: str, inverter,
                 seed: int | None, ledger: ExclusionLedger | None = None) -> None:
        method = (f"exact, all {len(distribution):,} assignments" if exact
                  else f"Monte Carlo, {len(distribution):,} draws (seed {seed})")
        super().__init__(
            pd.Series({name: observed}), pd.Series({name: float(np.std(distribution))}),
            title="Randomisation inference",
            info={"Design": assignment.describe(), "Method": method,
                  "Alternative": alternative,
                  "Interval": "test inversion, constant additive effect"},
            ledger=ledger)
        self.distribution = np.asarray(distribution, dtype=float)
        self.pvalue = float(pvalue)
        self.exact = exact
        self.assignment = assignment
        self.n_assignments = (assignment.n_assignments if assignment.log10_assignments < 15
                              else math.inf)
        self.n_draws = len(distribution)
        self.alternative = alternative
        self.seed = seed
        self._inverter = inverter
        self._intervals: dict[float, tuple[float, float]] = {}

    @property
    def statistic(self) -> float:
        return float(self.params.iloc[0])

    @property
    def pvalues(self) -> pd.Series:
        """The randomisation p-value (not a Wald p-value)."""
        return pd.Series([self.pvalue], index=self.params.index, name="p_value")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Set of constant effects ``tau`` not rejected at ``1 - level`` (two-sided).

        Bounds are ``-inf``/``inf`` when no effect that far is rejected (e.g. too few
        assignments: with ``N`` of them, no two-sided p-value falls below ``1/N``), and
        NaN when the interval cannot be computed (no ``outcome`` given).
        """
        if not 0 < level < 1:
            raise ConfigError(f"level must be in (0, 1), got {level!r}")
        key = round(float(level), 12)
        if key not in self._intervals:
            self._intervals[key] = (self._inverter(level) if self._inverter is not None
                                    else (np.nan, np.nan))
        lower, upper = self._intervals[key]
        return pd.DataFrame({"lower": [lower], "upper": [upper]}, index=self.params.index)

    def plot(self, ax=None, *, title: str | None = "Randomisation distribution",
             xlabel: str = "Statistic under re-randomisation",
             ylabel: str = "Share of assignments", observed_label: str = "Observed ({value:.3f})"):
        """Histogram of the randomisation distribution with the observed statistic."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        values = self.distribution
        bins = min(40, max(10, len(np.unique(values))))
        ax.hist(values, bins=bins, weights=np.full(len(values), 1 / len(values)),
                color="#9bb7d4", edgecolor="white")
        ax.axvline(self.statistic, color="#b2182b", lw=2,
                   label=observed_label.format(value=self.statistic))
        if self.alternative == "two-sided":
            ax.axvline(-self.statistic, color="#b2182b", lw=1, ls="--")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        # Headroom so the legend does not sit on the bars or the observed line.
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
        ax.legend(frameon=False, loc="upper left")
        return ax


def randomization_test(
    data,
    statistic: Callable[[pd.DataFrame], Any] | None = None,
    *,
    group: str,
    outcome: str | None = None,
    block: str | None = None,
    cluster: str | None = None,
    treated: Hashable | None = None,
    treatment: str | None = None,
    param: str | None = None,
    linear: bool | None = None,
    n_perm: int | None = None,
    seed: int | None = None,
    alternative: Alternative = "two-sided",
) -> RandomizationResults:
    """Randomisation p-value and test-inversion CI for ``statistic`` under the design.

    Parameters
    ----------
    data
        A DataFrame, or a data contract (:class:`~evalkit.data.PersonTable`,
        :class:`~evalkit.data.Panel`) whose ``.data`` and ledger are used.
    statistic
        ``f(frame) -> float | results``, called on the data with ``group`` re-assigned
        (same dtype and labels). ``None``: the difference in means of ``outcome``
        (block-weighted, ``sum_b n_b/n (mean_T,b - mean_C,b)``, with blocks).
    group, block, cluster, treated
        The randomisation design, see :class:`~evalkit.experiment.assignment.Assignment`.
        For a DiD of sites, ``group`` is the site's arm and ``cluster`` the site.
    outcome
        Outcome column; needed for the default statistic and for the confidence
        interval (which shifts it by ``tau * treatment``). Rows where it is missing are
        dropped and recorded in the ledger.
    treatment
        0/1 column of the treatment received, for the interval's shift (e.g. the
        pilot-after-integration indicator of a DiD); default the arm ``group``.
    param
        Which estimate of a results object is the statistic (default: its first).
    linear
        The statistic is linear in the outcome; default True for the default statistic.
    n_perm, seed
        ``None``: enumerate every assignment when there are at most
        :data:`EXACT_LIMIT`, else draw :data:`DEFAULT_N_PERM`. An integer asks for that
        many Monte Carlo draws and must be below the number of possible assignments.
    alternative
        ``"two-sided"`` (``|S|``), ``"greater"`` or ``"less"``.

    Examples
    --------
    >>> from evalkit.did import DiD2x2
    >>> ri = randomization_test(
    ...     survey, lambda d: DiD2x2(d, outcome="y", group="pilot", period="wave",
    ...                              cluster="station", repeated_cross_section=True).fit(
    ...                                  method="imputation"),
    ...     group="pilot", cluster="station", outcome="y", treatment="integrated", linear=True)
    >>> ri.pvalue, ri.conf_int(0.95)
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ConfigError(
            f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}.")
    frame, ledger = analysis_frame(data, where="Randomisation test", outcome=outcome,
                                   roles={"treatment": treatment})
    if statistic is None and outcome is None:
        raise ConfigError("randomization_test: give outcome= (for the default difference "
                          "in means) or a statistic callable.")
    assignment = Assignment(frame, group=group, block=block, cluster=cluster, treated=treated)
    draws, exact = _draws(assignment, n_perm, seed)
    observed_assignment = assignment.observed[None, :]

    def with_observed():
        yield observed_assignment
        yield from draws()

    linear = statistic is None if linear is None else linear

    evaluate = _evaluator(frame, statistic, assignment, group, outcome, param)
    y = frame[outcome].to_numpy(float) if outcome is not None else None
    shift = (assignment.rows(assignment.observed).astype(float) if treatment is None
             else as_numeric(frame, treatment, "treatment", "Randomisation test").to_numpy(float))

    if statistic is None:
        # One pass gives the statistic of the outcome and of the shift (linear inversion).
        both = evaluate(np.column_stack([y, shift]), with_observed())
        base, slope = both[:, 0], both[:, 1]
    else:
        base = evaluate(y, with_observed())
    obs, dist = base[0], base[1:]
    pvalue = _pvalue(obs, dist, alternative, exact)

    inverter = None
    if y is not None:
        if linear:
            if statistic is not None:
                slope = evaluate(shift, with_observed())

            def stats_at(tau: float) -> np.ndarray:
                return base - tau * slope
        else:
            def stats_at(tau: float) -> np.ndarray:
                return evaluate(y - tau * shift, with_observed())

        def inverter(level: float) -> tuple[float, float]:
            return _invert(stats_at, obs, float(np.std(dist)), 1 - level, exact)

    name = param or ("difference_in_means" if statistic is None else "statistic")
    return RandomizationResults(name, obs, dist, pvalue=pvalue, exact=exact,
                                assignment=assignment, alternative=alternative,
                                inverter=inverter, seed=seed, ledger=ledger)


def _draws(assignment: Assignment, n_perm: int | None, seed: int | None):
    """``(chunks, exact)``: ``chunks()`` yields the assignments to evaluate, the same ones
    at every call (the interval re-evaluates them at each tau)."""
    # Exact counts of register-sized designs are huge integers, slow to compute.
    total = assignment.n_assignments if assignment.log10_assignments < 15 else math.inf
    size = max(1, _CHUNK_CELLS // max(1, len(assignment.units)))
    if n_perm is None:
        if total <= EXACT_LIMIT:
            every = assignment.enumerate()
            return (lambda: (every[i:i + size] for i in range(0, len(every), size))), True
        n_perm = DEFAULT_N_PERM
    elif n_perm < 1:
        raise ConfigError(f"n_perm must be a positive integer, got {n_perm!r}.")
    elif n_perm >= total:
        raise DesignError(
            f"n_perm={n_perm:,} asks for at least as many re-randomisations as the design "
            f"allows: {assignment.describe()}. Use n_perm=None to enumerate all {total:,} "
            "assignments (an exact p-value).")

    def chunks():
        rng = np.random.default_rng(seed)
        for start in range(0, n_perm, size):
            yield assignment.sample(min(size, n_perm - start), rng)
    return chunks, False


def _evaluator(frame, statistic, assignment: Assignment, group, outcome, param):
    """``evaluate(y, chunks) -> statistic per assignment`` over chunks of assignments."""
    if statistic is None:
        block_rows = assignment.block_of_unit[assignment.unit_of_row]

        def evaluate(y, chunks):
            return np.concatenate([_difference_in_means(y, assignment.rows(chunk), block_rows)
                                   for chunk in chunks])
        return evaluate

    labels = _label_maker(frame[group], assignment)

    def evaluate(y, chunks):
        values = []
        work = frame.copy()
        if y is not None and outcome is not None:
            work[outcome] = y
        with warnings.catch_warnings():
            # Each refit repeats the observed fit's warnings (few clusters, ...), and a
            # refit on the treatment column as outcome has degenerate standard errors:
            # only the point estimate is used.
            warnings.simplefilter("ignore", EvalkitWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            for chunk in chunks:
                for unit_assignment in chunk:
                    work[group] = labels(assignment.rows(unit_assignment))
                    values.append(_as_number(statistic(work), param))
        return np.array(values)
    return evaluate


def _label_maker(series: pd.Series, assignment: Assignment):
    """Turn a boolean row assignment back into the group column's own values."""
    if assignment.treated_label is not None:
        other = [v for v in series.unique().tolist() if v != assignment.treated_label]
        control = other[0] if len(other) == 1 else None
        if control is None:
            raise DesignError(
                f"group column {series.name!r} must have exactly two values to be re-assigned; "
                f"found {len(other) + 1}.")
        return lambda rows: np.where(rows, assignment.treated_label, control)
    dtype = series.dtype
    return lambda rows: pd.Series(rows, index=series.index).astype(dtype)


def _as_number(value, param: str | None) -> float:
    if isinstance(value, EstimateResults):
        params = value.params
        if param is not None and param not in params.index:
            raise ConfigError(f"param={param!r} is not an estimate of the statistic's results "
                              f"(estimates: {list(params.index)}).")
        return float(params[param] if param is not None else params.iloc[0])
    return float(value)


def _difference_in_means(y: np.ndarray, rows: np.ndarray, block_rows: np.ndarray) -> np.ndarray:
    """(Block-weighted) difference in means for each row assignment in ``rows``."""
    blocks = np.unique(block_rows)
    if len(blocks) == 1:
        return _mean_difference(y, rows)
    out = np.zeros((len(rows), *y.shape[1:]))
    for b in blocks:
        cols = block_rows == b
        out += cols.mean() * _mean_difference(y[cols], rows[:, cols])
    return out


def _mean_difference(y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Difference in means per assignment; ``y`` may hold several outcomes in columns."""
    n_t = rows.sum(axis=1)
    if y.ndim == 2:
        n_t = n_t[:, None]
    sum_t = rows @ y
    return sum_t / n_t - (y.sum(axis=0) - sum_t) / (len(y) - n_t)


def _hits(obs: float, dist: np.ndarray, alternative: str) -> np.ndarray:
    # Equal statistics (the observed assignment itself, symmetric designs) must count
    # as "at least as extreme" despite floating-point noise.
    tol = 1e-9 * max(1.0, abs(obs), float(np.max(np.abs(dist))) if len(dist) else 1.0)
    if alternative == "greater":
        return dist >= obs - tol
    if alternative == "less":
        return dist <= obs + tol
    return np.abs(dist) >= abs(obs) - tol


def _pvalue(obs: float, dist: np.ndarray, alternative: str, exact: bool) -> float:
    hits = int(_hits(obs, dist, alternative).sum())
    return hits / len(dist) if exact else (1 + hits) / (1 + len(dist))


def _invert(stats_at, obs: float, scale: float, alpha: float, exact: bool,
            iterations: int = 60) -> tuple[float, float]:
    """Bounds of ``{tau : p(tau) > alpha}`` by bracketing and bisection from the estimate."""
    def accepted(tau: float) -> bool:
        values = stats_at(tau)
        return _pvalue(values[0], values[1:], "two-sided", exact) > alpha

    centre = obs
    if not accepted(centre):
        return np.nan, np.nan
    scale = scale if np.isfinite(scale) and scale > 0 else max(abs(obs), 1.0)
    bounds = []
    for direction in (-1.0, 1.0):
        inside, step = centre, scale
        outside = None
        for _ in range(40):
            trial = centre + direction * step
            if accepted(trial):
                inside = trial
                step *= 2
            else:
                outside = trial
                break
        if outside is None:
            bounds.append(direction * np.inf)
            continue
        for _ in range(iterations):
            middle = (inside + outside) / 2
            if accepted(middle):
                inside = middle
            else:
                outside = middle
            if abs(outside - inside) <= 1e-8 * scale:
                break
        bounds.append((inside + outside) / 2)
    return bounds[0], bounds[1]
