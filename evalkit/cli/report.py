"""``evalkit report CONFIG.toml``: build an evaluation report unattended.

Validates the configuration (errors name the key and its line), runs every
analysis, writes the HTML atomically and exits

- 0 when the report was written (sections marked "not available" because an
  estimator module is missing are logged as warnings; ``--strict`` makes them
  an error too);
- 1 when the configuration or an input is invalid, or a section failed: the
  failing section is named on stderr, the report showing it is written to
  ``NAME.failed.html`` and the last good ``NAME.html`` is left untouched.

Logs go to stderr; the path of the report is the only line on stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

__all__ = ["add_parser", "run"]

log = logging.getLogger("evalkit.report")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``evalkit report``."""
    parser = subparsers.add_parser(
        "report",
        help="build an evaluation report (HTML) from a TOML configuration",
        description="Build an evaluation report (one self-contained HTML file) unattended: "
        "validate the configuration, run every analysis, write atomically. Exit 0 when the "
        "report was written, 1 on an invalid configuration or input or a failed section "
        "(the last good report is then left untouched).",
    )
    parser.add_argument("config", help="configuration file, e.g. reports/configs/annual_report.toml")
    parser.add_argument("--output-dir", help="write the report here instead of the config's output_dir")
    parser.add_argument("--lang", choices=("fr", "en"), help="override the config's language")
    parser.add_argument(
        "--strict", action="store_true",
        help="exit 1 also when a section is not available (estimator module missing)",
    )
    parser.add_argument(
        "--pdf", action="store_true",
        help="also write NAME.pdf (needs the optional WeasyPrint: pip install weasyprint)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    parser.set_defaults(func=run)
    return parser


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("evalkit")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def _check_pdf(config, output_dir) -> None:
    """Fail before any analysis when --pdf cannot be honoured; name the previous report
    only if there is one."""
    from pathlib import Path

    from evalkit.errors import ConfigError
    from evalkit.report.pdf import check_pdf_prerequisites

    try:
        check_pdf_prerequisites()
    except ConfigError as exc:
        target = (Path(output_dir) if output_dir else config.output_dir) / \
            f"{config.output_name}.html"
        kept = f"; the previous report {target} is unchanged" if target.exists() else ""
        raise ConfigError(f"{exc}. No analysis was run{kept}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``evalkit report``; returns the exit code."""
    _configure_logging(args.quiet)
    from evalkit.errors import EvalkitError
    from evalkit.report.config import load_config
    from evalkit.report.run import run_report

    started = time.perf_counter()
    try:
        config = load_config(args.config)
        if args.pdf:
            _check_pdf(config, args.output_dir)
        result = run_report(config, output_dir=args.output_dir, lang=args.lang, pdf=args.pdf)
    except EvalkitError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        print(f"evalkit report: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # output directory not writable, disk full...
        log.error("cannot write the report: %s", exc)
        print(f"evalkit report: error: cannot write the report: {exc}; the previous report "
              "is unchanged", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    for item in result.unavailable:
        log.warning("section not available: %s", item)
    if result.failures:
        for item in result.failures:
            print(f"evalkit report: section failed: {item}", file=sys.stderr)
        print(
            f"evalkit report: {len(result.failures)} section(s) failed; the previous report "
            f"{result.path} was left untouched; this run's report: {result.written}",
            file=sys.stderr,
        )
        return 1
    log.info("done in %.1f s", elapsed)
    print(result.written)
    if args.strict and result.unavailable:
        print(
            f"evalkit report: {len(result.unavailable)} section(s) not available (--strict)",
            file=sys.stderr,
        )
        return 1
    return 0
