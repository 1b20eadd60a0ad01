"""``lakefuse bench run``: make the tasks, run every system on each, score, report."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakefuse.bench.catalog import make_tasks, plan
from lakefuse.bench.gold import load_gold, load_prediction
from lakefuse.bench.metrics import blocking_of_run, score
from lakefuse.bench.report import markdown
from lakefuse.bench.systems import DEFAULT, System, order_variants, run_isolated, select, slug
from lakefuse.pipeline import MODEL_DIR

#: per-run time limit in seconds, by suite
TIMEOUTS = {"quick": 90.0, "full": 300.0}
#: seconds after which a suite stops starting lakefuse variants (baselines and the default
#: always run); None = no limit
BUDGETS: dict[str, float | None] = {"quick": 450.0, "full": None}
#: keep each lakefuse run's lakefuse.duckdb (MBs per run) under OUT/runs
KEEP_DB = False


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parents[3]
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


_COMMIT: dict[str, str] = {}


def _task_ready(folder: Path, seed: int) -> bool:
    meta = folder / "gold" / "task.json"
    return meta.exists() and json.loads(meta.read_text()).get("seed") == seed


def run_suite(
    suite: str = "quick",
    tasks: list[str] | None = None,
    settings: list[str] | None = None,
    out: Path = Path("bench-out"),
    tasks_dir: Path | None = None,
    systems: list[str] | None = None,
    seed: int = 0,
    remake: bool = False,
    quiet: bool = False,
    timeout: float | None = None,
    budget: float | None = -1.0,
) -> str:
    """Returns the Markdown report (also written to OUT/bench.md beside bench.json and the
    F1 chart)."""
    t_start = time.perf_counter()
    _COMMIT["sha"] = _commit()  # the code the suite starts with
    if budget is not None and budget < 0:
        budget = BUDGETS.get(suite)
    pairs = plan(suite, tasks, settings)
    chosen = select(systems)
    tasks_dir = tasks_dir or out / "tasks"
    todo = [p for p in pairs if remake or not _task_ready(tasks_dir / f"{p[0]}-{p[1]}", seed)]
    if todo:
        _say(quiet, f"making {len(todo)} task(s) in {tasks_dir}")
        make_tasks(tasks_dir, todo, seed)
    limit = timeout or TIMEOUTS.get(suite, 900.0)
    deadline = None if budget is None else t_start + budget
    golds = {f"{b}-{s}": load_gold(tasks_dir / f"{b}-{s}") for b, s in pairs}
    # phase 1: baselines and the lakefuse default everywhere; phase 2: the variants, one
    # variant over all tasks at a time (slow ones last), until the suite's time budget is spent
    first = [s for s in chosen if s.kind != "lakefuse" or s.label == DEFAULT]
    rest = order_variants([s for s in chosen if s not in first])
    results: list[dict[str, Any]] = []
    base_of = {f"{b}-{s}": (b, s) for b, s in pairs}

    def save() -> None:
        for name in golds:
            _add_ratios(results, name)
        _write_json(out, _report(suite, pairs, chosen, results, seed, t_start))

    for name in golds:
        for system in first:
            results.append(
                _one(tasks_dir / name, golds[name], *base_of[name], system, out, limit, seed, quiet)
            )
        save()
    for system in rest:
        for name in golds:
            if deadline is not None and time.perf_counter() > deadline:
                results.append(_skipped(name, *base_of[name], golds[name], system, budget))
                continue
            results.append(
                _one(tasks_dir / name, golds[name], *base_of[name], system, out, limit, seed, quiet)
            )
        save()
    report = _report(suite, pairs, chosen, results, seed, t_start)
    _write_json(out, report)
    md = markdown(report)
    (out / "bench.md").write_text(md)
    try:
        from lakefuse.bench.chart import f1_chart

        f1_chart(report, out / "bench_f1.png")
    except Exception as exc:  # a chart is a nicety; the numbers are in bench.json
        _say(quiet, f"chart skipped: {exc}")
    return md


def _report(
    suite: str,
    pairs: list[tuple[str, str]],
    chosen: list[System],
    results: list[dict[str, Any]],
    seed: int,
    t_start: float,
) -> dict[str, Any]:
    order = {s.label: i for i, s in enumerate(chosen)}
    tasks = [f"{b}-{s}" for b, s in pairs]
    results = sorted(results, key=lambda r: (tasks.index(r["task"]), order[r["system"]]))
    return {
        "suite": suite,
        "commit": _COMMIT.get("sha") or _commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "seed": seed,
        "wall_s": round(time.perf_counter() - t_start, 1),
        "tasks": tasks,
        "systems": [s.to_dict() for s in chosen],
        "results": results,
    }


def _write_json(out: Path, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "bench.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, default=str))
    tmp.replace(out / "bench.json")


def _skipped(
    task: str, base: str, setting: str, gold: Any, system: System, budget: float | None
) -> dict[str, Any]:
    return {
        "task": task,
        "base": base,
        "setting": setting,
        "kind": gold.meta.get("kind"),
        "system": system.label,
        "error": f"skipped: suite time budget ({budget:.0f}s) spent",
        "skipped": True,
    }


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


#: overrides that leave the judge as the default trained it
JUDGE_NEUTRAL = {"sets", "sets_options", "resolver", "resolver_options"}


def reuse_judge(system: System, model: Path) -> System:
    """A variant that changes only set discovery or resolution gets the judge the default
    trained on the same task, and its scores of the same candidate pairs (training is
    deterministic for a seed, so they are what the variant would compute); its time then
    excludes training and pair scoring."""
    if (
        system.kind != "lakefuse"
        or system.label == DEFAULT
        or not system.overrides
        or not set(system.overrides) <= JUDGE_NEUTRAL
        or not (model / "judge.json").exists()
    ):
        return system
    cache = str(model.parent / "pairs.parquet")
    return System(
        system.label,
        system.kind,
        {**system.overrides, "model_path": str(model), "pairs_cache": cache},
    )


def _one(
    task: Path,
    gold: Any,
    base: str,
    setting: str,
    system: System,
    out: Path,
    limit: float,
    seed: int,
    quiet: bool,
) -> dict[str, Any]:
    pred_dir = out / "runs" / task.name / slug(system.label)
    system = reuse_judge(system, out / "runs" / task.name / slug(DEFAULT) / MODEL_DIR)
    status = run_isolated(system, task / "input", pred_dir, limit, seed)
    row: dict[str, Any] = {
        "task": task.name,
        "base": base,
        "setting": setting,
        "kind": gold.meta.get("kind"),
        "system": system.label,
        "error": status["error"],
        "process_wall_s": round(status["wall_s"], 2),
    }
    if status["ok"]:
        try:
            row.update(score(gold, load_prediction(pred_dir)))
            row.update(blocking_of_run(task, gold, pred_dir))
            if not KEEP_DB:  # the engine's database is for inspection only; it is the bulk
                (pred_dir / "lakefuse.duckdb").unlink(missing_ok=True)
        except Exception as exc:  # a broken output is that system's failure, not the bench's
            row["error"] = f"scoring failed: {exc}"
    msg = f"{task.name:<28} {system.label:<34} "
    msg += (
        f"F1={row['f1']:.3f} SetSim={row['set_similarity']:.3f} {row['wall_s']:.1f}s"
        if "f1" in row
        else f"ERROR {row['error']}"
    )
    if row.get("block_recall_shared") is not None:
        msg += f" BlockR={row['block_recall_shared']:.3f} pairs/t={row['pairs_per_tuple']:.1f}"
    _say(quiet, msg)
    return row


def _add_ratios(results: list[dict[str, Any]], task: str) -> None:
    rows = [r for r in results if r["task"] == task]
    ref = next((r.get("wall_s") for r in rows if r["system"] == DEFAULT), None)
    for r in rows:
        w = r.get("wall_s")
        r["time_ratio"] = (w / ref) if (w is not None and ref) else None
