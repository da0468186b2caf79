"""Synthetic data with known true effects; the source of ``data_samples/``."""

from evalkit.datasets.base import ColumnDoc, SyntheticDataset

__all__ = ["ColumnDoc", "SyntheticDataset"]
