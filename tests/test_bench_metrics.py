"""Hand-computed examples for the bench metrics."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakefuse.bench.gold import Gold, Prediction
from lakefuse.bench.metrics import match_sets, pairwise, score, set_similarity


def T(*ids: int) -> list[tuple[str, int]]:
    return [("t", i) for i in ids]


def test_pairwise_partition_hand_computed() -> None:
    gold = [T(0, 1, 2), T(3, 4), T(5)]  # pairs 01 02 12 34 -> 4
    pred = [T(0, 1), T(2, 3, 4), T(5)]  # pairs 01 23 24 34 -> 4; true 01 34
    r = pairwise(pred, gold)
    assert (r["pred_pairs"], r["gold_pairs"], r["true_pairs"]) == (4, 4, 2)
    assert r["precision"] == pytest.approx(0.5)
    assert r["recall"] == pytest.approx(0.5)
    assert r["f1"] == pytest.approx(0.5)


def test_pairwise_overlapping_sets_count_a_pair_once() -> None:
    # full-disjunction style: tuple 0 (a team) sits in two sets
    gold = [T(0, 1), T(0, 2)]  # pairs 01 02
    pred = [T(0, 1, 2), T(0, 1)]  # pairs 01 02 12 (01 twice, counted once)
    r = pairwise(pred, gold)
    assert (r["pred_pairs"], r["gold_pairs"], r["true_pairs"]) == (3, 2, 2)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == 1.0
    assert r["f1"] == pytest.approx(0.8)


def test_pairwise_empty_and_singletons() -> None:
    gold = [T(0, 1), T(2)]
    assert pairwise([], gold)["f1"] == 0.0
    assert pairwise([], gold)["precision"] == 0.0
    only_singletons = pairwise([T(0), T(1), T(2)], gold)
    assert only_singletons["pred_pairs"] == 0 and only_singletons["recall"] == 0.0
    # nothing to find and nothing found: perfect
    r = pairwise([T(0), T(1)], [T(0), T(1)])
    assert (r["precision"], r["recall"], r["f1"]) == (1.0, 1.0, 1.0)
    # nothing to find, something found
    r = pairwise([T(0, 1)], [T(0), T(1)])
    assert (r["precision"], r["recall"]) == (0.0, 0.0)


def test_set_similarity_hand_computed() -> None:
    gold = [T(0, 1, 2), T(3, 4), T(5)]
    pred = [T(0, 1), T(2, 3, 4), T(5)]
    # Jaccard: g0-p0 2/3, g0-p1 1/5, g1-p1 2/3, g2-p2 1 -> best g0p0 + g1p1 + g2p2
    match, jac = match_sets(pred, gold)
    assert match == {0: 0, 1: 1, 2: 2}
    assert set_similarity(pred, gold) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_set_similarity_divides_by_larger_count_and_handles_overlap() -> None:
    gold = [T(0, 1), T(0, 2)]  # overlapping gold sets
    pred = [T(0, 1, 2)]  # one predicted set can match only one gold set
    assert set_similarity(pred, gold) == pytest.approx((2 / 3) / 2)
    pred2 = [T(0, 1), T(0, 2), T(7)]  # an extra singleton tuple the gold lacks
    assert set_similarity(pred2, gold) == pytest.approx(2 / 3)


def test_set_similarity_empty() -> None:
    assert set_similarity([], [T(0)]) == 0.0
    assert set_similarity([T(0)], []) == 0.0
    assert set_similarity([], []) == 1.0


def test_hungarian_beats_greedy() -> None:
    # greedy on the best Jaccard (g0-p0 = 3/4) would leave g1 with p1 (0); optimum pairs
    # g0-p1 (1/2) and g1-p0 (2/3): sum 7/6 > 3/4
    gold = [T(0, 1, 2, 3), T(1, 2, 4)]
    pred = [T(1, 2, 3), T(0, 3)]
    _, jac = match_sets(pred, gold)
    # by hand: g0p0 3/4 + g1p1 0 = 3/4  vs  g0p1 2/4 + g1p0 2/4 = 1.0
    assert sum(jac.values()) == pytest.approx(1.0)


def _gold() -> Gold:
    sets = [T(0, 1), T(2, 3), T(4)]
    clean = {
        0: {"name": "Lambeau Field", "city": "Green Bay"},
        1: {"name": "Soldier Field", "city": "Chicago"},
        2: {"name": "Heinz Field", "city": None},
    }
    conflicts = [
        {
            "set_id": 0,
            "set": [["t", 0], ["t", 1]],
            "known": {"city": "Green Bay"},
            "attribute": "name",
            "candidates": ["Lambeau Field", "Lambeau Fld."],
            "truth": "Lambeau Field",
        },
        {
            "set": [["t", 2], ["t", 3]],
            "known": {},
            "attribute": "city",
            "candidates": ["Chicago", "Chicgo"],
            "truth": "Chicago",
        },
    ]
    return Gold(sets, clean, conflicts, universe=T(0, 1, 2, 3, 4))


def test_conflict_and_cell_accuracy_through_the_match() -> None:
    pred = Prediction(
        sets={10: T(0, 1), 11: T(2, 3), 12: T(4)},
        values={
            10: {"Name": " lambeau   FIELD ", "City": "Green Bay"},  # normalised: right
            11: {"Name": "Soldier Field", "City": "Chicgo"},  # conflict lost
            12: {"Name": "Heinz Field", "City": "Pittsburgh"},  # city unknown in gold: ignored
        },
    )
    r = score(_gold(), pred)
    assert r["conflict_accuracy"] == pytest.approx(0.5)
    assert r["cells"] == 5
    assert r["cell_accuracy"] == pytest.approx(4 / 5)
    assert r["f1"] == 1.0 and r["set_similarity"] == 1.0


def test_unmatched_gold_set_gets_cells_wrong_and_empty_output() -> None:
    pred = Prediction(sets={0: T(0, 1)}, values={0: {"name": "Lambeau Field", "city": "x"}})
    r = score(_gold(), pred)
    assert r["cell_accuracy"] == pytest.approx(1 / 5)
    assert r["conflict_accuracy"] == pytest.approx(1 / 2)
    empty = score(_gold(), Prediction(sets={}, values=None))
    assert empty["f1"] == 0.0 and empty["set_similarity"] == 0.0
    assert empty["cell_accuracy"] == 0.0 and empty["conflict_accuracy"] == 0.0
    assert empty["wall_s"] is None


def test_stage_costs_from_run_json() -> None:
    run = {
        "wall_s_total": 3.5,
        "stages": {
            "read": {"wall_s": 1.0, "peak_rss_mb": 100.0},
            "judge": {"wall_s": 2.0, "peak_rss_mb": 250.0},
        },
    }
    r = score(_gold(), Prediction(sets={0: T(0, 1)}, values=None, run=run))
    assert r["wall_s"] == 3.5 and r["peak_rss_mb"] == 250.0
    assert r["stages"]["judge"]["wall_s"] == 2.0


partitions = st.lists(st.integers(0, 5), min_size=1, max_size=25).map(
    lambda labels: [T(*[i for i, lab in enumerate(labels) if lab == k]) for k in set(labels)]
)


@settings(max_examples=60, deadline=None)
@given(partitions, partitions)
def test_properties(a: list[list[tuple[str, int]]], b: list[list[tuple[str, int]]]) -> None:
    r = pairwise(a, b)
    assert 0.0 <= r["precision"] <= 1.0 and 0.0 <= r["recall"] <= 1.0
    assert pairwise(a, a)["f1"] == 1.0
    assert set_similarity(a, a) == pytest.approx(1.0)
    s = set_similarity(a, b)
    assert 0.0 <= s <= 1.0 + 1e-9
    assert math.isclose(s, set_similarity(b, a), rel_tol=1e-9)
    # swapping roles swaps precision and recall
    r2 = pairwise(b, a)
    assert r2["precision"] == pytest.approx(r["recall"])


def test_blocking_recall_hand_computed(tmp_path) -> None:
    from lakefuse.bench.metrics import blocking, blocking_of_run

    # join-style gold: a team (t0) links a player (p0) and a stadium (s0); two players
    # (p1, p2) are one entity. Gold pairs: p0-t0, p0-s0, t0-s0, p1-p2 -> 4.
    p = [("players", i) for i in range(3)]
    t0, s0 = ("teams", 0), ("stadiums", 0)
    gold = [[p[0], t0, s0], [p[1], p[2]]]
    # candidates: p0-t0, t0-s0 (so p0-s0 is linked through t0), p0-p1 (not gold)
    cands = [(t0, p[0]), (t0, s0), (p[0], p[1])]
    attrs = {
        p[0]: frozenset({"player", "team"}),
        p[1]: frozenset({"player", "team"}),
        p[2]: frozenset({"player"}),
        t0: frozenset({"team", "facility"}),
        s0: frozenset({"facility", "capacity"}),
    }
    r = blocking(gold, cands, 5, attrs)
    assert r["block_gold_pairs"] == 4 and r["block_pairs"] == 3
    assert r["block_recall"] == pytest.approx(2 / 4)  # p0-t0, t0-s0
    # p0-s0 share nothing: 3 pairs share an attribute (p0-t0, t0-s0, p1-p2), 2 found
    assert r["block_gold_pairs_shared"] == 3
    assert r["block_recall_shared"] == pytest.approx(2 / 3)
    assert r["block_recall_linked"] == pytest.approx(3 / 4)  # p0-s0 via t0; p1-p2 missed
    assert r["pairs_per_tuple"] == pytest.approx(3 / 5)
    assert blocking(gold, [], 5)["block_recall_shared"] is None
    assert r["block_recall_evidence"] is None  # no noise record given
    # conflict noise replaced p2's player name: p1-p2 share no evidence any more, and the
    # recall over the pairs that still do is 2 / 2; replacing p0's team leaves p0-t0 none
    ev = blocking(gold, cands, 5, attrs, {p[2]: frozenset({"player"})})
    assert ev["block_gold_pairs_evidence"] == 2
    assert ev["block_recall_evidence"] == pytest.approx(1.0)
    ev = blocking(gold, cands, 5, attrs, {p[0]: frozenset({"team"})})
    assert ev["block_gold_pairs_evidence"] == 2  # t0-s0 and p1-p2
    assert ev["block_recall_evidence"] == pytest.approx(1 / 2)

    # the same case read from a task folder and a run's pairs.parquet
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakefuse.bench.gold import Gold

    inp = tmp_path / "task" / "input"
    inp.mkdir(parents=True)
    (inp / "players.csv").write_text("Player,Team\nA,X\nB,Y\nB ,\n")
    (inp / "teams.csv").write_text("Team,Facility\nX,F\n")
    (inp / "stadiums.csv").write_text("Facility,Capacity\nF,10\n")
    out = tmp_path / "out"
    out.mkdir()
    l_, r_ = zip(*cands)
    pq.write_table(
        pa.table(
            {
                "l_table": [a[0] for a in l_],
                "l_row": [a[1] for a in l_],
                "r_table": [b[0] for b in r_],
                "r_row": [b[1] for b in r_],
            }
        ),
        out / "pairs.parquet",
    )
    g = Gold(gold, None, [], {}, [*p, t0, s0])
    assert blocking_of_run(tmp_path / "task", g, out) == r
    assert blocking_of_run(tmp_path / "task", g, tmp_path) == {}  # a baseline: no pairs
