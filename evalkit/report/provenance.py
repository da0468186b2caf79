"""What a report was built from: code version, input hashes, parameters, seed, time.

A reader holding the same files (same SHA-256), the same evalkit version,
parameters and seed can rebuild identical tables.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.errors import InputFileError

__all__ = ["InputFile", "Provenance", "file_sha256", "package_versions"]


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (inputs can be gigabytes)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
    except OSError as exc:
        raise InputFileError(f"cannot read {path} to hash it: {exc.strerror or exc}") from exc
    return digest.hexdigest()


@dataclass(frozen=True)
class InputFile:
    """One input: the name shown in the report, its size and SHA-256."""

    name: str
    sha256: str
    size: int

    @classmethod
    def from_path(cls, path: str | Path, name: str | None = None) -> InputFile:
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputFileError(f"input file {path} cannot be read: {exc.strerror}") from exc
        return cls(name or path.name, file_sha256(path), size)


_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "linearmodels", "numba", "networkx",
             "matplotlib", "duckdb")


def package_versions() -> dict[str, str]:
    """Versions of the numerical packages results depend on (absent ones omitted)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Provenance:
    """Provenance block of a report.

    Parameters
    ----------
    inputs
        Input files (:class:`InputFile`), or generated data described in
        ``parameters`` when there is no file.
    parameters
        Analysis parameters as shown to the reader (flat name -> value).
    seed
        Random seed of bootstraps, permutations and generated data.
    config
        Configuration file the run came from, if any.
    """

    inputs: list[InputFile] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    config: InputFile | None = None
    started: datetime = field(default_factory=_now)
    finished: datetime | None = None
    evalkit_version: str = __version__
    python_version: str = field(default_factory=platform.python_version)
    packages: dict[str, str] = field(default_factory=package_versions)

    def add_input(self, path: str | Path, name: str | None = None) -> InputFile:
        """Hash ``path`` and list it among the inputs."""
        entry = InputFile.from_path(path, name)
        self.inputs.append(entry)
        return entry

    def update(self, parameters: Mapping[str, Any]) -> None:
        self.parameters.update(parameters)

    def finish(self) -> None:
        """Stamp the end time (the builder calls it when rendering if not done)."""
        self.finished = _now()
