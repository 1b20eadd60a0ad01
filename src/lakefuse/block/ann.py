"""Approximate-nearest-neighbour blocking on tuple embeddings (faiss), and a hybrid blocker
that unions it with token blocking.

Tuple embeddings and the neighbour search are :mod:`lakefuse.encode.tuples`' (exact
inner-product search up to ``exact_below`` tuples, HNSW above: sub-quadratic). ``threads``
(blocker option; None = every available core, or ``$LAKEFUSE_THREADS``) bounds the faiss
and encoder threads."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from lakefuse.config import Settings
from lakefuse.encode.tuples import knn, tuple_embeddings
from lakefuse.text import rows as text_rows
from lakefuse.text.rows import ArrowStrings, form_codes
from lakefuse.types import CandidatePairs, UnionTable

__all__ = ["ANNBlocker", "HybridBlocker", "knn", "tuple_embeddings", "value_candidates"]


def value_candidates(
    union: UnionTable,
    encoder: str = "auto",
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

    n = union.n_tuples
    cap = max_group if max_group is not None else int(max(50, min(2000, 4 * math.sqrt(n))))
    emb = Embedder(encoder, threads=threads)
    ls: list[np.ndarray] = []
    rs: list[np.ndarray] = []
    ss: list[np.ndarray] = []
    for a in union.evidence_attributes:
        raw, forms, members, starts = _value_groups(union, a)
        sizes_all = np.diff(starts)
        kept = np.flatnonzero(sizes_all <= cap)
        if not len(kept):
            continue
        sizes = sizes_all[kept].astype(np.float64)
        i_s, j_s = np.arange(len(kept)), np.arange(len(kept))
        sim_s = np.ones(len(kept))
        if len(kept) >= 2:
            vec = _group_vectors(raw, forms, kept, emb)
            ids, sims = knn(vec, k_values, threads=threads)
            i_s, j_s, sim_s = _links(ids, sims, min_sim)
        for i, j, sim in zip(i_s.tolist(), j_s.tolist(), sim_s.tolist()):
            gi = members[starts[kept[i]] : starts[kept[i] + 1]]
            gj = members[starts[kept[j]] : starts[kept[j] + 1]]
            if len(gi) * len(gj) > cap * 4 and i != j:
                continue
            weight = sim * math.log(1.0 + n / (sizes[i] + sizes[j]))
            if i == j:
                if len(gi) < 2:
                    continue
                x, y = np.triu_indices(len(gi), 1)
                l, r = gi[x], gi[y]
            else:
                l = np.repeat(gi, len(gj))
                r = np.tile(gj, len(gi))
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


def _group_vectors(
    raw: ArrowStrings, forms: ArrowStrings, kept: np.ndarray, emb: Any
) -> np.ndarray:
    """The groups ``kept``'s vectors: hashed q-grams of the normalised value beside the
    encoder's embedding of the raw one, each half weighted sqrt(1/2); a batch at a time."""
    from lakefuse.encode.qgram import qgram_vectors

    out: np.ndarray | None = None
    for s in range(0, len(kept), text_rows.BATCH):
        ids = kept[s : s + text_rows.BATCH]
        part = np.hstack([qgram_vectors(forms.take(ids)), emb.embed(raw.take(ids))])
        if out is None:
            out = np.zeros((len(kept), part.shape[1]), dtype=np.float32)
        out[s : s + len(ids)] = part * np.float32(math.sqrt(0.5))
    assert out is not None
    return out


def _value_groups(
    union: UnionTable, attribute: str
) -> tuple[ArrowStrings, ArrowStrings, np.ndarray, np.ndarray]:
    """The tuples of ``attribute`` grouped by normalised value, groups in the order of their
    first tuple: per group its first raw value and its normalised value (Arrow-held), and
    the members (tids, ascending) as ``members[starts[g]:starts[g + 1]]``. Each distinct
    value is normalised once; tuples are grouped by their codes (no Python list of the
    column)."""
    codes, dictionary = union.codes(attribute)
    values = ArrowStrings(dictionary)
    # the dictionary is in the order of first tid, so forms are too
    form_of, forms = form_codes(values)
    _, first = np.unique(form_of, return_index=True)  # each form's first raw value
    first = first[form_of[first] >= 0]
    raw = ArrowStrings(dictionary.take(pa.array(first.astype(np.int64))))
    form = np.append(form_of, -1)[codes]  # code -1 (null) reads -1
    tids = np.flatnonzero(form >= 0)
    members = tids[np.argsort(form[tids], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(np.bincount(form[tids], minlength=len(forms)))])
    return raw, ArrowStrings(forms), members, starts


def _links(
    ids: np.ndarray, sims: np.ndarray, min_sim: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group with itself (weight 1), then the neighbour links at ``min_sim`` or above,
    each once (``i < j``), in the order of the neighbour lists."""
    m, k = ids.shape
    i = np.repeat(np.arange(m), k)
    j = ids.reshape(-1)
    sim = sims.reshape(-1).astype(np.float64)
    near = sim >= min_sim
    up = near & (j > i)
    # j < i: kept only when i is not among j's own neighbours (else j's list gave it)
    down = near & (j >= 0) & (j < i)
    down[down] = ~(ids[j[down]] == i[down, None]).any(axis=1)
    take = up | down
    lo = np.where(up, i, j)[take]
    hi = np.where(up, j, i)[take]
    self_ = np.arange(m)
    return (
        np.concatenate([self_, lo]),
        np.concatenate([self_, hi]),
        np.concatenate([np.ones(m), sim[take]]),
    )


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
        self, k: int | None = None, encoder: str = "auto", threads: int | None = None
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
        encoder: str = "auto",
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
