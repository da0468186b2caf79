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
