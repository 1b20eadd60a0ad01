"""One input table as read (headers and string columns), and the header checks every reader
runs: a header is a name the output can carry, or one clear error that says why not."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from lakefuse.errors import InputError
from lakefuse.types import RESERVED_PREFIX

#: the first column of the integrated table; an attribute of that name would collide with it
SET_ID = "set_id"


@dataclass
class RawTable:
    """One input table, every value a string or None (empty cells are null)."""

    name: str
    path: str
    headers: list[str]
    table: pa.Table  # columns named by header, all string
    encoding: str = "utf-8"
    #: column -> how a column that was not text became text, e.g. ``"json (from list<...>)"``
    conversions: dict[str, str] = field(default_factory=dict)
    #: a DataFrame or Arrow table given to the Python API: errors name it as a table
    in_memory: bool = False

    @property
    def where(self) -> dict[str, str]:
        """The :class:`InputError` keywords that name this table."""
        return table_where(self.name) if self.in_memory else {"file": self.path}


def table_where(name: str) -> dict[str, str]:
    """How errors name a DataFrame given to the Python API."""
    return {"table": f"{name} (DataFrame)"}


def header_key(header: str) -> str:
    """Headers that differ only in case and spacing are one attribute."""
    return " ".join(header.strip().lower().split())


def name_problem(name: str) -> str | None:
    """Why ``name`` (a header, stripped) cannot be an attribute name; None when it can."""
    if name == "":
        return "is empty"
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        return f"holds a control character ({ascii(bad)[1:-1]}); remove it from the header"
    if name.lower().startswith(RESERVED_PREFIX):
        return (
            f"starts with {RESERVED_PREFIX!r}, which lakefuse reserves for its own columns; "
            "rename the header"
        )
    return None


def check_headers(headers: Sequence[object], where: Mapping[str, str]) -> list[str]:
    """Headers stripped of surrounding whitespace; an error for an empty, control-character,
    reserved or duplicate (case- and space-insensitive) header."""
    clean = [str(h).strip() for h in headers]
    seen: dict[str, int] = {}
    for i, h in enumerate(clean):
        problem = name_problem(h)
        if problem is not None:
            raise InputError(f"header {i + 1} {problem}", header=True, column=h or None, **where)
        key = header_key(h)
        if key in seen:
            raise InputError(
                f"duplicate header (columns {seen[key] + 1} and {i + 1})",
                header=True,
                column=h,
                **where,
            )
        seen[key] = i
    return clean
