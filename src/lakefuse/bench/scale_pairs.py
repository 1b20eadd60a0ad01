"""Where the scale bench's recall goes: of the gold pairs, how many blocking proposed (the
candidate pairs lakefuse judged, its ``pairs.parquet``) and how many of those the judge
accepted, beside the end-to-end recall of the membership (set discovery adds pairs through
third tuples); and what set discovery had to work with: the judge's accepts joined by
connected components, their P/R/F1 (their recall is the most any set discovery over the
judge's decisions could keep: split by the gold people they would keep every true pair with
no false one). Read a batch at a time: a million tuples make 50 million candidate pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakefuse.bench.scale_score import pair_scores

#: candidate pairs read at a time
BATCH = 2_000_000
_COLUMNS = ["l_table", "l_row", "r_table", "r_row", "decision"]


def _tuples(table: pa.Array, row: pa.Array, names: pa.Array, offsets: np.ndarray) -> np.ndarray:
    """Tuple numbers (the gold's numbering) of ``(table, row)``; -1 for an unknown table."""
    at = pc.index_in(table, value_set=names).fill_null(-1).to_numpy(zero_copy_only=False)
    rows = row.to_numpy(zero_copy_only=False).astype(np.int64)
    known = at >= 0
    idx = np.where(known, at, 0).astype(np.int64)
    return np.where(known, offsets[idx] + rows, -1)


def candidate_recall(
    pairs: Path, offsets: dict[str, int], person: np.ndarray, gold_pairs: int
) -> dict[str, Any]:
    """Of the ``gold_pairs`` pairs of tuples of one ``person``: the share among the candidate
    pairs of ``pairs`` (a ``pairs.parquet``; ``blocking_recall``) and the share of those the
    judge accepted (``judge_accepts``); the counts beside them. A pair is counted once (the
    file holds each candidate pair once)."""
    names = pa.array(list(offsets), type=pa.string())
    off = np.asarray(list(offsets.values()), dtype=np.int64)
    candidates = true = accepted = 0
    # the accepted pairs of known tuples, (2, k) each (none at first: a file may hold none)
    edges: list[np.ndarray] = [np.empty((2, 0), dtype=np.int64)]
    for batch in pq.ParquetFile(pairs).iter_batches(batch_size=BATCH, columns=_COLUMNS):
        left = _tuples(batch.column("l_table"), batch.column("l_row"), names, off)
        right = _tuples(batch.column("r_table"), batch.column("r_row"), names, off)
        known = (left >= 0) & (right >= 0)
        same = np.zeros(len(left), dtype=bool)
        same[known] = person[left[known]] == person[right[known]]
        decision = batch.column("decision").fill_null(False).to_numpy(zero_copy_only=False)
        candidates += len(left)
        true += int(same.sum())
        accepted += int((same & decision).sum())
        take = known & decision
        edges.append(np.stack([left[take], right[take]]))
    joined = components(np.concatenate(edges, axis=1), len(person))
    cc = pair_scores(person, np.arange(len(person)), joined)
    return {
        "candidate_pairs": candidates,
        "true_candidates": true,
        "accepted_true": accepted,
        "blocking_recall": round(true / gold_pairs, 5) if gold_pairs else None,
        "judge_accepts": round(accepted / true, 5) if true else None,
        "accepts_joined": {k: cc[k] for k in ("precision", "recall", "f1")},
    }


def components(edges: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label (int64) of each of ``n`` tuples joined by ``edges`` (2, k)."""
    graph = coo_matrix((np.ones(edges.shape[1]), (edges[0], edges[1])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)
