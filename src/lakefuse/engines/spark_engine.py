"""Apache Spark behind the engine interface (``pip install 'lakefuse[spark]'``).

Tables are Spark temporary views over locally checkpointed DataFrames: each step of an
algorithm is computed once, kept by the executors (memory, then disk) and its plan cut, so an
iterative algorithm (connected components) does not grow its plan. Data enters from Arrow
(``createDataFrame``) and leaves as Arrow (``DataFrame.toArrow``); the driver holds only what
a stage fetches. lakefuse starts a local session (``local[*]``) unless given a master URL or an
existing ``SparkSession``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakefuse.engines.base import Engine, transpile

#: defaults for a session lakefuse starts itself (a session passed in is used as it is)
LOCAL_CONF = {
    "spark.sql.execution.arrow.useLargeVarTypes": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.caseSensitive": "true",
    "spark.ui.showConsoleProgress": "false",
    # the stages after blocking run on the driver and fetch what they read as Arrow: the
    # candidate pairs of a million tuples are over a GiB (Spark's default cap: 1 GiB)
    "spark.driver.maxResultSize": "0",
}


def java_missing() -> str | None:
    """Why Spark cannot start here (no Java), or None."""
    home = os.environ.get("JAVA_HOME")
    if home:
        if os.path.exists(os.path.join(home, "bin", "java")):
            return None
        return f"JAVA_HOME={home} has no bin/java: point JAVA_HOME at a Java 17+ JDK"
    if shutil.which("java"):
        return None
    return (
        "the Spark engine needs Java 17 or later: install a JDK and set JAVA_HOME "
        "(e.g. JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64) or put java on PATH"
    )


def start_session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """A SparkSession for lakefuse: ``master`` (default ``local[*]``) and ``conf`` on top of
    :data:`LOCAL_CONF`; a local master also gets a small number of shuffle partitions and
    half the machine's memory for its one JVM (``spark.driver.memory``) unless ``conf`` says
    otherwise."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError("the Spark engine needs pyspark: pip install 'lakefuse[spark]'") from exc
    why = java_missing()
    if why:
        raise ValueError(why)
    master = master or "local[*]"
    settings = dict(LOCAL_CONF)
    if master.startswith("local"):
        import psutil

        from lakefuse.threads import thread_count

        gib = max(1, int(psutil.virtual_memory().total / 2**30 / 2))
        settings["spark.driver.memory"] = f"{min(gib, 32)}g"
        settings["spark.sql.shuffle.partitions"] = str(max(2, 2 * thread_count()))
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName("lakefuse")
    for k, v in settings.items():
        builder = builder.config(k, v)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _plain(table: pa.Table) -> pa.Table:
    """Spark's Arrow types as lakefuse's: large strings as strings, int32 counts as int64."""
    fields = []
    changed = False
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_large_binary(t):
            t = pa.binary()
        if t != f.type:
            changed = True
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields)) if changed else table


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"
    # Spark partitions the pair join itself; and the union of the parts' checkpointed frames
    # failed inside Spark 4.0.5 at a million tuples ("key not found" in localCheckpoint)
    join_in_parts = False

    def __init__(
        self,
        session: Any = None,
        master: str | None = None,
        conf: dict[str, str] | None = None,
    ) -> None:
        self._owned = session is None
        self.spark = session if session is not None else start_session(master, conf)
        self._frames: dict[str, Any] = {}

    # -- primitives ------------------------------------------------------------------------
    def _keep(self, name: str, frame: Any) -> None:
        frame = frame.localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        old = self._frames.pop(name, None)
        self._frames[name] = frame
        if old is not None:
            old.unpersist()

    def register(self, name: str, table: pa.Table) -> None:
        # the rows travel in the plan (a local relation) and depend on no other view: no
        # checkpoint needed until a step reads them
        frame = self.spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)
        old = self._frames.pop(name, None)
        self._frames[name] = frame
        if old is not None:
            old.unpersist()

    def load_parquet(self, name: str, path: str | Path) -> None:
        # checkpointed: the rows stay when the file goes
        self._keep(name, self.spark.read.parquet(str(path)))

    def sql(self, query: str) -> pa.Table:
        return _plain(self.spark.sql(query).toArrow())

    def create(self, name: str, query: str, temporary: bool = False) -> None:
        # (every table here is a session's temporary view already)
        self._keep(name, self.spark.sql(transpile(query, self.dialect)))

    def scan(self, name: str, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        yield from self.fetch(name).to_batches(max_chunksize=batch_rows)

    def drop(self, *names: str) -> None:
        for n in names:
            frame = self._frames.pop(n, None)
            if frame is not None:
                self.spark.catalog.dropTempView(n)
                frame.unpersist()

    def close(self) -> None:
        self.drop(*list(self._frames))
        if self._owned:
            self.spark.stop()
