"""Whole-row texts and numbers from Arrow columns, never a Python list of every value.

A stage that reads the text of every row (the one-to-one step's IDF weights) gets it from here:
the row texts are joined by Arrow (:func:`row_texts`), a decision about a value (is it a plain
number? which number?) is taken once per distinct value of a column, and scikit-learn's
vectorisers read the texts through :class:`ArrowStrings`, which hands out Python strings one
batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: rows turned into Python strings at a time
BATCH = 65_536


class ArrowStrings:
    """A string column read as a sequence of Python strings (null = ``""``), one batch at a
    time: what scikit-learn's vectorisers iterate over, without a list of every value."""

    def __init__(self, array: pa.Array | pa.ChunkedArray) -> None:
        self.array = array.fill_null("")

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self.array), BATCH):
            yield from self.array.slice(start, BATCH).to_pylist()

    def __getitem__(self, i: int) -> str:
        return self.array[i].as_py()


def as_strings(column: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    """A column as one Arrow string array (a Python sequence is converted: tests, small
    tables)."""
    if not isinstance(column, pa.Array | pa.ChunkedArray):
        column = pa.array(list(column), type=pa.string())
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    return column


def per_value(
    column: pa.Array, fn: Callable[[str], object], dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    """The column's dictionary codes (int64 per cell, -1 = null) and ``fn`` of each distinct
    value (a ``dtype`` array the codes index): ``fn`` is asked once per distinct value."""
    enc = pc.dictionary_encode(column)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    dictionary = ArrowStrings(enc.dictionary)
    table = np.fromiter((fn(v) for v in dictionary), dtype=dtype, count=len(dictionary))
    return codes, table


def row_texts(
    columns: Sequence[pa.Array | Sequence[str | None]],
    n_rows: int,
    keep: Callable[[str], bool] | None = None,
) -> pa.Array:
    """One text per row: the row's non-empty values of ``columns`` (each of ``n_rows``
    values) joined by spaces, left to right; with ``keep``, only the values it keeps (asked
    once per distinct value). An Arrow string array."""
    parts = []
    for col in columns:
        arr = as_strings(col)
        if keep is None:
            mask = pc.fill_null(pc.not_equal(arr, ""), False)
        else:
            codes, kept = per_value(arr, lambda v: bool(v) and keep(v), bool)
            kept = np.append(kept, False)  # code -1 (null) reads the last entry: not kept
            mask = pa.array(kept[codes])
        parts.append(pc.if_else(mask, arr, pa.scalar(None, pa.string())))
    if not parts:
        return pa.nulls(n_rows, pa.string()).fill_null("")
    # left to right, two at a time: both values joined by a space, else the one there is
    # (Arrow's join with null_handling="skip" drops rows in pyarrow 26, so it is not used)
    acc = parts[0]
    for part in parts[1:]:
        acc = pc.coalesce(pc.binary_join_element_wise(acc, part, " "), acc, part)
    return acc.fill_null("")


def number_columns(
    columns: Sequence[pa.Array | Sequence[str | None]], parse: Callable[[str], float | None]
) -> list[np.ndarray]:
    """Each column as floats (NaN where a value is null or ``parse`` reads no number), each
    distinct value parsed once; columns with no number left out."""
    out = []
    for col in columns:
        codes, table = per_value(
            as_strings(col), lambda v: np.nan if not v else (parse(v) or np.nan), np.float64
        )
        x = np.append(table, np.nan)[codes]  # code -1 (null) reads the last entry: NaN
        if np.isfinite(x).any():
            out.append(x)
    return out
