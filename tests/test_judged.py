"""Judging in batches: side by side on several threads, the same pairs as one by one."""

from __future__ import annotations

from typing import Any

import pytest

from lakefuse import judged
from lakefuse.block import get_blocker
from lakefuse.config import Settings
from lakefuse.engines import get_engine
from lakefuse.io import align
from lakefuse.judge import get_judge
from lakefuse.pipeline import build_union, read_inputs
from lakefuse.progress import Tracker

from .conftest import STADIUMS, need

FAST = {"encoder": "qgram", "epochs": 6, "target_groups": 600, "max_anchors": 200}


def stadium_judge(name: str = "similarity") -> tuple[Any, Any, Any]:
    """The stadium lake's union, its candidate pairs and a judge of ``name`` trained on it."""
    settings = Settings(quiet=True, judge=name)
    raw = read_inputs([need(STADIUMS)])
    attributes, per_table = align(raw)
    union = build_union(get_engine("duckdb"), raw, attributes, per_table, settings)
    cands = get_blocker(settings.blocker).candidates(union, settings)
    judge = get_judge(name, **(FAST if name == "ssacl" else {}))
    judge.fit(union, settings)
    return union, cands, judge


@pytest.mark.parametrize("name", ["ssacl", "similarity"])
def test_batches_judged_on_threads_equal_batches_judged_in_turn(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    union, cands, judge = stadium_judge(name)
    monkeypatch.setattr(judged, "SCORE_BATCH", 11)  # many batches, several in flight
    alone = judged.judge_pairs(judge, union, cands, Tracker(True), threads=1)
    side_by_side = judged.judge_pairs(judge, union, cands, Tracker(True), threads=3)
    assert alone.n_pairs == side_by_side.n_pairs == len(cands) > 100
    assert alone.table is not None and side_by_side.table is not None
    assert side_by_side.table.equals(alone.table)
    assert side_by_side.edges.equals(alone.edges)
    assert side_by_side.incompatible.equals(alone.incompatible)
    assert alone.edges.num_rows > 0 and alone.incompatible.num_rows > 0


def test_an_earlier_runs_pairs_are_read_back_batch_by_batch(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    from lakefuse.types import CandidatePairs

    union, cands, judge = stadium_judge()
    monkeypatch.setattr(judged, "SCORE_BATCH", 13)
    first = tmp_path / "first.parquet"
    scored = judged.judge_pairs(judge, union, cands, Tracker(True), first)
    cached = judged.cached_scores(str(first), cands, judge)
    assert cached is not None
    again = judged.judge_pairs(
        judge, union, cands, Tracker(True), tmp_path / "again.parquet", cached
    )
    assert pq.read_table(tmp_path / "again.parquet").equals(pq.read_table(first))
    assert again.edges.equals(scored.edges) and again.incompatible.equals(scored.incompatible)
    # other candidates (one pair fewer): not these scores
    fewer = CandidatePairs(cands.table.slice(1), cands.blocker)
    assert judged.cached_scores(str(first), fewer, judge) is None
