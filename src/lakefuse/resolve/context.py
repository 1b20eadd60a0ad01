"""Context evidence: does the rest of the table agree with a candidate value?

For a conflicted attribute ``a`` and a candidate ``v``, the rows outside every conflict on ``a``
that carry ``v`` are looked up; for each attribute ``b`` that the merged tuple knows, the share
of those rows whose ``b`` equals the merged tuple's ``b`` is compared with the share in the whole
column (smoothed).  The log-ratios, weighted by the mutual information of ``a`` and ``b``, are
summed: a candidate that the table pairs with other values (``"Bank of America Stadium"`` is in
Charlotte, the merged tuple is in Santa Clara) loses; one the table pairs with the same values
gains; one the table has never seen elsewhere is neutral.

Mutual information, adjusted for chance, is about 0 for an attribute whose values are nearly
all distinct (a paper's title in the papers table), yet such an attribute says the most: a
title that occurs elsewhere with another venue and year belongs to another paper.  So an
attribute ``b`` is also consulted, with weight ``s``, when among the rows outside the
conflicts that carry both, a share ``s >= key_share`` of ``a``'s values are distinct (``a``
is nearly a key there).  This is the symbolic counterpart of
ICLCR's demonstrations, cheap enough to run on every conflict: ``typo_vote`` breaks equal
support with it, ``truth`` adds it to its scores (``context_weight``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa

from lakefuse.resolve.demos import attribute_weights
from lakefuse.text.normalize import key
from lakefuse.text.rows import ArrowStrings, Lookup, dictionary_codes
from lakefuse.types import ConflictProblem, ResolveContext, UnionTable

#: :func:`key` remembered: the same known values and candidates recur across conflicts
_key = lru_cache(maxsize=1 << 18)(key)


class KeyCodes:
    """Per attribute, the :func:`key` of each tuple's value as an int code (-1 = null):
    :func:`key` runs once per distinct value, the rest is numpy."""

    def __init__(self, union: UnionTable) -> None:
        self.union = union
        self._cache: dict[str, tuple[np.ndarray, Lookup]] = {}

    def __call__(self, attribute: str) -> tuple[np.ndarray, Lookup]:
        """(code per tid, key -> code): keys coded in order of first appearance, held by
        Arrow."""
        if attribute not in self._cache:
            codes, dictionary = self.union.codes(attribute)
            kmap, keys = dictionary_codes(ArrowStrings(dictionary).mapped(key, pa.string()))
            per_tid = np.append(kmap, -1)[codes]  # code -1 (null) reads -1
            self._cache[attribute] = (per_tid, Lookup(keys, np.arange(len(keys))))
        return self._cache[attribute]


class _PairTable:
    """The counts of :meth:`ContextEvidence._tables` for one (a, b), as arrays: rows outside
    the conflicts on ``a`` carrying both (:meth:`pair_count` per pair of keys; ``with_b``:
    per key of ``a``), and the column ``b`` (``col_b``, ``n_b``)."""

    def __init__(
        self, ka: np.ndarray, kb: np.ndarray, excluded: np.ndarray, n_ka: int, n_kb: int
    ) -> None:
        has_b = kb >= 0
        self.col_b = np.bincount(kb[has_b], minlength=n_kb)
        self.n_b = int(np.count_nonzero(has_b))
        m = has_b & (ka >= 0) & ~excluded
        self.width = max(n_kb, 1)
        self.with_b = np.bincount(ka[m], minlength=n_ka)
        # the (a, b) pair counts are sorted out when first asked for: the weights read
        # ``with_b`` of every b, the evidence pair counts of the few b it keeps
        self._rows = (ka, kb, m)
        self._pairs: tuple[np.ndarray, np.ndarray] | None = None

    def pair_count(self, ka: int, kb: int) -> int:
        if self._pairs is None:
            a, b, m = self._rows
            self._pairs = np.unique(a[m] * self.width + b[m], return_counts=True)
        pair, pair_n = self._pairs
        k = ka * self.width + kb
        i = int(np.searchsorted(pair, k))
        return int(pair_n[i]) if i < len(pair) and pair[i] == k else 0


class ContextEvidence:
    def __init__(
        self,
        context: ResolveContext,
        problems: Sequence[ConflictProblem],
        min_weight: float = 0.1,
        alpha: float = 1.0,
        key_share: float | None = None,
    ) -> None:
        self.union = context.union
        self.attributes = list(context.union.attributes)
        self.seed = context.seed
        self.min_weight = min_weight
        self.alpha = alpha
        self.key_share = key_share
        self.keys = KeyCodes(context.union)
        n = context.union.n_tuples
        # per attribute, the tuples in a conflict on it (gathered, then set at once)
        cells: dict[str, list[int]] = {}
        for p in problems:
            tids = cells.setdefault(p.attribute, [])
            for c in p.candidates:
                tids.extend(c.tids)
        self._excluded: dict[str, np.ndarray] = {}
        for a, tids in cells.items():
            ex = self._excluded[a] = np.zeros(n, dtype=bool)
            ex[np.array(tids, dtype=np.int64)] = True
        self._weights: dict[str, dict[str, float]] = {}
        self._pairs: dict[tuple[str, str], _PairTable] = {}

    def weights(self, a: str) -> dict[str, float]:
        if a not in self._weights:
            w = attribute_weights(self.union, a, self.attributes, self.seed)
            kept = {b: x for b, x in w.items() if x >= self.min_weight}
            if self.key_share is not None:
                for b in w:
                    s = self.distinct_share(a, b)
                    if s >= self.key_share:
                        kept[b] = max(kept.get(b, 0.0), s)
            self._weights[a] = kept
        return self._weights[a]

    def distinct_share(self, a: str, b: str, min_rows: int = 20) -> float:
        """Distinct values of ``a`` per row, over the rows outside the conflicts on ``a``
        that carry ``a`` and ``b`` (0 below ``min_rows`` such rows): read off the counts of
        :meth:`_tables`, which the evidence uses anyway."""
        with_b = self._tables(a, b).with_b
        n = int(with_b.sum())
        return int(np.count_nonzero(with_b)) / n if n >= min_rows else 0.0

    def _tables(self, a: str, b: str) -> _PairTable:
        if (a, b) not in self._pairs:
            ka, index_a = self.keys(a)
            kb, index_b = self.keys(b)
            excluded = self._excluded.get(a)
            if excluded is None:
                excluded = np.zeros(len(ka), dtype=bool)
            self._pairs[(a, b)] = _PairTable(ka, kb, excluded, len(index_a), len(index_b))
        return self._pairs[(a, b)]

    def score(self, problem: ConflictProblem, indexes: Sequence[int]) -> float:
        """Summed weighted log-ratio for a group of candidate values (pooled variants)."""
        a = problem.attribute
        index_a = self.keys(a)[1]
        keys = {_key(problem.candidates[i].value) for i in indexes}
        codes_a = [index_a[k] for k in keys if k in index_a]
        total = 0.0
        for b, w in self.weights(a).items():
            known = problem.known.get(b)
            if known is None:
                continue
            t = self._tables(a, b)
            kb = self.keys(b)[1].get(_key(known), -1)
            base = ((int(t.col_b[kb]) if kb >= 0 else 0) + 1) / (t.n_b + 1)
            agree = sum(t.pair_count(ka, kb) for ka in codes_a) if kb >= 0 else 0
            n = sum(int(t.with_b[ka]) for ka in codes_a)
            if n == 0:
                continue
            p = (agree + self.alpha * base) / (n + self.alpha)
            total += w * math.log(p / base)
        return total
