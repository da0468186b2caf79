"""``evalkit init NAME --data FILE``: a first programme definition and report configuration.

Writes ``NAME.programme.toml`` (inputs with guessed column roles, each marked
``# CHECK``, and analyses that suit the guessed contract) and ``NAME.toml``
(the report configuration) so that ``evalkit report NAME.toml`` builds at once.
"""

from __future__ import annotations

import argparse
import sys

from evalkit.errors import EvalkitError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``evalkit init``."""
    parser = subparsers.add_parser(
        "init", help="write a programme definition and report configuration for a data file",
        description="Guess the contract and column roles of FILE and write NAME.programme.toml "
        "and NAME.toml (roles guessed are marked '# CHECK'); then run: evalkit report NAME.toml",
    )
    parser.add_argument("name", help="programme name (letters, digits, _)")
    parser.add_argument("--data", required=True, help="data file (CSV, Parquet, Stata, SPSS)")
    parser.add_argument("--contract", choices=("panel", "persons", "sequences", "table"),
                        help="the file's contract (default: guessed)")
    parser.add_argument("--output-dir", default=".", help="where to write (default: here)")
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="report language")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from evalkit.report.init import write_programme

    try:
        definition, config = write_programme(args.name, args.data, contract=args.contract,
                                             folder=args.output_dir, lang=args.lang)
    except EvalkitError as exc:
        print(f"evalkit init: {exc}", file=sys.stderr)
        return 1
    print(definition)
    print(config)
    print(f"next: check the lines marked CHECK in {definition.name}, then run "
          f"`evalkit report {config}`", file=sys.stderr)
    return 0
