"""Set discovery alone: a synthetic graph at scale, and an oracle judge fed the gold pairs.

* :func:`synthetic_graph` builds an integrability graph of ``n_nodes`` tuples and about
  ``n_edges`` integrable pairs shaped like a real one: many small dense clusters (entities,
  sizes 1 + Poisson), noise edges between random tuples (a judge's false positives, which glue
  clusters into large components), and forbidden pairs where a noise edge meets the other
  cluster (the judge's conflicts);
* :func:`scale_run` times a set-discovery method on it and reports the peak memory;
* :func:`oracle_graph` / :func:`sets_from_gold_pairs` feed the gold pairs as a perfect judge;
  :func:`oracle_task` does it for a bench task folder and scores the result.

``python -m lakefuse.bench.scale_sets --nodes 1000000 --edges 3000000`` prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lakefuse.arrays import unique_sorted
from lakefuse.sets import DEFAULT, get_set_finder
from lakefuse.sets.common import components, group_nodes
from lakefuse.types import IntegrabilityGraph, IntegrableSets


def _pairs_table(l: np.ndarray, r: np.ndarray, w: np.ndarray | None = None) -> pa.Table:
    cols = {"l": pa.array(l, type=pa.int64()), "r": pa.array(r, type=pa.int64())}
    if w is not None:
        cols["weight"] = pa.array(w, type=pa.float64())
    return pa.table(cols)


def _dedup(l: np.ndarray, r: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.minimum(l, r), np.maximum(l, r)
    keep = a != b
    code = unique_sorted(a[keep] * np.int64(n) + b[keep])
    return code // n, code % n


def synthetic_graph(
    n_nodes: int,
    n_edges: int,
    noise: float = 0.1,
    density: float = 0.9,
    seed: int = 0,
) -> tuple[IntegrabilityGraph, np.ndarray]:
    """A graph and its gold cluster label per node (see the module docstring). A share
    ``noise`` of the edges are false positives; clusters keep each inner pair with
    probability ``density``."""
    rng = np.random.default_rng(seed)
    per_node = (1.0 - noise) * n_edges / max(n_nodes, 1) / density
    # cluster size 1 + Poisson(lam): inner pairs per node = (2 lam + lam^2) / (2 (1 + lam))
    lam = (per_node - 1.0) + np.sqrt((per_node - 1.0) ** 2 + 2.0 * per_node)
    sizes: list[np.ndarray] = []
    total = 0
    while total < n_nodes:
        s = 1 + rng.poisson(lam, size=max(1024, (n_nodes - total) // int(1 + lam)))
        sizes.append(s)
        total += int(s.sum())
    size = np.concatenate(sizes)
    size = size[: int(np.searchsorted(np.cumsum(size), n_nodes)) + 1]
    size[-1] -= int(size.sum()) - n_nodes
    size = size[size > 0]
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    labels = np.repeat(np.arange(len(size)), size)
    ls: list[np.ndarray] = []
    rs: list[np.ndarray] = []
    for s in unique_sorted(size[size > 1]):
        i, j = np.triu_indices(int(s), k=1)
        base = starts[size == s][:, None]
        ls.append((base + i).ravel())
        rs.append((base + j).ravel())
    il = np.concatenate(ls) if ls else np.zeros(0, dtype=np.int64)
    ir = np.concatenate(rs) if rs else np.zeros(0, dtype=np.int64)
    keep = rng.random(len(il)) < density
    il, ir = il[keep], ir[keep]
    n_noise = max(n_edges - len(il), 0)
    nl = rng.integers(0, n_nodes, n_noise)
    nr = rng.integers(0, n_nodes, n_noise)
    wrong = labels[nl] != labels[nr]
    nl, nr = nl[wrong], nr[wrong]
    # the judge sees a conflict between a noise edge's end and the other end's cluster-mates
    mate = starts[labels[nr]] + rng.integers(0, 1 << 30, len(nr)) % size[labels[nr]]
    fl, fr = _dedup(nl, mate, n_nodes)
    perm = rng.permutation(n_nodes)  # tids carry no cluster order
    l = perm[np.concatenate([il, nl])]
    r = perm[np.concatenate([ir, nr])]
    w = np.concatenate([rng.uniform(0.8, 1.0, len(il)), rng.uniform(0.8, 0.9, len(nl))])
    a, b = np.minimum(l, r), np.maximum(l, r)
    fa, fb = perm[fl], perm[fr]
    gold = np.empty(n_nodes, dtype=np.int64)
    gold[perm] = labels
    graph = IntegrabilityGraph(
        n_nodes,
        _pairs_table(a, b, w),
        _pairs_table(np.minimum(fa, fb), np.maximum(fa, fb)),
    )
    return graph, gold


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 1024.0 / 1024.0


def scale_run(
    n_nodes: int = 1_000_000,
    n_edges: int = 3_000_000,
    method: str = DEFAULT,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """Time ``method`` on a synthetic graph. ``peak_rss_mb`` is the process peak (graph
    generation included, so an upper bound for the method alone)."""
    t0 = time.perf_counter()
    graph, gold = synthetic_graph(n_nodes, n_edges, seed=seed)
    gen_s = time.perf_counter() - t0
    rss_before = _peak_rss_mb()
    finder = get_set_finder(method, **options)
    t1, c1 = time.perf_counter(), time.process_time()
    sets = finder.find(graph)
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    sizes = np.bincount(sets.membership.column("set_id").to_numpy())
    return {
        "method": method,
        "nodes": n_nodes,
        "edges": graph.edges.num_rows,
        "forbidden": graph.incompatible.num_rows,
        "gold_clusters": int(gold.max()) + 1 if len(gold) else 0,
        "generate_s": round(gen_s, 2),
        "sets_s": round(wall, 2),
        "sets_cpu_s": round(cpu, 2),
        "sets": sets.n_sets,
        "largest_set": int(sizes.max()) if len(sizes) else 0,
        "peak_rss_mb_before": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "info": sets.info,
    }


def oracle_graph(
    n_nodes: int,
    gold_pairs: Iterable[tuple[int, int]],
    conflicts: Iterable[tuple[int, int]] | None = None,
    max_component: int = 2_000,
) -> IntegrabilityGraph:
    """The graph a perfect judge would give: gold pairs are integrable (weight 1). Without
    ``conflicts``, every other pair inside a component of gold pairs (up to
    ``max_component`` tuples) is forbidden, as the oracle knows it is not integrable."""
    gp = np.array(list(gold_pairs), dtype=np.int64).reshape(-1, 2)
    l, r = _dedup(gp[:, 0], gp[:, 1], max(n_nodes, 1))
    if conflicts is not None:
        cp = np.array(list(conflicts), dtype=np.int64).reshape(-1, 2)
        fl, fr = _dedup(cp[:, 0], cp[:, 1], max(n_nodes, 1))
    else:
        gold = set(zip(l.tolist(), r.tolist()))
        bad: list[tuple[int, int]] = []
        for nodes in group_nodes(components(n_nodes, l, r)):
            if len(nodes) < 3 or len(nodes) > max_component:
                continue
            ns = sorted(nodes.tolist())
            for i, a in enumerate(ns):
                bad.extend((a, b) for b in ns[i + 1 :] if (a, b) not in gold)
        f = np.array(bad, dtype=np.int64).reshape(-1, 2)
        fl, fr = f[:, 0], f[:, 1]
    return IntegrabilityGraph(n_nodes, _pairs_table(l, r, np.ones(len(l))), _pairs_table(fl, fr))


def sets_from_gold_pairs(
    n_nodes: int,
    gold_pairs: Iterable[tuple[int, int]],
    conflicts: Iterable[tuple[int, int]] | None = None,
    method: str = DEFAULT,
    **options: Any,
) -> IntegrableSets:
    """Run set discovery with an oracle judge (see :func:`oracle_graph`)."""
    graph = oracle_graph(n_nodes, gold_pairs, conflicts)
    return get_set_finder(method, **options).find(graph)


def oracle_task(task_dir: str | Path, method: str = DEFAULT, **options: Any) -> dict[str, Any]:
    """Oracle judge on a bench task: the gold sets' pairs in, set similarity and pairwise F1
    out."""
    from lakefuse.bench.gold import load_gold
    from lakefuse.bench.metrics import pairwise, set_similarity

    gold = load_gold(task_dir)
    index = {t: i for i, t in enumerate(gold.universe)}
    pairs: set[tuple[int, int]] = set()
    for s in gold.sets:
        ids = sorted(index[t] for t in s)
        pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    found = sets_from_gold_pairs(len(gold.universe), sorted(pairs), None, method, **options)
    pred: dict[int, list[tuple[str, int]]] = {}
    for sid, tid in zip(
        found.membership.column("set_id").to_pylist(), found.membership.column("tid").to_pylist()
    ):
        pred.setdefault(sid, []).append(gold.universe[tid])
    predicted = list(pred.values())
    pw = pairwise(predicted, gold.sets)
    return {
        "task": Path(task_dir).name,
        "method": method,
        "set_similarity": set_similarity(predicted, gold.sets),
        "f1": pw["f1"],
        "precision": pw["precision"],
        "recall": pw["recall"],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=3_000_000)
    ap.add_argument("--method", default=DEFAULT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--oracle", nargs="*", help="bench task folders to run the oracle on")
    args = ap.parse_args(argv)
    if args.oracle:
        for t in args.oracle:
            print(json.dumps(oracle_task(t, args.method)))
        return
    print(json.dumps(scale_run(args.nodes, args.edges, args.method, args.seed), default=str))


if __name__ == "__main__":
    main()
