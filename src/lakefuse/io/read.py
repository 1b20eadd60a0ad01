"""Read input tables (CSV, Parquet) as string columns, with clear errors on bad input."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakefuse.errors import InputError

log = logging.getLogger("lakefuse")

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".tsv")
csv.field_size_limit(1 << 30)  # very long cells are data, not an error


@dataclass
class RawTable:
    """One input table, every value a string or None (empty cells are null)."""

    name: str
    path: str
    headers: list[str]
    table: pa.Table  # columns named by header, all string
    encoding: str = "utf-8"


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their tables (sorted, non-recursive)."""
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise InputError("no such file or folder", file=str(p))
        if p.is_dir():
            found = sorted(
                c for c in p.iterdir() if c.is_file() and c.suffix.lower() in TABLE_SUFFIXES
            )
            if not found:
                raise InputError("folder holds no tables (.csv, .tsv, .parquet)", file=str(p))
            files.extend(found)
        else:
            if p.suffix.lower() not in TABLE_SUFFIXES:
                raise InputError(
                    f"unsupported file type {p.suffix!r} (use .csv, .tsv or .parquet)",
                    file=str(p),
                )
            files.append(p)
    if not files:
        raise InputError("no input tables given")
    return files


def _decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        # locate the first bad byte for the warning
        line = data[: exc.start].count(b"\n") + 1
        log.warning(
            "file %s: non-UTF-8 bytes (first at line %d); read as cp1252/latin-1", path, line
        )
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"


def _check_headers(headers: Sequence[str], path: Path) -> list[str]:
    clean = [h.strip() for h in headers]
    seen: dict[str, int] = {}
    for i, h in enumerate(clean):
        if h == "":
            raise InputError(f"header {i + 1} is empty", file=str(path), row=0)
        key = " ".join(h.lower().split())
        if key in seen:
            raise InputError(
                f"duplicate header (columns {seen[key] + 1} and {i + 1})",
                file=str(path),
                row=0,
                column=h,
            )
        seen[key] = i
    return clean


def read_csv(path: Path) -> RawTable:
    text, encoding = _decode(path)
    if not text.strip():
        raise InputError("empty file (no header, no rows)", file=str(path))
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if delimiter == ",":
        first = text.split("\n", 1)[0]
        if "," not in first:
            for alt in (";", "\t", "|"):
                if alt in first:
                    delimiter = alt
                    break
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    data_row = 0
    try:
        headers = _check_headers(next(reader), path)
        n = len(headers)
        columns: list[list[str | None]] = [[] for _ in range(n)]
        data_row = 0
        for row in reader:
            if not row:  # an empty line is no tuple
                continue
            if len(row) != n:
                raise InputError(
                    f"ragged row: {len(row)} fields where the header has {n} "
                    f"(line {reader.line_num}; rows count data rows from 0)",
                    file=str(path),
                    row=data_row,
                )
            for j, cell in enumerate(row):
                cell = cell.strip()
                columns[j].append(cell if cell != "" else None)
            data_row += 1
    except csv.Error as exc:
        raise InputError(
            f"unreadable CSV (line {reader.line_num}): {exc}", file=str(path), row=data_row
        ) from exc
    if not columns or len(columns[0]) == 0:
        raise InputError("empty table (a header but no data rows)", file=str(path))
    table = pa.table({h: pa.array(col, type=pa.string()) for h, col in zip(headers, columns)})
    return RawTable(path.stem, str(path), headers, table, encoding)


def _to_string_array(col: pa.ChunkedArray) -> pa.Array:
    values = []
    for v in col.to_pylist():
        if v is None:
            values.append(None)
        else:
            s = str(v).strip()
            values.append(s if s else None)
    return pa.array(values, type=pa.string())


def read_parquet(path: Path) -> RawTable:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"unreadable Parquet: {exc}", file=str(path)) from exc
    headers = _check_headers(table.column_names, path)
    if table.num_rows == 0:
        raise InputError("empty table (no data rows)", file=str(path))
    cols = {h: _to_string_array(table.column(i)) for i, h in enumerate(headers)}
    return RawTable(path.stem, str(path), headers, pa.table(cols))


def read_table(path: Path) -> RawTable:
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path)
    return read_csv(path)


def from_dataframe(name: str, frame: object) -> RawTable:
    """A pandas DataFrame (or Arrow table) given to the Python API."""
    if isinstance(frame, pa.Table):
        table = frame
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)  # type: ignore[arg-type]
    headers = _check_headers([str(c) for c in table.column_names], Path(name))
    if table.num_rows == 0:
        raise InputError("empty table (no data rows)", file=name)
    cols = {h: _to_string_array(table.column(i)) for i, h in enumerate(headers)}
    return RawTable(name, "<dataframe>", headers, pa.table(cols))
