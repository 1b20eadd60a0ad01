"""Merge each integrable set into one output tuple; conflicts go to the resolver; every output
cell keeps the input cells it came from (provenance as a table).

Vectorised per attribute over the membership (numpy on dictionary codes, Arrow ``take``): the
only Python work per item is building the :class:`ConflictProblem` of each conflicted cell and
checking its decision."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakefuse.arrays import unique_sorted
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


@dataclass
class _Cells:
    """One attribute over the membership (rows in set order): the rows with a value, their
    codes, and per set the number of distinct values and the single value's code."""

    rows: np.ndarray  # membership rows (in set order) whose tuple has a value
    code: np.ndarray  # the value's dictionary code, per such row
    n_distinct: np.ndarray  # per set
    agreed: np.ndarray  # per set: the code when n_distinct == 1, else -1
    n_cells: np.ndarray  # per set: cells with a value


@dataclass
class Conflicts:
    """The membership in set order and, per attribute, its :class:`_Cells`; ``problems`` are
    the conflicted cells, by set then attribute (the order the resolver sees them)."""

    sid: np.ndarray
    tid: np.ndarray
    cells: dict[str, _Cells]
    problems: list[ConflictProblem]
    #: per problem, its candidates' dictionary codes (same order as its candidates)
    codes: list[list[int]]


def _cells(codes: np.ndarray, sid: np.ndarray, tid: np.ndarray, n_sets: int) -> _Cells:
    c = codes[tid]
    rows = np.flatnonzero(c >= 0)
    s, cc = sid[rows], c[rows]
    n_cells = np.bincount(s, minlength=n_sets)
    # distinct (set, code) pairs
    width = int(cc.max()) + 1 if len(cc) else 1
    pair = unique_sorted(s * width + cc)
    n_distinct = np.bincount(pair // width, minlength=n_sets)
    agreed = np.full(n_sets, -1, dtype=np.int64)
    one = n_distinct[s] == 1
    agreed[s[one]] = cc[one]
    return _Cells(rows, cc, n_distinct, agreed, n_cells)


def find_conflicts(union: UnionTable, sets: IntegrableSets) -> Conflicts:
    """Agreed cells and conflicted cells (as problems) of every set."""
    sid = sets.membership.column("set_id").to_numpy().astype(np.int64)
    tid = sets.membership.column("tid").to_numpy().astype(np.int64)
    order = np.argsort(sid, kind="stable")
    sid, tid = sid[order], tid[order]
    attrs = list(union.attributes)
    cells = {a: _cells(union.codes(a)[0], sid, tid, sets.n_sets) for a in attrs}
    # conflicted (set, attribute) cells, by set then attribute
    hit_s = [np.flatnonzero(cells[a].n_distinct > 1) for a in attrs]
    hit_a = [np.full(len(h), j, dtype=np.int64) for j, h in enumerate(hit_s)]
    ps = np.concatenate(hit_s) if attrs else np.zeros(0, dtype=np.int64)
    pa_ = np.concatenate(hit_a) if attrs else np.zeros(0, dtype=np.int64)
    porder = np.lexsort((pa_, ps))
    ps, pa_ = ps[porder], pa_[porder]
    if len(ps) == 0:
        return Conflicts(sid, tid, cells, [], [])
    # the agreed values of the sets with a conflict, for each problem's ``known``
    csets = unique_sorted(ps)
    known_of: dict[int, list[tuple[str, str]]] = {int(s): [] for s in csets.tolist()}
    for a in attrs:
        code = cells[a].agreed[csets]
        have = np.flatnonzero(code >= 0)
        vals = union.codes(a)[1].take(pa.array(code[have])).to_pylist()
        for s, v in zip(csets[have].tolist(), vals):
            known_of[s].append((a, v))
    # the candidates of each problem: values in the order of their first member, and the
    # members that carry each
    problems: list[ConflictProblem] = []
    cand_codes: list[list[int]] = []
    by_attr: dict[int, list[tuple[tuple[Candidate, ...], list[int]]]] = {}
    for j, a in enumerate(attrs):
        mine = pa_ == j
        if not mine.any():
            continue
        c = cells[a]
        in_conflict = np.zeros(sets.n_sets, dtype=bool)
        in_conflict[ps[mine]] = True
        rows_i = np.flatnonzero(in_conflict[sid[c.rows]])
        r = c.rows[rows_i]
        s, cc = sid[r], c.code[rows_i]
        by_attr[j] = _candidates(s, cc, tid[r], union.codes(a)[1])
    cursor = dict.fromkeys(by_attr, 0)
    for s, j in zip(ps.tolist(), pa_.tolist()):
        a = attrs[j]
        k = cursor[j]
        cursor[j] = k + 1
        cands, codes = by_attr[j][k]
        known = {b: v for b, v in known_of[s] if b != a}
        problems.append(ConflictProblem(s, a, cands, known))
        cand_codes.append(codes)
    return Conflicts(sid, tid, cells, problems, cand_codes)


def _candidates(
    s: np.ndarray, cc: np.ndarray, t: np.ndarray, dictionary: pa.Array
) -> list[tuple[tuple[Candidate, ...], list[int]]]:
    """Per conflicted set (in set order): its candidates (values by first member, with their
    members in membership order) and their codes."""
    n = len(s)
    pos = np.arange(n)
    # first position of each (set, code)
    width = int(cc.max()) + 1
    key = s * width + cc
    _, first_idx, inv = np.unique(key, return_index=True, return_inverse=True)
    first = first_idx[inv]
    order = np.lexsort((pos, first, s))
    s, cc, t, first = s[order], cc[order], t[order], first[order]
    # runs of one candidate, and of one set
    new_cand = np.r_[True, first[1:] != first[:-1]]
    starts = np.flatnonzero(new_cand)
    ends = np.r_[starts[1:], n]
    cand_code = cc[starts]
    cand_set = s[starts]
    values = dictionary.take(pa.array(cand_code)).to_pylist()
    tl = t.tolist()
    set_starts = np.flatnonzero(np.r_[True, cand_set[1:] != cand_set[:-1]])
    set_ends = np.r_[set_starts[1:], len(starts)]
    out: list[tuple[tuple[Candidate, ...], list[int]]] = []
    st, en, codes_l = starts.tolist(), ends.tolist(), cand_code.tolist()
    for a, b in zip(set_starts.tolist(), set_ends.tolist()):
        cands = tuple(Candidate(values[i], tuple(tl[st[i] : en[i]])) for i in range(a, b))
        out.append((cands, codes_l[a:b]))
    return out


def conflict_problems(union: UnionTable, sets: IntegrableSets) -> list[ConflictProblem]:
    """The conflicted cells of every set, by set then attribute."""
    return find_conflicts(union, sets).problems


def merge(
    union: UnionTable, sets: IntegrableSets, resolver: Resolver, context: ResolveContext
) -> Resolution:
    found = find_conflicts(union, sets)
    problems = found.problems
    decisions: list[Decision] = resolver.resolve(problems, context) if problems else []
    if len(decisions) != len(problems):
        raise RuntimeError(f"resolver {resolver.name} answered {len(decisions)} of {len(problems)}")
    methods: dict[str, int] = defaultdict(int)
    method_names = ["single", "agree"]
    method_id = {m: i for i, m in enumerate(method_names)}
    p_set = np.empty(len(problems), dtype=np.int64)
    p_attr: list[str] = []
    p_code = np.empty(len(problems), dtype=np.int64)
    p_method = np.empty(len(problems), dtype=np.int64)
    for i, (p, d, codes) in enumerate(zip(problems, decisions, found.codes)):
        k = next((j for j, c in enumerate(p.candidates) if c.value == d.value), None)
        if k is None:
            raise RuntimeError(f"resolver {resolver.name} returned a value that is not a candidate")
        p_set[i] = p.set_id
        p_attr.append(p.attribute)
        p_code[i] = codes[k]
        if d.method not in method_id:
            method_id[d.method] = len(method_names)
            method_names.append(d.method)
        p_method[i] = method_id[d.method]
        methods[d.method] += 1
    p_attr_arr = np.array(p_attr, dtype=object)

    n_sets = sets.n_sets
    tables, rows = union.column(TABLE), union.column(ROW)
    method_arr = pa.array(method_names, type=pa.string())
    integrated: dict[str, pa.Array] = {"set_id": pa.array(np.arange(n_sets), type=pa.int64())}
    prov_parts: list[pa.Table] = []
    for a in union.attributes:
        dictionary = union.codes(a)[1]
        c = found.cells[a]
        out_code = c.agreed.copy()
        meth = np.where(c.n_cells == 1, 0, 1)
        mine = np.flatnonzero(p_attr_arr == a) if len(problems) else np.zeros(0, dtype=np.int64)
        out_code[p_set[mine]] = p_code[mine]
        meth[p_set[mine]] = p_method[mine]
        integrated[a] = _take(dictionary, out_code)
        s = found.sid[c.rows]
        t = found.tid[c.rows]
        value_code = out_code[s]
        prov_parts.append(
            pa.table(
                {
                    "set_id": pa.array(s, type=pa.int64()),
                    "attribute": pa.array(np.full(len(s), a, dtype=object), type=pa.string()),
                    "value": _take(dictionary, value_code),
                    "table": tables.take(pa.array(t)).cast(pa.string()),
                    "row": rows.take(pa.array(t)).cast(pa.int64()),
                    "source_value": _take(dictionary, c.code),
                    "chosen": pa.array(c.code == value_code, type=pa.bool_()),
                    "method": method_arr.take(pa.array(meth[s])),
                }
            )
        )
    schema = pa.schema(
        [
            ("set_id", pa.int64()),
            ("attribute", pa.string()),
            ("value", pa.string()),
            ("table", pa.string()),
            ("row", pa.int64()),
            ("source_value", pa.string()),
            ("chosen", pa.bool_()),
            ("method", pa.string()),
        ]
    )
    provenance = (
        pa.concat_tables(prov_parts).combine_chunks() if prov_parts else schema.empty_table()
    )
    table = pa.table(integrated)
    return Resolution(table, provenance, len(problems), dict(methods))


def _take(dictionary: pa.Array, codes: np.ndarray) -> pa.Array:
    """``dictionary[codes]`` as plain strings, null where the code is -1."""
    idx = pa.array(codes, mask=codes < 0, type=pa.int64())
    return dictionary.take(idx).cast(pa.string())
