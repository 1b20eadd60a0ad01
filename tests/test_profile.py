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
