"""One aggregation layer for register-sized data, written once with Ibis.

DuckDB (embedded, no server) is the default engine; PySpark runs the same
expressions on a cluster (``pip install evalkit[spark]``). Inputs are Parquet
datasets (files, globs, directories, hive partitions), tables of the engine,
or DataFrames; only small aggregates (counts, sums, cross-product matrices)
are collected to the driver, never person-level rows.
"""

from evalkit.engine.session import ENGINES, EngineName, EngineSession, connect

__all__ = ["ENGINES", "EngineName", "EngineSession", "connect"]
