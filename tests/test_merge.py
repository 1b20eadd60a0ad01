"""Merge and the vectorised accessors it runs on: the integrated table and provenance on real
lakes against a per-cell reference written with Python lists, the union's dictionary codes,
and the expected-mutual-information shortcut against scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_mutual_info_score

from lakefuse.engines import get_engine
from lakefuse.io import align, outer_union, read_table
from lakefuse.io.read import expand_inputs
from lakefuse.merge import conflict_problems, merge
from lakefuse.resolve import get_resolver
from lakefuse.resolve.demos import adjusted_mutual_info, attribute_weights
from lakefuse.sets.common import Partition, make_sets
from lakefuse.types import ROW, TABLE, IntegrableSets, ResolveContext, UnionTable

from .conftest import DBLP_ACM, STADIUMS, need


def union_of(folder: Path, files: list[str] | None = None) -> UnionTable:
    paths = [folder / f for f in files] if files else list(expand_inputs([need(folder)]))
    raw = [read_table(p) for p in paths]
    attributes, per_table = align(raw)
    return outer_union(get_engine("duckdb"), raw, attributes, per_table)


def some_sets(n: int, seed: int = 0) -> IntegrableSets:
    """Random sets of 1-4 tuples covering every tuple, some tuples in two sets."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    cuts = np.cumsum(rng.integers(1, 5, size=n))
    sets = [part.tolist() for part in np.split(perm, cuts[cuts < n]) if len(part)]
    for s in sets[::7]:
        s.append(int(rng.integers(n)))  # overlap
    return make_sets(n, [sorted(set(s)) for s in sets], "test")


def reference_merge(union: UnionTable, sets: IntegrableSets, decide) -> tuple[list, list]:
    """The integrated rows and provenance rows, cell by cell with Python lists."""
    values = union.values()
    members: dict[int, list[int]] = {}
    for s, t in zip(sets.membership["set_id"].to_pylist(), sets.membership["tid"].to_pylist()):
        members.setdefault(s, []).append(t)
    rows = [[sid] for sid in range(sets.n_sets)]
    prov = []
    for a in union.attributes:
        for sid in range(sets.n_sets):
            cells = [t for t in members[sid] if values[a][t] is not None]
            distinct = list(dict.fromkeys(values[a][t] for t in cells))
            if not distinct:
                rows[sid].append(None)
                continue
            if len(distinct) == 1:
                value, method = distinct[0], ("single" if len(cells) == 1 else "agree")
            else:
                value, method = decide[(sid, a)], "vote"
            rows[sid].append(value)
            for t in cells:
                v = values[a][t]
                prov.append(
                    (sid, a, value, values[TABLE][t], values[ROW][t], v, v == value, method)
                )
    return rows, prov


@pytest.mark.parametrize("lake", ["stadiums", "dblp_acm"])
def test_merge_matches_a_per_cell_reference_on_real_lakes(lake: str) -> None:
    if lake == "stadiums":
        union = union_of(STADIUMS)
    else:
        union = union_of(DBLP_ACM, ["tableA.csv", "tableB.csv"])
    sets = some_sets(union.n_tuples)
    ctx = ResolveContext(union, {}, 0)
    res = merge(union, sets, get_resolver("vote"), ctx)
    problems = conflict_problems(union, sets)
    assert res.n_conflicts == len(problems) > 0
    decided = get_resolver("vote").resolve(problems, ctx)
    decide = {(p.set_id, p.attribute): d.value for p, d in zip(problems, decided)}
    rows, prov = reference_merge(union, sets, decide)
    assert [list(r.values()) for r in res.integrated.to_pylist()] == rows
    assert [tuple(r.values()) for r in res.provenance.to_pylist()] == prov
    # each problem's candidates: distinct values by first member, every cell in one
    first = problems[0]
    assert len({c.value for c in first.candidates}) == len(first.candidates) >= 2


def test_codes_round_trip_the_union_columns() -> None:
    union = union_of(STADIUMS)
    values = union.values()
    for a in [*union.attributes, TABLE]:
        codes, dictionary = union.codes(a)
        back = [None if c < 0 else dictionary[int(c)].as_py() for c in codes]
        assert back == values[a]
    assert union.column(ROW).to_pylist() == values[ROW]
    names = [s.name for s in union.sources]
    assert [names[i] for i in union.table_index()] == values[TABLE]


def test_partition_sets_equal_listed_sets() -> None:
    """make_sets gives the same membership whether disjoint sets come as lists or as one
    Partition, with overlapping listed sets beside them."""
    rng = np.random.default_rng(1)
    n = 300
    labels = rng.integers(0, 80, size=n)
    tids = np.flatnonzero(labels < 60)  # the rest: singletons or listed sets
    part = Partition(tids, labels[tids])
    as_lists = [np.flatnonzero(labels == k).tolist() for k in range(60)]
    as_lists = [s for s in as_lists if s]
    rest = np.flatnonzero(labels >= 60).tolist()
    overlapping = [rest[:5], rest[3:9], rest[3:5]]  # the last is subsumed
    for extra in ([], overlapping):
        a = make_sets(n, [*as_lists, *extra], "x")
        b = make_sets(n, [part, *extra], "x")
        assert a.membership.equals(b.membership)
        assert a.n_sets == b.n_sets
        assert a.info == b.info


def test_adjusted_mutual_info_equals_scikit_learn_on_real_columns() -> None:
    union = union_of(DBLP_ACM, ["tableA.csv", "tableB.csv"])
    values = union.values()
    attrs = union.attributes
    for i, a in enumerate(attrs):
        for b in attrs[i + 1 :]:
            rows = [t for t in range(union.n_tuples) if values[a][t] and values[b][t]][:3000]
            y = [values[a][t] for t in rows]
            x = [values[b][t] for t in rows]
            assert adjusted_mutual_info(y, x) == pytest.approx(
                adjusted_mutual_info_score(y, x), abs=1e-8
            )
    # the union and its values as lists give the same weights (the same sampled rows)
    w_union = attribute_weights(union, "title", attrs, seed=3)
    w_lists = attribute_weights(values, "title", attrs, seed=3)
    assert w_union == w_lists and set(w_union) == set(attrs) - {"title"}
    assert isinstance(union.codes("title")[1], pa.Array)
