"""Every notebook runs headless (jupytext -> papermill) on small synthetic data, and a
failing analysis makes the run exit non-zero."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from report_helpers import REPO

jupytext = pytest.importorskip("jupytext")
papermill = pytest.importorskip("papermill")

# The annual notebook runs every analysis; the programme notebooks run their cheaper ones
# here (each analysis is also covered by the CLI tests), to keep kernel time down.
NOTEBOOKS = {
    "hope_in_stations": {"n_perm": 19, "analyses": ["descriptives", "did", "network"]},
    "rsa_experiment": {"n_boot": 19, "analyses": ["descriptives", "callaway_santanna"]},
    "cpas_careers": {"n_clusters": 4, "analyses": ["descriptives", "rule_typology"]},
    "annual_report": {"n_perm": 19, "n_boot": 19},
}


def _ipynb(name: str, folder):
    """The notebook as .ipynb with the python3 kernel (papermill needs the kernel name)."""
    notebook = jupytext.read(REPO / "notebooks" / f"{name}.py")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = folder / f"{name}.ipynb"
    jupytext.write(notebook, path, fmt="ipynb")
    return path


def test_notebooks_have_a_parameters_cell():
    for name in NOTEBOOKS:
        notebook = jupytext.read(REPO / "notebooks" / f"{name}.py")
        tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        for parameter in ("data_dir", "output_dir", "seed", "lang"):
            assert f"{parameter} = " in tagged[0].source, (name, parameter)


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_runs_headless_on_small_data(name, tmp_path):
    out_dir = tmp_path / "out"
    papermill.execute_notebook(
        str(_ipynb(name, tmp_path)), str(tmp_path / "executed.ipynb"),
        parameters={"data_dir": "", "output_dir": str(out_dir), "seed": 2024, "lang": "en",
                    **NOTEBOOKS[name]},
        kernel_name="python3", progress_bar=False, cwd=str(REPO),
    )
    html = (out_dir / f"{name}.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    assert 'class="status failed"' not in html


@pytest.mark.skipif(shutil.which("papermill") is None, reason="papermill command not on PATH")
def test_failing_analysis_makes_the_run_exit_non_zero(tmp_path):
    # n_boot = 1 is refused by the estimator: the section fails, so does the run.
    run = subprocess.run(
        [shutil.which("papermill"), str(_ipynb("rsa_experiment", tmp_path)),
         str(tmp_path / "executed.ipynb"), "-p", "data_dir", "", "-p", "output_dir",
         str(tmp_path / "out"), "-p", "n_boot", "1", "-y", "analyses: [callaway_santanna]",
         "--cwd", str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 1, run.stderr[-2000:]
    assert "n_boot must be at least 2" in run.stderr
    # The report showing the failure is written beside, never over, the last good one.
    assert not (tmp_path / "out" / "rsa_experiment.html").exists()
    assert (tmp_path / "out" / "rsa_experiment.failed.html").exists()
