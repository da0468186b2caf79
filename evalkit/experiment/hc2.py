"""OLS with the HC2 heteroskedasticity-robust variance.

    V_HC2 = (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)) X (X'X)^-1,   h_ii = x_i'(X'X)^-1 x_i

For a regression on a treatment dummy alone it equals Neyman's conservative variance
``s_1^2/n_1 + s_0^2/n_0`` (Samii & Aronow 2012), which is why design-based estimators
(Lin 2013, block fixed effects) use it; statsmodels' ``cov_type="HC2"`` is the peer.
"""

from __future__ import annotations

import numpy as np

from evalkit.errors import EstimationError


def ols_hc2(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and HC2 covariance of the OLS fit of ``y`` on ``X``."""
    XtX_inv = np.linalg.pinv(X.T @ X)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise EstimationError(
            "The regressors are collinear (e.g. a covariate constant within the sample, or "
            "one per block): drop the redundant covariates.")
    beta = XtX_inv @ X.T @ y
    resid = y - X @ beta
    leverage = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
    if np.any(leverage > 1 - 1e-10):
        raise EstimationError(
            "A unit has leverage 1 (it alone identifies a coefficient, e.g. the only treated "
            "unit of a block): the HC2 variance is undefined. Merge small blocks or drop "
            "covariates.")
    meat = X.T @ (X * (resid**2 / (1 - leverage))[:, None])
    return beta, XtX_inv @ meat @ XtX_inv
