"""Permutation tests for change in a network between two waves.

* :func:`qap_correlation` — Quadratic Assignment Procedure (Krackhardt 1987;
  Hubert 1987): Pearson correlation between the dyad values of two adjacency
  matrices on the same organisations, with a null distribution obtained by
  relabelling the organisations of one matrix (same permutation of rows and
  columns). H0: the wave-2 network is unrelated to the wave-1 network beyond
  its own structure (no stability of ties).
* :func:`density_change_test` — paired permutation test of the change in
  density: under H0 each dyad's wave-1 and wave-2 values are exchangeable, so
  the wave labels are swapped independently per dyad (a Monte Carlo version of
  the exact McNemar test on dyads).
* :func:`difference_in_change_test` — pilot vs comparison sites: difference
  between the mean change of pilot sites and of comparison sites, with the
  pilot labels permuted among sites (exact enumeration when feasible).

All p-values are ``(1 + #{|T*| >= |T|}) / (1 + R)`` (two-sided) or the
one-sided analogue, which keeps the test's size at or below the nominal level
(Phipson & Smyth 2010). With binary ties the statistics are discrete, so this
p-value is conservative (simulated size about 3.5 % at 5 % for 14
organisations); ``ties="mid"`` counts ties with the observed value as one half
(mid-p, Lancaster 1961), whose size is closer to nominal but no longer
guaranteed below it. With valued ties (intensities) ties are rare and both
agree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from evalkit.errors import EstimationError
from evalkit.options import check_option
from evalkit.results import TestResult

_ALTERNATIVES = ("two-sided", "greater", "less")



@dataclass(frozen=True)
class PermutationTestResult(TestResult):
    """A permutation test (no degrees of freedom) with its null distribution's summary.

    ``null_mean``/``null_sd`` describe the permutation distribution (``null_sd``
    is a standard error under H0); ``n_perm`` counts the permutations used,
    ``exact`` says whether they were all enumerated; ``n_changed`` is the
    number of dyads that changed (density test only).
    """

    null_mean: float = float("nan")
    null_sd: float = float("nan")
    n_perm: int = 0
    exact: bool = False
    n_changed: int | None = None

    def __getitem__(self, key: str):
        # Until evalkit 0.x these tests returned dicts; keep res["p_value"] working.
        warnings.warn("permutation tests return a PermutationTestResult: read "
                      f"res.{_OLD_KEYS.get(key, key)} instead of res[{key!r}]",
                      DeprecationWarning, stacklevel=2)
        try:
            return getattr(self, _OLD_KEYS.get(key, key))
        except AttributeError:
            raise KeyError(key) from None


_OLD_KEYS = {"p_value": "pvalue"}


def _dyads(n: int, directed: bool) -> tuple[np.ndarray, np.ndarray]:
    if directed:
        rows, cols = np.nonzero(~np.eye(n, dtype=bool))
    else:
        rows, cols = np.triu_indices(n, k=1)
    return rows, cols


def _pvalue(observed: float, null: np.ndarray, alternative: str, ties: str = "conservative",
            plus_one: bool = True) -> float:
    check_option("alternative", alternative, _ALTERNATIVES)
    check_option("ties", ties, ("conservative", "mid"))
    tol = 1e-12 * max(1.0, abs(observed))
    if alternative == "two-sided":
        stat, obs = np.abs(null), abs(observed)
    elif alternative == "greater":
        stat, obs = null, observed
    else:
        stat, obs = -null, -observed
    beyond = np.sum(stat > obs + tol)
    equal = np.sum(np.abs(stat - obs) <= tol)
    hits = beyond + (0.5 * equal if ties == "mid" else equal)
    if plus_one:
        return float((1 + hits) / (1 + null.size))
    return float(hits / null.size)


def _corr_rows(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pearson correlation between vector ``x`` and each row of ``ys``."""
    xc = x - x.mean()
    yc = ys - ys.mean(axis=1, keepdims=True)
    denom = np.sqrt((xc**2).sum()) * np.sqrt((yc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (yc @ xc) / denom


def qap_correlation(
    a: np.ndarray,
    b: np.ndarray,
    *,
    directed: bool = False,
    n_perm: int = 999,
    seed: int | np.random.Generator | None = 0,
    alternative: str = "two-sided",
    ties: str = "conservative",
    chunk: int = 256,
) -> PermutationTestResult:
    """QAP test of the correlation between two adjacency matrices.

    Parameters
    ----------
    a, b
        Square matrices over the same organisations in the same order.
    directed
        Use all off-diagonal cells (True) or the upper triangle (False).
    n_perm
        Number of random relabellings of ``b``.
    seed
        Seed or generator (results are reproducible for a seed).
    alternative
        ``"two-sided"``, ``"greater"`` (stability) or ``"less"``.
    ties
        ``"conservative"`` or ``"mid"`` (see module docstring).

    Returns
    -------
    :class:`PermutationTestResult` with ``statistic`` (observed correlation),
    ``pvalue``, ``null_mean``, ``null_sd`` and ``n_perm``.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise EstimationError(f"QAP needs two square matrices of equal shape, got {a.shape}, {b.shape}")
    n = a.shape[0]
    if n < 3:
        raise EstimationError(f"QAP needs at least 3 organisations, got {n}")
    rows, cols = _dyads(n, directed)
    x = a[rows, cols]
    y = b[rows, cols]
    if x.std() == 0 or y.std() == 0:
        raise EstimationError(
            "QAP correlation is undefined: one wave has no tie or every possible tie "
            "(constant dyad values)."
        )
    observed = float(_corr_rows(x, y[None, :])[0])
    rng = np.random.default_rng(seed)
    null = np.empty(n_perm)
    done = 0
    while done < n_perm:
        k = min(chunk, n_perm - done)
        perms = np.argsort(rng.random((k, n)), axis=1)
        permuted = b[perms[:, rows], perms[:, cols]]
        null[done : done + k] = _corr_rows(x, permuted)
        done += k
    return PermutationTestResult(
        statistic=observed, pvalue=_pvalue(observed, null, alternative, ties),
        method=f"QAP correlation ({alternative}, {n_perm} permutations)",
        null="the two networks' ties are unrelated",
        null_mean=float(null.mean()), null_sd=float(null.std(ddof=1)), n_perm=int(n_perm))


def density_change_test(
    a: np.ndarray,
    b: np.ndarray,
    *,
    directed: bool = False,
    n_perm: int = 999,
    seed: int | np.random.Generator | None = 0,
    alternative: str = "two-sided",
    ties: str = "conservative",
) -> PermutationTestResult:
    """Paired dyad permutation test of ``density(b) - density(a)``.

    Under H0 the two waves are exchangeable dyad by dyad: the null
    distribution flips the sign of each dyad's difference ``b_ij - a_ij``
    independently with probability 1/2. Only dyads that changed contribute.

    Returns
    -------
    :class:`PermutationTestResult` with ``statistic`` (density change), ``pvalue``, ``null_sd``
    (SD of the permutation distribution, a standard error under H0),
    ``n_changed`` (dyads whose status changed) and ``n_perm``.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise EstimationError(f"matrices differ in shape: {a.shape} vs {b.shape}")
    n = a.shape[0]
    if n < 2:
        raise EstimationError("a density change needs at least 2 organisations")
    rows, cols = _dyads(n, directed)
    diff = b[rows, cols] - a[rows, cols]
    n_dyads = diff.size
    observed = float(diff.sum() / n_dyads)
    changed = diff[diff != 0]
    rng = np.random.default_rng(seed)
    if changed.size == 0:
        null = np.zeros(n_perm)
    else:
        signs = rng.integers(0, 2, size=(n_perm, changed.size), dtype=np.int8) * 2 - 1
        null = (signs @ changed) / n_dyads
    return PermutationTestResult(
        statistic=observed, pvalue=_pvalue(observed, null, alternative, ties),
        method=f"paired dyad permutation ({alternative}, {n_perm} permutations)",
        null="no change in density",
        null_mean=float(null.mean()), null_sd=float(np.sqrt((changed**2).sum()) / n_dyads),
        n_perm=int(n_perm), n_changed=int(changed.size))


def difference_in_change_test(
    change: np.ndarray,
    pilot: np.ndarray,
    *,
    n_perm: int = 9999,
    seed: int | np.random.Generator | None = 0,
    alternative: str = "two-sided",
) -> PermutationTestResult:
    """Mean change at pilot sites minus mean change at comparison sites.

    The null distribution reassigns the pilot labels among the sites: every
    assignment is enumerated when there are at most ``n_perm`` of them
    (an exact randomisation test, whose smallest p-value is ``1 / C(n, k)``),
    otherwise ``n_perm`` random ones are drawn.

    Returns
    -------
    :class:`PermutationTestResult` with ``statistic``, ``pvalue``, ``null_sd``, ``n_perm``,
    ``exact``.
    """
    change = np.asarray(change, dtype=float)
    pilot = np.asarray(pilot, dtype=bool)
    if np.isnan(change).any():
        raise EstimationError("a site's change is undefined (NaN); drop the site or pick another measure")
    n, k = change.size, int(pilot.sum())
    if k == 0 or k == n:
        raise EstimationError(
            f"difference in change needs pilot and comparison sites; got {k} pilot of {n}"
        )

    def stat(mask: np.ndarray) -> np.ndarray:
        return (mask @ change) / k - ((~mask) @ change) / (n - k)

    observed = float(stat(pilot[None, :])[0])
    total = comb(n, k)
    if total <= n_perm:
        masks = np.zeros((total, n), dtype=bool)
        for i, idx in enumerate(combinations(range(n), k)):
            masks[i, list(idx)] = True
        null = stat(masks)
        exact = True
        p = _pvalue(observed, null, alternative, plus_one=False)
    else:
        rng = np.random.default_rng(seed)
        order = np.argsort(rng.random((n_perm, n)), axis=1)
        masks = order < k
        null = stat(masks)
        exact = False
        p = _pvalue(observed, null, alternative)
    kind = "exact randomisation" if exact else f"randomisation ({null.size} draws)"
    return PermutationTestResult(
        statistic=observed, pvalue=p, method=f"{kind} test, {alternative}",
        null="same mean change at pilot and comparison sites",
        null_mean=float(null.mean()),
        null_sd=float(null.std(ddof=1)) if null.size > 1 else float("nan"),
        n_perm=int(null.size), exact=exact)
