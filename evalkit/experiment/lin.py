"""Lin (2013) regression adjustment of a randomised experiment.

OLS of the outcome on the arm, the covariates centred at their sample means and their
interactions with the arm,

    y_i = a + tau D_i + (x_i - xbar)'b + D_i (x_i - xbar)'g + e_i,

with HC2 standard errors and ``N - 2K - 2`` degrees of freedom. ``tau`` is consistent
for the ATE under randomisation alone, and asymptotically no less precise than the
difference in means (Lin 2013, Ann. Appl. Stat. 7(1), 295-318); it is ``lm_lin`` of
the R package estimatr. Categorical covariates enter as k-1 level dummies.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from evalkit.errors import EstimationError
from evalkit.experiment.assignment import treated_indicator
from evalkit.experiment.difference_in_means import DesignResults
from evalkit.experiment.hc2 import ols_hc2
from evalkit.experiment.inputs import analysis_frame


class LinAdjustment:
    """Covariate-adjusted effect of a randomised arm (Lin 2013).

    Parameters
    ----------
    data
        A DataFrame or a :class:`~evalkit.data.PersonTable`; rows missing the outcome
        or a covariate are dropped and recorded in the ledger.
    group, treated
        The arm (boolean/0-1, or a label column with ``treated``).
    outcome
        Outcome column.
    covariates
        Pre-randomisation covariates.
    """

    def __init__(self, data, *, group: str, outcome: str, covariates: Sequence[str],
                 treated: Hashable | None = None) -> None:
        self.covariates = list(covariates)
        self.frame, self.ledger = analysis_frame(
            data, where="Lin adjustment", outcome=outcome, required=[group, *self.covariates],
            roles={"group": group, "covariates": self.covariates})
        self.arm = treated_indicator(self.frame[group], group, treated)
        self.outcome = outcome

    def fit(self) -> DesignResults:
        """OLS with centred covariates and their interactions with the arm; HC2."""
        X = _numeric(self.frame[self.covariates])
        X = X - X.mean(axis=0)
        arm = self.arm.astype(float)
        design = np.column_stack([np.ones(len(arm)), arm, X, X * arm[:, None]])
        n = len(arm)
        if n - design.shape[1] < 1:
            raise EstimationError(
                f"Lin adjustment: {design.shape[1]} coefficients for {n} rows; use fewer "
                "covariates.")
        y = self.frame[self.outcome].to_numpy(float)
        beta, cov = ols_hc2(y, design)
        return DesignResults(
            beta[1], np.sqrt(cov[1, 1]), df=float(n - design.shape[1]),
            estimator="Lin (2013) interacted regression adjustment (HC2)",
            n_treated=int(self.arm.sum()), n_control=int((~self.arm).sum()),
            info={"Covariates": ", ".join(self.covariates)}, ledger=self.ledger)


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    categorical = [c for c in frame.columns
                   if not pd.api.types.is_numeric_dtype(frame[c].dtype)
                   or isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if categorical:
        frame = pd.get_dummies(frame, columns=categorical, drop_first=True, dtype=float)
    return frame.to_numpy(float)
