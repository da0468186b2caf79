"""Covariate balance between two cohorts, before and after matching or weighting.

:func:`balance_table` returns a :class:`BalanceTable`: for every covariate (categorical
covariates expanded to one indicator per level) the group means, the standardised mean
difference (SMD), the variance ratio and the Kolmogorov–Smirnov distance (maximum
difference of the empirical CDFs), unadjusted and, when balancing weights or a matched
sample are given, adjusted. The conventions are those of R ``cobalt::bal.tab`` (Greifer)
and ``MatchIt::summary.matchit``:

* ``SMD = (mean_treated - mean_control) / s*`` where the standardisation factor ``s*`` is
  computed once, on the *unadjusted* sample (with survey weights if any), and reused after
  adjustment, so SMDs before and after are on the same scale:

  - ``sd_denom="treated"``: ``s* = sd_treated`` (cobalt's default for the ATT),
  - ``sd_denom="pooled"``: ``s* = sqrt((sd_treated**2 + sd_control**2) / 2)`` (default for the
    ATE; Austin 2009),
  - ``sd_denom="control"``: ``s* = sd_control`` (default for the ATC).

* Variances of continuous covariates are weighted "reliability" variances
  ``sum w (x - m)^2 * W / (W^2 - sum w^2)`` with ``W = sum w`` (the usual ``n - 1`` variance
  when weights are equal); binary covariates use ``p (1 - p)``.
* Binary covariates (0/1 and category levels): cobalt reports the raw difference in
  proportions (``binary="raw"``, its default); MatchIt standardises them too
  (``binary="std"``).
* Variance ratio ``var_treated / var_control`` (continuous covariates only).
* KS distance ``max_x |F_treated(x) - F_control(x)|`` with weighted eCDFs; eCDF mean is the
  mean of ``|F_treated - F_control|`` over the distinct values of ``x`` (MatchIt's "eCDF
  Mean"; for binary covariates both equal the absolute difference in proportions).

Adjusted statistics use the product of survey weights and adjustment weights: IPW weights
(``weights_array=``) or a matched sample (``matched=``: the row labels of the matched persons,
repeated for controls used several times, which become frequency weights).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.cohort.sample import ROW_ID, CohortSample
from evalkit.data.persons import PersonTable
from evalkit.data.validation import show_values
from evalkit.errors import ConfigError, DataValidationError, EmptyDataError
from evalkit.options import check_option, renamed
from evalkit.summary import Summary

Estimand = Literal["ATT", "ATE", "ATC"]
SdDenom = Literal["treated", "pooled", "control"]
Binary = Literal["raw", "std"]
_DEFAULT_DENOM = {"ATT": "treated", "ATE": "pooled", "ATC": "control"}


def weighted_mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Column means of ``x`` (n x k) with weights ``w``."""
    return w @ x / w.sum()


def weighted_variance(x: np.ndarray, w: np.ndarray, binary: np.ndarray) -> np.ndarray:
    """Column variances: ``p(1-p)`` for binary columns, reliability-weighted otherwise.

    The continuous formula is ``sum w (x-m)^2 * W / (W^2 - sum w^2)`` (cobalt's ``col_w_sd``),
    i.e. the ``n-1`` sample variance under equal weights.
    """
    m = weighted_mean(x, w)
    total, total_sq = w.sum(), (w * w).sum()
    denom = total * total - total_sq
    with np.errstate(divide="ignore", invalid="ignore"):
        cont = (w @ (x - m) ** 2) * total / denom if denom > 0 else np.full(x.shape[1], np.nan)
    return np.where(binary, m * (1 - m), cont)


def ecdf_distances(x: np.ndarray, w1: np.ndarray, w0: np.ndarray) -> tuple[float, float]:
    """Maximum and mean absolute difference of two weighted eCDFs of one covariate.

    ``x`` holds the covariate for all rows; ``w1`` / ``w0`` are the weights of the rows in
    each group (zero outside it). Differences are evaluated at the distinct values of
    ``x`` over all rows, including unmatched ones, as MatchIt does for its "eCDF Max" and
    "eCDF Mean".
    """
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    last = np.r_[xs[1:] != xs[:-1], True]
    f1 = np.cumsum(w1[order])[last] / w1.sum()
    f0 = np.cumsum(w0[order])[last] / w0.sum()
    diff = np.abs(f1 - f0)
    return float(diff.max()), float(diff.mean())


class BalanceTable:
    """Balance statistics of the covariates between treated and comparison persons.

    Built by :func:`balance_table`; see the module docstring for the formulas.

    Attributes
    ----------
    table
        One row per covariate (or category level), see :meth:`to_frame`.
    sample_sizes
        Persons and Kish effective sample sizes per group, unadjusted and adjusted.
    estimand, sd_denom, binary, threshold
        The settings used.
    ledger
        Exclusion ledger of the analysed persons (rows dropped for missing covariates,
        group or weight).
    """

    def __init__(self, table: pd.DataFrame, sample_sizes: pd.DataFrame, *, estimand: str,
                 sd_denom: str, binary: str, threshold: float, adjusted: bool, ledger,
                 treated_label, control_label) -> None:
        self.table = table
        self.sample_sizes = sample_sizes
        self.estimand = estimand
        self.sd_denom = sd_denom
        self.binary = binary
        self.threshold = threshold
        self.adjusted = adjusted
        self.ledger = ledger
        self.treated_label = treated_label
        self.control_label = control_label

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per covariate level (``level`` is accepted for the shared results
        interface: balance statistics carry no confidence interval).

        Columns: ``type`` (binary/continuous), ``mean_treated_un``, ``mean_control_un``,
        ``smd_un`` (standardised, or raw difference for binary when ``binary="raw"``),
        ``var_ratio_un``, ``ks_un``, ``ecdf_mean_un``, and the same with suffix ``_adj``
        when adjustment weights were given, plus ``balanced`` (``|smd| <= threshold``
        after adjustment, before otherwise).
        """
        return self.table.copy()

    @property
    def max_abs_smd(self) -> float:
        """Largest absolute SMD after adjustment (before, when unadjusted)."""
        col = "smd_adj" if self.adjusted else "smd_un"
        return float(self.table[col].abs().max())

    def summary(self, level: float = 0.95) -> Summary:
        """Balance table with the sample sizes (``level`` accepted for the shared
        interface: balance statistics carry no interval)."""
        cols = ["type", "smd_un", "var_ratio_un", "ks_un"]
        if self.adjusted:
            cols += ["smd_adj", "var_ratio_adj", "ks_adj"]
        info = {"Groups": f"{self.treated_label!r} (treated) vs {self.control_label!r}",
                "Estimand": self.estimand, "SMD denominator": f"{self.sd_denom} SD",
                "Binary covariates": self.binary}
        notes = [f"Balanced (|SMD| <= {self.threshold}): {int(self.table['balanced'].sum())} "
                 f"of {len(self.table)} covariates"]
        return Summary("Covariate balance", self.table[cols + ["balanced"]], info=info,
                       notes=notes, more={"Sample sizes": self.sample_sizes})

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return (f"<BalanceTable: {len(self.table)} covariates, max |SMD| "
                f"{self.max_abs_smd:.3f}{' (adjusted)' if self.adjusted else ''}>")

    def _repr_html_(self) -> str:
        return self.table.to_html(float_format="%.4f")

    def plot(self, *, ax=None, absolute: bool = True, threshold: float | None = None,
             labels: Mapping[str, str] | None = None, title: str | None = "Covariate balance",
             xlabel: str | None = None, legend: Mapping[str, str] | None = None):
        """Love plot: |SMD| of each covariate before (and after) adjustment.

        Returns the matplotlib Figure. Binary covariates are shown as raw differences when
        ``binary="raw"`` (as cobalt's ``love.plot``), on the same axis.

        Parameters
        ----------
        labels
            Readable names of the covariate rows (``{"sex_female": "Women"}``);
            rows not in it keep their column name.
        title, xlabel
            Plot title (``None`` for none) and x-axis label (default: English
            description of the scale).
        legend
            Names of the series: keys ``"unadjusted"`` and ``"adjusted"``.
        """
        import matplotlib.pyplot as plt

        threshold = self.threshold if threshold is None else threshold
        labels, legend = labels or {}, {"unadjusted": "unadjusted", "adjusted": "adjusted",
                                         **(legend or {})}
        frame = self.table
        order = (frame["smd_un"].abs() if absolute else frame["smd_un"]).sort_values().index
        y = np.arange(len(order))
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(order) + 1.5))
        else:
            fig = ax.figure
        un = frame.loc[order, "smd_un"]
        ax.scatter(un.abs() if absolute else un, y, marker="o", facecolors="none",
                   edgecolors="tab:red", label=legend["unadjusted"], zorder=3)
        if self.adjusted:
            adj = frame.loc[order, "smd_adj"]
            ax.scatter(adj.abs() if absolute else adj, y, marker="o", color="tab:blue",
                       label=legend["adjusted"], zorder=3)
        for t in ([threshold] if absolute else [-threshold, threshold]):
            ax.axvline(t, color="grey", linestyle="--", linewidth=1)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, labels=[labels.get(str(i), str(i)) for i in order])
        if xlabel is None:
            xlabel = ("absolute standardised mean difference" if absolute
                      else "standardised mean difference")
        ax.set_xlabel(xlabel)
        ax.legend(loc="lower right", frameon=False)
        if title:
            ax.set_title(title)
        fig.tight_layout()
        return fig


@renamed(treatment="group", weights="weights_array")
def balance_table(
    data: PersonTable | pd.DataFrame,
    *,
    group: str | None = None,
    covariates: Sequence[str] | None = None,
    weights_array=None,
    matched=None,
    weight: str | None = None,
    treated=None,
    estimand: Estimand = "ATT",
    sd_denom: SdDenom | None = None,
    binary: Binary = "raw",
    threshold: float = 0.1,
) -> BalanceTable:
    """Balance table of ``covariates`` between the two groups of ``group``.

    Parameters
    ----------
    data
        :class:`~evalkit.data.persons.PersonTable` or DataFrame (one row per person).
    group
        Column telling treated from comparison persons, two labels (default: the
        PersonTable's ``group``).
    covariates
        Covariates (default: the PersonTable's). Text and categorical columns are expanded
        to one 0/1 indicator per level, named ``<column>_<level>``.
    weights_array
        Balancing weights for the adjusted columns: array aligned with the rows of ``data``,
        a column name of a DataFrame, or a Series indexed by the DataFrame's row labels
        (rows absent from it get weight 0), e.g. IPW weights. Zero = not used. Weights
        that already include the survey weight must not be combined with ``weight=``.
    matched
        Alternative to ``weights_array``: labels (index of the DataFrame, or row positions of a
        PersonTable) of the matched persons; a label repeated ``k`` times gets weight ``k``
        (controls reused by matching with replacement).
    weight
        Survey (sampling) weight column, applied before and after adjustment.
    treated
        Treated label when the group labels are not 0/1 or booleans.
    estimand
        ``"ATT"``, ``"ATE"`` or ``"ATC"``: chooses the default ``sd_denom``.
    sd_denom
        ``"treated"``, ``"pooled"`` or ``"control"`` (see module docstring).
    binary
        ``"raw"`` (difference in proportions, cobalt's default) or ``"std"`` (standardised,
        MatchIt's).
    threshold
        |SMD| at or below which a covariate is flagged ``balanced`` (0.1 by convention).

    Returns
    -------
    BalanceTable

    Raises
    ------
    EmptyDataError
        A group has no member (or no positive weight) before or after adjustment.
    DataValidationError
        Negative, non-finite or all-zero adjustment weights; a covariate whose
        standardisation SD is zero (its SMD is undefined: the error names it).
    """
    estimand = check_option("estimand", str(estimand).upper(), Estimand)
    sd_denom = _DEFAULT_DENOM[estimand] if sd_denom is None else sd_denom
    check_option("sd_denom", sd_denom, SdDenom)
    check_option("binary", binary, Binary)
    if weights_array is not None and matched is not None:
        raise ConfigError("give either weights_array= or matched=, not both.")

    sample = CohortSample(data, group=group, covariates=covariates, weight=weight,
                          treated=treated, allow_no_outcome=True)
    if not sample.covariate_columns:
        raise ConfigError("no covariates given: pass covariates=[...].")
    sample.check_groups()
    positions = _source_positions(data, sample)
    names, x, is_binary = _expand_levels(sample.table.data, sample.covariate_columns)
    d = sample.d.astype(bool)
    s = sample.s

    adj = None
    if weights_array is not None:
        adj = _adjustment_weights(data, weights_array, positions)
    elif matched is not None:
        adj = _matched_weights(data, matched, positions)

    w1, w0 = s * d, s * ~d
    sd = _standardisation_sd(x, w1, w0, is_binary, sd_denom, names, binary)
    table = pd.DataFrame({"type": np.where(is_binary, "binary", "continuous")},
                         index=pd.Index(names, name="covariate"))
    _fill(table, "un", x, w1, w0, sd, is_binary)
    sizes = {"treated (unadjusted)": _sizes(w1, d), "control (unadjusted)": _sizes(w0, ~d)}
    if adj is not None:
        a1, a0 = w1 * adj, w0 * adj
        for label, ww in ((sample.treated_label, a1), (sample.control_label, a0)):
            if not (ww > 0).any():
                raise EmptyDataError(
                    f"after adjustment, group {label!r} of {sample.group!r} has no person with "
                    "positive weight; check the matching (caliper) or the weights."
                )
        _fill(table, "adj", x, a1, a0, sd, is_binary)
        sizes["treated (adjusted)"] = _sizes(a1, d)
        sizes["control (adjusted)"] = _sizes(a0, ~d)
    col = "smd_adj" if adj is not None else "smd_un"
    table["balanced"] = table[col].abs() <= threshold
    sample_sizes = pd.DataFrame(sizes, index=["n", "ess"]).T
    return BalanceTable(table, sample_sizes, estimand=estimand, sd_denom=sd_denom,
                        binary=binary, threshold=threshold, adjusted=adj is not None,
                        ledger=sample.ledger, treated_label=sample.treated_label,
                        control_label=sample.control_label)


def _source_positions(data, sample: CohortSample) -> np.ndarray:
    """Row positions in ``data`` of the analysed rows (after missing-value exclusions)."""
    if isinstance(data, PersonTable):
        return np.arange(len(data.data))
    return sample.table.data[ROW_ID].to_numpy()


def _expand_levels(frame: pd.DataFrame, columns: Sequence[str]):
    names, blocks, binary = [], [], []
    for column in columns:
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = series.cat.codes.to_numpy()
            for k, level in enumerate(series.cat.categories):
                names.append(f"{column}_{level}")
                blocks.append((codes == k).astype(float))
                binary.append(True)
        else:
            values = series.to_numpy(dtype=float)
            names.append(str(column))
            blocks.append(values)
            binary.append(bool(np.isin(values, (0.0, 1.0)).all()))
    return names, np.column_stack(blocks), np.array(binary)


def _check_weight_values(w: np.ndarray, what: str) -> np.ndarray:
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise DataValidationError(
            f"{what} must be finite and >= 0; found {int(bad.sum())} invalid value(s): "
            f"{show_values(w[bad].tolist())}. Fix the weights (zero excludes a person)."
        )
    if not (w > 0).any():
        raise DataValidationError(f"{what} are all zero: nobody is left after adjustment.")
    return w


def _adjustment_weights(data, weights, positions: np.ndarray) -> np.ndarray:
    if isinstance(weights, pd.Series) and not isinstance(data, PersonTable):
        # Weights indexed by row label (e.g. an estimator's weights over the rows it used):
        # rows without a weight get 0, i.e. are outside the adjusted sample.
        unknown = weights.index.difference(data.index)
        if len(unknown):
            raise DataValidationError(
                f"weights are indexed by label(s) not in the data's index: "
                f"{show_values(unknown.tolist())}. Index them like the DataFrame rows."
            )
        aligned = weights.astype(float).reindex(data.index, fill_value=0.0).to_numpy()
        return _check_weight_values(aligned[positions], "adjustment weights")
    if isinstance(weights, str):
        if isinstance(data, PersonTable) or weights not in data.columns:
            raise ConfigError(
                f"weights={weights!r} is not a column of the DataFrame; pass the weights as an "
                "array aligned with its rows."
            )
        raw = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
    else:
        raw = np.asarray(weights, dtype=float).ravel()
    n_rows = len(data.data) if isinstance(data, PersonTable) else len(data)
    if raw.size != n_rows:
        raise DataValidationError(
            f"weights has {raw.size} values but the data has {n_rows} rows; pass one weight "
            "per row of the input."
        )
    return _check_weight_values(raw[positions], "adjustment weights")


def _matched_weights(data, matched, positions: np.ndarray) -> np.ndarray:
    index = pd.RangeIndex(len(data.data)) if isinstance(data, PersonTable) else data.index
    labels = pd.Index(list(matched))
    unknown = labels.difference(index)
    if len(unknown):
        raise DataValidationError(
            f"matched= holds label(s) not in the data's index: {show_values(unknown.tolist())}."
            " Pass the index labels of the matched rows."
        )
    counts = pd.Series(1.0, index=labels).groupby(level=0).sum()
    full = counts.reindex(index, fill_value=0.0).to_numpy()
    return _check_weight_values(full[positions], "matched-sample weights")


def _standardisation_sd(x, w1, w0, is_binary, sd_denom, names, binary) -> np.ndarray:
    v1 = weighted_variance(x, w1, is_binary)
    v0 = weighted_variance(x, w0, is_binary)
    sd = {"treated": np.sqrt(v1), "control": np.sqrt(v0),
          "pooled": np.sqrt((v1 + v0) / 2)}[sd_denom]
    standardised = ~is_binary if binary == "raw" else np.ones_like(is_binary)
    zero = standardised & ~(sd > 0)
    if zero.any():
        shown = "; ".join(
            f"{names[j]!r} (sd treated {np.sqrt(v1[j]):.3g}, control {np.sqrt(v0[j]):.3g})"
            for j in np.flatnonzero(zero)[:5])
        raise DataValidationError(
            f"the SMD is undefined for covariate(s) with no variance in the "
            f"{sd_denom} standardisation: {shown}. Drop them from covariates=, "
            "use another sd_denom, or report them as raw differences (binary='raw')."
        )
    return np.where(standardised, sd, 1.0)


def _fill(table: pd.DataFrame, suffix: str, x, w1, w0, sd, is_binary) -> None:
    m1, m0 = weighted_mean(x, w1), weighted_mean(x, w0)
    v1 = weighted_variance(x, w1, is_binary)
    v0 = weighted_variance(x, w0, is_binary)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(is_binary, np.nan, v1 / v0)
    ks = np.empty(x.shape[1])
    ecdf_mean = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        ks[j], ecdf_mean[j] = ecdf_distances(x[:, j], w1, w0)
    # For a 0/1 covariate the eCDFs differ only at 0, by |p1 - p0| (MatchIt reports that).
    ecdf_mean = np.where(is_binary, ks, ecdf_mean)
    table[f"mean_treated_{suffix}"] = m1
    table[f"mean_control_{suffix}"] = m0
    table[f"smd_{suffix}"] = (m1 - m0) / sd
    table[f"var_ratio_{suffix}"] = ratio
    table[f"ks_{suffix}"] = ks
    table[f"ecdf_mean_{suffix}"] = ecdf_mean


def _sizes(w: np.ndarray, in_group: np.ndarray) -> list[float]:
    used = in_group & (w > 0)
    ww = w[used]
    return [float(used.sum()), float(ww.sum() ** 2 / (ww * ww).sum()) if ww.size else 0.0]
