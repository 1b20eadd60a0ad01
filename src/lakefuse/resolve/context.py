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
from collections import Counter
from collections.abc import Sequence

from lakefuse.resolve.demos import attribute_weights
from lakefuse.text.normalize import key
from lakefuse.types import ConflictProblem, ResolveContext


class ContextEvidence:
    def __init__(
        self,
        context: ResolveContext,
        problems: Sequence[ConflictProblem],
        min_weight: float = 0.1,
        alpha: float = 1.0,
        key_share: float | None = None,
    ) -> None:
        self.values = context.union.values()
        self.attributes = list(context.union.attributes)
        self.seed = context.seed
        self.min_weight = min_weight
        self.alpha = alpha
        self.key_share = key_share
        self._excluded: dict[str, set[int]] = {}
        for p in problems:
            ex = self._excluded.setdefault(p.attribute, set())
            for c in p.candidates:
                ex.update(c.tids)
        self._weights: dict[str, dict[str, float]] = {}
        self._pairs: dict[tuple[str, str], tuple[Counter, Counter, Counter, int]] = {}

    def weights(self, a: str) -> dict[str, float]:
        if a not in self._weights:
            w = attribute_weights(self.values, a, self.attributes, self.seed)
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
        with_b = self._tables(a, b)[1]
        n = sum(with_b.values())
        return len(with_b) / n if n >= min_rows else 0.0

    def _tables(self, a: str, b: str) -> tuple[Counter, Counter, Counter, int]:
        if (a, b) not in self._pairs:
            excluded = self._excluded.get(a, set())
            pair: Counter = Counter()
            with_b: Counter = Counter()
            col_b: Counter = Counter()
            n_b = 0
            for t, (va, vb) in enumerate(zip(self.values[a], self.values[b])):
                if vb is None:
                    continue
                kb = key(vb)
                col_b[kb] += 1
                n_b += 1
                if va is None or t in excluded:
                    continue
                ka = key(va)
                pair[(ka, kb)] += 1
                with_b[ka] += 1
            self._pairs[(a, b)] = (pair, with_b, col_b, n_b)
        return self._pairs[(a, b)]

    def score(self, problem: ConflictProblem, indexes: Sequence[int]) -> float:
        """Summed weighted log-ratio for a group of candidate values (pooled variants)."""
        a = problem.attribute
        keys = {key(problem.candidates[i].value) for i in indexes}
        total = 0.0
        for b, w in self.weights(a).items():
            known = problem.known.get(b)
            if known is None:
                continue
            pair, with_b, col_b, n_b = self._tables(a, b)
            kb = key(known)
            base = (col_b[kb] + 1) / (n_b + 1)
            agree = sum(pair[(ka, kb)] for ka in keys)
            n = sum(with_b[ka] for ka in keys)
            if n == 0:
                continue
            p = (agree + self.alpha * base) / (n + self.alpha)
            total += w * math.log(p / base)
        return total
