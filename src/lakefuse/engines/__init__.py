"""Engines: where tuple-wide work runs. ``get_engine('duckdb', path)``, ``get_engine('spark',
master=...)`` or ``get_engine('spark', session=spark)`` for an existing SparkSession."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakefuse.engines.base import Engine

ENGINES = ("duckdb", "spark")


def get_engine(
    name: str,
    path: str | Path | None = None,
    *,
    master: str | None = None,
    session: Any = None,
    conf: dict[str, str] | None = None,
) -> Engine:
    """``path``: DuckDB's database file (None: in memory). ``master``: Spark's master URL
    (None: ``local[*]``); ``session``: an existing SparkSession to run in; ``conf``: Spark
    settings for a session lakefuse starts."""
    if name == "duckdb":
        from lakefuse.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(path)
    if name == "spark":
        from lakefuse.engines.spark_engine import SparkEngine

        return SparkEngine(session=session, master=master, conf=conf)
    raise ValueError(f"unknown engine {name!r} (available: {', '.join(ENGINES)})")


__all__ = ["ENGINES", "Engine", "get_engine"]
