"""Merge each integrable set into one output tuple; conflicts go to the resolver; every output
cell keeps the input cells it came from (provenance as a table)."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from lakefuse.types import (
    ROW,
    TABLE,
    Candidate,
    ConflictProblem,
    Decision,
    IntegrableSets,
    Resolution,
    ResolveContext,
    Resolver,
    UnionTable,
)


def conflict_problems(
    union: UnionTable, sets: IntegrableSets
) -> tuple[dict[int, list[int]], dict[tuple[int, str], str], list[ConflictProblem]]:
    """Members per set, agreed cells, and the conflicted cells as problems."""
    values = union.values()
    members: dict[int, list[int]] = defaultdict(list)
    for sid, tid in zip(
        sets.membership.column("set_id").to_pylist(), sets.membership.column("tid").to_pylist()
    ):
        members[sid].append(tid)
    agreed: dict[tuple[int, str], str] = {}
    pending: list[tuple[int, str, tuple[Candidate, ...]]] = []
    for sid in range(sets.n_sets):
        tids = members[sid]
        for a in union.attributes:
            col = values[a]
            by_value: dict[str, list[int]] = {}
            for t in tids:
                v = col[t]
                if v is not None:
                    by_value.setdefault(v, []).append(t)
            if len(by_value) == 1:
                agreed[(sid, a)] = next(iter(by_value))
            elif by_value:
                cands = tuple(Candidate(v, tuple(ts)) for v, ts in by_value.items())
                pending.append((sid, a, cands))
    problems = []
    for sid, a, cands in pending:
        known = {b: agreed[(sid, b)] for b in union.attributes if b != a and (sid, b) in agreed}
        problems.append(ConflictProblem(sid, a, cands, known))
    return members, agreed, problems


def merge(
    union: UnionTable, sets: IntegrableSets, resolver: Resolver, context: ResolveContext
) -> Resolution:
    values = union.values()
    members, agreed, problems = conflict_problems(union, sets)
    decisions: list[Decision] = resolver.resolve(problems, context) if problems else []
    if len(decisions) != len(problems):
        raise RuntimeError(f"resolver {resolver.name} answered {len(decisions)} of {len(problems)}")
    chosen: dict[tuple[int, str], Decision] = {}
    methods: dict[str, int] = defaultdict(int)
    for p, d in zip(problems, decisions):
        if d.value not in {c.value for c in p.candidates}:
            raise RuntimeError(f"resolver {resolver.name} returned a value that is not a candidate")
        chosen[(p.set_id, p.attribute)] = d
        methods[d.method] += 1

    cols: dict[str, list] = {"set_id": list(range(sets.n_sets))}
    prov: dict[str, list] = {
        k: []
        for k in (
            "set_id",
            "attribute",
            "value",
            "table",
            "row",
            "source_value",
            "chosen",
            "method",
        )
    }
    tables, rows = values[TABLE], values[ROW]
    for a in union.attributes:
        out_col: list[str | None] = []
        col = values[a]
        for sid in range(sets.n_sets):
            key = (sid, a)
            if key in agreed:
                value = agreed[key]
                contributors = [t for t in members[sid] if col[t] is not None]
                method = "single" if len(contributors) == 1 else "agree"
            elif key in chosen:
                value = chosen[key].value
                method = chosen[key].method
                contributors = [t for t in members[sid] if col[t] is not None]
            else:
                out_col.append(None)
                continue
            out_col.append(value)
            for t in contributors:
                prov["set_id"].append(sid)
                prov["attribute"].append(a)
                prov["value"].append(value)
                prov["table"].append(tables[t])
                prov["row"].append(rows[t])
                prov["source_value"].append(col[t])
                prov["chosen"].append(col[t] == value)
                prov["method"].append(method)
        cols[a] = out_col
    integrated = pa.table(
        {"set_id": pa.array(cols["set_id"], type=pa.int64())}
        | {a: pa.array(cols[a], type=pa.string()) for a in union.attributes}
    )
    provenance = pa.table(
        {
            "set_id": pa.array(prov["set_id"], type=pa.int64()),
            "attribute": pa.array(prov["attribute"], type=pa.string()),
            "value": pa.array(prov["value"], type=pa.string()),
            "table": pa.array(prov["table"], type=pa.string()),
            "row": pa.array(prov["row"], type=pa.int64()),
            "source_value": pa.array(prov["source_value"], type=pa.string()),
            "chosen": pa.array(prov["chosen"], type=pa.bool_()),
            "method": pa.array(prov["method"], type=pa.string()),
        }
    )
    return Resolution(integrated, provenance, len(problems), dict(methods))
