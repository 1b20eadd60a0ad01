"""The engine primitives on DuckDB (every engine against DuckDB: test_engine_conformance.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakefuse.block.token_sql import token_candidates
from lakefuse.engines import get_engine
from lakefuse.types import ROW, TABLE, TID

ENGINES = ["duckdb"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    e = get_engine(request.param)
    yield e
    e.close()


def _parts() -> list[tuple[str, pa.Table]]:
    a = pa.table(
        {
            "name": ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
            "city": ["London", "Wilmslow", None],
        }
    )
    b = pa.table({"name": ["Alan M. Turing", "Edsger Dijkstra"], "field": ["CS", "CS"]})
    return [("a", a), ("b", b)]


def test_outer_union(engine) -> None:  # type: ignore[no-untyped-def]
    n = engine.outer_union("u", _parts(), ["name", "city", "field"])
    assert n == 5
    t = engine.fetch("u").to_pylist()
    assert [r[TID] for r in t] == [0, 1, 2, 3, 4]
    assert [(r[TABLE], r[ROW]) for r in t] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
        ("b", 1),
    ]
    assert t[3]["city"] is None and t[3]["field"] == "CS" and t[0]["field"] is None


def test_token_candidates_rank_and_cap(engine) -> None:  # type: ignore[no-untyped-def]
    engine.outer_union("u", _parts(), ["name", "city", "field"])
    pairs = token_candidates(engine, "u", ["name", "city", "field"], per_tuple=5, max_df=10)
    got = set(zip(pairs.column("l").to_pylist(), pairs.column("r").to_pylist(), strict=True))
    assert (1, 3) in got  # Alan Turing ~ Alan M. Turing share rare tokens
    assert (3, 4) in got  # both field CS
    assert all(lft < r for lft, r in got)
    capped = token_candidates(engine, "u", ["name", "city", "field"], per_tuple=1, max_df=10)
    assert capped.num_rows <= pairs.num_rows
    none = token_candidates(engine, "u", ["name", "city", "field"], per_tuple=5, max_df=1)
    assert none.num_rows == 0  # every shared key is too frequent


def test_token_candidates_fill_the_budget_as_a_mean(engine) -> None:  # type: ignore[no-untyped-def]
    # a hub: the team row is named by every player; players share the team's words
    team = pa.table({"team": ["Boston Red Sox"], "stadium": ["Fenway Park"]})
    players = pa.table(
        {
            "player": [f"player {i}" for i in range(6)],
            "team": ["Boston Red Sox"] * 3 + ["Red Sox"] * 3,
        }
    )
    engine.outer_union("u", [("t", team), ("p", players)], ["team", "stadium", "player"])
    attrs = ["team", "stadium", "player"]

    def pairs(**kw: object) -> set[tuple[int, int]]:
        t = token_candidates(engine, "u", attrs, max_df=10, **kw)
        return set(zip(t.column("l").to_pylist(), t.column("r").to_pylist(), strict=True))

    plain = pairs(per_tuple=1)
    filled = pairs(per_tuple=1, fill=True)
    assert len(plain) < 7  # each keeps its best partner: overlaps leave the mean below 1
    assert plain <= filled and len(filled) == 7  # filled to 1 pair per tuple on average
    assert len(pairs(per_tuple=100, fill=True)) == 21  # every sharing pair, no more


def test_qgram_candidates_survive_typos(engine) -> None:  # type: ignore[no-untyped-def]
    # two edits apart: no shared word or one-edit key, but shared 3-grams
    parts = [("a", pa.table({"name": ["Mercedes"]})), ("b", pa.table({"name": ["Mercedxz"]}))]
    engine.outer_union("u", parts, ["name"])
    assert token_candidates(engine, "u", ["name"], 5, 10).num_rows == 0
    assert token_candidates(engine, "u", ["name"], 5, 10, qgram=3).num_rows == 1


def test_token_candidates_survive_one_edit_and_code_punctuation(engine) -> None:  # type: ignore[no-untyped-def]
    # one edit apart (substitution, transposition, deletion), and a code with a hyphen
    a = ["Mercedes", "Saints", "Eagles", "KX-TCA86 headset"]
    b = ["Mercedez", "Sainst", "Eages", "kxtca86"]
    parts = [("a", pa.table({"name": a})), ("b", pa.table({"name": b}))]
    engine.outer_union("u", parts, ["name"])
    got = {(r["l"], r["r"]) for r in token_candidates(engine, "u", ["name"], 5, 10).to_pylist()}
    assert got == {(i, i + 4) for i in range(4)}


def test_token_candidates_meet_on_units_and_code_parts(engine) -> None:  # type: ignore[no-untyped-def]
    # a number and its unit written apart or in French ("64 GB" / "64Go"), a model number
    # glued into a part code ("EX-GTX1050-2G" / "GTX 1050"); "1 to 5" is no "1 TB"
    a = ["Kit 64Go", "EX-GTX1050-2G", "pages 1 to 5"]
    b = ["RAM 64 GB", "GeForce GTX 1050", "disk 1 TB"]
    parts = [("a", pa.table({"name": a})), ("b", pa.table({"name": b}))]
    engine.outer_union("u", parts, ["name"])
    got = {(r["l"], r["r"]) for r in token_candidates(engine, "u", ["name"], 5, 10).to_pylist()}
    assert got == {(0, 3), (1, 4)}


def test_pair_values(engine) -> None:  # type: ignore[no-untyped-def]
    engine.outer_union("u", _parts(), ["name", "city", "field"])
    pv = engine.pair_values("u", pa.table({"l": [1], "r": [3]}), ["name", "field"])
    row = pv.to_pylist()[0]
    assert row["name__l"] == "Alan Turing" and row["name__r"] == "Alan M. Turing"
    assert row["field__l"] is None and row["field__r"] == "CS"


def test_connected_components(engine) -> None:  # type: ignore[no-untyped-def]
    edges = pa.table({"l": [0, 1, 4], "r": [1, 2, 5]})
    cc = engine.connected_components(edges, 7).to_pylist()
    comp = {r["tid"]: r["component"] for r in cc}
    assert comp[0] == comp[1] == comp[2]
    assert comp[4] == comp[5] != comp[0]
    assert len({comp[3], comp[6], comp[0], comp[4]}) == 4


def test_sql_components_match_scipy(engine) -> None:  # type: ignore[no-untyped-def]
    # the engine-independent SQL algorithm (large-star / small-star) on a graph with a long
    # chain, a star, a cycle, a self-loop and isolated nodes gives scipy's labels
    from lakefuse.engines.base import Engine

    chain = [(i, i + 1) for i in range(20, 59)]
    star = [(70, k) for k in range(71, 80)]
    cycle = [(90, 91), (91, 92), (92, 93), (93, 90), (95, 95)]
    l, r = zip(*[*chain, *star, *cycle, (5, 3), (3, 1)], strict=True)
    edges = pa.table({"l": list(l), "r": list(r)})
    sql = Engine.connected_components(engine, edges, 100)
    assert sql.equals(engine.connected_components(edges, 100))
    comp = sql.column("component").to_pylist()
    assert comp[20] == comp[59] and comp[70] == comp[79] and comp[1] == comp[5] != comp[2]
    assert len(set(comp)) == 100 - 39 - 9 - 3 - 2


def test_duckdb_release_memory_keeps_tables_and_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After blocking the pipeline asks DuckDB to hand back its cached buffers: the tables
    stay readable and the memory limit is what it was."""
    from lakefuse.engines.duckdb_engine import DuckDBEngine

    e = DuckDBEngine(tmp_path / "db.duckdb", memory_limit="3GB")
    try:
        e.create("t", "SELECT range AS x FROM range(200000)")
        before = e.sql("SELECT current_setting('memory_limit') AS m").column(0)[0].as_py()
        e.release_memory()
        after = e.sql("SELECT current_setting('memory_limit') AS m").column(0)[0].as_py()
        assert after == before and before.startswith("2.7")  # 3 GB as GiB
        assert e.count("t") == 200000
    finally:
        e.close()


def test_blocking_steps_stay_out_of_the_database_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Blocking's steps are temporary tables: readable while they live, never written to
    the run's database file, and gone when blocking is done (in parts too)."""
    import lakefuse.block.token_sql as ts
    from lakefuse.engines.duckdb_engine import DuckDBEngine

    e = DuckDBEngine(tmp_path / "db.duckdb")
    seen: list[tuple[str, bool]] = []
    create = e.create

    def spy(name: str, query: str, temporary: bool = False) -> None:
        create(name, query, temporary)
        row = e.sql(
            f"SELECT temporary FROM duckdb_tables() WHERE table_name = '{name}'"
        ).to_pylist()
        seen.append((name, row[0]["temporary"]))

    try:
        e.outer_union("u", _parts(), ["name", "city", "field"])
        e.create = spy  # type: ignore[method-assign]
        monkeypatch.setattr(ts, "PAIR_PART_TUPLES", 2)  # the pairs in three parts, read as one
        got = token_candidates(e, "u", ["name", "city", "field"], 10, 50)
        pairs = set(zip(got.column("l").to_pylist(), got.column("r").to_pylist()))
        assert (1, 3) in pairs and (0, 1) not in pairs
        assert len(seen) >= 5 and all(temp for _, temp in seen), seen
        assert any(name.endswith("_p_2") for name, _ in seen)  # the third part
        left = e.sql("SELECT table_name FROM duckdb_tables()").column(0).to_pylist()
        assert left == ["u"]
    finally:
        e.close()
