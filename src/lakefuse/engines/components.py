"""Connected components in SQL: alternating large-star and small-star steps (Kiveris et al.,
"Connected Components in MapReduce and Beyond", SoCC 2014), as Splink labels its clusters.

Each step is a group-by and a join over the edge list and is materialised by the engine, so
nothing per node passes through the driver until the final labels; the number of rounds grows
with the logarithm of the components' diameters, not with their size. The edges end as stars:
every node points at its component's smallest node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from lakefuse.engines.base import Engine

#: a safety stop; large-star/small-star needs O(log^2 n) rounds, a handful in practice
MAX_ROUNDS = 64


def _large_star(engine: Engine, src: str, dst: str) -> None:
    # each node's smallest neighbour (or itself) becomes the neighbour of its larger neighbours
    engine.create(
        dst,
        f"WITH d AS (SELECT a AS u, b AS v FROM {src} UNION SELECT b AS u, a AS v FROM {src}), "
        "m AS (SELECT u, least(u, min(v)) AS m FROM d GROUP BY u) "
        "SELECT DISTINCT d.v AS a, m.m AS b FROM d JOIN m ON d.u = m.u "
        "WHERE d.v > d.u AND d.v <> m.m",
    )


def _small_star(engine: Engine, src: str, dst: str) -> None:
    # each node and its smaller neighbours all point at the smallest of them
    engine.create(
        dst,
        f"WITH s AS (SELECT DISTINCT greatest(a, b) AS u, least(a, b) AS v FROM {src} "
        "WHERE a <> b), m AS (SELECT u, min(v) AS m FROM s GROUP BY u) "
        "SELECT DISTINCT s.v AS a, m.m AS b FROM s JOIN m ON s.u = m.u WHERE s.v <> m.m "
        "UNION SELECT u AS a, m AS b FROM m",
    )


def _converged(engine: Engine, name: str) -> bool:
    """Stars: no node has two smaller neighbours, and no smaller end is anyone's larger end."""
    t = engine.query(
        f"WITH s AS (SELECT DISTINCT greatest(a, b) AS u, least(a, b) AS v FROM {name}) "
        "SELECT (SELECT count(*) FROM (SELECT u FROM s GROUP BY u HAVING count(*) > 1) x) "
        "+ (SELECT count(*) FROM (SELECT DISTINCT v FROM s) y JOIN (SELECT DISTINCT u FROM s) z "
        "ON y.v = z.u) AS bad"
    )
    return int(t.column(0)[0].as_py()) == 0


def sql_components(engine: Engine, edges: pa.Table, n_nodes: int) -> pa.Table:
    from lakefuse.engines.base import dense_components

    names = ["__lf_cc_e", "__lf_cc_a", "__lf_cc_b"]
    l = edges.column("l").cast(pa.int64())
    r = edges.column("r").cast(pa.int64())
    engine.register(names[0], pa.table({"a": l, "b": r}))
    try:
        cur = names[0]
        for _ in range(MAX_ROUNDS):
            _large_star(engine, cur, names[1])
            _small_star(engine, names[1], names[2])
            cur = names[2]
            if _converged(engine, cur):
                break
        else:
            raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
        t = engine.query(f"SELECT greatest(a, b) AS tid, least(a, b) AS root FROM {cur}")
        return dense_components(
            n_nodes,
            t.column("tid").to_numpy().astype(np.int64),
            t.column("root").to_numpy().astype(np.int64),
        )
    finally:
        engine.drop(*names)
