"""On-demand judging in batches: the small components a set finder completes (every pair
judged) are known before it starts, so their pairs go to the judge many components at a time
instead of one call per component, which is where the judge's fixed cost per call would add up
(tens of thousands of components at a million tuples).

:class:`PrefetchingScorer` wraps the graph's scorer. Called with all pairs of the next queued
component (``judge_all_pairs`` order: ``itertools.combinations`` of its sorted tids), it answers
from a batch it judged ahead, covering the following components up to ``batch_pairs`` pairs;
any other call goes to the judge as before. The default set finder prefetches the Leiden
communities of a large component and its re-arbitrated groups the same way, once it knows
them (a prefetching scorer around this one). Memory is bounded by one batch. A judge scores
each pair on its own, so the decisions are those of one call per component."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from lakefuse.arrays import unique_sorted
from lakefuse.types import IntegrabilityGraph, PairScorer, ScoredPairs

#: pairs judged per batch (about the pipeline's scoring batch)
BATCH_PAIRS = 20_000


def all_pairs(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of ``nodes`` in ``itertools.combinations`` order."""
    la, lb = np.triu_indices(len(nodes), 1)
    return nodes[la], nodes[lb]


class PrefetchingScorer:
    def __init__(
        self, scorer: PairScorer, queue: Iterable[np.ndarray], batch_pairs: int = BATCH_PAIRS
    ) -> None:
        self.scorer = scorer
        self.queue = [np.asarray(q, dtype=np.int64) for q in queue]
        self.batch_pairs = batch_pairs
        self.next = 0
        self.ready: dict[bytes, tuple[np.ndarray, np.ndarray, pa.Table]] = {}
        self.judge, self.threshold = "", 0.5
        self.calls = 0

    def _fill(self) -> None:
        """Judge the next queued components, up to ``batch_pairs`` pairs (at least one)."""
        ls: list[np.ndarray] = []
        rs: list[np.ndarray] = []
        keys: list[bytes] = []
        total = 0
        while self.next < len(self.queue) and (not keys or total < self.batch_pairs):
            nodes = self.queue[self.next]
            self.next += 1
            l, r = all_pairs(nodes)
            ls.append(l)
            rs.append(r)
            keys.append(nodes.tobytes())
            total += len(l)
        if not keys:
            return
        scored = self.scorer(np.concatenate(ls), np.concatenate(rs))
        self.calls += 1
        self.judge, self.threshold = scored.judge, scored.threshold
        off = 0
        for key, l, r in zip(keys, ls, rs):
            self.ready[key] = (l, r, scored.table.slice(off, len(l)))
            off += len(l)

    def __call__(self, left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        key = unique_sorted(np.concatenate((left, right))).tobytes()
        queued = self.next < len(self.queue) and key == self.queue[self.next].tobytes()
        if key not in self.ready and queued:
            self._fill()
        hit = self.ready.pop(key, None)
        if hit is not None and np.array_equal(hit[0], left) and np.array_equal(hit[1], right):
            return ScoredPairs(hit[2], self.judge, self.threshold)
        self.calls += 1
        return self.scorer(left, right)


def with_prefetch(
    graph: IntegrabilityGraph, queue: list[np.ndarray], batch_pairs: int = BATCH_PAIRS
) -> IntegrabilityGraph:
    """``graph`` whose scorer judges the components of ``queue`` (sorted tids each, in the
    order they will be completed) in batches."""
    if graph.score_pairs is None or not queue:
        return graph
    return IntegrabilityGraph(
        graph.n_nodes,
        graph.edges,
        graph.incompatible,
        score_pairs=PrefetchingScorer(graph.score_pairs, queue, batch_pairs),
        component=graph.component,
        keys=graph.keys,
    )
