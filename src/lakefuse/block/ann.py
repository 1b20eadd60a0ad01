"""Approximate-nearest-neighbour blocking on tuple embeddings (faiss), and a hybrid blocker
that unions it with token blocking.

A tuple's embedding is the distinctiveness-weighted mean of its non-null values'
embeddings (each distinct value embedded once, cached on disk), so identifying attributes
dominate and a null simply drops out. Exact inner-product search up to ``exact_below``
tuples, HNSW above (sub-quadratic)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from lakefuse.config import Settings
from lakefuse.types import CandidatePairs, UnionTable


def attribute_weights(union: UnionTable) -> np.ndarray:
    from lakefuse.judge.features import AttributeStats

    return np.maximum(AttributeStats.of(union).distinctiveness, 0.05)


def tuple_embeddings(
    union: UnionTable, encoder: str = "minilm-onnx", weights: np.ndarray | None = None
) -> np.ndarray:
    """(n_tuples, dim) float32, rows L2-normalised (zero for an all-null tuple)."""
    from lakefuse.encode import Embedder

    values = union.values()
    w = attribute_weights(union) if weights is None else weights
    emb = Embedder(encoder)
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
    x: np.ndarray, k: int, exact_below: int = 20_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours of each row (itself excluded): (ids, similarities), -1 = none."""
    import faiss

    faiss.omp_set_num_threads(2)
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
    index.add(x)
    sims, ids = index.search(x, k + 1)
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_sims = np.zeros((n, k), dtype=np.float32)
    for i in range(n):
        keep = ids[i] != i
        row, srow = ids[i][keep][:k], sims[i][keep][:k]
        out_ids[i, : len(row)] = row
        out_sims[i, : len(row)] = srow
    return out_ids, out_sims


def _pairs(ids: np.ndarray, sims: np.ndarray) -> pa.Table:
    n, k = ids.shape
    l = np.repeat(np.arange(n, dtype=np.int64), k)
    r = ids.reshape(-1)
    s = sims.reshape(-1).astype(np.float64)
    ok = r >= 0
    l, r, s = l[ok], r[ok], s[ok]
    lo, hi = np.minimum(l, r), np.maximum(l, r)
    return _dedupe(lo, hi, s)


def _dedupe(l: np.ndarray, r: np.ndarray, s: np.ndarray) -> pa.Table:
    order = np.lexsort((-s, r, l))
    l, r, s = l[order], r[order], s[order]
    first = np.ones(len(l), dtype=bool)
    first[1:] = (l[1:] != l[:-1]) | (r[1:] != r[:-1])
    return pa.table(
        {
            "l": pa.array(l[first], type=pa.int64()),
            "r": pa.array(r[first], type=pa.int64()),
            "block_score": pa.array(s[first], type=pa.float64()),
        }
    )


class ANNBlocker:
    """Each tuple's ``k`` nearest tuples by embedding (default: a third of the budget)."""

    name = "ann"

    def __init__(self, k: int | None = None, encoder: str = "minilm-onnx") -> None:
        self.k = k
        self.encoder = encoder

    def _k(self, settings: Settings) -> int:
        return self.k if self.k is not None else max(1, settings.max_candidates_per_tuple // 3)

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs:
        x = tuple_embeddings(union, self.encoder)
        ids, sims = knn(x, self._k(settings), seed=settings.seed)
        return CandidatePairs(_pairs(ids, sims), self.name)


class HybridBlocker(ANNBlocker):
    """ANN neighbours ∪ token blocking (rare shared words), within the per-tuple budget:
    ``k`` embedding neighbours and ``token_share`` of the budget for token partners."""

    name = "hybrid"

    def __init__(
        self, k: int | None = None, encoder: str = "minilm-onnx", token_share: float = 0.25
    ) -> None:
        super().__init__(k, encoder)
        self.token_share = token_share

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs:
        from lakefuse.block.token import TokenBlocker

        budget = settings.max_candidates_per_tuple
        ann = super().candidates(union, settings).table
        per = max(1, int(math.floor(budget * self.token_share)))
        tok = TokenBlocker().candidates(union, settings.replace(max_candidates_per_tuple=2 * per))
        t = tok.table
        # token scores are summed IDFs: squash onto (0, 1) so both lists share a scale
        ts = t.column("block_score").to_numpy().astype(np.float64)
        ts = ts / (ts + 10.0)
        l = np.concatenate([ann.column("l").to_numpy(), t.column("l").to_numpy()])
        r = np.concatenate([ann.column("r").to_numpy(), t.column("r").to_numpy()])
        s = np.concatenate([ann.column("block_score").to_numpy(), ts])
        return CandidatePairs(_dedupe(l.astype(np.int64), r.astype(np.int64), s), self.name)
