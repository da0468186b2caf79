"""Helpers of the report tests (imported by name: tests/report is on sys.path under pytest)."""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

from evalkit.report.programme import get_programme

REPO = Path(__file__).resolve().parents[2]


def small_config(sample_dir: Path, out_dir: Path, programmes=("rsa_experiment",),
                 extra: str = "") -> str:
    """TOML text of a quick configuration on the small samples."""
    blocks = [
        f'title = "Test report"\nlang = "fr"\nseed = 3\nroot = "/"\n'
        f'output_dir = "{out_dir}"\noutput_name = "report"\n{extra}'
    ]
    settings = {
        "rsa_experiment": ('["descriptives", "twfe", "callaway_santanna"]', "n_boot = 49"),
        "hope_in_stations": ('["descriptives", "cohort", "robustness", "did", "attrition", "indicators", "network"]', "n_perm = 49"),
        "cpas_careers": ('["descriptives", "rule_typology"]', "n_clusters = 4"),
    }
    for name in programmes:
        analyses, params = settings[name]
        inputs = "\n".join(
            f'{table} = "{sample_dir / f"{name}_{table}.csv"}"'
            for table in get_programme(name).inputs
            if (sample_dir / f"{name}_{table}.csv").exists()
        )
        blocks.append(
            f"[{name}]\nanalyses = {analyses}\n[{name}.inputs]\n{inputs}\n"
            f"[{name}.parameters]\n{params}\n"
        )
    return textwrap.dedent("\n".join(blocks))


def table_hashes(html: str) -> list[str]:
    """SHA-256 of every rendered table of a report (provenance excluded)."""
    body = html.split('<section class="provenance"', 1)[0]
    return [hashlib.sha256(t.encode()).hexdigest() for t in re.findall(r"<table.*?</table>", body, re.S)]


def _cell(value) -> str:
    """A table cell as canonical text: numbers to 9 significant digits, so a hash
    compares values, not the float noise of a different summation order."""
    if isinstance(value, bool) or value is None:
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return "nan"
    return f"{number:.9g}".replace("-0", "0") if number == 0 else f"{number:.9g}"


def frame_hashes(report) -> dict[str, str]:
    """SHA-256 of the data of every table of a built report, keyed by where it is.

    The key is the path of section anchors (or positions when a section has
    none) and the table's rank in its section; the hash covers the shape, row
    labels and cells (numbers to 9 significant digits) before disclosure
    control and formatting -- not the column headers, which are wording --
    so it tells whether the analyses computed the same tables, whatever the
    rendering.
    """
    from evalkit.report.elements import Section, Table

    hashes: dict[str, str] = {}

    def walk(section, path):
        k_table = k_sub = 0
        for block in section.content:
            if isinstance(block, Section):
                k_sub += 1
                walk(block, f"{path}/{block.key or k_sub}")
            elif isinstance(block, Table):
                k_table += 1
                flat = block._flat()
                text = f"{flat.shape}\n" + "\n".join(
                    "\t".join(_cell(v) for v in row) for row in flat.itertuples(index=False)
                )
                hashes[f"{path}#{k_table}"] = hashlib.sha256(text.encode()).hexdigest()

    for k, top in enumerate(report.sections, start=1):
        walk(top, top.key or str(k))
    return hashes


def visible_text(html_text: str, *, provenance: bool = False) -> str:
    """What a reader sees: the body's text (tags stripped, entities decoded) and the
    text of its SVG figures; without the provenance block unless asked."""
    import base64
    import html as html_module

    body = html_text.split("<main>", 1)[-1]
    if not provenance:
        body = body.split('<section class="provenance"', 1)[0]
    svgs = [base64.b64decode(b).decode("utf-8")
            for b in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', body)]
    # Matplotlib draws text as glyph paths and keeps each string in a comment.
    svg_text = " ".join(" ".join(re.findall(r"<!-- (.*?) -->", s, flags=re.S)) for s in svgs)
    body = re.sub(r'src="data:[^"]+"', "", body)
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", body))
    return re.sub(r"\s+", " ", text + " " + html_module.unescape(svg_text))
