"""Engine sessions: an Ibis backend (DuckDB or PySpark) and how inputs become its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from evalkit.errors import ConfigError, InputFileError

EngineName = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = get_args(EngineName)


class EngineSession:
    """An Ibis connection to the engine that runs the aggregations.

    Parameters
    ----------
    engine
        ``"duckdb"`` (embedded, default) or ``"spark"``.
    memory_limit, threads
        DuckDB settings (e.g. ``"4GB"``, 2): DuckDB spills to disk beyond
        ``memory_limit``, so memory stays bounded whatever the number of rows.
    spark
        An existing ``SparkSession`` (Databricks, Onyxia, ``spark-submit``).
        Without it, the active session is used, or one is created from the
        Spark configuration of the environment (``spark-submit --master ...``).
    """

    def __init__(self, engine: EngineName = "duckdb", *, memory_limit: str | None = None,
                 threads: int | None = None, spark=None) -> None:
        if engine not in ENGINES:
            raise ConfigError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.engine = engine
        try:
            import ibis
        except ImportError as exc:  # pragma: no cover - ibis is a runtime dependency
            raise ConfigError("the engine layer needs ibis-framework[duckdb]") from exc
        if engine == "duckdb":
            config = {}
            if memory_limit:
                config["memory_limit"] = str(memory_limit)
            if threads:
                config["threads"] = int(threads)
            self.con = ibis.duckdb.connect(**config)
            # A session option (not a global one): DuckDB otherwise draws its own bar.
            self.con.raw_sql("SET enable_progress_bar = false")
            self.spark = None
        else:
            if memory_limit or threads:
                raise ConfigError(
                    "memory_limit/threads are DuckDB settings; size a Spark job with its own "
                    "configuration (spark-submit --driver-memory/--executor-memory, "
                    "spark.sql.shuffle.partitions)."
                )
            if spark is None:
                try:
                    from pyspark.sql import SparkSession
                except ImportError as exc:
                    raise ConfigError(
                        "engine='spark' needs PySpark: pip install 'evalkit[spark]' "
                        "(and Java 17, e.g. Debian's openjdk-17-jre-headless)"
                    ) from exc
                spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
            self.spark = spark
            self.con = ibis.pyspark.connect(spark)

    def table(self, data):
        """Ibis table for ``data``.

        ``data`` is an Ibis table, a pandas DataFrame, the name of a table of the
        engine, or Parquet input: a ``.parquet`` file, a glob, a directory of
        Parquet files (hive partitions ``key=value/`` become columns), or a list
        of these. Parquet is read in place by the engine.
        """
        import ibis

        if isinstance(data, ibis.Table):
            return data
        if isinstance(data, pd.DataFrame):
            if data.empty:
                raise InputFileError("the DataFrame has no row")
            return ibis.memtable(data)
        paths = [data] if isinstance(data, str | Path) else list(data)
        if isinstance(data, str) and not _looks_like_path(data):
            if data in self.con.list_tables():
                return self.con.table(data)
            raise InputFileError(
                f"{data!r} is neither a Parquet file/directory nor a table of the "
                f"{self.engine} engine (tables: {sorted(self.con.list_tables())[:10]})"
            )
        sources = [_parquet_source(Path(p), self.engine) for p in paths]
        if self.engine == "duckdb":
            return self.con.read_parquet(sources, hive_partitioning=any(
                Path(p).is_dir() for p in paths))
        return self.con.read_parquet(sources[0] if len(sources) == 1 else sources)

    def close(self) -> None:
        """Release DuckDB (a Spark session belongs to the caller and stays up)."""
        if self.engine == "duckdb":
            self.con.disconnect()

    def __enter__(self) -> EngineSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(engine: EngineName | EngineSession = "duckdb", **kwargs) -> EngineSession:
    """An :class:`EngineSession` (an existing one is returned as is)."""
    if isinstance(engine, EngineSession):
        return engine
    return EngineSession(engine, **kwargs)


def _looks_like_path(text: str) -> bool:
    return any(ch in text for ch in "/\\*") or text.endswith(".parquet") or Path(text).exists()


def _parquet_source(p: Path, engine: str) -> str:
    if "*" in str(p):
        return str(p)
    if not p.exists():
        raise InputFileError(f"input {str(p)!r} does not exist")
    if p.is_dir():
        if not any(p.rglob("*.parquet")):
            raise InputFileError(f"no .parquet file under directory {str(p)!r}")
        # Spark reads a (hive-partitioned) directory natively; DuckDB needs the glob.
        return str(p) if engine == "spark" else str(p / "**" / "*.parquet")
    if p.suffix != ".parquet":
        raise InputFileError(
            f"the {engine} engine reads Parquet, got {str(p)!r}; convert it with "
            f"evalkit.data.read_table(...).to_parquet(...)"
        )
    return str(p)
