"""Column profiling before integration: find per-table surrogate keys.

A column named like an id (``id``, ``*_id``, ``key``, ``index``, ``rowid``, ``pk``) whose values
are integers, non-null, unique and nearly dense within every table that has it is a row number
of that table, not a property of the entity: the same entity has unrelated ids in two sources
(Magellan's ``tableA.id`` / ``tableB.id``). Such columns are kept in the output but give no
evidence to judges or blocking."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa

from lakefuse.arrays import unique_sorted
from lakefuse.io.read import RawTable
from lakefuse.text.rows import ArrowStrings, dictionary_codes

_ID_NAME = re.compile(r"(^|[\s_\-.])(id|key|index|idx|rowid|row_id|pk|no|nr|num)$", re.I)
_INT = re.compile(r"^-?\d+$")


def _int_or_none(v: str) -> int | None:
    """The integer ``v`` spells, if it is one that fits in 64 bits."""
    if not _INT.match(v):
        return None
    x = int(v)
    return x if -(2**63) < x < 2**63 else None


def _row_numbers(column: pa.ChunkedArray) -> bool:
    """Whether the column holds integers, non-null, unique and nearly dense (read by
    Arrow, each distinct value parsed once)."""
    if column.null_count:
        return False
    if len(column) == 0:
        return True
    codes, values = dictionary_codes(column)
    table = ArrowStrings(values).mapped(_int_or_none, pa.int64())
    if table.null_count:
        return False
    nums = table.to_numpy()[codes]
    lo, hi = int(nums.min()), int(nums.max())
    return len(unique_sorted(nums)) == len(nums) and (hi - lo + 1) <= 1.5 * len(nums)


def detect_surrogate_keys(
    tables: Sequence[RawTable], per_table: Sequence[Sequence[str]]
) -> list[str]:
    holders: dict[str, list[pa.ChunkedArray]] = {}
    for t, attrs in zip(tables, per_table):
        for h, a in zip(t.headers, attrs):
            if _ID_NAME.search(a.strip()) or a.strip().lower() in {"#", ""}:
                holders.setdefault(a, []).append(t.table.column(h))
    return [a for a, columns in holders.items() if all(_row_numbers(c) for c in columns)]
