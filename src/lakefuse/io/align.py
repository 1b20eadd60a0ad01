"""Align headers onto attributes: same header (case- and space-insensitive) = same attribute;
a ``--columns`` mapping (JSON or YAML: header -> attribute) maps other headers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from lakefuse.errors import InputError
from lakefuse.io.raw import SET_ID, RawTable, header_key, name_problem

__all__ = ["align", "header_key", "load_columns_file"]


def _parse_error(exc: Exception) -> str:
    """A JSON/YAML parser's complaint in one line, with the line and column it names."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}): {problem}"
    return f"not valid YAML: {problem}"


def load_columns_file(path: str | Path) -> dict[str, str]:
    p = Path(path)
    if not p.exists():
        raise InputError("no such --columns file", file=str(p))
    if p.is_dir():
        raise InputError("--columns names a folder; give a JSON or YAML file", file=str(p))
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"--columns file is not UTF-8 text (byte {exc.start}); save it as UTF-8", file=str(p)
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot read --columns file: {exc.strerror or exc}", file=str(p)) from exc
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"--columns file is {_parse_error(exc)}", file=str(p)) from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError("--columns file must map header names to attribute names", file=str(p))
    for target in data.values():
        problem = name_problem(target.strip())
        if problem is not None:
            raise InputError(f"attribute name {target!r} {problem}", file=str(p))
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
    for target in mapping.values():
        problem = name_problem(str(target).strip())
        if problem is not None:
            raise InputError(f"attribute name {target!r} {problem}", file=mapping_file)
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
                    f"two headers map onto attribute {target!r}", header=True, column=h, **t.where
                )
            if key == SET_ID:
                raise InputError(
                    f"{SET_ID!r} is the integrated table's own first column; map this header "
                    f"to another name with --columns (e.g. a YAML line '{h}: source {SET_ID}')",
                    header=True,
                    column=h,
                    **t.where,
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
                    **tables[i].where,
                )
    return attributes, per_table
