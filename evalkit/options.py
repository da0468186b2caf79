"""Option strings and renamed parameters: one way to check them everywhere.

Every choice a user makes by string (``method="aipw"``, ``se="CRV1"``,
``control_group="notyettreated"``) is declared as a ``Literal[...]`` type next to
the function that takes it and checked with :func:`check_option`, so a typo
always reads the same way::

    OptionError: method='ipwra' is not an option; choose one of 'dim', 'ra',
    'ipw', 'matching', 'aipw'. Did you mean 'ipw'?

Parameters renamed to the project vocabulary (``group`` for the arm,
``level`` rather than ``alpha``, ``se`` for the variance choice, ``weight`` for a
column and ``weights_array`` for an array, ``method`` for the estimator) keep
their old names for one release through :func:`renamed`, which warns with a
``DeprecationWarning`` naming the new keyword.

Why ``method`` and not ``estimation``: statsmodels, linearmodels and most evalkit
functions already call the choice of estimator ``method``; only
``CallawaySantAnna`` used ``estimation`` (after R's ``est_method``), so it was
the one to change.
"""

from __future__ import annotations

import difflib
import functools
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal, get_args, get_origin

import numpy as np

from evalkit.errors import ConfigError

__all__ = ["OptionError", "check_level", "check_option", "choices", "renamed"]


class OptionError(ConfigError):
    """An option string (or other enumerated argument) has a value that is not allowed."""


def choices(allowed) -> tuple:
    """The allowed values of a ``Literal[...]`` type (or any iterable of values)."""
    if get_origin(allowed) is Literal:
        return tuple(get_args(allowed))
    return tuple(allowed)


def _plain(value: Any) -> Any:
    # numpy 2 reprs scalars as np.int64(3); the user wrote 3.
    return value.item() if isinstance(value, np.generic) else value


def check_option(name: str, value: Any, allowed, *, where: str | None = None) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`OptionError`.

    Parameters
    ----------
    name
        The parameter name as the user typed it (``"method"``).
    value
        The value received.
    allowed
        A ``Literal[...]`` type or an iterable of allowed values.
    where
        Optional prefix naming the function or contract (``"CallawaySantAnna"``).

    The message names the parameter, the bad value and the allowed values, and
    suggests the closest allowed value (case-insensitive) when there is one.
    """
    options = choices(allowed)
    try:
        if value in options:
            return value
    except TypeError:  # unhashable or un-comparable value: certainly not an option
        pass
    shown = ", ".join(repr(_plain(v)) for v in options)
    message = f"{name}={_plain(value)!r} is not an option; choose one of {shown}."
    if where:
        message = f"{where}: {message}"
    hint = _closest(value, options)
    if hint is not None:
        message += f" Did you mean {hint!r}?"
    raise OptionError(message)


def _closest(value: Any, options: Iterable) -> Any:
    if not isinstance(value, str):
        return None
    strings = {str(o).lower(): o for o in options if isinstance(o, str)}
    folded = value.strip().lower().replace("_", "").replace("-", "")
    for key, option in strings.items():
        if key.replace("_", "").replace("-", "") == folded:
            return option
    prefixed = [option for key, option in strings.items() if key.startswith(folded)]
    if folded and len(prefixed) == 1:
        return prefixed[0]
    match = difflib.get_close_matches(value.lower(), list(strings), n=1, cutoff=0.6)
    return strings[match[0]] if match else None


def renamed(**old_to_new: str | tuple[str, Callable[[Any], Any]]):
    """Decorator keeping old keyword names working for one release.

    ``@renamed(treatment="group")`` maps ``f(treatment=x)`` to ``f(group=x)`` with a
    ``DeprecationWarning`` naming the new keyword. A tuple ``(new, convert)``
    also converts the value, e.g. ``alpha=("level", lambda a: 1 - a)``. Passing
    both the old and the new name is an error. The wrapped function's signature
    (as shown by ``help`` and ``inspect.signature``) is the new one.
    """

    def decorate(func):
        qualname = func.__qualname__.replace(".__init__", "")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, spec in old_to_new.items():
                if old not in kwargs:
                    continue
                new, convert = (spec, None) if isinstance(spec, str) else spec
                if new in kwargs:
                    raise OptionError(
                        f"{qualname}: pass {new}= only; {old}= is its deprecated old name."
                    )
                value = kwargs.pop(old)
                note = " (level = 1 - alpha)" if old == "alpha" and new == "level" else ""
                warnings.warn(
                    f"{qualname}: {old}= is deprecated and will be removed in the next "
                    f"release; use {new}={note}.",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = convert(value) if convert is not None and value is not None else value
            return func(*args, **kwargs)

        wrapper.__deprecated_names__ = dict(old_to_new)
        return wrapper

    return decorate


def check_level(level: float, name: str = "level") -> float:
    """Return ``level`` if it is a probability in (0, 1), else raise :class:`OptionError`."""
    try:
        ok = 0 < float(level) < 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OptionError(
            f"{name}={_plain(level)!r} is not a confidence level; pass a number between 0 "
            "and 1 such as 0.95 (a 95 % interval)."
        )
    return float(level)
