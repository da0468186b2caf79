"""Read input tables from CSV, Parquet, Stata (.dta) and SPSS (.sav) files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalkit.errors import InputFileError

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".dta": "stata",
    ".sav": "spss",
    ".zsav": "spss",
}


def detect_format(path: Path) -> str:
    """Format name from the file suffix (a trailing ``.gz``/``.zip``/... is allowed for text)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in FORMATS:
        raise InputFileError(
            f"Cannot tell the format of {str(path)!r} from its extension {suffix or '(none)'!r}. "
            f"Supported: {', '.join(sorted(FORMATS))}. Rename the file or pass format=..."
        )
    return FORMATS[suffix]


def read_table(path, *, format: str | None = None, columns=None, **kwargs) -> pd.DataFrame:  # noqa: A002
    """Read a table, choosing the reader from the extension.

    Parameters
    ----------
    path
        File to read.
    format
        ``"csv"``, ``"tsv"``, ``"parquet"``, ``"stata"`` or ``"spss"``; inferred from the
        suffix when omitted.
    columns
        Read only these columns (all readers support it; it saves memory on wide files).
    **kwargs
        Passed to the underlying pandas reader.

    Raises
    ------
    InputFileError
        The file does not exist, has an unknown format, or cannot be parsed.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"Input file not found: {str(path)!r} (working directory: {Path.cwd()}).")
    if path.is_dir():
        raise InputFileError(f"{str(path)!r} is a directory; give the path of a data file.")
    fmt = format or detect_format(path)
    try:
        if fmt == "csv":
            return pd.read_csv(path, usecols=columns, **kwargs)
        if fmt == "tsv":
            return pd.read_csv(path, sep="\t", usecols=columns, **kwargs)
        if fmt == "parquet":
            return pd.read_parquet(path, columns=columns, **kwargs)
        if fmt == "stata":
            return pd.read_stata(path, columns=columns, **kwargs)
        if fmt == "spss":
            return pd.read_spss(path, usecols=columns, **kwargs)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, ImportError) as exc:
        raise InputFileError(
            f"Could not read {str(path)!r} as {fmt}: {type(exc).__name__}: {exc}. "
            "Check that the file is complete and of the format its extension says."
        ) from exc
    except Exception as exc:  # pyarrow/pyreadstat raise their own types on corrupt files
        raise InputFileError(
            f"Could not read {str(path)!r} as {fmt}: {type(exc).__name__}: {exc}."
        ) from exc
    raise InputFileError(
        f"Unknown format {fmt!r}; use one of csv, tsv, parquet, stata, spss."
    )
