"""Batched on-demand judging (lakefuse.sets.prefetch): the default set finder judges the small
components many at a time and finds the same sets as with one judge call per component."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from lakefuse.judged import judge_pairs
from lakefuse.pipeline import build_graph
from lakefuse.progress import Tracker
from lakefuse.sets.common import PerComponent
from lakefuse.sets.hybrid import Hybrid
from lakefuse.sets.prefetch import PrefetchingScorer, all_pairs
from lakefuse.types import IntegrabilityGraph, ScoredPairs

from .test_judged import stadium_judge


def stadium_graph() -> IntegrabilityGraph:
    union, cands, judge = stadium_judge()
    return build_graph(union, judge_pairs(judge, union, cands, Tracker(True)), judge)


def counted_stadium_graph() -> tuple[IntegrabilityGraph, list[int]]:
    """The stadium graph whose scorer records the pairs of each call it gets."""
    graph = stadium_graph()
    calls: list[int] = []
    inner = graph.score_pairs
    assert inner is not None

    def counted(left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        calls.append(len(left))
        return inner(left, right)

    graph.score_pairs = counted
    return graph, calls


def test_hybrid_judges_components_in_batches_with_the_same_sets() -> None:
    graph, calls = counted_stadium_graph()
    # (one_to_one off: the step after the set finder is not what batching is about)
    one_by_one = PerComponent.find(Hybrid(one_to_one=False), graph)  # without prefetching
    n_single = len(calls)
    calls.clear()
    batched = Hybrid(one_to_one=False).find(graph)
    assert batched.membership.equals(one_by_one.membership)
    assert batched.info == one_by_one.info
    assert 1 <= len(calls) < n_single  # stadiums: 23 components to complete


def test_prefetching_scorer_answers_queued_components_and_passes_others_through() -> None:
    seen: list[tuple[list[int], list[int]]] = []

    def judge(left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        import pyarrow as pa

        seen.append((left.tolist(), right.tolist()))
        score = (left + right) / 100.0
        t = pa.table({"l": left, "r": right, "score": score, "decision": score > 0.1})
        return ScoredPairs(t, "sum", 0.1)

    queue = [np.array([0, 1, 2]), np.array([3, 4]), np.array([5, 6, 7])]
    s = PrefetchingScorer(judge, queue, batch_pairs=4)
    first = s(*all_pairs(queue[0]))
    assert len(seen) == 1 and len(seen[0][0]) == 3 + 1  # components 0 and 1, one batch
    assert first.table["r"].to_pylist() == [1, 2, 2] and first.judge == "sum"
    assert s(*all_pairs(queue[1])).table["score"].to_pylist() == [0.07]
    assert len(seen) == 1
    other = s(np.array([0]), np.array([7]))  # not queued: straight to the judge
    assert other.table["score"].to_pylist() == [0.07] and len(seen) == 2
    assert s(*all_pairs(queue[2])).table.num_rows == 3 and len(seen) == 3


def test_hybrid_judges_leiden_communities_in_batches_with_the_same_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A component over ``clique_limit`` is cut into Leiden communities, each completed with
    its neighbours and the sets two communities share re-arbitrated: their pairs are judged
    in batches too, with the same sets as one judge call per community or group."""
    graph, calls = counted_stadium_graph()
    small = {"one_to_one": False, "clique_limit": 8}
    with monkeypatch.context() as m:  # one call per community and group, as before
        m.setattr(Hybrid, "_prefetching", lambda self, queue: contextlib.nullcontext())
        alone = PerComponent.find(Hybrid(**small), graph)
    n_alone = len(calls)
    calls.clear()
    batched = PerComponent.find(Hybrid(**small), graph)
    assert batched.info["leiden_components"] >= 1 and batched.info["rearbitrated"] >= 1
    assert batched.membership.equals(alone.membership)
    assert batched.info == alone.info
    assert 1 <= len(calls) < n_alone, (len(calls), n_alone)
