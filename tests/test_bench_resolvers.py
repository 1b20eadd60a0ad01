"""`lakefuse bench resolvers`: every resolver on the same sampled gold conflicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakefuse.bench.catalog import make_tasks
from lakefuse.bench.resolvers import default_tasks, merge, run, sample_task, wilson
from lakefuse.bench.tasks import shared_dir
from lakefuse.cli import app

needs_shared = pytest.mark.skipif(
    not (shared_dir() / "dialite").exists(), reason="../shared/data not present"
)


def test_wilson_interval() -> None:
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.490, abs=1e-3) and hi == pytest.approx(0.943, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_merge_keeps_the_later_run_of_a_row() -> None:
    def rep(commit: str, rows: dict[str, dict[str, int]], n: int = 60) -> dict:
        results = {r: {t: {"right": v} for t, v in ts.items()} for r, ts in rows.items()}
        tasks = sorted({t for ts in rows.values() for t in ts})
        return {
            "n_per_task": n,
            "seed": 0,
            "commit": commit,
            "tasks": tasks,
            "rows": list(rows),
            "results": results,
            "wall_s": 10.0,
        }

    old = rep("a", {"vote": {"x-balanced": 1}, "typo_vote": {"x-balanced": 2, "y-se_heavy": 3}})
    new = rep("b", {"typo_vote": {"x-balanced": 5}})
    m = merge([old, new])
    assert m["rows"] == ["vote", "typo_vote"] and m["commit"] == "a + b"
    assert m["results"]["typo_vote"] == {"x-balanced": {"right": 5}, "y-se_heavy": {"right": 3}}
    assert m["results"]["vote"] == {"x-balanced": {"right": 1}} and m["wall_s"] == 20.0
    with pytest.raises(ValueError, match="share --n"):
        merge([old, rep("c", {}, n=30)])


def test_default_tasks_are_the_fifteen_noisy_ones() -> None:
    tasks = default_tasks()
    assert len(tasks) == 15 and all(t.rsplit("-", 1)[1] != "none" for t in tasks)


@needs_shared
def test_resolver_bench_on_real_stadium_conflicts(tmp_path: Path) -> None:
    """The real stadium join task (balanced noise): the sample is seeded, every row answers
    the same problems, and the typo-aware default is far above majority vote."""
    task = make_tasks(tmp_path / "tasks", [("stadium_join", "balanced")])[0]
    a, b = sample_task(task, 30, seed=0), sample_task(task, 30, seed=0)
    assert [(p.set_id, p.attribute) for p in a.problems] == [
        (p.set_id, p.attribute) for p in b.problems
    ]
    other = sample_task(task, 30, seed=1)
    assert {p.set_id for p in other.problems} != {p.set_id for p in a.problems}
    assert len(a.problems) >= 30 and len(a.cells) > len(a.problems)

    report = run(
        tmp_path / "out", tmp_path / "tasks", [task.name], ("vote", "typo_vote", "truth"), n=30
    )
    res = report["results"]
    assert {res[r][task.name]["conflicts"] for r in res} == {len(a.problems)}
    assert res["typo_vote"][task.name]["conflict_accuracy"] >= (
        res["vote"][task.name]["conflict_accuracy"] + 0.1
    ), res
    saved = json.loads((tmp_path / "out" / "resolvers.json").read_text())
    assert saved["results"] == res
    md = (tmp_path / "out" / "resolvers.md").read_text()
    assert "**typo_vote** (default)" in md and task.name in md
    assert (tmp_path / "out" / "resolvers.png").stat().st_size > 5_000

    # redrawn from the JSON into a README's markers, text around them kept
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- resolvers:start -->\nold\n<!-- resolvers:end -->\nend\n")
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "resolvers",
            "-o",
            str(tmp_path / "again"),
            "--readme",
            str(readme),
            "--from-json",
            str(tmp_path / "out" / "resolvers.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("<!-- resolvers:end -->\nend\n")
    assert "\nold\n" not in text and md in text


def test_unknown_row_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "resolvers", "-o", str(tmp_path), "--row", "oracle", "--task", "x-none"]
    )
    assert result.exit_code == 2
    assert "unknown rows ['oracle']" in result.output
