"""Read input tables from CSV, Parquet, Stata (.dta) and SPSS (.sav) files.

Text files are read the way office software writes them, without options:

- **encoding**: UTF-8 (with or without the byte-order mark Excel's "CSV UTF-8"
  adds), else Windows-1252, the superset of Latin-1 that French Excel and
  LibreOffice write by default (``é``, ``œ``, ``€``);
- **separator**: ``,``, ``;`` (French Excel), tab or ``|``, chosen as the one
  that splits the header and the first lines into the same, largest number of
  fields;
- **decimal mark**: with a separator other than ``,``, numbers written with a
  decimal comma (``3,5``) are read as numbers.

What was detected is logged; ``sep=``, ``decimal=`` and ``encoding=`` override
it. Duplicate column names are refused (pandas would silently rename the
second ``x`` to ``x.1``).

Stata and SPSS files are read as their **codes** (numbers), never as the label
strings, so a 0/1 treatment labelled "control"/"treated" stays 0/1. The labels
are kept beside the codes in ``frame.attrs["value_labels"]`` (column -> {code:
label}) and the variable labels in ``frame.attrs["variable_labels"]``.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from evalkit.errors import InputFileError

__all__ = ["FORMATS", "detect_format", "read_table", "sniff_csv"]

log = logging.getLogger(__name__)

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
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")
_SEPARATORS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
_SNIFF_LINES = 50
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")


def detect_format(path: Path) -> str:
    """Format name from the file suffix (a trailing ``.gz``/``.zip``/... is allowed for text)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
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
        Passed to the underlying pandas reader. For text files ``sep``,
        ``decimal`` and ``encoding`` override what :func:`sniff_csv` detects.

    Raises
    ------
    InputFileError
        The file does not exist, has an unknown format, cannot be parsed, or
        has duplicate column names.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"Input file not found: {str(path)!r} (working directory: {Path.cwd()}).")
    if path.is_dir():
        raise InputFileError(f"{str(path)!r} is a directory; give the path of a data file.")
    fmt = format or detect_format(path)
    try:
        if fmt in ("csv", "tsv"):
            return _read_text(path, fmt, columns, kwargs)
        if fmt == "parquet":
            frame = pd.read_parquet(path, columns=columns, **kwargs)
        elif fmt == "stata":
            frame = _read_stata(path, columns, kwargs)
        elif fmt == "spss":
            frame = _read_spss(path, columns, kwargs)
        else:
            raise InputFileError(
                f"Unknown format {fmt!r}; use one of csv, tsv, parquet, stata, spss."
            )
    except InputFileError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, ImportError) as exc:
        raise InputFileError(
            f"Could not read {str(path)!r} as {fmt}: {type(exc).__name__}: {exc}. "
            "Check that the file is complete and of the format its extension says."
        ) from exc
    except Exception as exc:  # pyarrow/pyreadstat raise their own types on corrupt files
        raise InputFileError(
            f"Could not read {str(path)!r} as {fmt}: {type(exc).__name__}: {exc}."
        ) from exc
    _refuse_duplicate_columns(list(frame.columns), path)
    return frame


def sniff_csv(path: str | Path, *, sep: str | None = None, encoding: str | None = None
              ) -> dict[str, str]:
    """Encoding, separator and decimal mark of a text table, from its first 64 KiB.

    Returns ``{"encoding": ..., "sep": ..., "decimal": ...}``; given values are
    kept. Compressed files are read through pandas' decompression.
    """
    path = Path(path)
    head = _head_bytes(path)
    if encoding is None:
        encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if len(head) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [line for line in lines[: _SNIFF_LINES + 1] if line.strip()]
    if sep is None:
        sep = _detect_separator(lines)
    decimal = _detect_decimal(lines, sep)
    return {"encoding": encoding, "sep": sep, "decimal": decimal}


def _read_text(path: Path, fmt: str, columns, kwargs: dict) -> pd.DataFrame:
    options = dict(kwargs)
    given_sep = options.pop("sep", options.pop("delimiter", "\t" if fmt == "tsv" else None))
    given_decimal = options.pop("decimal", None)
    sniffed = sniff_csv(path, sep=given_sep, encoding=options.pop("encoding", None))
    sep, encoding = sniffed["sep"], sniffed["encoding"]
    decimal = given_decimal or sniffed["decimal"]
    if (sep, decimal, encoding) != (",", ".", "utf-8-sig"):
        log.info("reading %s with sep=%r, decimal=%r, encoding=%r", path.name, sep, decimal,
                 encoding)
    header = _header(path, sep, encoding)
    _refuse_duplicate_columns(header, path, sep=sep)
    try:
        frame = pd.read_csv(path, sep=sep, decimal=decimal, encoding=encoding, usecols=columns,
                            **options)
    except UnicodeDecodeError as exc:  # a bad byte after the sniffed part
        raise InputFileError(
            f"Could not read {str(path)!r}: it is not {encoding} text past its first lines "
            f"({exc.reason} at byte {exc.start}). Re-save it as 'CSV UTF-8', or give the "
            f"encoding: {_how('encoding', 'cp1252')}."
        ) from exc
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(
            f"Could not read {str(path)!r} as a table separated by {_name(sep)} "
            f"({type(exc).__name__}: {exc}). Check that every line has the same number of "
            f"fields, or give the separator: {_how('sep', ';')}."
        ) from exc
    single = frame.shape[1] == 1 and any(s in str(frame.columns[0]) for s in _SEPARATORS)
    if single and given_sep is None:
        raise InputFileError(
            f"{str(path)!r} was read as a single column {str(frame.columns[0])[:60]!r}: its "
            f"separator could not be detected. Give it: {_how('sep', ';')}."
        )
    return frame


def _head_bytes(path: Path) -> bytes:
    if path.suffix.lower() in _COMPRESSED:
        from pandas.io.common import get_handle

        with get_handle(path, "rb", compression="infer", is_text=False) as handles:
            return handles.handle.read(_SNIFF_BYTES)
    with open(path, "rb") as handle:
        return handle.read(_SNIFF_BYTES)


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 if the whole file decodes as such (checked in 1 MiB chunks), else cp1252."""
    if path.suffix.lower() in _COMPRESSED:
        chunks = [head]
    else:
        chunks = _chunks(path)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        # cp1252 leaves 5 bytes undefined; Latin-1 maps every byte.
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "utf-8-sig"


def _chunks(path: Path, size: int = 1 << 20):
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def _fields(lines: list[str], sep: str) -> list[int]:
    return [len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)]


def _detect_separator(lines: list[str]) -> str:
    """The separator giving the header the most fields, the same count on every line."""
    if not lines:
        return ","
    best, best_fields = ",", 1
    for sep in _SEPARATORS:
        try:
            counts = _fields(lines, sep)
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        regular = Counter(counts).most_common(1)[0][1] / len(counts)
        if counts[0] > best_fields and regular >= 0.9 and all(c == counts[0] for c in counts[:5]):
            best, best_fields = sep, counts[0]
    return best


def _detect_decimal(lines: list[str], sep: str) -> str:
    """``","`` when the separator is not a comma and numbers are written ``3,5``."""
    if sep == "," or len(lines) < 2:
        return "."
    cells = [c for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=sep)
             for c in row]
    commas = sum(bool(_DECIMAL_COMMA.match(c)) for c in cells)
    points = sum(bool(_DECIMAL_POINT.match(c)) for c in cells)
    return "," if commas > points else "."


def _header(path: Path, sep: str, encoding: str) -> list[str]:
    head = _head_bytes(path).decode(encoding, errors="replace").removeprefix("\ufeff")
    for row in csv.reader(io.StringIO(head), delimiter=sep):
        return row
    return []


def _refuse_duplicate_columns(names: list, path: Path, *, sep: str | None = None) -> None:
    counts = Counter(str(n).strip() for n in names)
    duplicated = [n for n, k in counts.items() if k > 1 and n]
    if duplicated:
        where = f" (separator {_name(sep)})" if sep else ""
        raise InputFileError(
            f"{str(path)!r} has duplicate column name(s) {duplicated}{where}: each column "
            "needs its own name. Rename the copies in the source file (they would otherwise "
            "be read as different variables called 'x' and 'x.1')."
        )


def _how(option: str, example: str) -> str:
    """How to pass a reading option, in Python and in a programme definition (TOML)."""
    return (f"read_table(path, {option}={example!r}) in Python, or "
            f"read = {{ {option} = \"{example}\" }} under the input's [inputs.NAME] table of "
            "the programme definition")


def _name(sep: str | None) -> str:
    return {",": "',' (comma)", ";": "';' (semicolon)", "\t": "tab", "|": "'|'"}.get(
        sep or ",", repr(sep))


def _read_stata(path: Path, columns, kwargs: dict) -> pd.DataFrame:
    options = {"convert_categoricals": False, **kwargs}
    frame = pd.read_stata(path, columns=columns, **options)
    if kwargs.get("convert_categoricals", False):
        return frame
    # Labels are read from a second, labelled read: codes and labels align row by row.
    try:
        labelled = pd.read_stata(path, columns=columns, convert_categoricals=True)
    except ValueError:  # labels that do not map uniquely: keep the codes alone
        labelled = None
    value_labels = {}
    if labelled is not None:
        for col in labelled.columns:
            if isinstance(labelled[col].dtype, pd.CategoricalDtype):
                pairs = pd.DataFrame({"code": frame[col], "label": labelled[col].astype(object)})
                pairs = pairs.dropna().drop_duplicates("code")
                value_labels[col] = dict(zip(pairs["code"].tolist(), pairs["label"].tolist(),
                                             strict=True))
    with pd.io.stata.StataReader(path) as reader:
        variable_labels = {k: v for k, v in reader.variable_labels().items()
                           if v and k in frame.columns}
    frame.attrs["value_labels"] = value_labels
    frame.attrs["variable_labels"] = variable_labels
    return frame


def _read_spss(path: Path, columns, kwargs: dict) -> pd.DataFrame:
    if kwargs.get("convert_categoricals", False):
        return pd.read_spss(path, usecols=columns, **kwargs)
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path), usecols=columns, apply_value_formats=False)
    frame.attrs["value_labels"] = {k: dict(v) for k, v in meta.variable_value_labels.items()
                                   if k in frame.columns}
    frame.attrs["variable_labels"] = {k: v for k, v in meta.column_names_to_labels.items()
                                      if v and k in frame.columns}
    return frame
