"""The main job: read -> align -> outer union -> block -> judge -> sets -> resolve/merge."""

from __future__ import annotations

import functools
import logging
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakefuse import __version__
from lakefuse.block import get_blocker
from lakefuse.config import Settings
from lakefuse.engines import Engine, get_engine
from lakefuse.io import align, expand_inputs, from_dataframe, outer_union, read_table
from lakefuse.io.profile import detect_surrogate_keys
from lakefuse.io.read import RawTable
from lakefuse.judge import JUDGES, Judge, get_judge, load_judge
from lakefuse.judged import PAIRS_FILE, JudgedPairs, cached_scores, judge_pairs, tid_sources
from lakefuse.merge import merge
from lakefuse.output import OutputFolder, write_run_json, write_tables
from lakefuse.progress import Tracker
from lakefuse.registry import warm_imports
from lakefuse.resolve import RESOLVERS, get_resolver
from lakefuse.sets import SET_FINDERS, get_set_finder
from lakefuse.types import (
    CandidatePairs,
    IntegrabilityGraph,
    IntegrableSets,
    KeyAttributes,
    ResolveContext,
    UnionTable,
)
from lakefuse.validate import validate_settings

log = logging.getLogger("lakefuse")

InputItem = str | Path | Any  # a path, or a pandas DataFrame / Arrow table
#: the run's DuckDB database in OUT
DATABASE_FILE = "lakefuse.duckdb"
#: where integrate keeps a judge it trained (reuse: ``--model OUT/model``)
MODEL_DIR = "model"


@dataclass
class Result:
    """Everything a run produced; the same tables as the files in the output folder. With
    an output folder the judged pairs are not held in memory: :attr:`pairs` reads them from
    ``OUT/pairs.parquet`` when asked."""

    integrated: pa.Table
    membership: pa.Table  # table, row, set_id
    pairs_table: pa.Table | None = field(repr=False)
    provenance: pa.Table
    run: dict[str, Any]
    out_dir: Path | None = None
    union: UnionTable | None = field(default=None, repr=False)

    @property
    def pairs(self) -> pa.Table:
        """Every judged pair (the ``pairs.parquet`` table)."""
        if self.pairs_table is not None:
            return self.pairs_table
        if self.out_dir is None:
            raise RuntimeError("the run's pairs were written to a folder that is gone")
        return pq.read_table(self.out_dir / PAIRS_FILE, memory_map=True)


def read_inputs(inputs: Sequence[InputItem] | Mapping[str, Any]) -> list[RawTable]:
    if isinstance(inputs, Mapping):
        return [from_dataframe(str(k), v) for k, v in inputs.items()]
    items = list(inputs)
    if not items:
        from lakefuse.errors import InputError

        raise InputError("no input tables given")
    tables: list[RawTable] = []
    paths: list[str | Path] = []
    for i, item in enumerate(items):
        if isinstance(item, str | Path):
            paths.append(item)
        else:
            tables.append(from_dataframe(f"table{i}", item))
    for p in expand_inputs(paths) if paths else []:
        tables.append(read_table(p))
    return tables


def build_graph(union: UnionTable, judged: JudgedPairs, judge: Judge) -> IntegrabilityGraph:
    """The integrability graph; the engine labels its connected components (the one step of
    set discovery that touches every tuple), set finders split each component locally."""
    edges = judged.edges
    cc = union.engine.connected_components(edges.select(["l", "r"]), union.n_tuples)
    component = np.empty(union.n_tuples, dtype=np.int64)
    component[cc.column("tid").to_numpy()] = cc.column("component").to_numpy()
    return IntegrabilityGraph(
        union.n_tuples,
        edges,
        judged.incompatible,
        score_pairs=functools.partial(judge.score, union),
        component=component,
        keys=key_attributes(union),
    )


#: an attribute identifies tuples in a table when this share of its non-null values is distinct
IDENTIFYING = 0.9


def key_attributes(union: UnionTable, min_rows: int = 5) -> KeyAttributes:
    """Per source table, the evidence attributes whose values are (nearly) unique there."""
    attrs = union.evidence_attributes
    names = [s.name for s in union.sources]
    pos = {n: i for i, n in enumerate(names)}
    ident = np.zeros((len(names), len(attrs)), dtype=bool)
    col = {a: j for j, a in enumerate(attrs)}
    for row in union.engine.distinct_ratios(union.name, attrs).to_pylist():
        n = int(row["non_null"] or 0)
        if n >= min_rows and row["table"] in pos:
            ident[pos[row["table"]], col[row["attribute"]]] = row["distinct"] >= IDENTIFYING * n
    table_of = union.table_index().astype(np.int32)
    return KeyAttributes(attrs, table_of, ident)


def integrate(
    inputs: Sequence[InputItem] | Mapping[str, Any],
    out_dir: str | Path | None = None,
    settings: Settings | None = None,
    *,
    spark_session: Any = None,
    **overrides: Any,
) -> Result:
    """Integrate tables into one. ``inputs``: paths (files or folders), DataFrames, or a
    mapping name -> DataFrame. With ``out_dir`` the contract files are written there, all at
    once at the end (lakefuse.output): a failed run leaves ``out_dir`` as it was.
    ``spark_session``: an existing SparkSession to run in (implies ``engine='spark'``; it is
    left running)."""
    if spark_session is not None:
        overrides["engine"] = "spark"
    settings = (
        (settings or Settings()).replace(**overrides) if overrides else (settings or Settings())
    )
    settings = validate_settings(settings)  # every setting and option, before anything is read
    if not isinstance(inputs, Mapping):
        inputs = list(inputs)
    tracker = Tracker(settings.quiet)
    t_start = time.perf_counter()
    # OUT is checked (and its temporary folder made) before any work
    out = OutputFolder(out_dir, _protected(inputs, settings)) if out_dir is not None else None
    try:
        with tracker.stage("read") as st:
            raw = read_inputs(inputs)
            attributes, per_table = align(
                raw, settings.columns, settings.columns_file or "--columns"
            )
            st.detail["tables"] = len(raw)
        # the stages' slow imports (seconds) on a thread, while the engine reads and blocks
        warm_imports(
            [
                *JUDGES.heavy_imports(settings.judge),
                *SET_FINDERS.heavy_imports(settings.sets),
                *RESOLVERS.heavy_imports(settings.resolver),
            ]
        )
        result = _run(
            raw,
            attributes,
            per_table,
            settings,
            tracker,
            out.tmp if out else None,
            spark_session,
        )
        run = result.run
        if out is not None:
            with tracker.stage("write"):
                run["csv"] = write_tables(
                    out.tmp,
                    integrated=result.integrated,
                    membership=result.membership,
                    pairs=result.pairs_table,
                    provenance=result.provenance,
                    csv_escape=settings.csv_escape,
                )
        run["wall_s_total"] = round(time.perf_counter() - t_start, 4)
        run["stages"] = tracker.as_dict()
        if out is not None:
            write_run_json(out.tmp, run)
            out.commit()
            if run.get("database", {}).get("pairs") == "view of pairs.parquet":
                _link_pairs(out.target)
            result.out_dir = Path(out.shown)
        return result
    except BaseException:
        if out is not None:
            out.discard()
        raise


def _protected(
    inputs: Sequence[InputItem] | Mapping[str, Any], settings: Settings
) -> list[tuple[str, str | Path]]:
    """Files a run needs that must not lie inside OUT (the run replaces OUT whole)."""
    found: list[tuple[str, str | Path]] = []
    if not isinstance(inputs, Mapping):
        found += [("input", p) for p in inputs if isinstance(p, str | Path)]
    if settings.model_path:
        found.append(("model", settings.model_path))
    if settings.columns_file:
        found.append(("columns file", settings.columns_file))
    return found


def open_engine(settings: Settings, staging: Path | None = None, session: Any = None) -> Engine:
    """The run's engine: DuckDB in ``staging/lakefuse.duckdb`` (in memory without a staging
    folder), or Spark (``settings.spark_master``, or the given SparkSession)."""
    if settings.engine == "spark":
        return get_engine("spark", master=settings.spark_master, session=session)
    return get_engine(settings.engine, staging / DATABASE_FILE if staging else None)


def build_union(
    engine: Engine,
    raw: list[RawTable],
    attributes: list[str],
    per_table: list[list[str]],
    settings: Settings,
) -> UnionTable:
    """Outer union plus the surrogate keys that judges and blockers must ignore (shared by
    ``integrate`` and ``lakefuse train``)."""
    union = outer_union(engine, raw, attributes, per_table)
    if settings.surrogate_keys is None:
        union.surrogate_keys = detect_surrogate_keys(raw, per_table)
    else:
        union.surrogate_keys = [a for a in settings.surrogate_keys if a in attributes]
    if union.surrogate_keys:
        log.info("not used as evidence (per-table row ids): %s", ", ".join(union.surrogate_keys))
    return union


def _run(
    raw: list[RawTable],
    attributes: list[str],
    per_table: list[list[str]],
    settings: Settings,
    tracker: Tracker,
    staging: Path | None,
    spark_session: Any = None,
) -> Result:
    engine = open_engine(settings, staging, spark_session)
    try:
        with tracker.stage("union") as st:
            union = build_union(engine, raw, attributes, per_table, settings)
            st.detail["tuples"] = union.n_tuples
            st.detail["surrogate_keys"] = union.surrogate_keys
        with tracker.stage("block") as st:
            blocker = get_blocker(settings.blocker, **settings.blocker_options)
            cands: CandidatePairs = blocker.candidates(union, settings)
            st.detail["candidate_pairs"] = n_candidates = len(cands)
            engine.release_memory()  # DuckDB's buffers of blocking, before the judge
        with tracker.stage("judge") as st:
            if settings.model_path:
                judge = load_judge(settings.model_path)
                if settings.threshold is not None:
                    judge.threshold = settings.threshold  # type: ignore[attr-defined]
            else:
                judge = get_judge(settings.judge, **settings.judge_options)
                judge.fit(union, settings)
                if staging is not None and getattr(judge, "trained", False):
                    # the judge trained here, for `integrate --model OUT/model`
                    judge.save(staging / MODEL_DIR)
                    st.detail["saved_model"] = MODEL_DIR
            cached = cached_scores(settings.pairs_cache, cands, judge)
            if cached is not None:
                st.detail["scores_from"] = settings.pairs_cache
            file = staging / PAIRS_FILE if staging is not None else None
            threads = settings.judge_options.get("threads")
            sources = tid_sources(union)  # for the pairs file here, membership below
            judged = judge_pairs(judge, union, cands, tracker, file, cached, threads, sources)
            del cands, cached  # the candidate pairs (1.2 GB at a million tuples) are judged
            st.detail["threshold"] = judged.threshold
            st.detail.update(getattr(judge, "report", lambda: {})())
        with tracker.stage("sets") as st:
            graph = build_graph(union, judged, judge)
            finder = get_set_finder(settings.sets, **settings.sets_options)
            sets: IntegrableSets = finder.find(graph)
            st.detail["sets"] = sets.n_sets
            st.detail.update(sets.info)
        with tracker.stage("resolve") as st:
            resolver = get_resolver(settings.resolver, **settings.resolver_options)
            ctx = ResolveContext(union, settings.resolver_options, settings.seed)
            resolution = merge(union, sets, resolver, ctx)
            st.detail["conflicts"] = resolution.n_conflicts
            st.detail["methods"] = resolution.methods
            st.detail.update(getattr(resolver, "report", dict)())
        mem = sets.membership
        tid_table, tid_row = sources
        tids = mem.column("tid").to_numpy()
        membership = pa.table(
            {
                "table": pa.array(tid_table[tids], type=pa.string()),
                "row": pa.array(tid_row[tids], type=pa.int64()),
                "set_id": mem.column("set_id"),
            }
        )
        run = {
            "lakefuse_version": __version__,
            "python": platform.python_version(),
            "settings": settings.to_dict(),
            "inputs": [
                {
                    "table": s.name,
                    "path": s.path,
                    "rows": s.n_rows,
                    "encoding": s.encoding,
                    "conversions": {t.name: t.conversions for t in raw}.get(s.name, {}),
                    "headers": s.headers,
                    "attributes": s.attributes,
                }
                for s in union.sources
            ],
            "attributes": union.attributes,
            "counts": {
                "tuples": union.n_tuples,
                "candidate_pairs": n_candidates,
                "edges": graph.edges.num_rows,
                "sets": sets.n_sets,
                "multi_tuple_sets": int(
                    np.count_nonzero(np.bincount(mem.column("set_id").to_numpy()) > 1)
                ),
                "tuples_in_several_sets": int(
                    np.count_nonzero(np.bincount(tids, minlength=union.n_tuples) > 1)
                ),
                "conflicts": resolution.n_conflicts,
            },
            "judge": {"name": judged.judge, "threshold": judged.threshold},
        }
        # keep the results beside the union in the database, for inspection with any client
        # (DuckDB's file is part of the output; a Spark session's views end with the run)
        if engine.name == "duckdb":
            for name, table in (
                ("integrated", resolution.integrated),
                ("membership", membership),
                ("provenance", resolution.provenance),
            ):
                engine.register(name, table)
            run["database"] = {"pairs": _pairs_into_database(engine, judged)}
        return Result(
            resolution.integrated,
            membership,
            judged.table,
            resolution.provenance,
            run,
            union=union,
        )
    finally:
        engine.close()


#: judged pairs up to this many are copied into the run's DuckDB file; more are read there
#: through a view of OUT/pairs.parquet (at 1M tuples, 50M pairs: a 3 GB copy and a minute)
DB_PAIRS_MAX = 5_000_000


def _pairs_into_database(engine: Engine, judged: JudgedPairs) -> str:
    """The judged pairs as ``pairs`` in the run's database: copied (from pairs.parquet, read
    by the engine, when they were written there), or, above :data:`DB_PAIRS_MAX`, left for
    a view made once the output folder is in place (:func:`_link_pairs`). Says which."""
    if judged.table is not None:
        engine.register("pairs", judged.table)
        return "table"
    if judged.file is not None and judged.n_pairs <= DB_PAIRS_MAX:
        engine.load_parquet("pairs", judged.file)
        return "table"
    return "view of pairs.parquet"


def _link_pairs(folder: Path) -> None:
    """The ``pairs`` view in OUT's database, over OUT/pairs.parquet by its absolute path (a
    view must name a file that exists, so it is made after the folder is in place; a moved
    folder needs the view made again)."""
    from lakefuse.engines.duckdb_engine import add_parquet_view

    try:
        add_parquet_view(folder / DATABASE_FILE, "pairs", folder / PAIRS_FILE)
    except Exception as exc:  # the run's files are complete without the view
        log.warning("no pairs view in %s: %s", folder / DATABASE_FILE, exc)
