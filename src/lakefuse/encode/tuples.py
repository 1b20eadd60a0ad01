"""Tuples as the judges and blockers see them: their evidence values
(:func:`judged_values`), attribute weights (:class:`AttributeStats`), one embedding per tuple
(:func:`tuple_embeddings`) and nearest neighbours among embeddings (:func:`knn`, faiss).

A tuple's embedding is the distinctiveness-weighted mean of its non-null values'
embeddings (each distinct value embedded once, cached on disk), so identifying attributes
dominate and a null simply drops out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lakefuse.text.normalize import normalize
from lakefuse.threads import thread_count
from lakefuse.types import UnionTable


def judged_values(union: UnionTable) -> dict[str, list[str | None]]:
    """``union.values()`` with the attributes that are no evidence (per-table surrogate ids)
    blanked out: attribute -> values by tid."""
    values = union.values()
    evidence = set(getattr(union, "evidence_attributes", union.attributes))
    blank: list[str | None] = [None] * union.n_tuples
    return {a: (values[a] if a in evidence else blank) for a in union.attributes}


@dataclass
class AttributeStats:
    """Per-attribute statistics from the union (no labels)."""

    attributes: list[str]
    distinctiveness: np.ndarray  # distinct non-null values / non-null cells, in (0, 1]
    coverage: np.ndarray  # non-null share

    @classmethod
    def of(cls, union: UnionTable) -> AttributeStats:
        values = union.values()
        dist, cov = [], []
        for a in union.attributes:
            col = [normalize(v) for v in values[a] if v is not None]
            cov.append(len(col) / max(1, union.n_tuples))
            dist.append(len(set(col)) / len(col) if col else 0.0)
        return cls(list(union.attributes), np.array(dist), np.array(cov))


def attribute_weights(union: UnionTable) -> np.ndarray:
    return np.maximum(AttributeStats.of(union).distinctiveness, 0.05)


def tuple_embeddings(
    union: UnionTable,
    encoder: str = "minilm-onnx",
    weights: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """(n_tuples, dim) float32, rows L2-normalised (zero for an all-null tuple)."""
    from lakefuse.encode import Embedder

    values = judged_values(union)
    w = attribute_weights(union) if weights is None else weights
    emb = Embedder(encoder, threads=threads)
    out: np.ndarray | None = None
    for j, a in enumerate(union.attributes):
        col = values[a]
        idx = [i for i, v in enumerate(col) if v is not None]
        if not idx:
            continue
        vecs = emb.embed([col[i] for i in idx])
        if out is None:
            out = np.zeros((union.n_tuples, vecs.shape[1]), dtype=np.float32)
        out[idx] += w[j] * vecs
    if out is None:
        out = np.zeros((union.n_tuples, emb.dim), dtype=np.float32)
    n = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(n, 1e-12)


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
