"""Surrogate-key detection on real tables."""

from __future__ import annotations

from lakefuse.io import align, read_table
from lakefuse.io.profile import detect_surrogate_keys
from tests.conftest import DBLP_ACM, STADIUMS, need


def _detect(paths):  # type: ignore[no-untyped-def]
    raw = [read_table(p) for p in paths]
    _, per_table = align(raw)
    return detect_surrogate_keys(raw, per_table)


def test_magellan_ids_are_surrogates() -> None:
    d = need(DBLP_ACM)
    assert _detect([d / "tableA.csv", d / "tableB.csv"]) == ["id"]


def test_stadium_columns_are_not() -> None:
    assert _detect(sorted(need(STADIUMS).glob("*.csv"))) == []


def test_shared_join_key_is_not_a_surrogate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "players.csv"
    a.write_text("player,team_id\nA,1\nB,1\nC,2\n")
    b = tmp_path / "teams.csv"
    b.write_text("team_id,name\n1,Bears\n2,Saints\n")
    assert _detect([a, b]) == []


def test_build_union_marks_surrogates_for_integrate_and_train() -> None:
    from lakefuse.config import Settings
    from lakefuse.engines import get_engine
    from lakefuse.pipeline import build_union

    d = need(DBLP_ACM)
    raw = [read_table(d / "tableA.csv"), read_table(d / "tableB.csv")]
    attributes, per_table = align(raw)
    engine = get_engine("duckdb")
    union = build_union(engine, raw, attributes, per_table, Settings())
    assert union.surrogate_keys == ["id"]
    assert "id" not in union.evidence_attributes
    kept = build_union(engine, raw, attributes, per_table, Settings(surrogate_keys=[]))
    assert kept.surrogate_keys == []
    engine.close()
