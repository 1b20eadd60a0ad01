"""Whole-row texts and numbers from Arrow columns, never a Python list of every value.

A stage that reads the text of every row (the one-to-one step's IDF weights) gets it from here:
the row texts are joined by Arrow (:func:`row_texts`), a decision about a value (is it a plain
number? which number?) is taken once per distinct value of a column, and scikit-learn's
vectorisers read the texts through :class:`ArrowStrings`, which hands out Python strings one
batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakefuse.text.normalize import normalize

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
        for _, batch in self.batches():
            yield from batch

    def __getitem__(self, i: int) -> str:
        return self.array[i].as_py()

    def batches(self) -> Iterator[tuple[int, list[str]]]:
        """(first position, Python strings) one batch at a time."""
        for start in range(0, len(self.array), BATCH):
            yield start, self.array.slice(start, BATCH).to_pylist()

    def take(self, ids: np.ndarray | Sequence[int]) -> list[str]:
        """The strings at positions ``ids`` (one batch's worth, as a Python list)."""
        return self.array.take(pa.array(np.asarray(ids, dtype=np.int64))).to_pylist()

    def mapped(self, fn: Callable[[str], object], type: pa.DataType) -> pa.Array:
        """``fn`` of every string as an Arrow array of ``type`` (``None`` = null), made one
        batch at a time."""
        parts = [pa.array([fn(v) for v in batch], type=type) for _, batch in self.batches()]
        return pa.concat_arrays(parts) if parts else pa.array([], type=type)

    def nonempty(self) -> np.ndarray:
        """Per string, whether it is not empty."""
        return pc.greater(pc.utf8_length(self.array), 0).to_numpy(zero_copy_only=False)


Strings = Sequence[str] | ArrowStrings


def pick(strings: Strings, ids: np.ndarray) -> list[str]:
    """``strings[i]`` for each ``i`` of ``ids``: a Python list of one batch."""
    if isinstance(strings, ArrowStrings):
        return strings.take(ids)
    return [strings[i] for i in np.asarray(ids).tolist()]


def nonempty(strings: Strings) -> np.ndarray:
    """Per string, whether it is not empty (bool array)."""
    if isinstance(strings, ArrowStrings):
        return strings.nonempty()
    return np.array([bool(v) for v in strings], dtype=bool)


def dictionary_codes(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Arrow's dictionary encoding of ``array``: int64 codes (-1 = null) and the distinct
    values in order of first appearance."""
    enc = pc.dictionary_encode(array)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary


def form_codes(values: ArrowStrings) -> tuple[np.ndarray, pa.Array]:
    """Per string, the code of its normalised form (:func:`~lakefuse.text.normalize.
    normalize`) in order of first appearance, -1 where it normalises to nothing; and the
    forms."""
    return dictionary_codes(values.mapped(lambda v: normalize(v) or None, pa.string()))


def unify(arrays: Sequence[pa.Array]) -> tuple[ArrowStrings, list[np.ndarray]]:
    """The distinct strings of all ``arrays`` once, in order of first appearance (array by
    array), and for each array the positions of its strings there (int64, -1 = null)."""
    if not arrays:
        return ArrowStrings(pa.array([], pa.string())), []
    codes, dictionary = dictionary_codes(
        pa.chunked_array([as_strings(a) for a in arrays], pa.string())
    )
    bounds = np.cumsum([0, *[len(a) for a in arrays]])
    return ArrowStrings(dictionary), [codes[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]


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
    codes, values = dictionary_codes(column)
    dictionary = ArrowStrings(values)
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


class Lookup:
    """A map from strings to integers held by Arrow and numpy, not by a dict of every key:
    the keys stay in Arrow, their (per-process) hashes sorted in a numpy array; a look-up
    finds the hash by binary search and checks the key. ``missing`` is what
    :meth:`__getitem__` gives for an absent key (None: raise ``KeyError``)."""

    def __init__(self, keys: pa.Array, values: np.ndarray, missing: int | None = None) -> None:
        self.keys = ArrowStrings(as_strings(keys))
        hashes = np.fromiter(
            (hash(k) for _, batch in self.keys.batches() for k in batch),
            dtype=np.int64,
            count=len(self.keys),
        )
        self.order = np.argsort(hashes, kind="stable")
        self.hashes = hashes[self.order]
        self.values = np.asarray(values, dtype=np.int64)
        self.missing = missing

    @classmethod
    def counted(cls, parts: Iterable[tuple[list[str], Sequence[int] | np.ndarray]]) -> Lookup:
        """Counts (missing = 0) summed over ``parts``: (keys, weights) a batch at a time,
        added up by Arrow."""
        tables = [
            pa.table({"k": pa.array(k, pa.string()), "n": pa.array(np.asarray(n, np.int64))})
            .group_by("k")
            .aggregate([("n", "sum")])
            for k, n in parts
            if len(k)
        ]
        if not tables:
            return cls(pa.array([], pa.string()), np.zeros(0, np.int64), missing=0)
        t = pa.concat_tables(tables).group_by("k").aggregate([("n_sum", "sum")])
        return cls(t.column("k").combine_chunks(), t.column("n_sum_sum").to_numpy(), missing=0)

    def _at(self, key: str) -> int:
        """Position of ``key`` among the keys, or -1."""
        h = hash(key)
        i = int(np.searchsorted(self.hashes, h))
        while i < len(self.hashes) and self.hashes[i] == h:
            j = int(self.order[i])
            if self.keys[j] == key:
                return j
            i += 1
        return -1

    def get(self, key: str, default: int | None = None) -> int | None:
        i = self._at(key)
        return int(self.values[i]) if i >= 0 else default

    def __getitem__(self, key: str) -> int:
        i = self._at(key)
        if i >= 0:
            return int(self.values[i])
        if self.missing is None:
            raise KeyError(key)
        return self.missing

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._at(key) >= 0

    def __len__(self) -> int:
        return len(self.keys)

    def items(self) -> Iterator[tuple[str, int]]:
        """(key, value) pairs in the keys' order, read a batch at a time."""
        for start, batch in self.keys.batches():
            yield from zip(batch, self.values[start : start + len(batch)].tolist())

    def total(self) -> int:
        return int(self.values.sum())
