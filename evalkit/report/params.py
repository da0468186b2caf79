"""Typed parameters of report configurations, programme definitions and sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalkit.errors import ConfigError

__all__ = ["ParamSpec"]


@dataclass(frozen=True)
class ParamSpec:
    """A parameter: kind (``int``, ``float``, ``str``, ``bool``, ``"list[str]"``), default, bounds."""

    kind: Any
    default: Any
    doc: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value, where: str):
        """Validated value, or :class:`ConfigError` saying what is expected at ``where``."""
        kind = self.kind
        if kind == "list[str]":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{where} must be a list of strings, got {value!r}")
            bad = [v for v in value if self.choices and v not in self.choices]
            if bad:
                raise ConfigError(f"{where}: unknown value(s) {bad}; allowed: {list(self.choices)}")
            return list(value)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind in (int, float) and isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(
                f"{where} must be {_kind_name(kind)}, got {type(value).__name__} {value!r}"
            )
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{where} must be one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{where} must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{where} must be <= {self.maximum}, got {value!r}")
        return value


def _kind_name(kind) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        kind, str(kind)
    )
