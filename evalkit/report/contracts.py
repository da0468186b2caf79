"""Data contracts of a programme's inputs, built from their declared column roles.

A programme definition declares, per input, a contract (``panel``, ``persons``,
``sequences``, ``edges``, ``table``) and the columns playing each role; the
contract is validated once (:class:`evalkit.data.Panel`, ``PersonTable``,
``Sequences``) and its exclusion ledger goes into the report.
"""

from __future__ import annotations

from evalkit.errors import ConfigError

__all__ = ["CONTRACTS", "build_contract"]

CONTRACTS = {
    "panel": "unit x period panel (evalkit.data.Panel): roles id, period, outcome, first_treated",
    "persons": "one row per person (evalkit.data.PersonTable): roles id, group",
    "sequences": "person x period states (evalkit.data.Sequences): roles id, period, state",
    "edges": "ties between organisations (network edge list)",
    "table": "any table (no contract checked)",
}


def build_contract(data):
    """The validated contract of ``data`` (an :class:`~evalkit.report.sections.InputData`)."""
    kind = data.contract_kind
    if kind == "panel":
        from evalkit.data import Panel

        outcomes = [data.role("outcome")] if data.has("outcome") else list(data.role("outcomes"))
        return Panel(
            data.frame, unit=data.role("id"), period=data.role("period"), outcomes=outcomes,
            first_treated=data.role("first_treated", None), cluster=data.role("cluster", None),
            source=data.source,
        )
    if kind == "persons":
        from evalkit.data import PersonTable

        return PersonTable(
            data.frame, id=data.role("id"), group=data.role("group", None),
            covariates=list(data.role("covariates", [])),
            outcomes=list(data.role("outcomes", [])), source=data.source,
        )
    if kind == "sequences":
        from evalkit.data import Sequences

        alphabet = data.options.get("alphabet")
        if alphabet == "cpas":
            from evalkit.typology.states import CPAS_ALPHABET

            alphabet = list(CPAS_ALPHABET)
        return Sequences(
            data.frame, id=data.role("id"), period=data.role("period"), state=data.role("state"),
            alphabet=alphabet, source=data.source,
        )
    raise ConfigError(f"input {data.name!r} ({kind}) has no data contract to validate")
