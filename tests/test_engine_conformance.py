"""One suite over every engine: the primitives give the same results on DuckDB and Spark, and a
whole run gives the same integrable sets, with the output contract kept and no tuple lost.

Spark runs in one module-wide local session (two cores, two shuffle partitions, no UI); the
Spark cases are skipped where pyspark or Java is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import lakefuse
from lakefuse.block.token_sql import token_candidates
from lakefuse.engines import get_engine
from lakefuse.engines.base import Engine
from lakefuse.types import ROW, TABLE, TID
from tests.conftest import EXAMPLE, STADIUMS, input_tuples, need

ENGINES = ["duckdb", "spark"]


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark not installed (the spark extra)"
    from lakefuse.engines.spark_engine import java_missing

    return java_missing()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    why = _spark_missing()
    if why:
        pytest.skip(why)
    from lakefuse.engines.spark_engine import start_session

    session = start_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.driver.memory": "1g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "spark":
        e = get_engine("spark", session=request.getfixturevalue("spark"))
    else:
        e = get_engine("duckdb")
    yield e
    e.close()


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    e = get_engine("duckdb")
    yield e
    e.close()


def _parts() -> list[tuple[str, pa.Table]]:
    a = pa.table(
        {
            "name": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kit 64Go", "EX-GTX1050-2G"],
            "city": ["London", "Wilmslow", None, "Paris", None],
        }
    )
    b = pa.table(
        {
            "name": ["Alan M. Turing", "Edsger Dijkstra", "RAM 64 GB", "GeForce GTX 1050"],
            "field": ["CS", "CS", "3,30 GHz", "3.3GHz"],
        }
    )
    return [("a", a), ("b", b)]


ATTRS = ["name", "city", "field"]


def _stadium_parts() -> tuple[list[tuple[str, pa.Table]], list[str]]:
    from lakefuse.io import align
    from lakefuse.pipeline import read_inputs

    raw = read_inputs([str(need(STADIUMS))])
    attributes, per_table = align(raw, None)
    parts = [
        (t.name, pa.table({a: t.table.column(h) for h, a in zip(t.headers, attrs)}))
        for t, attrs in zip(raw, per_table)
    ]
    return parts, attributes


def _pairs(t: pa.Table) -> list[tuple[int, int, float]]:
    return list(
        zip(
            t.column("l").to_pylist(),
            t.column("r").to_pylist(),
            [round(x, 6) for x in t.column("block_score").to_pylist()],
            strict=True,
        )
    )


# -- primitives ---------------------------------------------------------------------------


def test_outer_union_ids_do_not_depend_on_row_order(engine: Engine) -> None:
    assert engine.outer_union("u", _parts(), ATTRS) == 9
    t = engine.fetch("u")
    assert t.column(TID).type == pa.int64() and t.column("name").type == pa.string()
    rows = t.to_pylist()
    assert [r[TID] for r in rows] == list(range(9))
    assert [(r[TABLE], r[ROW]) for r in rows][4:6] == [("a", 4), ("b", 0)]
    assert rows[5]["name"] == "Alan M. Turing" and rows[5]["city"] is None
    assert sum(b.num_rows for b in engine.scan("u", batch_rows=4)) == 9


def test_primitives_agree_with_duckdb(engine: Engine, duck: Engine) -> None:
    for e in (engine, duck):
        e.outer_union("u", _parts(), ATTRS)
    pv = pa.table({"l": [5, 1, 3], "r": [1, 8, 7]})
    assert engine.pair_values("u", pv, ["name", "field"]).equals(
        duck.pair_values("u", pv, ["name", "field"])
    )
    assert engine.value_counts("u", "field").to_pylist() == [
        {"value": "CS", "n": 2},
        {"value": "3,30 GHz", "n": 1},
        {"value": "3.3GHz", "n": 1},
    ]

    def ratios(e: Engine) -> list[dict[str, object]]:
        rows = e.distinct_ratios("u", ATTRS).to_pylist()
        return sorted(rows, key=lambda r: (r["table"], r["attribute"]))

    assert ratios(engine) == ratios(duck)


def test_token_candidates_agree_with_duckdb(engine: Engine, duck: Engine) -> None:
    for e in (engine, duck):
        e.outer_union("u", _parts(), ATTRS)
    got = token_candidates(engine, "u", ATTRS, per_tuple=3, max_df=5)
    assert got.schema.field("l").type == pa.int64()
    pairs = {(lf, r) for lf, r, _ in _pairs(got)}
    # shared words, a unit written apart and in French, a code's digit run, a decimal comma
    assert {(1, 5), (3, 7), (4, 8), (7, 8)} <= pairs
    assert _pairs(got) == _pairs(token_candidates(duck, "u", ATTRS, per_tuple=3, max_df=5))
    kw: dict[str, Any] = {"qgram": 3, "fill": True, "local_scale": 2}
    assert _pairs(token_candidates(engine, "u", ATTRS, 1, 5, **kw)) == _pairs(
        token_candidates(duck, "u", ATTRS, 1, 5, **kw)
    )


def test_blocking_on_the_stadium_lake_agrees(engine: Engine, duck: Engine) -> None:
    parts, attrs = _stadium_parts()
    for e in (engine, duck):
        e.outer_union("s", parts, attrs)
    kw: dict[str, Any] = {"fill": True, "local_scale": 10, "phrase_jaccard": 0.8, "compound": True}
    n = engine.count("s")
    # a budget of 5 per tuple binds (the stadium tuples share more pairs): the cut by score bins
    got = token_candidates(engine, "s", attrs, 5, 60, **kw)
    want = token_candidates(duck, "s", attrs, 5, 60, **kw)
    assert got.num_rows == 5 * n and _pairs(got) == _pairs(want)


def test_pairs_for_a_large_union_agree(
    engine: Engine, duck: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above PAIR_PART_TUPLES tuples DuckDB makes the pairs in parts by left tuple, Spark in
    one query (it partitions the join itself): the same candidates either way."""
    import lakefuse.block.token_sql as ts

    for e in (engine, duck):
        e.outer_union("u", _parts(), ATTRS)
    whole = _pairs(token_candidates(duck, "u", ATTRS, per_tuple=3, max_df=5))
    monkeypatch.setattr(ts, "PAIR_PART_TUPLES", 3)  # the union in several parts
    assert _pairs(token_candidates(engine, "u", ATTRS, per_tuple=3, max_df=5)) == whole
    assert _pairs(token_candidates(duck, "u", ATTRS, per_tuple=3, max_df=5)) == whole


def test_connected_components_agree(engine: Engine) -> None:
    rng = np.random.default_rng(0)
    n = 400
    l = rng.integers(0, n, 300)
    r = rng.integers(0, n, 300)
    chain = np.arange(100, 160)  # a long path: many rounds for label propagation
    edges = pa.table({"l": np.concatenate([l, chain[:-1]]), "r": np.concatenate([r, chain[1:]])})
    got = engine.connected_components(edges, n)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = coo_matrix((np.ones(edges.num_rows), (edges.column("l"), edges.column("r"))), shape=(n, n))
    k, want = connected_components(m, directed=False)
    assert got.column("tid").to_pylist() == list(range(n))
    assert got.column("component").to_numpy().tolist() == want.tolist()
    assert got.column("component").to_numpy().max() == k - 1


# -- whole runs ----------------------------------------------------------------------------


def _sets(result: lakefuse.pipeline.Result) -> set[frozenset[tuple[str, int]]]:
    mem = result.membership.to_pylist()
    groups: dict[int, set[tuple[str, int]]] = {}
    for m in mem:
        groups.setdefault(m["set_id"], set()).add((m["table"], m["row"]))
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("lake", ["example", "stadiums"])
def test_integrate_on_spark_gives_duckdbs_sets(lake: str, spark: Any, tmp_path: Path) -> None:
    folder = EXAMPLE if lake == "example" else need(STADIUMS)
    duck = lakefuse.integrate([str(folder)], tmp_path / "duck", quiet=True)
    out = tmp_path / "spark"
    sp = lakefuse.integrate([str(folder)], out, quiet=True, spark_session=spark)
    assert sp.run["settings"]["engine"] == "spark"
    assert _sets(sp) == _sets(duck)
    assert sp.pairs.select(["l_tid", "r_tid"]).equals(duck.pairs.select(["l_tid", "r_tid"]))
    # the output contract: every file, every input tuple in some set, dense set ids
    for name in ("integrated.csv", "membership.csv", "pairs.parquet", "provenance.parquet"):
        assert (out / name).is_file(), name
    members = set(
        zip(
            sp.membership.column("table").to_pylist(),
            sp.membership.column("row").to_pylist(),
            strict=True,
        )
    )
    assert members == input_tuples(folder)
    ids = set(sp.membership.column("set_id").to_pylist())
    assert ids == set(range(sp.integrated.num_rows))
    assert sp.integrated.equals(duck.integrated)
