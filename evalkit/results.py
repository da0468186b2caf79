"""Shared shape of evalkit results objects.

Every estimator returns an object following the ``Model(...).fit() -> Results``
pattern of statsmodels / linearmodels. :class:`EstimateResults` holds the part
common to all of them: named point estimates and standard errors, Wald
statistics, p-values and confidence intervals, a tidy frame and a text summary.
Sub-packages subclass it and add what is specific (plots, diagnostics, ledgers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.data.ledger import ExclusionLedger


class EstimateResults:
    """Named estimates with standard errors.

    Parameters
    ----------
    params, std_errors
        Point estimates and their standard errors, indexed by the same names.
    title
        First line of :meth:`summary`.
    df_resid
        Degrees of freedom for t-based inference; ``None`` uses the normal
        distribution (the default for influence-function and bootstrap SEs).
    info
        Extra lines for the summary header (estimator, control group, n, ...).
    ledger
        The :class:`~evalkit.data.ledger.ExclusionLedger` of the data the
        estimates were computed on, so reports can show every dropped row.
    critical_values
        Optional per-estimate critical values replacing the pointwise normal/t
        quantile in :meth:`conf_int` (e.g. uniform bands from a multiplier
        bootstrap), valid at ``band_level``.
    """

    def __init__(
        self,
        params: pd.Series,
        std_errors: pd.Series,
        *,
        title: str = "Estimates",
        df_resid: float | None = None,
        info: Mapping[str, Any] | None = None,
        ledger: ExclusionLedger | None = None,
        critical_values: pd.Series | None = None,
        band_level: float = 0.95,
    ) -> None:
        self.params = pd.Series(params, dtype=float, name="estimate")
        self.std_errors = _aligned(std_errors, self.params.index).rename("std_error")
        self.title = title
        self.df_resid = df_resid
        self.info = dict(info or {})
        self.ledger = ledger
        self.critical_values = (
            None if critical_values is None else _aligned(critical_values, self.params.index)
        )
        self.band_level = band_level

    def _dist(self):
        return stats.norm if self.df_resid is None else stats.t(self.df_resid)

    @property
    def tstats(self) -> pd.Series:
        """Wald statistics ``params / std_errors``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.params / self.std_errors).rename("t_stat")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of ``H0: parameter = 0``."""
        return pd.Series(
            2 * self._dist().sf(np.abs(self.tstats.to_numpy())),
            index=self.params.index,
            name="p_value",
        )

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals ``params ± q · std_errors``.

        ``q`` is the normal (or t) quantile, or the uniform-band critical value
        when the results carry one and ``level`` equals its ``band_level``.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        if self.critical_values is not None and np.isclose(level, self.band_level):
            q = self.critical_values.to_numpy()
        else:
            q = self._dist().ppf(0.5 + level / 2)
        half = q * self.std_errors.to_numpy()
        return pd.DataFrame(
            {"lower": self.params.to_numpy() - half, "upper": self.params.to_numpy() + half},
            index=self.params.index,
        )

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame: one row per estimate with SE, statistic, p-value and CI."""
        ci = self.conf_int(level)
        frame = pd.concat([self.params, self.std_errors, self.tstats, self.pvalues], axis=1)
        frame["ci_lower"] = ci["lower"]
        frame["ci_upper"] = ci["upper"]
        return frame

    def summary(self, level: float = 0.95) -> str:
        """Plain-text table of the estimates, with the header lines of ``info``."""
        lines = [self.title, "=" * max(len(self.title), 40)]
        for key, value in self.info.items():
            lines.append(f"{key}: {value}")
        if self.info:
            lines.append("-" * 40)
        table = self.to_frame(level).rename(
            columns={"ci_lower": f"[{level:.0%}", "ci_upper": "CI]"}
        )
        lines.append(table.to_string(float_format=lambda v: f"{v:.4f}"))
        if self.ledger is not None and len(self.ledger):
            lines.append("-" * 40)
            lines.append(f"Rows excluded: {self.ledger.n_rows_dropped} "
                         f"({self.ledger.n_persons_dropped} units), see .ledger")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.title}, {len(self.params)} estimates>"

    def _repr_html_(self) -> str:
        return f"<p><b>{self.title}</b></p>" + self.to_frame().to_html(float_format="%.4f")


def _aligned(values, index: pd.Index) -> pd.Series:
    """``values`` on ``index``: by label when they carry the same labels, else by position."""
    if isinstance(values, pd.Series) and values.index.sort_values().equals(index.sort_values()):
        return values.astype(float).reindex(index)
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.size == 1 and len(index) != 1:
        array = np.repeat(array, len(index))
    if array.size != len(index):
        raise ValueError(f"expected {len(index)} values, got {array.size}")
    return pd.Series(array, index=index)
