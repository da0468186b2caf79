"""Entry point of the ``evalkit`` command.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``,
which registers the sub-command and sets ``func`` (returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from evalkit import __version__

# Modules are imported lazily so `evalkit validate` does not pay for the report stack.
SUBCOMMANDS = ("evalkit.cli.validate", "evalkit.cli.samples", "evalkit.cli.report",
               "evalkit.cli.init")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evalkit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"evalkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
