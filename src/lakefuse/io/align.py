"""Align headers onto attributes: same header (case- and space-insensitive) = same attribute;
a ``--columns`` mapping (JSON or YAML: header -> attribute) maps other headers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from lakefuse.errors import InputError
from lakefuse.io.read import RawTable


def header_key(header: str) -> str:
    return " ".join(header.strip().lower().split())


def load_columns_file(path: str | Path) -> dict[str, str]:
    p = Path(path)
    if not p.exists():
        raise InputError("no such --columns file", file=str(p))
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"--columns file is not valid JSON/YAML: {exc}", file=str(p)) from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError("--columns file must map header names to attribute names", file=str(p))
    return data


def align(
    tables: Sequence[RawTable],
    mapping: dict[str, str] | None = None,
    mapping_file: str = "--columns",
) -> tuple[list[str], list[list[str]]]:
    """Return (attributes in first-seen input order, per-table list of attribute per header).

    The attribute's display name is the first spelling seen (or the mapping's target)."""
    mapping = mapping or {}
    norm_map = {header_key(k): v for k, v in mapping.items()}
    known = {header_key(h) for t in tables for h in t.headers}
    unknown = sorted(k for k, src in zip(norm_map, mapping) if k not in known)
    if unknown:
        names = [src for src in mapping if header_key(src) in unknown]
        raise InputError(
            f"names headers found in no input table: {', '.join(names)}", file=mapping_file
        )
    display: dict[str, str] = {}
    order: list[str] = []
    per_table: list[list[str]] = []
    for t in tables:
        attrs = []
        seen_here: set[str] = set()
        for h in t.headers:
            target = norm_map.get(header_key(h), h)
            key = header_key(target)
            if key in seen_here:
                raise InputError(
                    f"two headers map onto attribute {target!r}", file=t.path, row=0, column=h
                )
            seen_here.add(key)
            if key not in display:
                display[key] = target.strip()
                order.append(key)
            attrs.append(display[key])
        per_table.append(attrs)
    attributes = [display[k] for k in order]
    if len(tables) > 1:
        sets = [set(a) for a in per_table]
        for i in reversed(range(len(sets))):
            s = sets[i]
            others = set().union(*(o for j, o in enumerate(sets) if j != i))
            if not s & others:
                raise InputError(
                    "shares no column with the other inputs (map headers with --columns)",
                    file=tables[i].path,
                )
    return attributes, per_table
