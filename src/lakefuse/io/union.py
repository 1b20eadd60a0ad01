"""Outer union of the aligned inputs into the engine."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from lakefuse.engines.base import Engine
from lakefuse.errors import InputError
from lakefuse.io.read import RawTable
from lakefuse.types import SourceInfo, UnionTable

UNION = "union_t"


def outer_union(
    engine: Engine,
    tables: Sequence[RawTable],
    attributes: list[str],
    per_table: Sequence[Sequence[str]],
) -> UnionTable:
    names = [t.name for t in tables]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        bad = next(t for t in tables if t.name in dup)
        raise InputError(
            f"two inputs share the table name {bad.name!r} (file stems must be unique)",
            **bad.where,
        )
    parts = []
    sources = []
    for t, attrs in zip(tables, per_table):
        renamed = pa.table({a: t.table.column(h) for h, a in zip(t.headers, attrs)})
        parts.append((t.name, renamed))
        sources.append(
            SourceInfo(t.name, t.path, t.table.num_rows, list(t.headers), list(attrs), t.encoding)
        )
    n = engine.outer_union(UNION, parts, attributes)
    return UnionTable(engine, UNION, list(attributes), sources, n)
