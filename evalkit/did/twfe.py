"""Two-way fixed-effects DiD: ``y_it = a_i + l_t + beta D_it + X_it'g + e_it``.

``D_it = 1{t >= G_i}`` is on from the unit's first treated period. With
staggered adoption and effects that vary by cohort or grow over time,
``beta`` is a weighted average of all 2x2 comparisons including "forbidden"
ones that use already-treated units as controls (Goodman-Bacon 2021), and
can even have the wrong sign: use :class:`~evalkit.did.bacon.BaconDecomposition`
to see the weights and Callaway–Sant'Anna for a clean estimate. TWFE is the
right estimator when the effect is homogeneous.

Standard errors
---------------
``se="CRV1"`` (default): cluster-robust with the small-sample factor
``G/(G-1) (N-1)/(N-K)`` where ``K`` excludes fixed effects nested in the
clusters — the convention of Stata ``reghdfe``/``xtreg, fe vce(cluster)``,
R ``fixest`` and ``pyfixest``; t(G-1) inference. On ``mpdta`` it gives
SE 0.0133 for beta = -0.0365. It is the default because unit effects nested
in the clusters do not consume cluster-level information: counting them in
``K`` (as ``linearmodels.PanelOLS`` does) inflates the variance by about
``T/(T-1)`` in short panels without any small-sample justification.

``se="linearmodels"``: the ``PanelOLS(entity_effects=True, time_effects=True)
.fit(cov_type="clustered")`` figure (0.0148 on mpdta), which scales the
sandwich by ``N/(N - absorbed effects)``; the fit then runs in linearmodels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.did.checks import (
    check_clusters,
    fixed_effects_panel,
    staggered_sample,
    treated_indicator,
)
from evalkit.did.fixed_effects import factorize, twoway_fe_ols
from evalkit.did.wild_bootstrap import WildBootstrapMixin
from evalkit.options import check_option, choices
from evalkit.results import EstimateResults

SE = Literal["CRV1", "linearmodels"]
SE_TYPES = choices(SE)


class TWFEResults(WildBootstrapMixin, EstimateResults):
    """TWFE coefficient(s) with cluster-robust standard errors.

    ``params["treated"]`` is the TWFE DiD coefficient; covariate coefficients
    follow. ``n_obs``, ``n_units``, ``n_clusters`` and ``se_type`` describe the fit.
    """

    def __init__(self, params, std_errors, *, n_obs, n_units, n_clusters, se_type, **kwargs):
        super().__init__(params, std_errors, **kwargs)
        self.n_obs = n_obs
        self.n_units = n_units
        self.n_clusters = n_clusters
        self.se_type = se_type

    @property
    def att(self) -> float:
        """The TWFE coefficient on the treatment indicator."""
        return float(self.params["treated"])


class TWFE:
    """Two-way fixed-effects difference-in-differences (unit and period effects).

    Parameters
    ----------
    data
        An :class:`evalkit.data.Panel`, or a DataFrame with the columns below.
    outcome
        Outcome column.
    unit, period, first_treated, treatment
        Panel columns: first treated period (0/missing = never treated), or a
        0/1 ``treatment`` indicator from which it is derived (treatment that
        switches off raises :class:`~evalkit.errors.TreatmentTimingError`).
    covariates
        Time-varying covariates (time-invariant ones are absorbed by the unit
        effects and refused). Text/categorical columns are one-hot encoded.
    cluster
        Cluster column (default: the Panel's cluster, else the unit).

    Examples
    --------
    >>> res = TWFE(df, outcome="lemp", unit="countyreal", period="year",
    ...            first_treated="first.treat").fit()
    >>> res.att, res.std_errors["treated"]
    """

    name = "TWFE"

    def __init__(
        self,
        data,
        *,
        outcome: str | None = None,
        unit: str = "unit_id",
        period: str = "period",
        first_treated: str | None = "first_treated",
        treatment: str | None = None,
        covariates: Sequence[str] | None = None,
        cluster: str | None = None,
    ) -> None:
        self.panel, self.outcome, self.covariates, self.cluster = fixed_effects_panel(
            data, outcome=outcome, unit=unit, period=period, first_treated=first_treated,
            treatment=treatment, covariates=covariates, cluster=cluster, estimator=self.name)

    def fit(self, *, se: SE = "CRV1") -> TWFEResults:
        """Estimate beta with cluster-robust standard errors.

        Parameters
        ----------
        se
            ``"CRV1"`` (default, fixest/Stata convention, t(G-1) inference) or
            ``"linearmodels"`` (PanelOLS clustered covariance, normal inference).
        """
        check_option("se", se, SE)
        p = self.panel
        frame, ledger = staggered_sample(p, self.outcome, self.covariates, self.name)
        n_clusters = check_clusters(frame[self.cluster].to_numpy(), self.cluster, self.name)
        d = treated_indicator(frame, p.period, p.first_treated)
        names = ["treated", *self.covariates]
        X = np.column_stack([d, *(frame[c].to_numpy(dtype=float) for c in self.covariates)])
        y = frame[self.outcome].to_numpy(dtype=float)
        info = {
            "Estimator": "two-way fixed effects (unit and period effects)",
            "Observations": len(frame),
            "Units": int(frame[p.unit].nunique()),
            "Clusters": f"{n_clusters} ({self.cluster})",
        }
        if se == "linearmodels":
            params, std_errors = self._fit_linearmodels(frame, y, X, names)
            info["Standard errors"] = "linearmodels PanelOLS clustered (N/(N-absorbed) scale)"
            df_resid, design = None, None
        else:
            fit = twoway_fe_ols(y, X, frame[p.unit], frame[p.period], frame[self.cluster].to_numpy(),
                                names=names)
            params, std_errors = fit.params, fit.std_errors
            info["Standard errors"] = "CRV1 (G/(G-1)(N-1)/(N-K), K without nested effects), t(G-1)"
            df_resid = fit.df_resid
            design = (*fit.design, names)
        results = TWFEResults(
            pd.Series(params, index=names), pd.Series(std_errors, index=names),
            title=f"TWFE difference-in-differences: {self.outcome}", df_resid=df_resid,
            info=info, ledger=ledger, n_obs=len(frame), n_units=info["Units"],
            n_clusters=n_clusters, se_type=se,
        )
        results._design = design
        return results

    def _fit_linearmodels(self, frame, y, X, names):
        from linearmodels import PanelOLS

        p = self.panel
        index = pd.MultiIndex.from_arrays([frame[p.unit].to_numpy(), frame[p.period].to_numpy()])
        exog = pd.DataFrame(X, index=index, columns=names)
        model = PanelOLS(pd.Series(y, index=index, name=self.outcome), exog,
                         entity_effects=True, time_effects=True)
        clusters = pd.Series(factorize(frame[self.cluster])[0], index=index, name="cluster")
        res = model.fit(cov_type="clustered", clusters=clusters)
        return res.params.to_numpy(), res.std_errors.to_numpy()
