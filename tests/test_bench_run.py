"""Baselines, the system registry and the end-to-end `bench run`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from lakefuse.bench.baselines import exact_full_disjunction, splink_baseline
from lakefuse.bench.catalog import make_tasks
from lakefuse.bench.gold import load_gold, load_prediction
from lakefuse.bench.metrics import score
from lakefuse.bench.report import markdown
from lakefuse.bench.run import run_suite
from lakefuse.bench.systems import DEFAULT, System, all_systems, run_isolated, select
from lakefuse.bench.tasks import shared_dir

needs_shared = pytest.mark.skipif(
    not (shared_dir() / "dialite").exists(), reason="../shared/data not present"
)


def _sets(out: Path) -> set[frozenset[tuple[str, int]]]:
    pred = load_prediction(out)
    return {frozenset(s) for s in pred.sets.values()}


def test_exact_full_disjunction_by_hand(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    pd.DataFrame({"player": ["ann", "bob", "cy"], "team": ["T1", "T1", "T2"]}).to_csv(
        inp / "p.csv", index=False
    )
    pd.DataFrame({"team": ["T1", "T2"], "stadium": ["S1", "S2"]}).to_csv(inp / "t.csv", index=False)
    pd.DataFrame({"stadium": ["S1", "S2", "S2"], "city": ["X", "Y", "Z"]}).to_csv(
        inp / "s.csv", index=False
    )
    exact_full_disjunction(inp, tmp_path / "out")
    got = _sets(tmp_path / "out")
    # T1/S1 joins both ann and bob (overlap); S2 has two conflicting cities -> two sets for cy
    assert got == {
        frozenset({("p", 0), ("t", 0), ("s", 0)}),
        frozenset({("p", 1), ("t", 0), ("s", 0)}),
        frozenset({("p", 2), ("t", 1), ("s", 1)}),
        frozenset({("p", 2), ("t", 1), ("s", 2)}),
    }
    integrated = pd.read_csv(tmp_path / "out" / "integrated.csv")
    assert set(integrated.columns) == {"set_id", "player", "team", "stadium", "city"}
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert {"read", "block", "sets", "resolve"} <= set(run["stages"])
    assert all("peak_rss_mb" in v for v in run["stages"].values())


def test_exact_full_disjunction_needs_exact_agreement(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    pd.DataFrame({"name": ["lambeau field", "soldier field"], "cap": ["81441", "61500"]}).to_csv(
        inp / "a.csv", index=False
    )
    pd.DataFrame({"name": ["lambeau fild", "soldier field"], "city": ["green bay", None]}).to_csv(
        inp / "b.csv", index=False
    )
    exact_full_disjunction(inp, tmp_path / "out")
    got = _sets(tmp_path / "out")
    assert frozenset({("a", 1), ("b", 1)}) in got  # exact match merges
    assert frozenset({("a", 0)}) in got and frozenset({("b", 0)}) in got  # a typo does not


@needs_shared
def test_exact_fd_reproduces_a_noise_free_join_task(tmp_path: Path) -> None:
    task = make_tasks(tmp_path, [("stadium_join", "none")])[0]
    exact_full_disjunction(task / "input", tmp_path / "out")
    r = score(load_gold(task), load_prediction(tmp_path / "out"))
    assert r["f1"] == 1.0 and r["set_similarity"] == 1.0 and r["cell_accuracy"] == 1.0


def test_splink_missing_fails_soft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "splink", None)
    monkeypatch.setitem(sys.modules, "splink.comparison_library", None)
    with pytest.raises(RuntimeError, match="splink is not installed"):
        splink_baseline(tmp_path, tmp_path / "out")


def test_failing_system_is_a_row_not_a_crash(tmp_path: Path) -> None:
    status = run_isolated(System("broken", "no_such_kind"), tmp_path, tmp_path / "o", 60)
    assert status["ok"] is False and "no_such_kind" in status["error"]


def test_registry_has_every_stage_variant() -> None:
    from lakefuse.config import Settings
    from lakefuse.judge import JUDGES
    from lakefuse.resolve import RESOLVERS
    from lakefuse.sets import SET_FINDERS

    default = Settings()
    labels = [s.label for s in all_systems()]
    assert labels[:4] == ["exact_fd", "splink", "tfidf_mutual", DEFAULT]
    for stage, registry in (("sets", SET_FINDERS), ("judge", JUDGES), ("resolver", RESOLVERS)):
        for name in registry.names():
            if name == getattr(default, stage):
                assert f"lakefuse[{stage}={name}]" not in labels  # that is the default row
            else:
                assert f"lakefuse[{stage}={name}]" in labels
    assert [s.label for s in select(["exact_fd"])] == ["exact_fd", DEFAULT]
    with pytest.raises(ValueError, match="no system matches"):
        select(["nothing*"])


@needs_shared
def test_run_suite_end_to_end(tmp_path: Path) -> None:
    md = run_suite(
        tasks=["stadium_join"], settings=["none"], out=tmp_path, systems=["exact_fd"], quiet=True
    )
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["tasks"] == ["stadium_join-none"]
    rows = {r["system"]: r for r in report["results"]}
    assert set(rows) == {"exact_fd", DEFAULT}
    assert rows["exact_fd"]["f1"] == 1.0
    assert rows[DEFAULT]["time_ratio"] == 1.0
    assert rows["exact_fd"]["time_ratio"] > 0
    assert (tmp_path / "bench.md").read_text() == md == markdown(report)
    assert "| stadium_join-none | 1.000 |" in md
    # blocking is measured for lakefuse rows only (a baseline judges no candidate pairs)
    assert "block_recall" not in rows["exact_fd"]
    assert 0.0 < rows[DEFAULT]["block_recall"] <= rows[DEFAULT]["block_recall_shared"] <= 1.0
    assert 0.0 < rows[DEFAULT]["pairs_per_tuple"] <= 50.0
    assert "### Blocking recall (gold pairs whose tuples share" in md
    assert (tmp_path / "bench_f1.png").stat().st_size > 1000


def test_update_readme_replaces_between_markers(tmp_path: Path) -> None:
    from lakefuse.bench.report import README_END, README_START, update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START}\nold table\n{README_END}\n\nafter\n")
    update_readme(readme, "| new | table |\n", "lakefuse bench run --suite full")
    text = readme.read_text()
    assert "old table" not in text and "| new | table |" in text
    assert text.startswith("# x") and text.endswith("after\n")
    assert "lakefuse bench run --suite full" in text
    update_readme(readme, "| newer |\n", "cmd")  # idempotent: markers stay
    assert text.count(README_START) == readme.read_text().count(README_START) == 1
    with pytest.raises(ValueError, match="markers"):
        update_readme(_no_markers(tmp_path), "x", "y")


def test_benchmark_page_holds_the_generated_tables(tmp_path: Path) -> None:
    # `make bench-readme` writes into docs/benchmarks.md (report.BENCH_DOC): each marker pair
    # once, and an update of a copy replaces only what lies between them
    from lakefuse.bench.report import BENCH_DOC, README_END, README_START, update_readme
    from lakefuse.bench.resolvers_report import RESOLVERS_END, RESOLVERS_START

    page = Path(__file__).resolve().parents[1] / BENCH_DOC
    text = page.read_text(encoding="utf-8")
    for start, end in ((README_START, README_END), (RESOLVERS_START, RESOLVERS_END)):
        assert text.count(start) == text.count(end) == 1
        assert text.index(start) < text.index(end)
    copy = tmp_path / "benchmarks.md"
    copy.write_text(text, encoding="utf-8")
    update_readme(copy, "| new | table |\n", "cmd")
    update_readme(copy, "| resolvers |\n", "cmd", RESOLVERS_START, RESOLVERS_END)
    new = copy.read_text(encoding="utf-8")
    assert new.split(README_START)[0] == text.split(README_START)[0]
    assert new.split(RESOLVERS_END)[1] == text.split(RESOLVERS_END)[1]
    assert "| new | table |" in new and "| resolvers |" in new
    assert "### Pairwise F1" not in new  # the old generated table is gone
    readme = (page.parents[1] / "README.md").read_text(encoding="utf-8")
    assert README_START not in readme and "docs/benchmarks.md" in readme


def _no_markers(tmp_path: Path) -> Path:
    p = tmp_path / "plain.md"
    p.write_text("# nothing here\n")
    return p


@needs_shared
def test_splink_baseline_links_entities(tmp_path: Path) -> None:
    pytest.importorskip("splink")
    task = make_tasks(tmp_path, [("febrl_entity", "none")])[0]
    splink_baseline(task / "input", tmp_path / "out")
    r = score(load_gold(task), load_prediction(tmp_path / "out"))
    assert r["f1"] > 0.8  # generic Splink does well on clean person records
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["splink"]["blocking_columns"] and run["splink"]["threshold"] == 0.9


def test_select_takes_exact_labels_with_brackets() -> None:
    from lakefuse.bench.systems import select

    labels = [s.label for s in select(["splink", "lakefuse[sets=components]"])]
    assert labels == ["splink", "lakefuse", "lakefuse[sets=components]"]


def test_variants_of_sets_or_resolver_reuse_the_defaults_judge(tmp_path: Path) -> None:
    from lakefuse.bench.run import reuse_judge
    from lakefuse.bench.systems import System

    model = tmp_path / "model"
    sets = System("lakefuse[sets=components]", "lakefuse", {"sets": "components"})
    judge = System("lakefuse[judge=similarity]", "lakefuse", {"judge": "similarity"})
    assert reuse_judge(sets, model) is sets  # nothing trained to reuse
    model.mkdir()
    (model / "judge.json").write_text("{}")
    got = reuse_judge(sets, model)
    assert got.overrides == {
        "sets": "components",
        "model_path": str(model),
        "pairs_cache": str(tmp_path / "pairs.parquet"),
    }
    assert got.label == sets.label
    assert reuse_judge(judge, model) is judge  # a judge change retrains
    default = System("lakefuse", "lakefuse")
    assert reuse_judge(default, model) is default


def test_merge_reports_adds_systems_and_replaces_shared_rows() -> None:
    from lakefuse.bench.report import markdown, merge_reports

    def rep(commit: str, systems: list[str], rows: list[tuple[str, str, float]]) -> dict:
        return {
            "suite": "full",
            "commit": commit,
            "date": "d",
            "machine": {"cpus": 2},
            "wall_s": 10.0,
            "tasks": sorted({t for t, _, _ in rows}),
            "systems": [{"label": s, "kind": "lakefuse", "overrides": {}} for s in systems],
            "results": [
                {"task": t, "system": s, "f1": f, "setting": "balanced", "kind": "entity"}
                for t, s, f in rows
            ],
        }

    a = rep("c1", ["lakefuse", "x"], [("t1", "lakefuse", 0.5), ("t1", "x", 0.1)])
    b = rep("c2", ["lakefuse", "y"], [("t1", "lakefuse", 0.6), ("t2", "y", 0.9)])
    m = merge_reports([a, b])
    assert [s["label"] for s in m["systems"]] == ["lakefuse", "x", "y"]
    assert m["tasks"] == ["t1", "t2"] and m["commit"] == "c1 + c2" and m["wall_s"] == 20.0
    got = {(r["task"], r["system"]): r["f1"] for r in m["results"]}
    assert got == {("t1", "lakefuse"): 0.6, ("t1", "x"): 0.1, ("t2", "y"): 0.9}
    assert "| t2 |" in markdown(m)
