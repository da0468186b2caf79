"""Atomic file output: a report file is either the old one or the complete new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``text`` (or bytes) to ``path`` through a temporary file and ``os.replace``.

    The temporary file lives in the target directory (``os.replace`` is only
    atomic within one file system) and is flushed to disk before the rename,
    so a crash or a full disk leaves either the previous file or the new one,
    never a truncated report. The temporary file is removed on failure.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        data = text if isinstance(text, bytes) else text.encode(encoding)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
