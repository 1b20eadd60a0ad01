"""DuckDB behind the engine interface: an embedded database file under the output folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakefuse.engines.base import Engine, dense_components, lit, q, transpile

#: share of the machine's memory DuckDB may use before it spills to disk; tuned on the scale
#: bench (2 cores, 23.5 GiB): blocking 200,000 generated people takes the same time under 3 GB
#: as under 9.4 GB (40%), and a million under 5.5 GB (pairs made in parts) in 170 s against
#: 175-188 s; a process under 8 GiB needs DuckDB well under it
MEMORY_SHARE = 0.23


def _default_limit() -> str:
    import psutil

    mib = max(1024, int(psutil.virtual_memory().total * MEMORY_SHARE / 2**20))
    return f"{mib}MB"


def add_parquet_view(database: str | Path, name: str, parquet: str | Path) -> None:
    """A view ``name`` in the DuckDB file ``database`` reading the Parquet file ``parquet``
    (by its absolute path) wherever the database is opened from."""
    con = duckdb.connect(str(database))
    try:
        src = f"read_parquet({lit(str(Path(parquet).resolve()))})"
        con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT * FROM {src}")
    finally:
        con.close()


#: what :meth:`DuckDBEngine.release_memory` asks DuckDB to shrink its buffers to
RELEASE_TO = "256MB"


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"
    top_k_aggregate = True

    def __init__(
        self,
        path: str | Path | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else ":memory:"
        self.con = duckdb.connect(self.path)
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        # rows need no order inside a step (every step that needs one says ORDER BY): lets
        # DuckDB stream and spill instead of buffering to keep the insertion order
        self.con.execute("SET preserve_insertion_order=false")
        # DuckDB takes up to 80% of the machine's memory before it spills; lakefuse leaves
        # it MEMORY_SHARE (the judge and the set finders need the rest), or
        # $LAKEFUSE_DUCKDB_MEMORY (e.g. "4GB")
        limit = memory_limit or os.environ.get("LAKEFUSE_DUCKDB_MEMORY") or _default_limit()
        self.con.execute(f"SET memory_limit='{limit}'")
        self._limit = limit
        self._n = 0

    # -- primitives ------------------------------------------------------------------------
    def register(self, name: str, table: pa.Table) -> None:
        self._n += 1
        view = f"__arrow_{self._n}"
        self.con.register(view, table)
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def load_parquet(self, name: str, path: str | Path) -> None:
        src = f"read_parquet({lit(str(path))})"
        self.con.execute(f"CREATE OR REPLACE TABLE {q(name)} AS SELECT * FROM {src}")

    def sql(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def create(self, name: str, query: str, temporary: bool = False) -> None:
        # a temporary table skips the database file's compression and checkpoints (blocking
        # 200k generated people: 23 s against 30 s; a million 155 s against 170 s)
        kind = "TEMP TABLE" if temporary else "TABLE"
        sql = transpile(query, self.dialect)
        self.con.execute(f"CREATE OR REPLACE {kind} {q(name)} AS {sql}")

    def scan(self, name: str, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        reader = self.con.sql(f"SELECT * FROM {q(name)}").to_arrow_reader(batch_rows)
        yield from reader

    def drop(self, *names: str) -> None:
        for n in names:
            self.con.execute(f"DROP TABLE IF EXISTS {q(n)}")

    def release_memory(self) -> None:
        # DuckDB keeps the buffers of dropped and written tables cached up to its limit: a
        # moment's low limit makes it hand them back (200k people after blocking: 1.75 ->
        # 0.5 GiB resident); the limit is then restored for later steps
        try:
            self.con.execute(f"SET memory_limit='{RELEASE_TO}'")
        except duckdb.Error:  # more than that is in use: keep what is held
            pass
        finally:
            self.con.execute(f"SET memory_limit='{self._limit}'")

    def close(self) -> None:
        self.con.close()

    # -- graphs --------------------------------------------------------------------------
    def connected_components(self, edges: pa.Table, n_nodes: int) -> pa.Table:
        # one machine: scipy's search over the edge list (already in memory) is the fastest;
        # the SQL algorithm of the base class gives the same labels
        if edges.num_rows:
            l = edges.column("l").to_numpy()
            r = edges.column("r").to_numpy()
        else:
            l = r = np.zeros(0, dtype=np.int64)
        m = coo_matrix((np.ones(len(l), dtype=np.int8), (l, r)), shape=(n_nodes, n_nodes))
        _, labels = connected_components(m, directed=False)
        root = np.full(int(labels.max()) + 1 if n_nodes else 0, n_nodes, dtype=np.int64)
        nodes = np.arange(n_nodes, dtype=np.int64)
        np.minimum.at(root, labels, nodes)
        return dense_components(n_nodes, nodes, root[labels])
