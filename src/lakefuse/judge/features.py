"""Per-attribute evidence for a pair of tuples: similarity in [0, 1] or NaN (no evidence:
null on a side). Shared by every judge; learned judges add embedding similarity on top."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz

from lakefuse.encode.tuples import dictionary_encode
from lakefuse.text.dates import as_date
from lakefuse.text.normalize import normalize
from lakefuse.text.numbers import as_number
from lakefuse.types import UnionTable


def value_similarity(a: str, b: str) -> float:
    """Similarity of two non-null cell values in [0, 1]."""
    if a == b:
        return 1.0
    na, nb = normalize(a), normalize(b)
    if na == nb:
        return 1.0
    xa, xb = as_number(a), as_number(b)
    if xa is not None and xb is not None:
        diff = abs(xa - xb)
        if xa.is_integer() and xb.is_integer() and max(abs(xa), abs(xb)) < 10_000:
            # years, counts, codes: off by one is close, anything else disagrees
            return 0.5 if diff <= 1 else 0.0
        denom = max(abs(xa), abs(xb), 1e-9)
        return max(0.0, 1.0 - 10.0 * diff / denom)
    da, db = as_date(a), as_date(b)
    if da is not None and db is not None:
        return 1.0 if da == db else max(0.0, 1.0 - abs((da - db).days) / 365.0) * 0.5
    if not na or not nb:
        return 0.0
    return max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(na, nb)) / 100.0


def pair_evidence(union: UnionTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Matrix (pairs x attributes) of value similarities; NaN where a side is null.

    The value look-up is the engine's join (``Engine.pair_values``); the similarity is a
    per-row function, as a UDF would be on a distributed engine, here computed once per
    distinct pair of values (the two columns dictionary-encoded together)."""
    out = np.full((len(left), len(union.attributes)), np.nan, dtype=np.float64)
    attrs = union.evidence_attributes
    if len(left) == 0 or not attrs:
        return out
    pairs = union.engine.pair_values(
        union.name,
        pa.table({"l": pa.array(left, type=pa.int64()), "r": pa.array(right, type=pa.int64())}),
        attrs,
    )
    P = len(left)
    for a in attrs:
        j = union.attributes.index(a)
        chunks = pairs.column(a + "__l").chunks + pairs.column(a + "__r").chunks
        both = pa.chunked_array([c.cast(pa.string()) for c in chunks], type=pa.string())
        col = dictionary_encode(both)
        lc, rc = col.codes[:P], col.codes[P:]
        rows = np.flatnonzero((lc >= 0) & (rc >= 0))
        if not len(rows):
            continue
        d = max(1, len(col.dictionary))
        key, back = np.unique(lc[rows] * d + rc[rows], return_inverse=True)
        xs, ys = col.dictionary.take(key // d), col.dictionary.take(key % d)
        sims = np.array([value_similarity(x, y) for x, y in zip(xs, ys)], dtype=np.float64)
        out[rows, j] = sims[back]
    return out
