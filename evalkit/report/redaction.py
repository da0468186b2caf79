"""Person identifiers kept out of messages: failure reasons, warnings and logs.

Tables, texts and figures refuse to render a protected identifier
(:class:`~evalkit.report.elements.IdentifierGuard`). Messages are different:
an error raised by the data layer ("duplicate ids: 1850675178889, ...") must
still reach the reader, so its identifiers are replaced by ``‹id›``. While a
report is built, :func:`redacting` makes the report's guard current so that

- :func:`redact` (used for failed-section reasons and section warnings) and
- every handler of the ``evalkit`` and root loggers (messages, arguments and
  formatted tracebacks)

replace the identifiers registered so far.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["RedactingFilter", "redact", "redacting"]

_current_guard: ContextVar[Callable | None] = ContextVar("evalkit_identifier_guard", default=None)


def redact(text: str) -> str:
    """``text`` with the identifiers of the report being built replaced (unchanged outside)."""
    guard_of = _current_guard.get()
    return guard_of().redact(text) if guard_of is not None else text


class RedactingFilter(logging.Filter):
    """Logging filter replacing protected identifiers in records (message, args, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _current_guard.get() is None:
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


@contextlib.contextmanager
def redacting(guard_of: Callable) -> Iterator[None]:
    """Within the block, messages and logs are redacted with ``guard_of()`` (the current guard).

    ``guard_of`` is called at each use, so identifiers registered during the
    block (inputs read one after the other) are covered from then on.
    """
    token = _current_guard.set(guard_of)
    handlers = [*logging.getLogger("evalkit").handlers, *logging.getLogger().handlers]
    filt = RedactingFilter()
    for handler in handlers:
        handler.addFilter(filt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(filt)
        _current_guard.reset(token)
