"""Report output: where a report may be written, one run at a time, atomically.

- :func:`report_target` turns an output directory and an ``output_name`` into
  the report's path, refusing names that would leave the directory (path
  separators, ``..``, absolute paths);
- :func:`output_lock` holds an exclusive lock on that output for one run, so two
  runs on the same output cannot interleave their writes (the second is refused
  with a clear message), and removes temporary files left by a killed run;
- :func:`write_atomic` writes a file so that it is either the old one or the
  complete new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from evalkit.errors import ConfigError, OutputBusyError

__all__ = ["check_output_name", "output_lock", "report_target", "write_atomic"]

# Files a run writes beside NAME.html (their temporary files are cleaned on the next run).
_OUTPUTS = ("{name}.html", "{name}.failed.html", "{name}.pdf")


def check_output_name(name: str, where: str = "output_name") -> str:
    """Return ``name`` if it is a plain file name (no directory part, not ``.``/``..``).

    Raises
    ------
    ConfigError
        The name contains ``/`` or ``\\``, is ``.``/``..``, starts with ``..``,
        is empty, or contains a NUL or control character.
    """
    text = str(name)
    bad = (
        not text.strip()
        or "/" in text
        or "\\" in text
        or text.startswith("..")
        or text in (".", "..")
        or any(ord(ch) < 32 for ch in text)
    )
    if bad:
        raise ConfigError(
            f"{where} {text!r} is not a plain file name: it must not contain '/', '\\' or "
            "'..'; the report is always written inside output_dir (set output_dir to choose "
            "the folder, output_name only names the file)"
        )
    return text


def report_target(output_dir: str | Path, output_name: str) -> Path:
    """``output_dir/output_name.html``, guaranteed to lie inside ``output_dir``."""
    name = check_output_name(output_name)
    folder = Path(output_dir)
    target = folder / f"{name}.html"
    # Belt and braces against names the checks above did not foresee.
    if target.resolve().parent != folder.resolve():
        raise ConfigError(
            f"output_name {name!r} would write outside output_dir {str(folder)!r}"
        )
    return target


@contextlib.contextmanager
def output_lock(target: str | Path) -> Iterator[Path]:
    """Exclusive lock on the report ``target`` for the duration of one run.

    The lock is an OS file lock (``flock``) on ``.NAME.lock`` in the output
    directory: it is released by the kernel when the process ends, even when
    killed, so a crashed run never blocks the next one. Once the lock is held,
    temporary files of this output left by a killed run are removed.

    Raises
    ------
    OutputBusyError
        Another run holds the lock on the same output.
    """
    target = Path(target)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    name = target.name.removesuffix(".html")
    lock_path = folder / f".{name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover -- Windows: no advisory lock, atomic writes remain
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise OutputBusyError(
                    f"another evalkit run is writing {str(target)!r} (lock {lock_path.name} is "
                    "held); wait for it to finish, or give this run another output_name or "
                    "--output-dir"
                ) from exc
        _remove_stale_temporaries(folder, name)
        yield target
    finally:
        os.close(fd)


def _remove_stale_temporaries(folder: Path, name: str) -> None:
    # Called under the lock: no live run of this output owns such a file.
    for pattern in _OUTPUTS:
        for stale in folder.glob(f".{pattern.format(name=name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()


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
