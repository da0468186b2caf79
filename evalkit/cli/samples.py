"""``evalkit samples``: write or check the sample data generated with fixed seeds."""

from __future__ import annotations

import sys
from pathlib import Path

from evalkit.datasets.samples import SAMPLES, check_samples, write_samples


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "samples",
        help="write (or --check) data_samples/ from the synthetic-data generators",
        description="Generate the sample data of every generator at its fixed seed.",
    )
    parser.add_argument("--out", type=Path, default=Path("data_samples"))
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in --out instead of writing; exit 1 if any differ")
    parser.add_argument("--only", choices=sorted(SAMPLES), action="append",
                        help="restrict to these generators")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.check:
        differing, n_files = check_samples(args.out, args.only)
        for path in differing:
            print(f"differs or missing: {path}", file=sys.stderr)
        print(f"{n_files - len(differing)} of {n_files} sample files identical to the "
              "generators' output")
        return 1 if differing else 0
    written = write_samples(args.out, args.only)
    print(f"wrote {len(written)} files under {args.out}/")
    return 0
