"""The README's "your programme's report in ten minutes" runs as written."""

from __future__ import annotations

import re
import shlex

from report_helpers import REPO, visible_text

from evalkit.cli.main import main
from evalkit.report.programme import parse_programme

README = (REPO / "README.md").read_text(encoding="utf-8")


def _walkthrough() -> str:
    start = README.index("## Your programme's report in ten minutes")
    return README[start:README.index("\n## ", start + 5)]


def test_readme_walkthrough_runs_as_written(tmp_path, monkeypatch):
    text = _walkthrough()
    commands = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    definition = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data_samples").symlink_to(REPO / "data_samples")
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "evalkit"
        assert main(argv[1:] + (["-q"] if argv[1] == "report" else [])) == 0, command
    html = (tmp_path / "mon_rapport" / "output" / "mon_programme.html").read_text("utf-8")
    assert 'class="status failed"' not in html

    # The edited definition of the walk-through, written over the guessed one, builds too.
    (tmp_path / "mon_rapport" / "mon_programme.programme.toml").write_text(definition,
                                                                          encoding="utf-8")
    parse_programme(definition, "mon_programme")  # valid as shown
    assert main(["report", "mon_rapport/mon_programme.toml", "-q"]) == 0
    seen = visible_text(
        (tmp_path / "mon_rapport" / "output" / "mon_programme.html").read_text("utf-8"))
    assert "Mon programme accompagne des foyers" in seen
    assert "trimestres depuis l'entrée" in seen and "Retour à l'emploi" in seen
