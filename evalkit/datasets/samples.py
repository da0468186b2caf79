"""Write ``data_samples/``: every generator at its sample size and fixed seed.

For each generator the tables go to ``<dataset>_<table>.csv``, the data frames
of its truth to ``truth/<dataset>_<name>.csv``, a schema per table to
``schemas/<file stem>.toml`` (read by ``evalkit validate``), and a data
dictionary of every column to ``README.md``. Regenerating must reproduce the
committed files byte for byte (a test checks it).
"""

from __future__ import annotations

import hashlib
import importlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.datasets.base import SyntheticDataset


@dataclass(frozen=True)
class SampleTable:
    """How one generated table is validated: the contract and its column roles."""

    contract: str | None
    columns: dict = field(default_factory=dict)


# Data contract of each sample table. The two tables of a service network are
# validated together (each schema names the other file).
SAMPLES: dict[str, dict[str, SampleTable]] = {
    "rsa_experiment": {
        "panel": SampleTable("panel", {
            "unit": "unit_id", "period": "period", "outcomes": ["return_to_work"],
            "first_treated": "first_treated", "covariates": ["age", "months_on_benefit"],
            "cluster": "zone_id"}),
    },
    "cpas_careers": {
        "persons": SampleTable("persons", {
            "id": "person_id", "group": None,
            "covariates": ["sex", "age", "education", "nationality_group", "cpas",
                           "contract_months"]}),
        "sequences": SampleTable("sequences", {
            "id": "person_id", "period": "month", "state": "state",
            "alphabet": ["FT", "PT", "SE", "ACT", "UB", "RIS", "ALW", "INA"]}),
    },
    "hope_in_stations": {
        "survey": SampleTable("persons", {
            "id": "respondent_id", "group": "cohort",
            "covariates": ["age", "sex", "nationality_group", "months_homeless",
                           "health_problem", "has_id_papers"],
            "outcomes": ["slept_in_shelter", "social_worker_contact", "access_to_care",
                         "has_income", "n_services_used", "perception_score"],
            "weight": "survey_weight", "cluster": "station"}),
        "followup": SampleTable("persons", {
            "id": "respondent_id", "group": "pilot", "cluster": "station",
            "outcomes": ["slept_in_shelter", "social_worker_contact", "access_to_care",
                         "has_income", "n_services_used", "perception_score"]}),
        "organisations": SampleTable("network", {
            "edges": "hope_in_stations_edges.csv"}),
        "edges": SampleTable("network", {
            "organisations": "hope_in_stations_organisations.csv"}),
    },
}


def generate_sample(name: str) -> SyntheticDataset:
    """Run generator ``name`` with its ``SAMPLE_KWARGS``."""
    module = importlib.import_module(f"evalkit.datasets.{name}")
    return module.generate(**module.SAMPLE_KWARGS)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV text of a frame, written the same way on every machine."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def sample_files(names=None) -> dict[str, bytes]:
    """Relative path -> file content for the whole ``data_samples/`` folder."""
    files: dict[str, bytes] = {}
    datasets = {name: generate_sample(name) for name in (names or SAMPLES)}
    for name, dataset in datasets.items():
        for table, frame in dataset.tables.items():
            stem = f"{name}_{table}"
            files[f"{stem}.csv"] = to_csv_bytes(frame)
            spec = SAMPLES[name].get(table)
            if spec is not None and spec.contract is not None:
                files[f"schemas/{stem}.toml"] = schema_toml(name, table, spec).encode()
        for key, frame in truth_frames(dataset).items():
            files[f"truth/{name}_{key}.csv"] = to_csv_bytes(frame)
    files["README.md"] = dictionary_markdown(datasets, files).encode("utf-8")
    return files


def truth_frames(dataset: SyntheticDataset) -> dict[str, pd.DataFrame]:
    """The tabular parts of a dataset's truth (series become two-column frames)."""
    frames = {}
    for key, value in dataset.truth.items():
        if isinstance(value, pd.Series):
            value = value.rename_axis(value.index.name or "name").reset_index(
                name=value.name or key)
        if isinstance(value, pd.DataFrame):
            frames[key] = value
    return frames


def write_samples(directory="data_samples", names=None) -> list[Path]:
    """Write the sample files under ``directory``; return their paths."""
    root = Path(directory)
    written = []
    for relative, content in sample_files(names).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def check_samples(directory="data_samples", names=None) -> tuple[list[Path], int]:
    """Files under ``directory`` that differ from (or lack) the generators' output, and the count."""
    root = Path(directory)
    files = sample_files(names)
    differing = [root / rel for rel, content in files.items()
                 if not (root / rel).exists() or (root / rel).read_bytes() != content]
    return differing, len(files)


def schema_toml(name: str, table: str, spec: SampleTable) -> str:
    lines = [f'description = "{name} sample, table {table}"', f'contract = "{spec.contract}"',
             "", "[columns]"]
    for key, value in spec.columns.items():
        if value is None:
            lines.append(f'{key} = ""  # no such column')
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def dictionary_markdown(datasets: dict[str, SyntheticDataset], files: dict[str, bytes]) -> str:
    """The data dictionary: every file, every column with type, meaning and allowed values."""
    out = [
        "# Sample data",
        "",
        "Generated by `evalkit.datasets` at fixed seeds — synthetic people, no real person.",
        "Regenerate with `evalkit samples --out data_samples`; `evalkit samples --check` (and the",
        "test suite) verify the committed files are exactly what the generators produce.",
        "Each table with a data contract has a schema in `schemas/`, so",
        "`evalkit validate data_samples/<file>.csv` needs no further option.",
        "",
    ]
    for name, dataset in datasets.items():
        params = ", ".join(f"{k}={v!r}" for k, v in dataset.params.items())
        out += [f"## {name}", "", f"Generator call: `evalkit.datasets.{name}.generate({params})`", ""]
        module = importlib.import_module(f"evalkit.datasets.{name}")
        if module.__doc__:
            out += [module.__doc__.strip().split("\n\n")[0], ""]
        for table, frame in dataset.tables.items():
            stem = f"{name}_{table}"
            spec = SAMPLES.get(name, {}).get(table)
            contract = spec.contract if spec and spec.contract else "none (read by its module)"
            digest = hashlib.sha256(files[f"{stem}.csv"]).hexdigest()[:16]
            out += [f"### `{stem}.csv`", "",
                    f"{len(frame):,} rows x {frame.shape[1]} columns; contract: {contract}; "
                    f"SHA-256 {digest}…", "",
                    "| column | type | meaning | allowed values |", "|---|---|---|---|"]
            docs = dataset.dictionary.get(table, {})
            for column in frame.columns:
                doc = docs.get(column)
                dtype, meaning, allowed = (doc.dtype, doc.meaning, doc.allowed) if doc else (
                    str(frame[column].dtype), "(undocumented)", "")
                out.append(f"| `{column}` | {dtype} | {meaning} | {allowed} |".replace("\n", " "))
            out.append("")
        truths = list(truth_frames(dataset))
        if truths:
            out += ["Known truth (for checking estimators): "
                    + ", ".join(f"`truth/{name}_{k}.csv`" for k in truths), ""]
    return "\n".join(out)
