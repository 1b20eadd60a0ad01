"""Column profiling before integration: find per-table surrogate keys.

A column named like an id (``id``, ``*_id``, ``key``, ``index``, ``rowid``, ``pk``) whose values
are integers, non-null, unique and nearly dense within every table that has it is a row number
of that table, not a property of the entity: the same entity has unrelated ids in two sources
(Magellan's ``tableA.id`` / ``tableB.id``). Such columns are kept in the output but give no
evidence to judges or blocking."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lakefuse.io.read import RawTable

_ID_NAME = re.compile(r"(^|[\s_\-.])(id|key|index|idx|rowid|row_id|pk|no|nr|num)$", re.I)
_INT = re.compile(r"^-?\d+$")


def detect_surrogate_keys(
    tables: Sequence[RawTable], per_table: Sequence[Sequence[str]]
) -> list[str]:
    holders: dict[str, list[list[str | None]]] = {}
    for t, attrs in zip(tables, per_table):
        for h, a in zip(t.headers, attrs):
            holders.setdefault(a, []).append(t.table.column(h).to_pylist())
    out = []
    for attr, columns in holders.items():
        if not _ID_NAME.search(attr.strip()) and attr.strip().lower() not in {"#", ""}:
            continue
        ok = True
        for col in columns:
            if any(v is None or not _INT.match(v) for v in col):
                ok = False
                break
            nums = [int(v) for v in col]
            if len(set(nums)) != len(nums) or (max(nums) - min(nums) + 1) > 1.5 * len(nums):
                ok = False
                break
        if ok:
            out.append(attr)
    return out
