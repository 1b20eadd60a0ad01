"""The plain judge: per-attribute string similarity, weighted by how identifying each
attribute is; a null is no evidence, and a clear disagreement on an identifying attribute
vetoes the pair."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakefuse.config import Settings
from lakefuse.encode.tuples import AttributeStats
from lakefuse.judge.features import pair_evidence
from lakefuse.judge.ssacl_scoring import cent_texts, either
from lakefuse.types import ScoredPairs, UnionTable


def scored_table(
    left: np.ndarray,
    right: np.ndarray,
    evidence: np.ndarray,
    score: np.ndarray,
    decision: np.ndarray,
    conflict: np.ndarray,
    attributes: list[str],
    weights: np.ndarray,
) -> pa.Table:
    """Assemble the ScoredPairs table; ``drivers`` names the (at most three) present
    attributes of highest weight (``name=evidence``), those that disagree (< 0.6) first where
    the pair is a conflict. Built for all pairs at once (Arrow string kernels)."""
    order = np.argsort(-weights)
    present = ~np.isnan(evidence[:, order])
    low = present & (np.nan_to_num(evidence[:, order], nan=1.0) < 0.6)
    use = np.where((conflict & low.any(axis=1))[:, None], low, present)
    rank = np.cumsum(use, axis=1)
    rows = np.arange(len(left))
    heads = pa.array([f"{a}=" for a in attributes] + [""], type=pa.string())
    pieces: list[pa.Array] = []
    for k in range(1, 4):
        hit = use & (rank == k)
        has = hit.any(axis=1)
        if not has.any():
            break
        j = order[np.argmax(hit, axis=1)] if len(order) else np.zeros(len(left), np.int64)
        if k > 1:
            pieces.append(either(has, ","))
        pieces.append(heads.take(pa.array(np.where(has, j, len(attributes)), type=pa.int64())))
        pieces.append(cent_texts(evidence[rows, j], has))
    text = (
        pc.binary_join_element_wise(*pieces, "")
        if pieces
        else pa.array([""] * len(left), type=pa.string())
    )
    drivers = text
    return pairs_table(
        left,
        right,
        evidence,
        score,
        decision,
        conflict,
        attributes,
        drivers,
    )


def pairs_table(
    left: np.ndarray,
    right: np.ndarray,
    ev: np.ndarray,
    score: np.ndarray,
    decision: np.ndarray,
    conflict: np.ndarray,
    attributes: list[str],
    drivers: pa.Array,
) -> pa.Table:
    """The ScoredPairs table every judge returns: ids, score (NaN where nothing is shared),
    decision, conflict, shared attributes, ``drivers`` and per-attribute evidence ``ev:<a>``."""
    shared = (~np.isnan(ev)).sum(axis=1)
    cols: dict[str, pa.Array] = {
        "l": pa.array(left, type=pa.int64()),
        "r": pa.array(right, type=pa.int64()),
        "score": pa.array(np.where(shared > 0, score, np.nan), type=pa.float64(), from_pandas=True),
        "decision": pa.array(decision, type=pa.bool_()),
        "conflict": pa.array(conflict, type=pa.bool_()),
        "shared": pa.array(shared, type=pa.int32()),
        "drivers": drivers,
    }
    for j, a in enumerate(attributes):
        cols[f"ev:{a}"] = pa.array(ev[:, j], type=pa.float64(), from_pandas=True)
    return pa.table(cols)


class SimilarityJudge:
    """Weighted mean of per-attribute similarities over the attributes both tuples have.

    Weights are each attribute's distinctiveness (distinct/non-null), so a shared city counts
    little and a shared name a lot. A pair is integrable when its score reaches the threshold
    and no identifying attribute (distinctiveness >= ``identifying``) disagrees clearly
    (similarity < ``veto``)."""

    name = "similarity"

    def __init__(self, threshold: float = 0.8, identifying: float = 0.3, veto: float = 0.6) -> None:
        self.threshold = threshold
        self.identifying = identifying
        self.veto = veto
        self.stats: AttributeStats | None = None

    def fit(self, union: UnionTable, settings: Settings) -> None:
        self.stats = AttributeStats.of(union)
        if settings.threshold is not None:
            self.threshold = settings.threshold

    def score(self, union: UnionTable, left: np.ndarray, right: np.ndarray) -> ScoredPairs:
        if self.stats is None:
            raise RuntimeError("judge used before fit()")
        ev = pair_evidence(union, left, right)
        w = np.maximum(self.stats.distinctiveness, 1e-3)
        present = ~np.isnan(ev)
        num = np.where(present, ev, 0.0) @ w
        den = present.astype(float) @ w
        score = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        ident = self.stats.distinctiveness >= self.identifying
        conflict = (present & (np.nan_to_num(ev, nan=1.0) < self.veto) & ident).any(axis=1)
        decision = (den > 0) & (score >= self.threshold) & ~conflict
        table = scored_table(left, right, ev, score, decision, conflict, union.attributes, w)
        return ScoredPairs(table, self.name, self.threshold)
