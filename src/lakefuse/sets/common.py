"""Helpers shared by set-discovery methods."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakefuse.types import IntegrabilityGraph, IntegrableSets


def edge_arrays(graph: IntegrabilityGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = graph.edges
    if e.num_rows == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    return (
        e.column("l").to_numpy(),
        e.column("r").to_numpy(),
        e.column("weight").to_numpy(zero_copy_only=False),
    )


def components(n: int, l: np.ndarray, r: np.ndarray) -> np.ndarray:
    m = coo_matrix((np.ones(len(l), dtype=np.int8), (l, r)), shape=(n, n))
    return connected_components(m, directed=False)[1]


def group_nodes(labels: np.ndarray) -> list[np.ndarray]:
    """Nodes of each label, labels in order of their smallest node."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
    groups = np.split(order, cuts)
    groups.sort(key=lambda g: int(g.min()))
    return groups


def make_sets(
    n_nodes: int, sets: Iterable[Iterable[int]], method: str, **info: object
) -> IntegrableSets:
    """Dense set ids ordered by smallest member; subsumed sets dropped; uncovered nodes become
    singletons so every tuple is accounted for."""
    uniq = {frozenset(int(x) for x in s) for s in sets}
    uniq.discard(frozenset())
    # drop sets contained in a larger one (subsumption, as in a full disjunction)
    by_size = sorted(uniq, key=len, reverse=True)
    kept: list[frozenset[int]] = []
    member_of: dict[int, list[int]] = {}
    for s in by_size:
        if len(s) > 1:
            first = min(s)
            cand = member_of.get(first, [])
            if any(s <= kept[k] for k in cand):
                continue
        elif member_of.get(next(iter(s))):
            continue
        idx = len(kept)
        kept.append(s)
        for x in s:
            member_of.setdefault(x, []).append(idx)
    covered = set(member_of)
    kept.extend(frozenset([i]) for i in range(n_nodes) if i not in covered)
    kept.sort(key=lambda s: (min(s), -len(s), sorted(s)))
    set_ids, tids = [], []
    for sid, s in enumerate(kept):
        for t in sorted(s):
            set_ids.append(sid)
            tids.append(t)
    membership = pa.table(
        {"set_id": pa.array(set_ids, type=pa.int64()), "tid": pa.array(tids, type=pa.int64())}
    )
    return IntegrableSets(membership, len(kept), method, dict(info))
