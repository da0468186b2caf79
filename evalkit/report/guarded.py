"""Build one section so that its failure is reported, never fatal nor silent.

A report of several analyses must survive one that cannot run: the section
is replaced by a marked block naming why, the other sections are built, and
the caller (CLI, notebook) sees the failure in ``Report.failures``.

- an estimator module that is not installed, or does not yet provide the
  function a section needs, makes the section **unavailable**;
- any exception raised by the analysis makes the section **failed**, with the
  exception type and message (the traceback goes to the log).

Warnings of evalkit's own kinds raised while building (few clusters, extreme
weights...) are listed in the section, so the reader sees them too.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from evalkit.errors import EvalkitError, EvalkitWarning
from evalkit.report.elements import ReportWarning, Section
from evalkit.report.redaction import redact

__all__ = ["build_analyses", "build_section", "explaining_key_errors"]

log = logging.getLogger("evalkit.report")

_explain_key_error: ContextVar[Callable[[KeyError], EvalkitError | None] | None] = ContextVar(
    "evalkit_explain_key_error", default=None)


@contextlib.contextmanager
def explaining_key_errors(explain: Callable[[KeyError], EvalkitError | None]) -> Iterator[None]:
    """Within the block, a section failing with a raw ``KeyError`` (a column the analysis
    needs is not in the input) is reported as ``explain(error)`` when that gives an
    :class:`~evalkit.errors.EvalkitError` naming the input, the column and the key to set."""
    token = _explain_key_error.set(explain)
    try:
        yield
    finally:
        _explain_key_error.reset(token)


def build_section(title: str, build: Callable[..., Section], /, *args, key: str | None = None,
                  **kwargs) -> Section:
    """Call ``build(*args, **kwargs)`` and return its Section, or a marked one on failure.

    Parameters
    ----------
    title
        Title used if the section cannot be built.
    build
        Function returning a :class:`Section`.
    key
        Anchor of the section in the HTML (stable across runs).

    Returns
    -------
    Section
        The built section, or one with ``status`` ``"unavailable"`` or
        ``"failed"`` and a ``reason`` saying why.
    """
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            section = build(*args, **kwargs)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("evalkit"):
            raise
        reason = f"module {exc.name} is not available in this evalkit installation"
        log.warning("section %r not available: %s", title, reason)
        return Section.unavailable(title, reason, key=key)
    except ImportError as exc:
        if not (exc.name or "").startswith("evalkit"):
            log.exception("section %r failed", title)
            return Section.failed(title, redact(f"{type(exc).__name__}: {exc}"), key=key)
        reason = f"{exc.name} does not provide what this section needs ({exc})"
        log.warning("section %r not available: %s", title, reason)
        return Section.unavailable(title, reason, key=key)
    except EvalkitError as exc:
        log.error("section %r failed: %s: %s", title, type(exc).__name__, exc)
        return Section.failed(title, redact(f"{type(exc).__name__}: {exc}"), key=key)
    except KeyError as exc:
        explain = _explain_key_error.get()
        clear = explain(exc) if explain is not None else None
        if clear is None:
            log.exception("section %r failed", title)
            return Section.failed(title, redact(f"{type(exc).__name__}: {exc}"), key=key)
        log.error("section %r failed: %s: %s", title, type(clear).__name__, clear)
        return Section.failed(title, redact(f"{type(clear).__name__}: {clear}"), key=key)
    except Exception as exc:  # noqa: BLE001 -- any crash must become a reported failure
        log.exception("section %r failed", title)
        return Section.failed(title, redact(f"{type(exc).__name__}: {exc}"), key=key)
    if not isinstance(section, Section):
        return Section.failed(
            title, f"the section builder returned {type(section).__name__}, not a Section", key=key
        )
    seen = set()
    for warning in caught:
        text = f"{warning.category.__name__}: {warning.message}"
        if text in seen:
            continue
        seen.add(text)
        log.warning("section %r: %s", title, text)
        if issubclass(warning.category, EvalkitWarning):
            section.warnings.append(ReportWarning(warning.category.__name__,
                                                  redact(str(warning.message))))
    if key and section.key is None:
        section.key = key
    log.info("section %r built in %.2f s", title, time.perf_counter() - started)
    return section


def build_analyses(section: Section, parts, analyses, *, prefix: str) -> Section:
    """Add to ``section`` one guarded sub-section per name in ``analyses``.

    ``parts`` maps an analysis name to ``(title, build)``; sub-sections get the
    stable anchors ``<prefix>-<name>``. Returns ``section``.
    """
    for name in analyses:
        title, make = parts[name]
        section.add(build_section(title, make, key=f"{prefix}-{name}"))
    return section
