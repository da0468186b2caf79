"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD coefficient.

With staggered adoption on a balanced panel, the TWFE coefficient is exactly
a weighted average of every 2x2 DiD between timing groups (Goodman-Bacon
2021, "Difference-in-differences with variation in treatment timing",
*Journal of Econometrics* 225(2), Theorem 1):

* **Treated vs Untreated** — cohort k against never-treated units U, whole panel;
* **Earlier vs Later Treated** — early cohort k against a later cohort l
  before l starts (l still untreated: a clean comparison);
* **Later vs Earlier Treated** — late cohort l against the earlier cohort k
  once k is treated: k serves as a control *while treated*. These are the
  "forbidden" comparisons: when effects change over time the change of k's
  effect is subtracted from l's and TWFE is biased (it may even change sign).

With ``n`` the group shares of units, ``D̄`` the share of periods a group is
treated and ``V^D`` the variance of the two-way-demeaned treatment, the
weights are (eq. 10e–g)::

    s_kU   = (n_k + n_U)^2 n_kU (1 - n_kU) D̄_k (1 - D̄_k) / V^D
    s^k_kl = ((n_k + n_l)(1 - D̄_l))^2 n_kl (1 - n_kl) (D̄_k - D̄_l)/(1 - D̄_l) (1 - D̄_k)/(1 - D̄_l) / V^D
    s^l_kl = ((n_k + n_l) D̄_k)^2 n_kl (1 - n_kl) D̄_l/D̄_k (D̄_k - D̄_l)/D̄_k / V^D

with ``n_ab = n_a / (n_a + n_b)``; they sum to one and ``sum s * beta_2x2``
equals the TWFE coefficient. Reference implementation: R ``bacondecomp``
(Flack & Jee), whose castle-doctrine vignette this module reproduces.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.did.checks import as_panel, check_group_sizes, require_comparison_group, usable_rows
from evalkit.did.fixed_effects import factorize, within
from evalkit.errors import ConfigError, DataValidationError, EvalkitWarning
from evalkit.summary import Summary

TREATED_VS_UNTREATED = "Treated vs Untreated"
EARLIER_VS_LATER = "Earlier vs Later Treated"
LATER_VS_EARLIER = "Later vs Earlier Treated"
TYPES = (TREATED_VS_UNTREATED, EARLIER_VS_LATER, LATER_VS_EARLIER)


class ForbiddenComparisonWarning(EvalkitWarning):
    """TWFE puts weight on comparisons that use already-treated units as controls."""


class BaconResults:
    """All 2x2 comparisons behind a TWFE coefficient, with their weights.

    Attributes
    ----------
    comparisons
        One row per 2x2: ``treated`` and ``control`` timing groups (first
        treated period; ``inf`` = never treated), ``type``, ``estimate``, ``weight``.
    twfe
        The TWFE coefficient (equal to ``(comparisons.estimate * comparisons.weight).sum()``).
    ledger
        Exclusion ledger of the rows used.
    """

    def __init__(self, comparisons: pd.DataFrame, twfe: float, *, outcome: str, ledger) -> None:
        self.comparisons = comparisons
        self.twfe = float(twfe)
        self.outcome = outcome
        self.ledger = ledger

    @property
    def weighted_sum(self) -> float:
        """``sum(weight * estimate)``, equal to :attr:`twfe` on a balanced panel."""
        return float((self.comparisons["weight"] * self.comparisons["estimate"]).sum())

    @property
    def forbidden_weight(self) -> float:
        """Total weight of "Later vs Earlier Treated" comparisons."""
        c = self.comparisons
        return float(c.loc[c["type"] == LATER_VS_EARLIER, "weight"].sum())

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted-average estimate per comparison type (R ``bacon`` print-out)."""
        c = self.comparisons
        rows = []
        for kind in TYPES:
            part = c[c["type"] == kind]
            if len(part) == 0:
                continue
            weight = part["weight"].sum()
            rows.append({"type": kind, "weight": weight,
                         "avg_estimate": (part["weight"] * part["estimate"]).sum() / weight})
        return pd.DataFrame(rows).set_index("type")

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The 2x2 comparisons, heaviest first.

        ``level`` is accepted so that every results object answers ``to_frame(level)``
        (reports call it that way); the 2x2 estimates and weights carry no confidence interval.
        """
        return self.comparisons.sort_values("weight", ascending=False).reset_index(drop=True)

    def summary(self, level: float = 0.95) -> Summary:
        """Weights and mean estimates by comparison type (``level`` accepted for the
        shared interface: the decomposition carries no interval)."""
        info = {"TWFE coefficient": f"{self.twfe:.4f} (weighted sum of 2x2s: "
                                    f"{self.weighted_sum:.4f})",
                "Weight on forbidden comparisons (later vs earlier treated)":
                    f"{self.forbidden_weight:.1%}"}
        return Summary(f"Goodman-Bacon decomposition of the TWFE estimate: {self.outcome}",
                       self.by_type(), info=info)

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return f"<BaconResults: TWFE {self.twfe:.4f}, {len(self.comparisons)} comparisons>"

    def plot(self, ax=None, *, type_labels=None, xlabel: str = "Weight",
             ylabel: str = "2x2 DiD estimate", title: str | None = "Goodman-Bacon decomposition",
             twfe_label: str = "TWFE = {value:.3f}"):
        """Scatter of each 2x2 estimate against its weight, by comparison type.

        The horizontal line is the TWFE coefficient. Returns the matplotlib Figure.

        Parameters
        ----------
        type_labels
            Legend names of the comparison types, keyed by their names in
            ``comparisons["type"]`` (default: those names).
        xlabel, ylabel, title
            Axis labels and title (``None``: no title).
        twfe_label
            Legend entry of the TWFE line, formatted with ``value``.
        """
        import matplotlib.pyplot as plt

        type_labels = type_labels or {}
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 4.5))
        else:
            fig = ax.figure
        markers = {TREATED_VS_UNTREATED: "o", EARLIER_VS_LATER: "^", LATER_VS_EARLIER: "x"}
        for kind in TYPES:
            part = self.comparisons[self.comparisons["type"] == kind]
            if len(part):
                ax.scatter(part["weight"], part["estimate"], marker=markers[kind],
                           label=type_labels.get(kind, kind))
        ax.axhline(self.twfe, color="grey", linestyle="--", linewidth=1,
                   label=twfe_label.format(value=self.twfe))
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(frameon=False, fontsize="small")
        return fig


class BaconDecomposition:
    """Decompose the TWFE DiD coefficient into its 2x2 comparisons.

    Parameters
    ----------
    data
        :class:`evalkit.data.Panel` or DataFrame; the panel must be balanced
        (after dropping rows with a missing outcome) and have no covariates.
    outcome, unit, period, first_treated, treatment
        As in :class:`~evalkit.did.twfe.TWFE`.

    Examples
    --------
    >>> res = BaconDecomposition(df, outcome="l_homicide", unit="state", period="year").fit()
    >>> res.by_type(); res.plot()
    """

    name = "Bacon decomposition"

    def __init__(self, data, *, outcome: str | None = None, unit: str = "unit_id",
                 period: str = "period", first_treated: str | None = "first_treated",
                 treatment: str | None = None, covariates: Sequence[str] | None = None) -> None:
        if covariates:
            raise ConfigError(
                "BaconDecomposition decomposes the TWFE coefficient without covariates; the "
                "controlled version (Goodman-Bacon 2021, sec. 5) is not implemented. Drop covariates."
            )
        self.panel, self.outcome, _ = as_panel(
            data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
            treatment=treatment, covariates=[], estimator=self.name)

    def fit(self, *, warn_forbidden: bool = True) -> BaconResults:
        """Compute every 2x2 estimate and weight.

        Parameters
        ----------
        warn_forbidden
            Emit :class:`ForbiddenComparisonWarning` (saying how much weight)
            when "Later vs Earlier Treated" comparisons carry weight.
        """
        p = self.panel
        frame, ledger = usable_rows(p, self.outcome, self.name)
        require_comparison_group(frame, p.first_treated, p.unit, self.name)
        check_group_sizes(frame, p.first_treated, p.unit, self.name, action="warn")
        periods = np.sort(frame[p.period].unique())
        n_units = frame[p.unit].nunique()
        if len(frame) != n_units * len(periods):
            counts = frame.groupby(p.unit)[p.period].size()
            short = counts[counts < len(periods)]
            raise DataValidationError(
                f"{self.name} needs a balanced panel (Theorem 1 of Goodman-Bacon 2021 holds only "
                f"then): {len(short)} unit(s) miss some of the {len(periods)} periods, e.g. "
                f"{list(short.index[:5])} (missing outcomes count). Keep units observed in every "
                "period, or use Callaway-Sant'Anna, which allows unbalanced panels."
            )

        first = frame.groupby(p.unit, sort=True)[p.first_treated].first()
        groups = np.sort(first.unique())  # finite cohorts ascending, inf (never) last
        share = first.value_counts(normalize=True).reindex(groups).to_numpy()
        means = frame.pivot_table(index=p.first_treated, columns=p.period, values=self.outcome,
                                  aggfunc="mean", observed=True).reindex(index=groups,
                                                                         columns=periods)
        ybar = means.to_numpy()
        dbar = np.array([(periods >= g).mean() if np.isfinite(g) else 0.0 for g in groups])

        d = (frame[p.period].to_numpy() >= frame[p.first_treated].to_numpy()).astype(float)
        unit_codes, _ = factorize(frame[p.unit])
        time_codes, _ = factorize(frame[p.period])
        dd_y = within(np.column_stack([d, frame[self.outcome].to_numpy(dtype=float)]),
                      [unit_codes, time_codes])
        v_d = float(np.mean(dd_y[:, 0] ** 2))
        twfe = float(dd_y[:, 0] @ dd_y[:, 1] / (dd_y[:, 0] @ dd_y[:, 0]))

        def did(a, b, pre, post):
            return (ybar[a, post].mean() - ybar[a, pre].mean()) - (
                ybar[b, post].mean() - ybar[b, pre].mean())

        rows = []
        cohorts = [i for i, g in enumerate(groups) if np.isfinite(g)]
        never = [i for i, g in enumerate(groups) if not np.isfinite(g)]
        for k in cohorts:
            gk = groups[k]
            for u in never:
                nku = share[k] / (share[k] + share[u])
                w = (share[k] + share[u]) ** 2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k]) / v_d
                rows.append((gk, groups[u], TREATED_VS_UNTREATED,
                             did(k, u, periods < gk, periods >= gk), w))
            for ll in cohorts:
                gl = groups[ll]
                if gl <= gk:
                    continue
                nkl = share[k] / (share[k] + share[ll])
                scale = nkl * (1 - nkl) / v_d
                w_early = ((share[k] + share[ll]) * (1 - dbar[ll])) ** 2 * scale * (
                    (dbar[k] - dbar[ll]) / (1 - dbar[ll])) * ((1 - dbar[k]) / (1 - dbar[ll]))
                w_late = ((share[k] + share[ll]) * dbar[k]) ** 2 * scale * (
                    dbar[ll] / dbar[k]) * ((dbar[k] - dbar[ll]) / dbar[k])
                rows.append((gk, gl, EARLIER_VS_LATER,
                             did(k, ll, periods < gk, (periods >= gk) & (periods < gl)), w_early))
                rows.append((gl, gk, LATER_VS_EARLIER,
                             did(ll, k, (periods >= gk) & (periods < gl), periods >= gl), w_late))
        comparisons = pd.DataFrame(rows, columns=["treated", "control", "type", "estimate", "weight"])
        results = BaconResults(comparisons, twfe, outcome=self.outcome, ledger=ledger)
        if warn_forbidden and results.forbidden_weight > 0:
            bad = comparisons[comparisons["type"] == LATER_VS_EARLIER]
            warnings.warn(
                f"{results.forbidden_weight:.1%} of the TWFE weight comes from {len(bad)} "
                "'later vs earlier treated' comparisons, which use already-treated units as "
                f"controls (their weighted average 2x2 estimate is "
                f"{(bad['weight'] * bad['estimate']).sum() / bad['weight'].sum():.4f} against "
                f"{results.twfe:.4f} for TWFE). If effects change with time since treatment, TWFE is "
                "biased; use Callaway-Sant'Anna (evalkit.did.callaway_santanna) instead.",
                ForbiddenComparisonWarning,
                stacklevel=2,
            )
        return results
