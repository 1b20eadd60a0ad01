"""The judged pairs of a run: scored in batches, each batch written whole to ``pairs.parquet``
as it comes (with every column the judge gives), while memory keeps only what set discovery
reads — the accepted pairs (l, r, weight) and the rejected pairs that share an attribute
(l, r) — as compact arrays. Without an output folder the whole table is kept in memory."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakefuse.engines.base import q
from lakefuse.progress import Tracker
from lakefuse.threads import thread_count
from lakefuse.types import ROW, TABLE, TID, CandidatePairs, ScoredPairs, UnionTable

log = logging.getLogger("lakefuse")

#: pairs a judge call scores (the judge's fixed cost per call, a few hundred array operations
#: over the attributes, is spread over more pairs: 200k generated people scored 169k pairs/s
#: on two threads with 20,000, 193k with 80,000; a batch's arrays stay in the tens of MB)
SCORE_BATCH = 80_000
PAIRS_FILE = "pairs.parquet"


@dataclass
class JudgedPairs:
    """What a run keeps of its judged pairs. ``edges`` (l, r, weight): the accepted pairs;
    ``incompatible`` (l, r): rejected pairs sharing a non-null attribute. Every judged pair
    with every column lies in ``file`` (written batch by batch), or, without a file, in
    ``table``."""

    edges: pa.Table
    incompatible: pa.Table
    judge: str
    threshold: float
    n_pairs: int
    file: Path | None = None
    table: pa.Table | None = None


class PairSink:
    """Takes the judge's batches in order; see the module docstring. ``tables``/``rows``:
    source table name and 0-based row of each tid (the ids the pairs file carries)."""

    def __init__(self, file: Path | None, tables: np.ndarray, rows: np.ndarray) -> None:
        self.file = file
        self.tables = pa.array(tables, type=pa.string())  # taken by tid, batch by batch
        self.rows = rows
        tid = pa.int32() if len(rows) < 2**31 - 1 else pa.int64()
        self.edge_schema = pa.schema([("l", tid), ("r", tid), ("weight", pa.float64())])
        self.pair_schema = pa.schema([("l", tid), ("r", tid)])
        self._writer: pq.ParquetWriter | None = None
        self._parts: list[pa.Table] = []
        self._edges: list[pa.Table] = []
        self._incompatible: list[pa.Table] = []
        self._judge = "none"
        self._threshold = 0.5
        self._n = 0

    def add(self, scored: ScoredPairs) -> None:
        t = scored.table
        self._judge, self._threshold = scored.judge, scored.threshold
        self._n += t.num_rows
        dec = t.column("decision").combine_chunks()
        self._edges.append(
            t.filter(dec)
            .select(["l", "r", "score"])
            .rename_columns(["l", "r", "weight"])
            .cast(self.edge_schema)
        )
        rejected = pc.and_(pc.invert(dec), pc.greater(t.column("shared"), 0))
        self._incompatible.append(t.filter(rejected).select(["l", "r"]).cast(self.pair_schema))
        full = with_ids(t, self.tables, self.rows)
        if self.file is None:
            self._parts.append(full)
            return
        if self._writer is None:
            # no dictionary for the columns of nearly distinct values (ids, scores): Parquet
            # tries one and falls back for every page (200k generated people's pairs
            # written in 0.7 s against 0.9 s, the file 3% larger)
            plain = {"l_row", "r_row", "l_tid", "r_tid", "score"}
            dictionary = [c for c in full.column_names if c not in plain]
            self._writer = pq.ParquetWriter(self.file, full.schema, use_dictionary=dictionary)
        elif full.schema != self._writer.schema:
            full = full.cast(self._writer.schema)  # a batch whose column came out null-typed
        self._writer.write_table(full)

    def close(self) -> JudgedPairs:
        if self.file is not None and self._writer is None:  # nothing judged: an empty file
            self._writer = pq.ParquetWriter(self.file, EMPTY.schema)
        if self._writer is not None:
            self._writer.close()
        edges = pa.concat_tables([self.edge_schema.empty_table(), *self._edges])
        inc = pa.concat_tables([self.pair_schema.empty_table(), *self._incompatible])
        table = None
        if self.file is None:
            table = pa.concat_tables(self._parts) if self._parts else EMPTY
        self._parts, self._edges, self._incompatible = [], [], []
        return JudgedPairs(
            edges.combine_chunks(),
            inc.combine_chunks(),
            self._judge,
            self._threshold,
            self._n,
            self.file,
            table,
        )


EMPTY = pa.table(
    {
        "l_table": pa.array([], pa.string()),
        "l_row": pa.array([], pa.int64()),
        "r_table": pa.array([], pa.string()),
        "r_row": pa.array([], pa.int64()),
        "l_tid": pa.array([], pa.int64()),
        "r_tid": pa.array([], pa.int64()),
        "score": pa.array([], pa.float64()),
        "decision": pa.array([], pa.bool_()),
    }
)


def tid_sources(union: UnionTable) -> tuple[np.ndarray, np.ndarray]:
    """Source table name and 0-based row of each tid (indexed by tid)."""
    cols = ", ".join(q(c) for c in (TID, TABLE, ROW))
    uni = union.engine.query(f"SELECT {cols} FROM {q(union.name)}")
    order = np.argsort(uni.column(TID).to_numpy())
    tables = uni.column(TABLE).to_numpy(zero_copy_only=False)[order]
    return tables, uni.column(ROW).to_numpy()[order]


def judge_pairs(
    judge: Any,
    union: UnionTable,
    cands: CandidatePairs,
    tracker: Tracker,
    file: Path | None = None,
    cached: CachedScores | None = None,
    threads: int | None = None,
    sources: tuple[np.ndarray, np.ndarray] | None = None,
) -> JudgedPairs:
    """Judge the candidates in batches (with a progress bar; on ``threads`` threads, None:
    every core, see :func:`scored_batches`), or pass an earlier run's scores of the same
    candidates (``cached``) through; every column goes to ``file`` (kept in memory without
    one). ``sources``: :func:`tid_sources` of the union, where the caller has it already."""
    sink = PairSink(file, *(sources if sources is not None else tid_sources(union)))
    left, right = cands.left, cands.right
    n = len(left)
    if cached is not None:
        for scored in cached.batches():
            sink.add(scored)
        return sink.close()
    if n <= SCORE_BATCH:
        sink.add(judge.score(union, left, right))
        return sink.close()
    with tracker.progress("judging pairs", n) as bar:
        task = bar.add_task("judging pairs", total=n)
        for scored in scored_batches(judge, union, left, right, thread_count(threads)):
            sink.add(scored)
            bar.advance(task, len(scored))
    return sink.close()


def scored_batches(
    judge: Any, union: UnionTable, left: np.ndarray, right: np.ndarray, threads: int
) -> Iterator[ScoredPairs]:
    """The judge's scores of consecutive batches of ``SCORE_BATCH`` pairs, in order. With
    more than one thread, batches are judged side by side (the judge's array work and its
    model release the GIL) with at most ``threads`` batches scored at once; the first batch is
    judged alone, so state a judge builds on first use is built once. A batch's scores do
    not depend on the others: the result is the same at any thread count. One batch more
    than ``threads`` is queued, so the threads keep scoring while the caller takes a batch
    (writes it)."""
    starts = list(range(0, len(left), SCORE_BATCH))

    def one(s: int) -> ScoredPairs:
        return judge.score(union, left[s : s + SCORE_BATCH], right[s : s + SCORE_BATCH])

    if not starts:
        return
    yield one(starts[0])
    if threads <= 1:
        yield from (one(s) for s in starts[1:])
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="lakefuse-judge") as pool:
        waiting: deque[Future[ScoredPairs]] = deque()
        for s in starts[1:]:
            waiting.append(pool.submit(one, s))
            if len(waiting) > threads:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


@dataclass
class CachedScores:
    """An earlier run's ``pairs.parquet`` whose pairs are these candidates, read a batch at a
    time (never the whole file at once)."""

    path: Path
    judge: str
    threshold: float

    def batches(self) -> Iterator[ScoredPairs]:
        drop = {"l_table", "l_row", "r_table", "r_row"}
        names = {"l_tid": "l", "r_tid": "r"}
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=SCORE_BATCH):
            t = pa.Table.from_batches([batch])
            t = t.drop_columns([c for c in t.column_names if c in drop])
            t = t.rename_columns([names.get(c, c) for c in t.column_names])
            yield ScoredPairs(t, self.judge, self.threshold)


def cached_scores(path: str | None, cands: CandidatePairs, judge: Any) -> CachedScores | None:
    """The scores of an earlier run's pairs.parquet, if it judged exactly these candidates
    (the two id columns compared batch by batch)."""
    if not path or not Path(path).exists():
        return None
    file = pq.ParquetFile(path)
    left, right = cands.left, cands.right
    same = file.metadata.num_rows == len(left)
    at = 0
    if same:
        for batch in file.iter_batches(batch_size=SCORE_BATCH * 10, columns=["l_tid", "r_tid"]):
            l = batch.column("l_tid").to_numpy(zero_copy_only=False)
            r = batch.column("r_tid").to_numpy(zero_copy_only=False)
            end = at + len(l)
            if not (np.array_equal(l, left[at:end]) and np.array_equal(r, right[at:end])):
                same = False
                break
            at = end
    if not same:
        log.info("pairs cache %s judged other candidates: scoring anew", path)
        return None
    return CachedScores(
        Path(path), getattr(judge, "name", "cached"), float(getattr(judge, "threshold", 0.5))
    )


def with_ids(t: pa.Table, tables: pa.Array, rows: np.ndarray) -> pa.Table:
    """The judge's table with the source table and row of both tuples in front, and the
    tids named ``l_tid``/``r_tid`` (the ``pairs.parquet`` contract). ``tables``: each tid's
    source table name (an Arrow string array)."""
    l = t.column("l").to_numpy()
    r = t.column("r").to_numpy()
    front = pa.table(
        {
            "l_table": tables.take(pa.array(l)),
            "l_row": pa.array(rows[l], type=pa.int64()),
            "r_table": tables.take(pa.array(r)),
            "r_row": pa.array(rows[r], type=pa.int64()),
        }
    )
    for name in t.column_names:
        front = front.append_column(name, t.column(name))
    return front.rename_columns(
        [("l_tid" if c == "l" else "r_tid" if c == "r" else c) for c in front.column_names]
    )
