"""Read input tables (CSV, Parquet, DataFrames) as string columns, with clear errors on bad
input: every input is read whole (each row, each value as text) or is one :class:`InputError`
naming the file (or DataFrame), the row or header, and the column."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakefuse.errors import InputError
from lakefuse.io.arrow_text import Unsupported, column_to_text, table_to_text
from lakefuse.io.csv_read import read_csv
from lakefuse.io.raw import RawTable, check_headers, table_where

__all__ = ["RawTable", "expand_inputs", "from_dataframe", "read_csv", "read_parquet", "read_table"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".tsv")


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


def read_parquet(path: Path) -> RawTable:
    where = {"file": str(path)}
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"unreadable Parquet: {exc}", **where) from exc
    headers = check_headers(table.column_names, where)
    if table.num_rows == 0:
        raise InputError("empty table (no data rows)", **where)
    text, conversions = table_to_text(table, headers, where)
    return RawTable(path.stem, str(path), headers, text, conversions=conversions)


def read_table(path: Path) -> RawTable:
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path)
    return read_csv(path)


def _index_as_columns(frame: Any, where: dict[str, str]) -> Any:
    """A named index, or a MultiIndex, becomes leading columns (an unnamed one is a row
    number and is dropped, as before)."""
    index = frame.index
    if index.nlevels == 1 and index.name is None:
        return frame
    try:
        return frame.reset_index()
    except ValueError as exc:  # a level named like a column
        names = [str(n) for n in index.names if n is not None]
        clash = next((n for n in names if n in {str(c) for c in frame.columns}), None)
        raise InputError(
            f"the index and a column have the same name ({exc})",
            header=True,
            column=clash,
            **where,
        ) from exc


def _pandas_column(series: Any) -> tuple[pa.ChunkedArray, str | None]:
    """One pandas column as text: through Arrow where it converts, else (mixed object
    values such as ints and strings, pandas-only types such as periods) pandas' ``str``."""
    import pandas as pd

    # ints beside floats (or other values) in one object column: Arrow would make the ints
    # floats (9007199254740993 -> 9007199254740992); each value's own str() keeps it
    mixed = series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
        "mixed-integer-float",
        "mixed-integer",
    )
    try:
        if mixed:
            raise Unsupported("mixed values")
        arr = pa.chunked_array([pa.array(series, from_pandas=True)])
        return column_to_text(arr)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, Unsupported):
        pass
    except (OverflowError, TypeError, ValueError):
        pass
    mask = series.isna().to_numpy(dtype=bool)
    values = series.astype(str).to_numpy(dtype=object)
    arr = pa.chunked_array([pa.array(values, type=pa.string(), mask=mask)])
    text, _ = column_to_text(arr)
    return text, f"text (from mixed or pandas-only values, dtype {series.dtype})"


def from_dataframe(name: str, frame: object) -> RawTable:
    """A pandas DataFrame (or an Arrow table, or anything with ``to_arrow()`` such as a
    polars DataFrame) given to the Python API; errors name it as ``table NAME (DataFrame)``."""
    where = table_where(name)
    if isinstance(frame, pa.RecordBatch):
        frame = pa.Table.from_batches([frame])
    if hasattr(frame, "to_frame") and not hasattr(frame, "columns"):  # a pandas Series
        frame = frame.to_frame()
    if not isinstance(frame, pa.Table) and not (
        hasattr(frame, "iloc") and hasattr(frame, "columns")
    ):
        to_arrow = getattr(frame, "to_arrow", None)
        if isinstance(frame, str | Path):
            raise InputError(
                "a path where a DataFrame was expected (give paths as a list, not by name)",
                **where,
            )
        if not callable(to_arrow):
            raise InputError(
                f"not a table: a {type(frame).__name__} (give a pandas DataFrame, an Arrow "
                "table or a file path)",
                **where,
            )
        frame = to_arrow()
    if isinstance(frame, pa.Table):
        headers = check_headers(frame.column_names, where)
        if frame.num_rows == 0:
            raise InputError("empty table (no data rows)", **where)
        text, conversions = table_to_text(frame, headers, where)
        return RawTable(name, "<dataframe>", headers, text, conversions=conversions, in_memory=True)
    pdf: Any = _index_as_columns(frame, where)
    headers = check_headers(list(pdf.columns), where)
    if len(pdf) == 0:
        raise InputError("empty table (no data rows)", **where)
    cols: dict[str, pa.ChunkedArray] = {}
    conversions: dict[str, str] = {}
    for j, h in enumerate(headers):
        try:
            cols[h], how = _pandas_column(pdf.iloc[:, j])
        except (pa.ArrowInvalid, Unsupported, UnicodeError) as exc:
            raise InputError(f"column is not valid text: {exc}", column=h, **where) from exc
        if how is not None:
            conversions[h] = how
    return RawTable(
        name, "<dataframe>", headers, pa.table(cols), conversions=conversions, in_memory=True
    )
