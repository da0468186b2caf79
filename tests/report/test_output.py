"""Where a report may be written (finding 4 of issue 17): no path traversal through
``output_name``, one run per output at a time, temporary files of killed runs cleaned."""

from __future__ import annotations

import os

import pytest
from report_helpers import small_config

from evalkit.cli.main import main
from evalkit.errors import ConfigError, OutputBusyError
from evalkit.report.config import parse_config
from evalkit.report.output import output_lock, report_target


@pytest.mark.parametrize("name", ["../../../../etc/x", "../x", "..", "a/b", "a\\b", "/etc/x",
                                  "..hidden", ""])
def test_output_names_that_leave_the_directory_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="plain file name"):
        report_target(tmp_path / "out", name)


def test_traversal_in_config_exits_1_and_writes_nothing(sample_dir, tmp_path, capsys):
    # The repro of the issue: output_name = "../../../../etc/x" wrote outside (exit 0).
    out = tmp_path / "a" / "b" / "c" / "d" / "out"
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, out).replace(
        'output_name = "report"', 'output_name = "../../../../x"'))
    code = main(["report", str(config), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "key 'output_name'" in err and "plain file name" in err
    assert not (tmp_path / "x.html").exists()
    assert not any(tmp_path.rglob("*.html"))


def test_config_names_the_key_and_line_of_a_bad_output_name(tmp_path):
    text = 'output_name = "sub/report"\n[rsa_experiment]\n[rsa_experiment.inputs]\n' \
           'panel = "p.csv"\n'
    with pytest.raises(ConfigError, match=r"line 1: key 'output_name'.*'sub/report'"):
        parse_config(text, tmp_path / "c.toml")


def test_plain_names_stay_inside_the_directory(tmp_path):
    assert report_target(tmp_path, "rapport annuel 2024") == tmp_path / "rapport annuel 2024.html"
    assert report_target(tmp_path, "v1.2") == tmp_path / "v1.2.html"


def test_second_run_on_the_same_output_is_refused_clearly(tmp_path):
    target = tmp_path / "report.html"
    with output_lock(target):
        with pytest.raises(OutputBusyError, match="another evalkit run is writing"):
            with output_lock(target):
                pass
    with output_lock(target):  # released after the first run
        pass
    with output_lock(tmp_path / "other.html"), output_lock(target):  # other outputs independent
        pass


def test_concurrent_cli_run_is_refused_and_the_lock_does_not_outlive_a_process(
        sample_dir, tmp_path, capsys):
    out = tmp_path / "out"
    config = tmp_path / "c.toml"
    config.write_text(small_config(sample_dir, out))
    with output_lock(out / "report.html"):
        code = main(["report", str(config), "-q"])
        err = capsys.readouterr().err
    assert code == 1 and "another evalkit run is writing" in err
    assert not (out / "report.html").exists()
    # A killed holder releases the lock with its process: the kernel drops flock locks.
    pid = os.fork()
    if pid == 0:  # child: take the lock and die without cleaning up
        lock = output_lock(out / "report.html")
        lock.__enter__()
        os._exit(0)
    os.waitpid(pid, 0)
    with output_lock(out / "report.html"):
        pass


def test_stale_temporary_files_are_removed_on_the_next_run(tmp_path):
    for stale in (".report.html.abc123.tmp", ".report.failed.html.x.tmp", ".report.pdf.y.tmp"):
        (tmp_path / stale).write_text("half-written report from a killed run")
    keep = [".other.html.z.tmp", ".report.v2.html.w.tmp", "report.html"]
    for name in keep:
        (tmp_path / name).write_text("not ours")
    with output_lock(tmp_path / "report.html"):
        pass
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert left == sorted(keep)
