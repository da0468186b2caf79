"""Analytic power and minimum detectable effects (MDE) of experimental designs.

Every design reduces to the standard error ``SE`` of its impact estimate and the
degrees of freedom ``df`` of its t test. Then (Bloom 1995, Evaluation Review 19(5))

    MDE = M_df * SE,   M_df = t_{1-a/2, df} + t_{power, df}     (two-sided; t_{1-a, df} one-sided)

(``M = 2.80`` for a two-sided 5 % test with 80 % power and many df), and the power to
detect an effect ``delta`` is computed from the noncentral t distribution, exact for
normal outcomes:

    power = 1 - F_{t(df, lambda)}(t_{1-a/2, df}) + F_{t(df, lambda)}(-t_{1-a/2, df}),
    lambda = delta / SE.

Both follow PowerUp! (Dong & Maynard 2013) and Optimal Design (Raudenbush 1997;
Spybrook et al. 2011). Standard errors, in units of the outcome's standard deviation
``sd`` (``sd=1`` gives effect sizes), with ``P`` the share treated:

Individual randomisation (Bloom 1995)
    ``SE = sd sqrt((1 - R^2) / (P (1 - P) n))``, ``df = n - g - 2``
    (``g`` covariates explaining a share ``R^2`` of the outcome's variance).
Cluster randomisation, two levels (Raudenbush 1997)
    ``SE = sd sqrt(rho (1 - R2^2) / (P (1 - P) J) + (1 - rho)(1 - R1^2) / (P (1 - P) J n))``,
    ``df = J - g2 - 2``: ``J`` clusters of ``n`` people, intra-cluster correlation
    ``rho``, ``R1^2``/``R2^2`` the shares of individual/cluster variance explained by
    covariates, ``g2`` cluster-level covariates.
Difference in differences (McKenzie 2012, J. Dev. Econ. 99(2))
    With ``m`` waves before and ``r`` after and autocorrelation ``phi`` of a person's
    outcome between waves (panel),
    ``SE = sd sqrt(D / (P (1 - P) n))``,
    ``D = (1 + (m - 1) phi)/m + (1 + (r - 1) phi)/r - 2 phi`` (``= 2 (1 - phi)`` for
    one wave each). Repeated cross-sections have ``phi = 0`` with ``n`` people per wave.
    With clusters, the variance is multiplied by the design effect
    ``1 + (n_c - 1) rho`` of clusters of ``n_c`` people (``rho`` the intra-cluster
    correlation of the changes, since stable cluster levels difference out) and
    ``df = J - 2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.errors import ConfigError

Alternative = Literal["two-sided", "one-sided"]


def se_individual(n: float, *, share_treated: float = 0.5, r2: float = 0.0,
                  sd: float = 1.0) -> float:
    """Standard error of an individually randomised impact estimate (Bloom 1995)."""
    _check_share(share_treated)
    _check_fraction("r2", r2)
    _check_positive("n", n)
    return sd * math.sqrt((1 - r2) / (share_treated * (1 - share_treated) * n))


def se_cluster(n_clusters: float, cluster_size: float, icc: float, *,
               share_treated: float = 0.5, r2_individual: float = 0.0,
               r2_cluster: float = 0.0, sd: float = 1.0) -> float:
    """Standard error of a two-level cluster-randomised impact estimate (Raudenbush 1997)."""
    _check_share(share_treated)
    for name, value in (("icc", icc), ("r2_individual", r2_individual),
                        ("r2_cluster", r2_cluster)):
        _check_fraction(name, value)
    _check_positive("n_clusters", n_clusters)
    _check_positive("cluster_size", cluster_size)
    pq = share_treated * (1 - share_treated)
    return sd * math.sqrt(icc * (1 - r2_cluster) / (pq * n_clusters)
                          + (1 - icc) * (1 - r2_individual) / (pq * n_clusters * cluster_size))


def se_did(n: float, *, waves_before: int = 1, waves_after: int = 1,
           autocorrelation: float = 0.0, share_treated: float = 0.5,
           cluster_size: float = 1.0, icc: float = 0.0, sd: float = 1.0) -> float:
    """Standard error of a difference in differences (McKenzie 2012), ``n`` people per wave."""
    _check_share(share_treated)
    _check_fraction("autocorrelation", autocorrelation)
    _check_fraction("icc", icc)
    _check_positive("n", n)
    m, r, phi = waves_before, waves_after, autocorrelation
    if m < 1 or r < 1:
        raise ConfigError("waves_before and waves_after must be at least 1.")
    factor = (1 + (m - 1) * phi) / m + (1 + (r - 1) * phi) / r - 2 * phi
    deff = 1 + (cluster_size - 1) * icc
    return sd * math.sqrt(factor * deff / (share_treated * (1 - share_treated) * n))


def multiplier(df: float, *, power: float = 0.8, level: float = 0.95,
               alternative: Alternative = "two-sided") -> float:
    """``M_df = t_{1-a/2, df} + t_{power, df}`` (``t_{1-a, df}`` one-sided), a = 1 - level."""
    _check_fraction("power", power, open_=True)
    _check_fraction("level", level, open_=True)
    return _critical(df, level, alternative) + stats.t.ppf(power, df)


def power_from_se(effect: float, se: float, df: float, *, level: float = 0.95,
                  alternative: Alternative = "two-sided") -> float:
    """Power of the t test to detect ``effect`` (noncentral t, ``lambda = effect/se``)."""
    crit = _critical(df, level, alternative)
    ncp = effect / se
    upper = stats.nct.sf(crit, df, ncp)
    if alternative == "one-sided":
        return float(upper)
    return float(upper + stats.nct.cdf(-crit, df, ncp))


def mde_individual(n: float, *, share_treated: float = 0.5, r2: float = 0.0,
                   n_covariates: int = 0, sd: float = 1.0, power: float = 0.8,
                   level: float = 0.95, alternative: Alternative = "two-sided") -> float:
    """MDE of an individually randomised experiment with ``n`` people (Bloom 1995)."""
    df = _df(n - n_covariates - 2)
    return multiplier(df, power=power, level=level, alternative=alternative) * se_individual(
        n, share_treated=share_treated, r2=r2, sd=sd)


def power_individual(effect: float, n: float, *, share_treated: float = 0.5, r2: float = 0.0,
                     n_covariates: int = 0, sd: float = 1.0, level: float = 0.95,
                     alternative: Alternative = "two-sided") -> float:
    """Power to detect ``effect`` in an individually randomised experiment."""
    return power_from_se(effect, se_individual(n, share_treated=share_treated, r2=r2, sd=sd),
                         _df(n - n_covariates - 2), level=level, alternative=alternative)


def mde_cluster(n_clusters: float, cluster_size: float, icc: float, *,
                share_treated: float = 0.5, r2_individual: float = 0.0,
                r2_cluster: float = 0.0, n_covariates_cluster: int = 0, sd: float = 1.0,
                power: float = 0.8, level: float = 0.95,
                alternative: Alternative = "two-sided") -> float:
    """MDE of a cluster-randomised experiment (Raudenbush 1997; PowerUp! ``cra2``)."""
    df = _df(n_clusters - n_covariates_cluster - 2)
    se = se_cluster(n_clusters, cluster_size, icc, share_treated=share_treated,
                    r2_individual=r2_individual, r2_cluster=r2_cluster, sd=sd)
    return multiplier(df, power=power, level=level, alternative=alternative) * se


def power_cluster(effect: float, n_clusters: float, cluster_size: float, icc: float, *,
                  share_treated: float = 0.5, r2_individual: float = 0.0,
                  r2_cluster: float = 0.0, n_covariates_cluster: int = 0, sd: float = 1.0,
                  level: float = 0.95, alternative: Alternative = "two-sided") -> float:
    """Power to detect ``effect`` in a cluster-randomised experiment."""
    se = se_cluster(n_clusters, cluster_size, icc, share_treated=share_treated,
                    r2_individual=r2_individual, r2_cluster=r2_cluster, sd=sd)
    return power_from_se(effect, se, _df(n_clusters - n_covariates_cluster - 2), level=level,
                         alternative=alternative)


def mde_did(n: float, *, waves_before: int = 1, waves_after: int = 1,
            autocorrelation: float = 0.0, share_treated: float = 0.5,
            n_clusters: float | None = None, icc: float = 0.0, sd: float = 1.0,
            power: float = 0.8, level: float = 0.95,
            alternative: Alternative = "two-sided") -> float:
    """MDE of a difference in differences with ``n`` people per wave (McKenzie 2012).

    With ``n_clusters`` (sites assigned as a whole, ``n / n_clusters`` people each),
    the variance carries the design effect and ``df = n_clusters - 2``.
    """
    se, df = _did_se_df(n, waves_before, waves_after, autocorrelation, share_treated,
                        n_clusters, icc, sd)
    return multiplier(df, power=power, level=level, alternative=alternative) * se


def power_did(effect: float, n: float, *, waves_before: int = 1, waves_after: int = 1,
              autocorrelation: float = 0.0, share_treated: float = 0.5,
              n_clusters: float | None = None, icc: float = 0.0, sd: float = 1.0,
              level: float = 0.95, alternative: Alternative = "two-sided") -> float:
    """Power to detect ``effect`` with a difference in differences (see :func:`mde_did`)."""
    se, df = _did_se_df(n, waves_before, waves_after, autocorrelation, share_treated,
                        n_clusters, icc, sd)
    return power_from_se(effect, se, df, level=level, alternative=alternative)


def minimum_size(power_function: Callable[..., float], argument: str, *, target: float = 0.8,
                 start: int = 4, maximum: int = 1_000_000, **kwargs) -> int:
    """Smallest integer value of ``argument`` at which ``power_function`` reaches ``target``.

    Example: clusters needed, ``minimum_size(power_cluster, "n_clusters", effect=0.2,
    cluster_size=50, icc=0.05)``. Power increases with the size, so a doubling search
    then bisection finds it in a few dozen evaluations.
    """
    def reached(value: int) -> bool:
        return power_function(**{**kwargs, argument: value}) >= target
    low, high = start, start
    while not reached(high):
        low, high = high, high * 2
        if high > maximum:
            raise ConfigError(
                f"{argument} would exceed {maximum:,} to reach power {target}: the effect is "
                "too small for this design (or the ICC too high for more people per cluster "
                "to help).")
    if high == start:
        return start
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return high


class PowerCurve:
    """Power as a function of one design argument, analytic and optionally simulated.

    Attributes
    ----------
    argument
        Name of the varied argument (``"n_clusters"``, ``"effect"``, ...).
    frame
        Columns ``argument``, ``power`` and, when simulated points were added,
        ``simulated``, ``mc_se``.
    """

    def __init__(self, argument: str, values: Iterable[float], power: Iterable[float]) -> None:
        self.argument = argument
        self.frame = pd.DataFrame({argument: list(values), "power": list(power)})

    def add_simulation(self, values: Iterable[float], simulated: Iterable) -> PowerCurve:
        """Overlay simulated power (:class:`~evalkit.experiment.simulated_power.SimulatedPower`)."""
        points = pd.DataFrame({self.argument: list(values),
                               "simulated": [s.power for s in simulated]})
        points["mc_se"] = [s.mc_se for s in simulated]
        self.frame = self.frame.drop(columns=["simulated", "mc_se"], errors="ignore").merge(
            points, on=self.argument, how="outer").sort_values(self.argument)
        return self

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The curve, one row per point (``level`` is accepted for the shared results
        interface used by report tables)."""
        return self.frame.reset_index(drop=True)

    def plot(self, ax=None, *, target: float | None = 0.8, xlabel: str | None = None,
             ylabel: str = "Power", title: str | None = None,
             analytic_label: str = "Analytic", simulated_label: str = "Simulated (±2 MC SE)",
             target_label: str = "{target:.0%} power"):
        """Analytic curve, simulated points with ±2 Monte Carlo SE, target power line."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.8))
        frame = self.frame
        analytic = frame.dropna(subset=["power"])
        ax.plot(analytic[self.argument], analytic["power"], color="#2166ac", lw=2,
                label=analytic_label)
        if "simulated" in frame:
            sim = frame.dropna(subset=["simulated"])
            ax.errorbar(sim[self.argument], sim["simulated"], yerr=2 * sim["mc_se"], fmt="o",
                        color="#b2182b", ms=4, capsize=3, label=simulated_label)
        if target is not None:
            ax.axhline(target, color="grey", ls="--", lw=1,
                       label=target_label.format(target=target))
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(xlabel or self.argument)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, loc="lower right")
        return ax


def power_curve(power_function: Callable[..., float], argument: str,
                values: Iterable[float], **kwargs) -> PowerCurve:
    """:class:`PowerCurve` of ``power_function`` over ``values`` of ``argument``."""
    values = list(values)
    return PowerCurve(argument, values,
                      [power_function(**{**kwargs, argument: v}) for v in values])


def _did_se_df(n, waves_before, waves_after, autocorrelation, share_treated, n_clusters, icc,
               sd):
    if n_clusters is None:
        if icc:
            raise ConfigError("icc needs n_clusters (the number of sites assigned).")
        cluster_size, df = 1.0, _df(n * (waves_before + waves_after) - 4)
    else:
        cluster_size, df = n / n_clusters, _df(n_clusters - 2)
    se = se_did(n, waves_before=waves_before, waves_after=waves_after,
                autocorrelation=autocorrelation, share_treated=share_treated,
                cluster_size=cluster_size, icc=icc, sd=sd)
    return se, df


def _critical(df: float, level: float, alternative: str) -> float:
    if alternative not in ("two-sided", "one-sided"):
        raise ConfigError(f"alternative must be 'two-sided' or 'one-sided', got {alternative!r}.")
    alpha = 1 - level
    return float(stats.t.ppf(1 - alpha / 2 if alternative == "two-sided" else 1 - alpha, df))


def _df(df: float) -> float:
    if df < 1:
        raise ConfigError(
            f"The design leaves {df:g} degrees of freedom for the test: add units (or "
            "clusters), or use fewer covariates.")
    return float(df)


def _check_share(value: float) -> None:
    if not 0 < value < 1:
        raise ConfigError(f"share_treated must be strictly between 0 and 1, got {value!r}.")


def _check_fraction(name: str, value: float, open_: bool = False) -> None:
    ok = (0 < value < 1) if open_ else (0 <= value < 1)
    if not ok or not np.isfinite(value):
        bounds = "(0, 1)" if open_ else "[0, 1)"
        raise ConfigError(f"{name} must be in {bounds}, got {value!r}.")


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {value!r}.")
