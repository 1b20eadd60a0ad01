"""Every resolver and every ICLCR ablation on the same gold conflicts of every task (issue 6).

The pipeline rows of ``lakefuse bench run`` score a resolver behind the judge and the set
finder, and ICLCR's ablations with k = 10 or 20 run past the row time limit there on the larger
tasks.  This bench isolates the resolver: for each synthetic task (each base task in each noise
setting) it draws, with a seeded shuffle, gold integrable sets that carry a conflict until
``n`` conflicts are collected, builds the conflict problems the merge stage would build for
those sets (:func:`lakefuse.bench.conflict_speed.load_task`), and lets every row resolve the same
problems.  Per row and task it reports:

- conflict accuracy: the chosen value equals the true one (after the bench's normalisation),
  over the sampled conflicts, with a Wilson 95% interval;
- cell accuracy: over every cell of the sampled sets whose true value is known, where a
  conflicted cell takes the row's decision and any other cell the set's one value;
- wall time, model calls and time per model call (ICLCR's answer cache is off, so every
  question reaches the model).

Jobs (a task and a row) run in ``jobs`` worker processes; the rows are written as they finish.
``resolvers.json``, ``resolvers.md`` and ``resolvers.png`` (a heat map of conflict accuracy)
land in the output folder.  Run: ``lakefuse bench resolvers -o bench-out/resolvers``.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: row label -> (resolver name, options); the ICLCR rows are the issue's ablations
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "vote": ("vote", {}),
    "typo_vote": ("typo_vote", {}),
    "typo_vote,no_context": ("typo_vote", {"context_min_mi": None}),
    "truth": ("truth", {}),
    "iclcr": ("iclcr", {}),
    "iclcr,k=0": ("iclcr", {"k": 0}),
    "iclcr,k=5": ("iclcr", {"k": 5}),
    "iclcr,k=10": ("iclcr", {"k": 10}),
    "iclcr,k=20": ("iclcr", {"k": 20}),
    "iclcr,no_compress": ("iclcr", {"compress": False}),
    "iclcr,random_demos": ("iclcr", {"selection": "random"}),
    "iclcr,no_pool": ("iclcr", {"pool_variants": False}),
    "iclcr,hybrid": ("iclcr", {"norm": "mean", "prior": 1, "prior_from": "truth"}),
}
#: the rows run unless asked otherwise (the issue's ablations; no_pool and hybrid on request)
DEFAULT_ROWS = tuple(r for r in ROWS if r not in ("iclcr,no_pool", "iclcr,hybrid"))


@dataclass
class Sample:
    """One task's sampled gold sets as conflict problems, and the cells to score."""

    context: Any  # ResolveContext
    problems: list[Any]  # ConflictProblem
    truths: list[str | None]
    #: (index of the deciding problem or -1, the set's one value otherwise, true value)
    cells: list[tuple[int, str | None, str]]


def default_tasks() -> list[str]:
    """The synthetic tasks of the full suite (the Magellan ones have no conflicts)."""
    from lakefuse.bench.catalog import plan

    return [f"{b}-{s}" for b, s in plan("full") if s != "none"]


def sample_task(task_dir: str | Path, n: int, seed: int = 0) -> Sample:
    """Gold sets with a conflict, in a seeded shuffle, until ``n`` conflicts are collected."""
    from lakefuse.bench.conflict_speed import load_task
    from lakefuse.bench.gold import load_gold
    from lakefuse.types import ROW, TABLE

    context, problems, truths = load_task(task_dir)
    by_set: dict[int, list[int]] = {}
    seen = set()
    for i, p in enumerate(problems):
        if (p.set_id, p.attribute) not in seen:
            seen.add((p.set_id, p.attribute))
            by_set.setdefault(p.set_id, []).append(i)
    sids = sorted(by_set)
    random.Random(f"{seed}:resolvers").shuffle(sids)
    chosen: list[int] = []
    total = 0
    for sid in sids:
        if total >= n:
            break
        chosen.append(sid)
        total += len(by_set[sid])
    gold = load_gold(task_dir)
    values = context.union.values()
    tid_of = {(t, r): i for i, (t, r) in enumerate(zip(values[TABLE], values[ROW]))}
    keep: list[int] = []
    cells: list[tuple[int, str | None, str]] = []
    for sid in sorted(chosen):
        decided = {}
        for i in by_set[sid]:
            decided[problems[i].attribute] = len(keep)
            keep.append(i)
        tids = [tid_of[(str(t), int(r))] for t, r in gold.sets[sid]]
        for attribute, truth in (gold.clean or {}).get(sid, {}).items():
            if truth is None:
                continue
            if attribute in decided:
                cells.append((decided[attribute], None, truth))
            else:
                vs = {values[attribute][t] for t in tids} - {None}
                cells.append((-1, next(iter(vs)) if len(vs) == 1 else None, truth))
    return Sample(context, [problems[i] for i in keep], [truths[i] for i in keep], cells)


def wilson(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def score(sample: Sample, chosen: Sequence[str]) -> dict[str, Any]:
    from lakefuse.bench.metrics import normalize

    scored = [(v, t) for v, t in zip(chosen, sample.truths) if t is not None]
    right = sum(normalize(v) == normalize(t) for v, t in scored)
    cell_right = 0
    for i, fixed, truth in sample.cells:
        got = chosen[i] if i >= 0 else fixed
        cell_right += got is not None and normalize(got) == normalize(truth)
    lo, hi = wilson(right, len(scored))
    return {
        "conflicts": len(scored),
        "right": right,
        "conflict_accuracy": right / len(scored) if scored else None,
        "ci95": [round(lo, 4), round(hi, 4)],
        "cells": len(sample.cells),
        "cell_accuracy": cell_right / len(sample.cells) if sample.cells else None,
    }


_SAMPLES: dict[tuple[str, int, int], Sample] = {}


def _job(args: tuple[str, str, str, int, int]) -> tuple[str, str, dict[str, Any]]:
    """One row on one task (in a worker process; the last samples are kept for reuse)."""
    from lakefuse.resolve import get_resolver

    tasks_dir, task, row, n, seed = args
    key = (task, n, seed)
    if key not in _SAMPLES:
        if len(_SAMPLES) >= 2:
            _SAMPLES.pop(next(iter(_SAMPLES)))
        _SAMPLES[key] = sample_task(Path(tasks_dir) / task, n, seed)
    sample = _SAMPLES[key]
    name, options = ROWS[row]
    if name == "iclcr":
        options = {"model": "smollm2", "cache": False, **options}
    resolver = get_resolver(name, **options)
    t0 = time.perf_counter()
    decisions = resolver.resolve(sample.problems, sample.context)
    wall = time.perf_counter() - t0
    out = score(sample, [d.value for d in decisions])
    stats = dict(getattr(resolver, "stats", {}))
    calls = int(stats.get("model", 0))
    out.update(
        wall_s=round(wall, 3),
        model_calls=calls,
        s_per_model_call=round(wall / calls, 3) if calls else None,
        fallback=int(stats.get("fallback", 0)),
        methods=dict(Counter(d.method for d in decisions)),
    )
    return task, row, out


def run(
    out_dir: str | Path,
    tasks_dir: str | Path,
    tasks: Sequence[str] | None = None,
    rows: Sequence[str] = DEFAULT_ROWS,
    n: int = 60,
    seed: int = 0,
    jobs: int = 1,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run ``rows`` on ``n`` sampled gold conflicts of each task; writes resolvers.json, .md
    and .png under ``out_dir`` and returns the report."""
    from lakefuse.bench.catalog import ensure_task
    from lakefuse.bench.run import _commit
    from lakefuse.config import Settings
    from lakefuse.progress import Tracker

    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise ValueError(f"unknown rows {unknown} (available: {list(ROWS)})")
    tasks = list(tasks or default_tasks())
    root = Path(tasks_dir)
    for name in tasks:
        ensure_task(root, name, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "n_per_task": n,
        "seed": seed,
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "default": Settings().resolver,
        "tasks": tasks,
        "rows": list(rows),
        "results": {r: {} for r in rows},
    }
    # the costly rows first, so that two workers finish together
    order = sorted(rows, key=lambda r: -int(ROWS[r][1].get("k", 3)) - 10 * (ROWS[r][0] == "iclcr"))
    work = [(str(root), t, r, n, seed) for r in order for t in tasks]
    t0 = time.perf_counter()
    with Tracker(quiet=quiet).progress("resolvers", len(work)) as bar:
        job = bar.add_task("resolver x task", total=len(work))
        ctx = multiprocessing.get_context("spawn")
        # each worker's numeric libraries and model process share the cores between the jobs
        from lakefuse.threads import ENV, available_cores

        os.environ.setdefault(ENV, str(max(1, available_cores() // max(1, jobs))))
        with ctx.Pool(max(1, jobs)) as pool:
            for task, row, res in pool.imap_unordered(_job, work):
                report["results"][row][task] = res
                report["wall_s"] = round(time.perf_counter() - t0, 1)
                (out / "resolvers.json").write_text(json.dumps(report, indent=1) + "\n")
                bar.advance(job, 1)
    return draw(report, out)


def merge(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report from several runs on the same samples (same ``n`` and seed); where two
    runs share a row and task, the later one's result is kept."""
    first = reports[0]
    for r in reports[1:]:
        if (r["n_per_task"], r["seed"]) != (first["n_per_task"], first["seed"]):
            raise ValueError("resolver reports to merge must share --n and --seed")
    out = {**first, "results": {}}
    out["tasks"] = list(dict.fromkeys(t for r in reports for t in r["tasks"]))
    out["rows"] = [row for row in ROWS if any(row in r["rows"] for r in reports)]
    out["commit"] = " + ".join(dict.fromkeys(str(r.get("commit", "?")) for r in reports))
    out["wall_s"] = round(sum(r.get("wall_s") or 0.0 for r in reports), 1)
    for row in out["rows"]:
        merged: dict[str, Any] = {}
        for r in reports:
            merged.update(r["results"].get(row, {}))
        out["results"][row] = merged
    return out


def draw(report: dict[str, Any], out_dir: str | Path) -> dict[str, Any]:
    """Write resolvers.json, resolvers.md and resolvers.png of ``report`` under ``out_dir``."""
    from lakefuse.bench.resolvers_report import chart, markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "resolvers.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "resolvers.md").write_text(markdown(report))
    chart(report, out / "resolvers.png")
    return report
