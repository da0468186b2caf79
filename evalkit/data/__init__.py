"""Validated inputs: the three data contracts and the exclusion ledger."""

from evalkit.data.ledger import Exclusion, ExclusionLedger

__all__ = ["Exclusion", "ExclusionLedger"]
