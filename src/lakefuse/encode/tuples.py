"""Tuples as the judges and blockers see them: their evidence columns dictionary-encoded
(:func:`union_columns`), attribute weights (:class:`AttributeStats`), one embedding per tuple
(:func:`tuple_embeddings`) and nearest neighbours among embeddings (:func:`knn`, faiss).

A tuple's embedding is the distinctiveness-weighted mean of its non-null values'
embeddings (each distinct value embedded once, cached on disk), so identifying attributes
dominate and a null simply drops out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakefuse.arrays import unique_sorted
from lakefuse.text.normalize import normalize
from lakefuse.text.rows import ArrowStrings, dictionary_codes
from lakefuse.threads import thread_count
from lakefuse.types import TID, UnionTable

#: rows of the table a step works on at a time (bounds its temporaries; small enough that
#: they stay in the cache: the tuple embeddings of 200k generated people took 5.0 s in
#: slices of 65,536 rows, 3.0 s in slices of 4,096, 3.8 s in slices of 1,024)
ROWS_AT_ONCE = 4_096


@dataclass(frozen=True)
class Column:
    """One column of the union by tid, dictionary-encoded: ``codes[t]`` is the position of
    tuple ``t``'s value in ``dictionary`` (-1 = null); distinct values in order of first
    appearance, held by Arrow (read a batch at a time, never as a list of every value)."""

    codes: np.ndarray  # (n_tuples,) int64
    dictionary: ArrowStrings

    def decoded(self) -> list[str | None]:
        """The values as a Python list (for tests and small tables only)."""
        return [self.dictionary[c] if c >= 0 else None for c in self.codes.tolist()]


def dictionary_encode(column: pa.ChunkedArray | pa.Array) -> Column:
    """:class:`Column` of an Arrow string column (Arrow's dictionary encoding; no Python
    list of the values)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    codes, dictionary = dictionary_codes(arr)
    return Column(codes, ArrowStrings(dictionary))


def _encoded(union: UnionTable, name: str) -> Column:
    """Column ``name`` of the union dictionary-encoded: ``UnionTable.codes`` where the union
    offers it (shared with the other stages), else Arrow's encoding of the column sorted by
    tid."""
    if hasattr(union, "codes"):
        codes, dictionary = union.codes(name)
        return Column(np.asarray(codes, dtype=np.int64), ArrowStrings(dictionary))
    t = union.to_arrow().sort_by(TID)
    return dictionary_encode(t.column(name))


def union_columns(union: UnionTable, names: list[str] | None = None) -> dict[str, Column]:
    """The union's columns ``names`` (default: its attributes) dictionary-encoded, by tid;
    attributes that are no evidence (per-table surrogate ids) come back all null. Cached on
    the union."""
    names = list(union.attributes) if names is None else names
    cache: dict[str, Column] = union.__dict__.setdefault("_lakefuse_columns", {})
    evidence = set(getattr(union, "evidence_attributes", union.attributes))
    for a in names:
        if a not in cache:
            if a in union.attributes and a not in evidence:
                cache[a] = Column(
                    np.full(union.n_tuples, -1, dtype=np.int64),
                    ArrowStrings(pa.array([], pa.string())),
                )
            else:
                cache[a] = _raw_columns(union, [a])[a]
    return {a: cache[a] for a in names}


@dataclass
class AttributeStats:
    """Per-attribute statistics from the union (no labels)."""

    attributes: list[str]
    distinctiveness: np.ndarray  # distinct non-null values / non-null cells, in (0, 1]
    coverage: np.ndarray  # non-null share

    @classmethod
    def of(cls, union: UnionTable) -> AttributeStats:
        """Over the raw values (surrogate ids included), each distinct value normalised
        once."""
        dist, cov = [], []
        raw = _raw_columns(union)
        for a in union.attributes:
            col = raw[a]
            nonnull = int((col.codes >= 0).sum())
            forms = pc.count_distinct(col.dictionary.mapped(normalize, pa.string())).as_py()
            cov.append(nonnull / max(1, union.n_tuples))
            dist.append(forms / nonnull if nonnull else 0.0)
        return cls(list(union.attributes), np.array(dist), np.array(cov))


def _raw_columns(union: UnionTable, names: list[str] | None = None) -> dict[str, Column]:
    """Columns dictionary-encoded, surrogate ids included (cached on the union)."""
    names = list(union.attributes) if names is None else names
    cache: dict[str, Column] = union.__dict__.setdefault("_lakefuse_raw_columns", {})
    for a in names:
        if a not in cache:
            cache[a] = _encoded(union, a)
    return {a: cache[a] for a in names}


def attribute_weights(union: UnionTable) -> np.ndarray:
    return np.maximum(AttributeStats.of(union).distinctiveness, 0.05)


def _value_vectors(union: UnionTable, embedder: Any) -> Iterator[tuple[int, Column, np.ndarray]]:
    """Per attribute that holds a value: its index, its column and the embeddings of its
    distinct values (each embedded once, into ``embedder``'s memory and cache), attribute by
    attribute: the one order and batching both :func:`embed_values` and
    :func:`tuple_embeddings` embed in."""
    columns = union_columns(union)
    for j, a in enumerate(union.attributes):
        col = columns[a]
        if (col.codes >= 0).any():
            yield j, col, embedder.embed_all(col.dictionary)


def embed_values(union: UnionTable, embedder: Any) -> None:
    """Every distinct value of the union embedded into ``embedder`` (its memory and cache),
    in the batches :func:`tuple_embeddings` uses: an encoder whose vectors depend a little
    on their batch (MiniLM in bfloat16) gives each value the vector a judge trained on this
    union saw, whichever thread later asks for it."""
    for _ in _value_vectors(union, embedder):
        pass


def tuple_embeddings(
    union: UnionTable,
    encoder: str = "auto",
    weights: np.ndarray | None = None,
    threads: int | None = None,
    embedder: Any = None,
) -> np.ndarray:
    """(n_tuples, dim) float32, rows L2-normalised (zero for an all-null tuple).
    ``embedder``: an :class:`~lakefuse.encode.Embedder` to use (and fill) instead of a new
    one, so that a caller that embeds the same values later (the judge) finds them in its
    memory rather than embedding them again."""
    from lakefuse.encode import Embedder

    w = attribute_weights(union) if weights is None else weights
    emb = embedder if embedder is not None else Embedder(encoder, threads=threads)
    out: np.ndarray | None = None
    for j, col, vecs in _value_vectors(union, emb):
        idx = np.flatnonzero(col.codes >= 0)
        if out is None:
            out = np.zeros((union.n_tuples, vecs.shape[1]), dtype=np.float32)
        # in slices of rows: no temporary the size of the table
        for s in range(0, len(idx), ROWS_AT_ONCE):
            part = idx[s : s + ROWS_AT_ONCE]
            out[part] += w[j] * vecs[col.codes[part]]
    if out is None:
        out = np.zeros((union.n_tuples, emb.dim), dtype=np.float32)
    for s in range(0, len(out), ROWS_AT_ONCE):
        part = out[s : s + ROWS_AT_ONCE]
        part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
    return out


def knn(
    x: np.ndarray,
    k: int,
    exact_below: int = 20_000,
    seed: int = 0,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of each row (itself excluded): (ids, similarities), -1 = none.
    Exact inner-product search up to ``exact_below`` rows, HNSW above (sub-quadratic). The
    search runs on ``threads`` OpenMP threads (None: :func:`~lakefuse.threads.
    thread_count`); an HNSW graph is built on one, since parallel insertion makes the graph,
    and so the neighbours, differ from run to run."""
    import faiss

    n, d = x.shape
    k = max(0, min(k, n - 1))
    if k == 0:
        return np.full((n, 0), -1, np.int64), np.zeros((n, 0), np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if n < exact_below:
        index = faiss.IndexFlatIP(d)
    else:
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = max(64, 2 * k)
    faiss.omp_set_num_threads(1)
    index.add(x)
    faiss.omp_set_num_threads(thread_count(threads))
    sims, ids = index.search(x, k + 1)
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_sims = np.zeros((n, k), dtype=np.float32)
    for i in range(n):
        keep = ids[i] != i
        row, srow = ids[i][keep][:k], sims[i][keep][:k]
        out_ids[i, : len(row)] = row
        out_sims[i, : len(row)] = srow
    return out_ids, out_sims


def knn_of(
    x: np.ndarray, rows: np.ndarray, k: int, threads: int | None = None, batch: int = 4096
) -> np.ndarray:
    """(len(x), k) ids of the k nearest neighbours (inner product, exact) of the rows
    ``rows`` of ``x`` among all rows (itself excluded); -1 for every other row and where
    there are fewer. Cost grows with ``len(rows) * len(x)``: for a bounded sample of rows
    (training anchors), linear in the table."""
    import faiss

    n, d = x.shape
    k = max(0, min(k, n - 1))
    out = np.full((n, k), -1, dtype=np.int64)
    rows = unique_sorted(np.asarray(rows, dtype=np.int64))
    if k == 0 or len(rows) == 0:
        return out
    x = np.ascontiguousarray(x, dtype=np.float32)
    faiss.omp_set_num_threads(thread_count(threads))
    for s in range(0, len(rows), batch):
        q = rows[s : s + batch]
        # faiss's brute-force search over x itself (an index would copy the table; the
        # search is the one IndexFlatIP runs, so the neighbours are the same)
        _, ids = faiss.knn(x[q], x, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
        keep = ids != q[:, None]
        # drop the row itself (or the last one when it is not among its k + 1 nearest)
        drop_last = keep.all(axis=1)
        keep[drop_last, -1] = False
        out[q] = ids[keep].reshape(len(q), k)
    return out
