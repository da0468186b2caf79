"""Write a first programme definition and report configuration for a user's data file.

``evalkit init NAME --data FILE`` reads the file, guesses its contract (panel,
persons, sequences, or any table) and the columns playing each role from
their names and values, and writes ``NAME.programme.toml`` and ``NAME.toml``
(the report configuration) beside each other. Every guessed role is marked
``# CHECK`` with the reason of the guess: the report builds at once, and the
evaluator then corrects what was guessed wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.data import read_table
from evalkit.errors import ConfigError

__all__ = ["Guess", "guess_roles", "write_programme"]

# Name fragments (accents removed, lower case) hinting at a role, English and French.
_HINTS = {
    "id": ("id", "identifiant", "identifier", "numero", "dossier", "person", "respondent",
           "individu", "foyer", "unit"),
    "period": ("period", "periode", "wave", "vague", "month", "mois", "quarter", "trimestre",
               "year", "annee", "date", "time", "semaine"),
    "first_treated": ("first_treat", "first treated", "premiere", "debut", "start", "cohort"),
    "group": ("group", "groupe", "treat", "traite", "pilot", "pilote", "integrated", "arm",
              "beneficiaire", "experimental", "programme"),
    "state": ("state", "etat", "situation", "status", "statut"),
    "site": ("site", "station", "gare", "zone", "commune", "cpas", "antenne", "territ", "lieu",
             "region", "departement"),
    "weight": ("weight", "poids", "pondération"),
}
_NOT_COVARIATE = ("weight", "poids")


def _plain(name) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _hinted(columns, role: str, exclude=()) -> str | None:
    for column in columns:
        if column in exclude:
            continue
        plain = _plain(column)
        words = plain.split()
        for hint in _HINTS[role]:
            if (hint in words if len(hint) <= 3 else hint in plain):
                return column
    return None


def _binary(values: pd.Series) -> bool:
    """0/1 or boolean values (missing allowed)."""
    kept = values.dropna()
    if len(kept) == 0:
        return False
    if pd.api.types.is_bool_dtype(kept):
        return True
    if not pd.api.types.is_numeric_dtype(kept):
        return False
    return set(pd.unique(kept.astype(float))) <= {0.0, 1.0}


def _determines(frame: pd.DataFrame, column: str, group: str) -> bool:
    """Whether a level of ``column`` holds one group only (a propensity score would then
    separate the groups there: such a column cannot be a covariate)."""
    if pd.api.types.is_numeric_dtype(frame[column]) and frame[column].nunique() > 8:
        return False
    return bool((frame.groupby(column)[group].nunique() <= 1).any())


@dataclass
class Guess:
    """A guessed contract and roles, with why each role was chosen."""

    contract: str
    roles: dict[str, object] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    alphabet: str | None = None

    def set(self, role: str, column, why: str) -> None:
        if column is not None and column != []:
            self.roles[role] = column
            self.why[role] = why


def guess_roles(frame: pd.DataFrame, contract: str | None = None) -> Guess:
    """Guess the contract (unless given) and column roles of ``frame``."""
    columns = list(frame.columns)
    ident = _hinted(columns, "id")
    repeated = ident is not None and bool(frame[ident].duplicated().any())
    period = _hinted(columns, "period", exclude={ident})
    state = _hinted(columns, "state", exclude={ident, period})
    first = _hinted(columns, "first_treated", exclude={ident, period})
    if contract is None:
        if repeated and period and state and not pd.api.types.is_numeric_dtype(frame[state]):
            contract = "sequences"
        elif repeated and period and first and pd.api.types.is_numeric_dtype(frame[first]):
            contract = "panel"
        elif ident is not None and not repeated:
            contract = "persons"
        else:
            contract = "table"
    guess = Guess(contract)
    name_why = "its name"
    if contract == "sequences":
        guess.set("id", ident, name_why)
        guess.set("period", period, name_why)
        guess.set("state", state, f"{name_why}; states: {sorted(map(str, frame[state].dropna().unique()))[:10]}")
        from evalkit.typology.states import CPAS_ALPHABET

        if state and set(frame[state].dropna().astype(str)) <= set(CPAS_ALPHABET):
            guess.alphabet = "cpas"
    elif contract == "panel":
        guess.set("id", ident, name_why)
        guess.set("period", period, name_why)
        guess.set("first_treated", first, name_why)
        binary = [c for c in columns if c not in (ident, period, first) and _binary(frame[c])
                  and _hinted([c], "group") is None]
        guess.set("outcome", binary[0] if binary else None,
                  "the first 0/1 column that is not named like a group")
        site = _hinted(columns, "site", exclude={ident, period, first})
        guess.set("cluster", site, f"{name_why} (clustered standard errors)")
    elif contract == "persons":
        guess.set("id", ident, name_why)
        group = _hinted([c for c in columns if _binary(frame[c])], "group", exclude={ident})
        guess.set("group", group, f"{name_why}, 0/1 values")
        site = _hinted(columns, "site", exclude={ident, group})
        guess.set("site", site, name_why)
        guess.set("period", period, f"{name_why} (the comparison uses its last period)")
        taken = {ident, group, site, period}
        binary = [c for c in columns if c not in taken and _binary(frame[c])
                  and _hinted([c], "group") is None]
        outcomes = binary[:3]
        guess.set("outcomes", outcomes, "0/1 columns not named like a group (the first three)")
        covariates = [
            c for c in columns
            if c not in taken and c not in outcomes and _hinted([c], "group") is None
            and not any(w in _plain(c) for w in _NOT_COVARIATE)
            and (pd.api.types.is_numeric_dtype(frame[c]) or frame[c].nunique() <= 8)
            and frame[c].notna().all() and frame[c].nunique() > 1
            and not (group and _determines(frame, c, group))
        ][:4]
        guess.set("covariates", covariates,
                  "complete columns with few values that do not fix the group (at most 4)")
    else:
        guess.set("id", ident, name_why)
    return guess


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_str(name)


def _toml_str(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _analyses(guess: Guess) -> list[tuple[str, str, dict]]:
    roles = guess.roles
    out = [("description", "table_descriptives", {})]
    if guess.contract == "panel" and {"id", "period", "first_treated", "outcome"} <= set(roles):
        out += [("deploiement", "panel_descriptives", {}), ("twfe", "twfe", {}),
                ("callaway_santanna", "callaway_santanna", {"n_boot": 199})]
    if guess.contract == "persons" and {"group", "outcomes", "covariates"} <= set(roles):
        out.append(("comparaison", "cohort_comparison",
                    {"methods": ["dim", "ra", "aipw"], "cluster_by_site": False}))
    if guess.contract == "sequences" and {"id", "period", "state"} <= set(roles):
        out.append(("trajectoires", "sequence_descriptives", {}))
        if guess.alphabet == "cpas":
            out.append(("typologie", "rule_typology", {"persons": ""}))
    return out


def write_programme(name: str, data: str | Path, *, contract: str | None = None,
                    folder: str | Path | None = None, lang: str = "fr") -> tuple[Path, Path]:
    """Write ``NAME.programme.toml`` and ``NAME.toml`` for ``data``; return their paths."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ConfigError(f"programme name {name!r}: use letters, digits and _ (e.g. mon_programme)")
    data = Path(data).resolve()
    frame = read_table(data)
    guess = guess_roles(frame, contract)
    folder = Path(folder) if folder is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    definition = folder / f"{name}.programme.toml"
    config = folder / f"{name}.toml"
    for path in (definition, config):
        if path.exists():
            raise ConfigError(f"{path} exists; remove it or choose another name or --output-dir")
    lines = [
        f"# Programme definition written by `evalkit init {name} --data {data.name}`.",
        "# Lines marked CHECK are guesses from column names and values: correct them, then",
        "# add labels, narrative and analyses (sections: evalkit.report.sections).",
        "",
        "[programme]",
        f'title = {{ fr = {_toml_str(name.replace("_", " ").capitalize())}, '
        f'en = {_toml_str(name.replace("_", " ").capitalize())} }}',
        '# narrative = { fr = "Ce que le programme fait, pour qui...", en = "What the programme does..." }',
        "",
        "[inputs.data]",
        f'contract = "{guess.contract}"  # CHECK: guessed (panel, persons, sequences or table)',
        f"doc = {_toml_str(data.name)}",
    ]
    if guess.alphabet:
        lines.append(f'alphabet = "{guess.alphabet}"  # CHECK: states are CPAS state codes')
    lines.append("[inputs.data.roles]")
    if not guess.roles:
        lines.append("# no role guessed: name the columns, e.g. id = \"person_id\"")
    for role, column in guess.roles.items():
        value = ("[" + ", ".join(_toml_str(c) for c in column) + "]"
                 if isinstance(column, list) else _toml_str(column))
        note = " (never shown in the report)" if role == "id" else ""
        lines.append(f"{role} = {value}  # CHECK: guessed from {guess.why[role]}{note}")
    lines += ["", "# [labels.variables]", '# column_name = { fr = "Libellé", en = "Label" }', ""]
    for key, section, params in _analyses(guess):
        lines += ["[[analyses]]", f'name = "{key}"', f'section = "{section}"', 'input = "data"']
        if params:
            inner = ", ".join(
                f"{k} = " + ("[" + ", ".join(_toml_str(x) for x in v) + "]" if isinstance(v, list)
                             else ("true" if v is True else "false" if v is False
                                   else _toml_str(v) if isinstance(v, str) else str(v)))
                for k, v in params.items())
            lines.append(f"parameters = {{ {inner} }}")
        lines.append("")
    definition.write_text("\n".join(lines), encoding="utf-8")
    config.write_text("\n".join([
        f"# Report configuration written by `evalkit init`: evalkit report {config.name}",
        f'title = {{ fr = "Rapport {name}", en = "{name} report" }}',
        f'lang = "{lang}"',
        "seed = 1",
        "disclosure_threshold = 11",
        'output_dir = "output"',
        "",
        f"[{name}]",
        f"# the definition is {definition.name}, beside this file",
        f"[{name}.inputs]",
        f"data = {_toml_str(str(data))}",
        "",
    ]), encoding="utf-8")
    return definition, config
