"""Typed columns (Parquet, DataFrames) as text, by Arrow compute (and DuckDB where Arrow has no
kernel), never a Python loop over the values.

- text: surrounding whitespace trimmed, empty -> null (as for CSV cells);
- numbers, decimals, dates, times: Arrow's cast (``1.0`` -> ``"1"``, shortest round-trip
  digits); a float NaN is null; timestamps ISO (``2020-01-05 00:00:00``, a zero fraction
  dropped, ``Z``/``+0100`` for zoned ones);
- booleans: ``True``/``False`` (as pandas writes them);
- categorical (dictionary): its values;
- binary: lowercase hex;
- list, struct, map (and union): JSON text;
- durations and intervals: DuckDB's text (``00:00:03``).

Each column that was not text is recorded as ``column -> "<how> (from <type>)"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lakefuse.errors import InputError

_NULL = pa.scalar(None, pa.string())


class Unsupported(Exception):
    """A column type with no text form here (the DataFrame reader falls back to pandas)."""


def clean_text(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Surrounding whitespace trimmed (as ``str.strip``), empty -> null."""
    arr = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(arr, ""), _NULL, arr)


def _duckdb_text(col: pa.ChunkedArray, expr: str) -> pa.ChunkedArray:
    """``expr`` over column ``c`` in DuckDB (row order kept)."""
    con = duckdb.connect()
    try:
        con.register("t", pa.table({"c": col}))
        out = con.sql(f"SELECT {expr} AS c FROM t").to_arrow_table().column(0)
    except duckdb.Error as exc:
        raise Unsupported(str(exc)) from exc
    finally:
        con.close()
    return out.cast(pa.string())


def _is_nested(t: pa.DataType) -> bool:
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
        or pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_union(t)
    )


def _is_binary(t: pa.DataType) -> bool:
    return (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    )


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def column_to_text(col: pa.ChunkedArray) -> tuple[pa.ChunkedArray, str | None]:
    """(the column as trimmed text, how it was converted or None for text). Raises
    :class:`Unsupported` for a type with no text form, ``pa.ArrowInvalid`` for text that is
    not valid UTF-8."""
    t = col.type
    if isinstance(t, pa.BaseExtensionType):  # pandas periods, uuids...: the DataFrame reader's
        raise Unsupported(f"extension type {t}")  # str(), the Parquet reader's storage
    if _is_text(t):
        col.validate(full=True)  # invalid UTF-8 would fail later, far from its file
        return clean_text(col.cast(pa.string())), None
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(col), pa.string())]), None
    if pa.types.is_dictionary(t):
        inner, how = column_to_text(col.cast(t.value_type))
        method = how.split(" (from ")[0] if how else "text"
        return inner, f"{method}, categorical (from {t})"
    if pa.types.is_boolean(t):
        text = pc.if_else(col, "True", "False")
        how = "text"
    elif pa.types.is_floating(t):
        if pa.types.is_float16(t):
            col = col.cast(pa.float32())
        nan = pc.is_nan(col)
        has_nan = pc.any(nan).as_py() is True
        # a whole number (pandas makes an int column with gaps float) as an integer:
        # 10000000000.0 -> "10000000000", not Arrow's "1e+10"
        whole = pc.and_(pc.equal(pc.floor(col), col), pc.less(pc.abs(col), 2.0**53))
        as_int = pc.if_else(whole, col, 0).cast(pa.int64()).cast(pa.string())
        text = pc.if_else(nan, _NULL, pc.if_else(whole, as_int, col.cast(pa.string())))
        how = "text, NaN as null" if has_nan else "text"
    elif pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_date(t):
        text = col.cast(pa.string())
        how = "text"
    elif pa.types.is_timestamp(t) or pa.types.is_time(t):
        # a fraction's trailing zeros dropped: "2020-01-05 00:00:00.000000000" ->
        # "2020-01-05 00:00:00", "...03.000500000" -> "...03.0005", "...00.000000Z" -> "...00Z"
        text = pc.replace_substring_regex(
            col.cast(pa.string()), pattern=r"(\.\d*?)0+(Z|[+-]\d{4})?$", replacement=r"\1\2"
        )
        text = pc.replace_substring_regex(text, pattern=r"\.(Z|[+-]\d{4})?$", replacement=r"\1")
        how = "text"
    elif _is_binary(t):
        text = _duckdb_text(col, "lower(hex(c))")
        how = "hex"
    elif _is_nested(t):
        text = _duckdb_text(col, "to_json(c)::VARCHAR")
        how = "json"
    elif pa.types.is_duration(t) or pa.types.is_interval(t):
        text = _duckdb_text(col, "CAST(c AS VARCHAR)")
        how = "text"
    else:
        try:
            text = col.cast(pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            text = _duckdb_text(col, "CAST(c AS VARCHAR)")
        how = "text"
    return clean_text(text), f"{how} (from {t})"


def table_to_text(
    table: pa.Table, headers: Sequence[str], where: Mapping[str, str]
) -> tuple[pa.Table, dict[str, str]]:
    """Every column as text, named by ``headers``; column -> how, for those that were not."""
    cols: dict[str, pa.ChunkedArray] = {}
    conversions: dict[str, str] = {}
    for h, col in zip(headers, table.columns, strict=True):
        try:
            if isinstance(col.type, pa.BaseExtensionType):
                storage = pa.chunked_array(
                    [c.storage for c in col.chunks], type=col.type.storage_type
                )
                cols[h], how = column_to_text(storage)
                how = f"{how or 'text'}; extension {col.type.extension_name}"
            else:
                cols[h], how = column_to_text(col)
        except Unsupported as exc:
            raise InputError(
                f"column of type {col.type} has no text form ({exc})", column=h, **where
            ) from exc
        except pa.ArrowInvalid as exc:
            raise InputError(f"column is not valid text: {exc}", column=h, **where) from exc
        if how is not None:
            conversions[h] = how
    return pa.table(cols), conversions
