"""Engines: where tuple-wide work runs. ``get_engine('duckdb', path)``."""

from __future__ import annotations

from pathlib import Path

from lakefuse.engines.base import Engine


def get_engine(name: str, path: str | Path | None = None) -> Engine:
    if name == "duckdb":
        from lakefuse.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(path)
    raise ValueError(f"unknown engine {name!r} (available: duckdb)")


__all__ = ["Engine", "get_engine"]
