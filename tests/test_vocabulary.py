"""One vocabulary in every public signature (issue 11).

Walks the ``__all__`` of every evalkit sub-package and inspects each public
function, class constructor and public method: no parameter may use a name the
project replaced (``alpha``, ``cov_type``, ``weights`` ...), and options after the
data argument must be keyword-only. The old names still work for one release
through :func:`evalkit.options.renamed`; each is exercised once below.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit.errors import ConfigError
from evalkit.options import OptionError, check_level, check_option, renamed

#: Replaced parameter names and what to use instead.
BANNED = {
    "alpha": "level (= 1 - alpha)",
    "conf_level": "level",
    "ci_level": "level",
    "cov_type": "se",
    "variance": "se",
    "vce": "se",
    "weights": "weight (a column) or weights_array (an array)",
    "estimation": "method",
    "est_method": "method",
    "n_draws": "n_boot",
    "n_bootstrap": "n_boot",
    "n_permutations": "n_perm",
    "random_state": "seed",
    "person_id": "id",
}
#: Names banned only in some sub-packages: in cohort the arm is ``group``
#: (``treatment`` is kept for a time-varying 0/1 indicator, in did).
BANNED_IN = {"evalkit.cohort": {"treatment": "group"}}
#: First parameters that are the data a function works on.
DATA_NAMES = {"data", "seq", "edges", "panel", "persons", "spells"}


def _packages():
    names = ["evalkit", "evalkit.results", "evalkit.options"]
    for info in pkgutil.iter_modules(evalkit.__path__, "evalkit."):
        if info.ispkg:
            names.append(info.name)
    return names


def _public_callables():
    seen = set()
    for package in _packages():
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                if issubclass(obj, BaseException):
                    continue
                members = [(f"{obj.__name__}.__init__", obj.__init__, obj)]
                for attr, value in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(value, (classmethod, staticmethod)):
                        value = value.__func__
                    if inspect.isfunction(value):
                        members.append((f"{obj.__name__}.{attr}", value, obj))
            elif inspect.isfunction(obj):
                members = [(obj.__name__, obj, None)]
            else:
                continue
            for qualname, func, owner in members:
                key = (package, qualname)
                if key not in seen:
                    seen.add(key)
                    yield package, qualname, func, owner


CALLABLES = list(_public_callables())


def _params(func):
    try:
        return list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return []


def test_the_walk_finds_the_estimators():
    names = {q for _, q, _, _ in CALLABLES}
    assert {"CohortComparison.__init__", "CallawaySantAnna.fit", "balance_table",
            "sequence_distances", "TWFE.fit", "IndicatorModel.fit"} <= names
    assert len(CALLABLES) > 200


def test_no_banned_parameter_names():
    offenders = []
    for package, qualname, func, owner in CALLABLES:
        # Results are built by fit(), not by users: their constructors are internal.
        if qualname.endswith(".__init__") and owner is not None and \
                owner.__name__.endswith(("Results", "Result")):
            continue
        banned = {**BANNED, **BANNED_IN.get(package, {})}
        for p in _params(func):
            if p.name in banned:
                offenders.append(f"{package}.{qualname}({p.name}=): use {banned[p.name]}")
    assert not offenders, "\n".join(offenders)


def _is_model(owner) -> bool:
    return owner is not None and callable(getattr(owner, "fit", None))


def test_options_after_the_data_are_keyword_only():
    offenders = []
    for package, qualname, func, owner in CALLABLES:
        params = [p for p in _params(func) if p.name not in ("self", "cls")]
        if not params:
            continue
        method = qualname.rsplit(".", 1)[-1]
        data_first = params[0].name in DATA_NAMES and params[0].default is params[0].empty
        checked = data_first or (
            _is_model(owner) and method in ("__init__", "fit"))
        if not checked:
            continue
        for p in params[1:]:
            # A statistic given as a function is the second input of a test, as in
            # scipy.stats.permutation_test(data, statistic): it may stay positional.
            if "Callable" in str(p.annotation):
                continue
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty:
                offenders.append(f"{package}.{qualname}: {p.name} should be keyword-only")
    assert not offenders, "\n".join(offenders)


def test_option_types_are_literals():
    """Every validated option of the main estimators is declared as a Literal type."""
    from evalkit.cohort import CohortComparison
    from evalkit.did import TWFE, CallawaySantAnna, DiD2x2

    for func, name in [(CohortComparison.fit, "method"), (CohortComparison.fit, "se"),
                       (CallawaySantAnna.__init__, "method"),
                       (CallawaySantAnna.__init__, "control_group"),
                       (CallawaySantAnna.fit, "multiplier"), (TWFE.fit, "se"),
                       (DiD2x2.fit, "method"), (DiD2x2.fit, "se")]:
        hint = typing.get_type_hints(inspect.unwrap(func))[name]
        assert typing.get_origin(hint) is typing.Literal, (func.__qualname__, name, hint)


# ---------------------------------------------------------------- the validator


def test_check_option_names_parameter_value_choices_and_a_suggestion():
    with pytest.raises(OptionError) as info:
        check_option("method", "ipwra", ("dim", "ra", "ipw", "matching", "aipw"))
    message = str(info.value)
    assert "method='ipwra'" in message
    assert "'dim', 'ra', 'ipw', 'matching', 'aipw'" in message
    assert "Did you mean 'ipw'?" in message
    assert isinstance(info.value, ConfigError)


def test_check_option_suggests_across_case_and_separators():
    with pytest.raises(OptionError, match="Did you mean 'notyettreated'"):
        check_option("control_group", "not_yet_treated", ("nevertreated", "notyettreated"))
    with pytest.raises(OptionError, match="Did you mean 'CRV1'"):
        check_option("se", "crv1", ("CRV1", "linearmodels"))


def test_check_option_shows_plain_numbers_and_accepts_literals():
    from typing import Literal

    with pytest.raises(OptionError) as info:
        check_option("k", np.int64(3), (1, 2))
    assert "np.int64" not in str(info.value) and "k=3" in str(info.value)
    assert check_option("x", "a", Literal["a", "b"]) == "a"
    with pytest.raises(OptionError, match="choose one of 'a', 'b'"):
        check_option("x", ["a"], Literal["a", "b"])  # unhashable


def test_check_level():
    assert check_level(0.9) == 0.9
    for bad in (0, 1, 95, -0.1, "x", None):
        with pytest.raises(OptionError, match="between 0 and 1"):
            check_level(bad)


def test_estimator_errors_go_through_the_validator():
    from evalkit.did import CallawaySantAnna

    frame = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2, 1, 2], "y": [0.0, 1, 0, 2],
                          "g": [2, 2, 0, 0]})
    with pytest.raises(OptionError, match="control_group='never'.*Did you mean 'nevertreated'"):
        CallawaySantAnna(frame, outcome="y", unit="u", period="t", first_treated="g",
                         control_group="never")


def test_renamed_warns_naming_the_new_keyword_and_refuses_both():
    @renamed(old="new", alpha=("level", lambda a: 1 - a))
    def f(*, new=None, level=0.95):
        return new, level

    with pytest.warns(DeprecationWarning, match=r"old= is deprecated .* use new="):
        assert f(old=3) == (3, 0.95)
    with pytest.warns(DeprecationWarning, match=r"use level= \(level = 1 - alpha\)"):
        assert f(alpha=0.1) == (None, pytest.approx(0.9))
    with pytest.raises(OptionError, match="pass new= only"):
        f(old=1, new=2)
    assert list(inspect.signature(f).parameters) == ["new", "level"]


# ------------------------------------------- each deprecated name, exercised once


def _cohort_frame():
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    return pd.DataFrame({"d": d, "x": x, "y": x + d + rng.normal(size=n)})


def _same_after_warning(new_call, old_call, match):
    expected = new_call()
    with pytest.warns(DeprecationWarning, match=match):
        got = old_call()
    return expected, got


def test_deprecated_cohort_names_still_work():
    from evalkit.cohort import (
        CohortComparison,
        PropensityScore,
        adjust_outcomes,
        balance_table,
        compare_methods,
        sensitivity_gamma,
    )

    df = _cohort_frame()
    new, old = _same_after_warning(
        lambda: CohortComparison(df, group="d", outcome="y", covariates=["x"]).fit(),
        lambda: CohortComparison(df, treatment="d", outcome="y", covariates=["x"]).fit(),
        "treatment= is deprecated.*use group=")
    pd.testing.assert_series_equal(new.params, old.params)
    new, old = _same_after_warning(
        lambda: PropensityScore(df, group="d", covariates=["x"]).fit(),
        lambda: PropensityScore(df, treatment="d", covariates=["x"]).fit(),
        "use group=")
    assert np.allclose(new.ps, old.ps)
    new, old = _same_after_warning(
        lambda: balance_table(df, group="d", covariates=["x"], weights_array=np.ones(len(df))),
        lambda: balance_table(df, treatment="d", covariates=["x"], weights=np.ones(len(df))),
        "use (group|weights_array)=")
    pd.testing.assert_frame_equal(new.to_frame(), old.to_frame())
    new, old = _same_after_warning(
        lambda: compare_methods(df, group="d", outcome="y", methods=["dim"]),
        lambda: compare_methods(df, treatment="d", outcome="y", methods=["dim"]),
        "use group=")
    pd.testing.assert_frame_equal(new, old)
    model = CohortComparison(df, group="d", outcome="y", covariates=["x"])
    new, old = _same_after_warning(
        lambda: model.fit(method="matching", se="sample").std_errors,
        lambda: model.fit(method="matching", variance="sample").std_errors,
        "variance= is deprecated.*use se=")
    pd.testing.assert_series_equal(new, old)
    two = CohortComparison(df.assign(y2=df["y"] ** 2), group="d", outcome=["y", "y2"],
                           covariates=["x"]).fit()
    new, old = _same_after_warning(lambda: two.multiplier_draws(n_boot=50, seed=1),
                                   lambda: two.multiplier_draws(n_draws=50, seed=1),
                                   "n_draws= is deprecated.*use n_boot=")
    pd.testing.assert_frame_equal(new, old)
    new, old = _same_after_warning(lambda: adjust_outcomes(two, n_boot=199, seed=1),
                                   lambda: adjust_outcomes(two, n_draws=199, seed=1),
                                   "use n_boot=")
    pd.testing.assert_frame_equal(new, old)
    treated, control = np.arange(1.0, 31.0) + 2, np.arange(1.0, 31.0)
    new, old = _same_after_warning(lambda: sensitivity_gamma(treated, control, level=0.9),
                                   lambda: sensitivity_gamma(treated, control, alpha=0.1),
                                   "alpha= is deprecated.*level")
    assert new == old


def test_deprecated_did_and_typology_names_still_work():
    from evalkit.did import CallawaySantAnna

    rng = np.random.default_rng(1)
    units = np.repeat(np.arange(40), 4)
    periods = np.tile(np.arange(1, 5), 40)
    first = np.repeat(np.where(np.arange(40) < 20, 3, 0), 4)
    y = rng.normal(size=units.size) + (periods >= first) * (first > 0)
    frame = pd.DataFrame({"u": units, "t": periods, "g": first, "y": y})
    cols = {"outcome": "y", "unit": "u", "period": "t", "first_treated": "g"}
    new, old = _same_after_warning(
        lambda: CallawaySantAnna(frame, method="or", **cols).fit(bootstrap=False, level=0.9),
        lambda: CallawaySantAnna(frame, estimation="or", **cols).fit(bootstrap=False,
                                                                      alpha=0.1),
        "(estimation|alpha)= is deprecated")
    pd.testing.assert_frame_equal(new.to_frame(), old.to_frame())
    assert new.level == pytest.approx(0.9)


def test_no_deprecation_warning_from_evalkit_itself(recwarn):
    """The package's own calls use the new names (a report run would warn otherwise)."""
    from evalkit.cohort import CohortComparison

    warnings.simplefilter("always")
    CohortComparison(_cohort_frame(), group="d", outcome="y", covariates=["x"]).fit(
        method="matching")
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_every_results_to_frame_takes_level():
    """Table.from_results calls ``to_frame(level)`` on any results, without adapters."""
    results_classes = [obj for _, q, obj, owner in CALLABLES
                       if q.endswith(".to_frame") and owner is not None
                       and owner.__name__ != "ExclusionLedger"]
    assert len(results_classes) >= 8
    for to_frame in results_classes:
        assert "level" in inspect.signature(to_frame).parameters, to_frame.__qualname__
