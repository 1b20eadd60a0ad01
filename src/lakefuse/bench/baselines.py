"""What a user would pick instead of lakefuse: the exact full disjunction (ALITE) and Splink.

Both write a lakefuse-style output folder (membership.csv, integrated.csv, run.json with
per-stage wall time and peak memory), so :mod:`lakefuse.bench.metrics` scores them alike.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import networkx as nx
import pandas as pd

from lakefuse.progress import Tracker

Union = pd.DataFrame  # columns: table, row, then one column per attribute (str or None)


def read_union(inputs: Path) -> tuple[Union, list[str]]:
    """The outer union of a task's input tables, read and aligned as lakefuse does."""
    from lakefuse.io import align
    from lakefuse.pipeline import read_inputs

    raw = read_inputs([str(inputs)])
    attributes, per_table = align(raw)
    frames = []
    for t, attrs in zip(raw, per_table):
        data = {a: t.table.column(h).to_pylist() for h, a in zip(t.headers, attrs)}
        df = pd.DataFrame({a: data.get(a, [None] * t.table.num_rows) for a in attributes})
        df.insert(0, "row", range(t.table.num_rows))
        df.insert(0, "table", t.name)
        frames.append(df)
    union = pd.concat(frames, ignore_index=True).astype(object)
    union = union.where(union.notna(), None)
    return union, attributes


def _vote(values: Sequence[str | None]) -> str | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    counts = Counter(vals)
    best = max(counts.values())
    return next(v for v in vals if counts[v] == best)  # ties: first seen


def write_output(
    out: Path,
    union: Union,
    attributes: list[str],
    sets: list[list[int]],
    tracker: Tracker,
    system: str,
    t0: float,
    info: dict[str, Any] | None = None,
) -> None:
    """membership.csv, integrated.csv (majority vote per cell) and run.json."""
    with tracker.stage("resolve"):
        rows = []
        members = []
        for sid, s in enumerate(sets):
            sub = union.iloc[s]
            rows.append({"set_id": sid, **{a: _vote(sub[a].tolist()) for a in attributes}})
            members.extend((union.at[i, "table"], union.at[i, "row"], sid) for i in s)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["set_id", *attributes]).to_csv(out / "integrated.csv", index=False)
    pd.DataFrame(members, columns=["table", "row", "set_id"]).to_csv(
        out / "membership.csv", index=False
    )
    run = {
        "system": system,
        "wall_s_total": round(time.perf_counter() - t0, 4),
        "stages": tracker.as_dict(),
        "counts": {"tuples": len(union), "sets": len(sets)},
        **(info or {}),
    }
    (out / "run.json").write_text(json.dumps(run, indent=2, default=str))


# --------------------------------------------------------------------------- exact FD


def exact_full_disjunction(inputs: Path, out: Path, max_cliques: int = 100_000) -> None:
    """ALITE's full disjunction with exact values: tuples join when they agree on every
    attribute both carry (non-null) and share at least one; the result sets are the maximal
    connected, pairwise join-consistent sets of tuples (subsumed sets removed)."""
    t0 = time.perf_counter()
    tracker = Tracker(quiet=True)
    with tracker.stage("read"):
        union, attributes = read_union(inputs)
    n = len(union)
    with tracker.stage("block"):
        con = duckdb.connect()
        cols = {f"a{i}": union[a].tolist() for i, a in enumerate(attributes)}
        con.register("u", pd.DataFrame({"tid": range(n), **cols}))
        names = list(cols)
        shared = " + ".join(f"(l.{c} IS NOT NULL AND r.{c} IS NOT NULL)::INT" for c in names)
        clash = " OR ".join(
            f"(l.{c} IS NOT NULL AND r.{c} IS NOT NULL AND l.{c} <> r.{c})" for c in names
        )
        # joinable: share >= 1 attribute and agree on all shared; inconsistent: disagree on one
        q = f"""
            SELECT l.tid AS l, r.tid AS r, ({shared}) AS shared, ({clash}) AS clash
            FROM u l JOIN u r ON l.tid < r.tid
            WHERE ({shared}) > 0 AND {" OR ".join(f"l.{c} = r.{c}" for c in names)}
        """
        pairs = con.execute(q).fetch_df()
        con.close()
    with tracker.stage("sets"):
        ok = pairs[~pairs["clash"]]
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(ok["l"].tolist(), ok["r"].tolist()))
        clashing = pairs[pairs["clash"]]
        bad = set(zip(clashing["l"].tolist(), clashing["r"].tolist()))
        found: list[frozenset[int]] = []
        capped = 0
        for comp in nx.connected_components(g):
            comp_l = sorted(comp)
            inner = [(a, b) for a in comp_l for b in comp_l if a < b and (a, b) in bad]
            if not inner:
                found.append(frozenset(comp_l))
                continue
            # pairwise-consistent groups = maximal cliques of the consistency graph
            cons = nx.complete_graph(comp_l)
            cons.remove_edges_from(inner)
            for k, clique in enumerate(nx.find_cliques(cons)):
                if k >= max_cliques:
                    capped += 1
                    break
                sub = g.subgraph(clique)
                found.extend(frozenset(c) for c in nx.connected_components(sub))
        sets = _maximal(found)
    write_output(
        out,
        union,
        attributes,
        sets,
        tracker,
        "exact_fd",
        t0,
        {"exact_fd": {"joinable_pairs": int(len(ok)), "capped_components": capped}},
    )


def _maximal(found: list[frozenset[int]]) -> list[list[int]]:
    uniq = sorted(set(found), key=lambda s: (-len(s), min(s)))
    by_member: dict[int, list[frozenset[int]]] = {}
    keep = []
    for s in uniq:
        if any(s < o for o in by_member.get(min(s), [])):
            continue
        keep.append(s)
        for m in s:
            by_member.setdefault(m, []).append(s)
    return [sorted(s) for s in keep]


# --------------------------------------------------------------------------- Splink

MAX_BLOCK_PAIRS = 2_000_000


def _block_pairs(col: pd.Series) -> int:
    c = col.dropna().value_counts()
    return int((c * (c - 1) // 2).sum())


def splink_baseline(inputs: Path, out: Path, threshold: float = 0.9, seed: int = 0) -> None:
    """Splink (DuckDB backend, no labels), generic over all columns: Jaro-Winkler comparisons
    per column, blocking on each column's exact value (columns whose blocks exceed
    ``MAX_BLOCK_PAIRS`` pairs are skipped, as a user checking blocking counts would), u by
    random sampling, m by EM, clusters at match probability ``threshold``."""
    try:
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as exc:
        raise RuntimeError(
            "splink is not installed (pip install 'lakefuse[bench]' or 'splink>=4')"
        ) from exc

    logging.getLogger("splink").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    tracker = Tracker(quiet=True)
    with tracker.stage("read"):
        union, attributes = read_union(inputs)
    safe = {a: f"c{i}" for i, a in enumerate(attributes)}  # splink-safe column names
    df = union.rename(columns=safe)
    df.insert(0, "unique_id", range(len(df)))
    df["source_dataset"] = df["table"]
    cols = list(safe.values())
    sizes = {c: _block_pairs(df[c]) for c in cols}
    blockers = [c for c in cols if 0 < sizes[c] <= MAX_BLOCK_PAIRS]
    # the most selective columns (most distinct values) drive EM and the prior
    by_distinct = sorted(cols, key=lambda c: -df[c].nunique())
    em_cols = [c for c in by_distinct if c in blockers][:2] or by_distinct[:1]
    with tracker.stage("judge"):
        settings = SettingsCreator(
            link_type="link_and_dedupe",
            comparisons=[cl.JaroWinklerAtThresholds(c, [0.92, 0.8]) for c in cols],
            blocking_rules_to_generate_predictions=[block_on(c) for c in blockers],
            retain_matching_columns=False,
        )
        db = DuckDBAPI()
        tables = [
            db.register(part.drop(columns=["table", "row"]), dataset_display_name=str(name))
            for name, part in df.groupby("table", sort=False)
        ]
        linker = Linker(tables, settings, log_level=None)
        warnings: list[str] = []

        def attempt(step: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # a generic setting may not fit every table: go on
                warnings.append(f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                return None

        attempt(
            "prior",
            linker.training.estimate_probability_two_random_records_match,
            [block_on(c) for c in em_cols],
            recall=0.7,
        )
        attempt("u", linker.training.estimate_u_using_random_sampling, max_pairs=1e6, seed=seed)
        if len(cols) > 1:  # EM blocked on a column estimates m for the other columns
            for c in em_cols:
                attempt(
                    f"em({c})",
                    linker.training.estimate_parameters_using_expectation_maximisation,
                    block_on(c),
                )
        pred = (
            attempt("predict", linker.inference.predict, threshold_match_probability=0.5)
            if blockers
            else None
        )
    with tracker.stage("sets"):
        groups: dict[Any, list[int]] = {}
        if pred is not None:
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                pred, threshold_match_probability=threshold
            ).as_pandas_dataframe()
            for cid, uid in zip(clusters["cluster_id"], clusters["unique_id"]):
                groups.setdefault(cid, []).append(int(uid))
        sets = sorted((sorted(s) for s in groups.values()), key=lambda s: s[0])
        seen = {i for s in sets for i in s}
        sets.extend([i] for i in range(len(df)) if i not in seen)
    info = {
        "splink": {
            "blocking_columns": [attributes[cols.index(c)] for c in blockers],
            "em_columns": [attributes[cols.index(c)] for c in em_cols],
            "threshold": threshold,
            "warnings": warnings,
        }
    }
    write_output(out, union, attributes, sets, tracker, "splink", t0, info)
