"""Where each key of a TOML file is, and "did you mean" for unknown keys.

``tomllib`` gives positions of syntax errors only; report configurations and
programme definitions name the line of every key they refuse.
"""

from __future__ import annotations

import difflib
import re

from evalkit.errors import ConfigError

__all__ = ["key_lines", "line_of", "unknown_key"]


def unknown_key(key: str, known, where: str) -> None:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {sorted(known)}"
    raise ConfigError(f"{where} is not a known key{hint}")


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(raw: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", raw)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[str, int]:
    """Dotted key -> line number (1-based) where it is defined.

    ``tomllib`` reports positions of syntax errors only; this scan of table
    headers and ``key =`` lines recovers the line of every key for
    validation messages. Lines inside multi-line strings are skipped. The
    k-th table of an array of tables (``[[analyses]]``, from 0) is ``analyses.k``,
    its sub-tables ``[analyses.text]`` are ``analyses.k.text``.
    """
    lines: dict[str, int] = {}
    prefix: list[str] = []
    arrays: dict[str, int] = {}
    in_multiline = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            prefix = _split_key(header.group(1))
            dotted = ".".join(prefix)
            if line.lstrip().startswith("[["):
                arrays[dotted] = arrays.get(dotted, -1) + 1
                lines.setdefault(dotted, number)
                prefix = [*prefix, str(arrays[dotted])]
            else:
                # [analyses.text] after [[analyses]]: a sub-table of the latest element.
                for k in range(len(prefix), 0, -1):
                    head = ".".join(prefix[:k])
                    if head in arrays:
                        prefix = [*prefix[:k], str(arrays[head]), *prefix[k:]]
                        break
            lines.setdefault(".".join(prefix), number)
            continue
        key = _KEY.match(line)
        if key:
            dotted = ".".join([*prefix, *_split_key(key.group(1))])
            lines.setdefault(dotted, number)
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return lines


def line_of(lines: dict[str, int], keys) -> int | None:
    """Line of the dotted key ``keys`` in :func:`key_lines`'s map.

    A key seen only in table headers (``[input.panel]`` gives ``input``) is on the
    line of its first sub-key; keys of inline tables take their parent's line.
    """
    keys = [str(k) for k in keys]
    dotted = ".".join(keys)
    if dotted in lines:
        return lines[dotted]
    inside = [n for key, n in lines.items() if key.startswith(dotted + ".")]
    if inside:
        return min(inside)
    return next((lines[".".join(keys[:k])] for k in range(len(keys) - 1, 0, -1)
                 if ".".join(keys[:k]) in lines), None)
