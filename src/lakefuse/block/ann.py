"""Approximate-nearest-neighbour blocking on tuple embeddings (faiss), and a hybrid blocker
that unions it with token blocking.

Tuple embeddings and the neighbour search are :mod:`lakefuse.encode.tuples`' (exact
inner-product search up to ``exact_below`` tuples, HNSW above: sub-quadratic). ``threads``
(blocker option; None = every available core, or ``$LAKEFUSE_THREADS``) bounds the faiss
and encoder threads."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from lakefuse.config import Settings
from lakefuse.encode.tuples import judged_values, knn, tuple_embeddings
from lakefuse.text.normalize import normalize
from lakefuse.types import CandidatePairs, UnionTable

__all__ = ["ANNBlocker", "HybridBlocker", "knn", "tuple_embeddings", "value_candidates"]


def value_candidates(
    union: UnionTable,
    encoder: str = "minilm-onnx",
    k_values: int = 5,
    per_tuple: int = 10,
    min_sim: float = 0.5,
    max_group: int | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Attribute by attribute: tuples whose values are equal, or near each other (hashed
    q-grams and the encoder's embedding, ``k_values`` nearest distinct values), weighted by
    how rare the values are; summed over attributes; each tuple keeps its ``per_tuple``
    best partners."""
    from lakefuse.encode import Embedder
    from lakefuse.encode.qgram import qgram_vectors

    values = judged_values(union)
    n = union.n_tuples
    cap = max_group if max_group is not None else int(max(50, min(2000, 4 * math.sqrt(n))))
    emb = Embedder(encoder, threads=threads)
    ls: list[np.ndarray] = []
    rs: list[np.ndarray] = []
    ss: list[np.ndarray] = []
    for a in union.attributes:
        col = values[a]
        groups: dict[str, list[int]] = {}
        raw: dict[str, str] = {}
        for t, v in enumerate(col):
            if v is not None:
                key = normalize(v)
                if key:
                    groups.setdefault(key, []).append(t)
                    raw.setdefault(key, v)
        keys = [k for k, g in groups.items() if len(g) <= cap]
        if not keys:
            continue
        sizes = np.array([len(groups[k]) for k in keys], dtype=np.float64)
        links: list[tuple[int, int, float]] = [(i, i, 1.0) for i in range(len(keys))]
        if len(keys) >= 2:
            sem = emb.embed([raw[k] for k in keys])
            vec = np.hstack([qgram_vectors(keys), sem]) * np.float32(math.sqrt(0.5))
            ids, sims = knn(vec, k_values, threads=threads)
            for i in range(len(keys)):
                for j, sim in zip(ids[i].tolist(), sims[i].tolist()):
                    if j > i and sim >= min_sim:
                        links.append((i, j, float(sim)))
                    elif 0 <= j < i and sim >= min_sim and i not in ids[j]:
                        links.append((j, i, float(sim)))
        for i, j, sim in links:
            gi, gj = groups[keys[i]], groups[keys[j]]
            if len(gi) * len(gj) > cap * 4 and i != j:
                continue
            weight = sim * math.log(1.0 + n / (sizes[i] + sizes[j]))
            if i == j:
                if len(gi) < 2:
                    continue
                g = np.array(gi, dtype=np.int64)
                x, y = np.triu_indices(len(g), 1)
                l, r = g[x], g[y]
            else:
                l = np.repeat(np.array(gi, dtype=np.int64), len(gj))
                r = np.tile(np.array(gj, dtype=np.int64), len(gi))
            ls.append(np.minimum(l, r))
            rs.append(np.maximum(l, r))
            ss.append(np.full(len(l), weight))
    if not ls:
        return _dedupe(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    l = np.concatenate(ls)
    r = np.concatenate(rs)
    s = np.concatenate(ss)
    keep = l != r
    l, r, s = l[keep], r[keep], s[keep]
    code = l * n + r
    uniq, inv = np.unique(code, return_inverse=True)
    total = np.bincount(inv, weights=s)
    l, r = uniq // n, uniq % n
    return _cap(l, r, total, per_tuple)


def _cap(l: np.ndarray, r: np.ndarray, s: np.ndarray, per_tuple: int) -> pa.Table:
    """Pairs within the ``per_tuple`` best of either side."""
    keep = np.zeros(len(l), dtype=bool)
    for side in (l, r):
        order = np.lexsort((-s, side))
        sorted_side = side[order]
        start = np.searchsorted(sorted_side, sorted_side, side="left")
        rank = np.arange(len(order)) - start
        keep[order[rank < per_tuple]] = True
    return _dedupe(l[keep], r[keep], s[keep])


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

    def __init__(
        self, k: int | None = None, encoder: str = "minilm-onnx", threads: int | None = None
    ) -> None:
        self.k = k
        self.encoder = encoder
        self.threads = threads

    def _k(self, settings: Settings) -> int:
        return self.k if self.k is not None else max(1, settings.max_candidates_per_tuple // 3)

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs:
        x = tuple_embeddings(union, self.encoder, threads=self.threads)
        ids, sims = knn(x, self._k(settings), seed=settings.seed, threads=self.threads)
        return CandidatePairs(_pairs(ids, sims), self.name)


class HybridBlocker(ANNBlocker):
    """The union of three candidate lists, within the per-tuple budget ``B``: ``k`` (B/5)
    embedding neighbours of the whole tuple, value neighbours attribute by attribute (equal
    or near values, B/5 partners per tuple) and token blocking (rare shared words, B/10)."""

    name = "hybrid"

    def __init__(
        self,
        k: int | None = None,
        encoder: str = "minilm-onnx",
        value_share: float = 0.2,
        token_share: float = 0.1,
        threads: int | None = None,
    ) -> None:
        super().__init__(k, encoder, threads)
        self.value_share = value_share
        self.token_share = token_share

    def _k(self, settings: Settings) -> int:
        return self.k if self.k is not None else max(1, settings.max_candidates_per_tuple // 5)

    def candidates(self, union: UnionTable, settings: Settings) -> CandidatePairs:
        from lakefuse.block.token import TokenBlocker

        budget = settings.max_candidates_per_tuple
        parts = [super().candidates(union, settings).table]
        per_value = max(1, int(budget * self.value_share))
        parts.append(
            value_candidates(union, self.encoder, per_tuple=per_value, threads=self.threads)
        )
        per = max(1, int(math.floor(budget * self.token_share)))
        tok = TokenBlocker(fill=False).candidates(
            union, settings.replace(max_candidates_per_tuple=2 * per)
        )
        parts.append(tok.table)
        scales = [1.0, None, None]
        ls, rs, ss = [], [], []
        for part, scale in zip(parts, scales):
            sc = part.column("block_score").to_numpy().astype(np.float64)
            if scale is None:  # summed weights: squash onto (0, 1) to share a scale
                sc = sc / (sc + 10.0)
            ls.append(part.column("l").to_numpy().astype(np.int64))
            rs.append(part.column("r").to_numpy().astype(np.int64))
            ss.append(sc)
        table = _dedupe(np.concatenate(ls), np.concatenate(rs), np.concatenate(ss))
        return CandidatePairs(table, self.name)
