"""``evalkit validate PATH``: check a file against a data contract and print its ledger."""

from __future__ import annotations

import inspect
import sys
import tomllib
from pathlib import Path

from evalkit.data import Panel, PersonTable, Sequences, read_table
from evalkit.errors import ConfigError, EvalkitError


def _network(path: Path, *, edges: str | None = None, organisations: str | None = None,
             **kwargs):
    """Edge list + organisations table of service networks; the other file is named
    relative to ``path`` (``edges=`` when ``path`` is the organisations table, and vice versa)."""
    from evalkit.network.graphs import ServiceNetworks

    if (edges is None) == (organisations is None):
        raise ConfigError("The network contract needs the other table of the pair: pass "
                          "organisations= (when validating an edge list) or edges= (when "
                          "validating an organisations table) in the schema.")
    other = path.parent / (edges or organisations)
    edge_path, org_path = (other, path) if edges else (path, other)
    return ServiceNetworks(read_table(edge_path), read_table(org_path), **kwargs)


CONTRACTS = {"panel": Panel.from_file, "persons": PersonTable.from_file,
             "sequences": Sequences.from_file, "network": _network}
SIGNATURES = {"panel": Panel, "persons": PersonTable, "sequences": Sequences}
LIST_OPTIONS = ("outcomes", "covariates", "categorical", "alphabet")
COLUMN_FLAGS = ("id", "group", "unit", "period", "state", "first_treated", "treatment",
                "cluster", "weight", *LIST_OPTIONS)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a data file against a contract (panel, persons, sequences, network)",
        description=(
            "Validate PATH against a data contract and print the exclusion ledger. Column roles "
            "come from --schema (TOML: contract = '...' and a [columns] table of constructor "
            "arguments; an empty string means the role has no column), from schemas/<file stem>.toml "
            "beside the file, and from the flags. "
            "Exit code 1 when the input is invalid."
        ),
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--contract", choices=sorted(CONTRACTS))
    parser.add_argument("--schema", type=Path, help="TOML file with contract and [columns]")
    for flag in COLUMN_FLAGS:
        extra = " (comma-separated)" if flag in LIST_OPTIONS else ""
        parser.add_argument(f"--{flag.replace('_', '-')}", dest=flag, help=f"column for {flag}{extra}")
    parser.add_argument("--unequal-length", dest="unequal_length",
                        choices=["raise", "pad", "truncate"])
    parser.add_argument("--allow-gaps", dest="allow_gaps", action="store_true", default=None)
    parser.add_argument("--repeated-cross-section", dest="repeated_cross_section",
                        action="store_true", default=None)
    parser.set_defaults(func=run)


def load_schema(path: Path) -> dict:
    """Read a schema TOML: ``contract`` plus a ``[columns]`` table of keyword arguments."""
    try:
        with open(path, "rb") as handle:
            schema = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"Schema file not found: {str(path)!r}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Schema {str(path)!r} is not valid TOML: {exc}.") from exc
    unknown = set(schema) - {"contract", "columns", "description"}
    if unknown:
        raise ConfigError(f"Schema {str(path)!r}: unknown key(s) {sorted(unknown)}; "
                          "expected 'contract', 'columns' and optionally 'description'.")
    return schema


def resolve(args) -> tuple[str, dict]:
    """Contract name and constructor arguments from schema file, discovered schema and flags."""
    schema_path = args.schema
    if schema_path is None:
        candidate = args.path.parent / "schemas" / f"{args.path.name.split('.')[0]}.toml"
        schema_path = candidate if candidate.exists() else None
    schema = load_schema(schema_path) if schema_path else {}
    contract = args.contract or schema.get("contract")
    if contract not in CONTRACTS:
        raise ConfigError(
            f"Which contract should {str(args.path)!r} follow? Pass --contract "
            f"{'|'.join(sorted(CONTRACTS))} (got {contract!r})."
        )
    # TOML has no null: an empty string declares that a role has no column.
    kwargs = {k: (None if v == "" else v) for k, v in schema.get("columns", {}).items()}
    for flag in (*COLUMN_FLAGS, "unequal_length", "allow_gaps", "repeated_cross_section"):
        value = getattr(args, flag, None)
        if value is None:
            continue
        kwargs[flag] = value.split(",") if flag in LIST_OPTIONS else value
    return contract, kwargs


def check_options(contract: str, kwargs: dict) -> None:
    """Refuse column options that the contract does not take (e.g. --group for a panel)."""
    if contract not in SIGNATURES:
        return
    accepted = set(inspect.signature(SIGNATURES[contract]).parameters) - {"data"}
    wrong = sorted(set(kwargs) - accepted)
    if wrong:
        raise ConfigError(
            f"Option(s) {wrong} do not apply to the {contract} contract; it takes "
            f"{sorted(accepted - {'ledger', 'source'})}."
        )


def run(args) -> int:
    try:
        contract, kwargs = resolve(args)
        check_options(contract, kwargs)
        validated = CONTRACTS[contract](args.path, **kwargs)
    except EvalkitError as exc:
        print(f"evalkit validate: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.path}: valid {contract} contract")
    print(repr(validated))
    print("\nExclusion ledger:")
    print(validated.ledger)
    return 0
