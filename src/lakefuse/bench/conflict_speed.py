"""How fast ICLCR resolves real conflicts with the bundled local model (issue 6's figure).

Conflict problems come from bench tasks (FEBRL and DBLP entity tasks with injected noise, built
by :func:`lakefuse.bench.catalog.make_tasks` from the real data under ``shared/``): each gold
conflict record (a gold set whose tuples disagree on an attribute) becomes the
:class:`~lakefuse.types.ConflictProblem` the merge stage would build for that set, over the
outer union of the task's input tables.  The problems are resolved by the ICLCR resolver with
the real SmolLM2 model and the answer cache off, so every conflict is answered by the model (or
by ICLCR's own pooling shortcut, which is counted), and the wall time includes loading the
model and building the demonstrations.  The classic resolvers run on the same problems for
accuracy comparison (their time is not in the figure).

Run: ``python -m lakefuse.bench.conflict_speed --n 1000 -o speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from lakefuse.config import parse_options

#: task folders (base-setting) used in this order until ``n`` conflicts are collected
DEFAULT_TASKS = (
    "febrl_entity-balanced",
    "dblp_entity-balanced",
    "febrl_entity-te_heavy",
    "dblp_entity-te_heavy",
    "febrl_entity-se_heavy",
    "dblp_entity-se_heavy",
)


def load_task(task_dir: str | Path, limit: int | None = None) -> tuple[Any, list[Any], list[Any]]:
    """(ResolveContext, problems, true values) for a task's gold conflicts, at most ``limit``."""
    from lakefuse.bench.gold import load_gold
    from lakefuse.engines import get_engine
    from lakefuse.io import align, outer_union, read_table
    from lakefuse.types import ROW, TABLE, Candidate, ConflictProblem, ResolveContext

    task_dir = Path(task_dir)
    gold = load_gold(task_dir)
    raw = [read_table(p) for p in sorted((task_dir / "input").glob("*.csv"))]
    attributes, per_table = align(raw)
    union = outer_union(get_engine("duckdb"), raw, attributes, per_table)
    values = union.values()
    tid_of = {(t, r): i for i, (t, r) in enumerate(zip(values[TABLE], values[ROW]))}
    recs = gold.conflicts if limit is None else gold.conflicts[:limit]
    problems, truths = [], []
    for rec in recs:
        tids = [tid_of[(str(t), int(r))] for t, r in rec["set"]]
        a = rec["attribute"]
        by_value: dict[str, list[int]] = {}
        for t in tids:
            v = values[a][t]
            if v is not None:
                by_value.setdefault(v, []).append(t)
        if len(by_value) < 2:
            continue
        known = {}
        for b in attributes:
            if b == a:
                continue
            vs = {values[b][t] for t in tids} - {None}
            if len(vs) == 1:
                known[b] = next(iter(vs))
        cands = tuple(Candidate(v, tuple(ts)) for v, ts in by_value.items())
        problems.append(ConflictProblem(int(rec["set_id"]), a, cands, known))
        truths.append(rec.get("truth"))
    return ResolveContext(union, {}, 0), problems, truths


def _accuracy(values: Sequence[str], truths: Sequence[Any]) -> float | None:
    scored = [(v, t) for v, t in zip(values, truths) if t is not None]
    if not scored:
        return None
    from lakefuse.bench.metrics import normalize

    return sum(normalize(v) == normalize(t) for v, t in scored) / len(scored)


def run(
    n: int = 1000,
    tasks: Sequence[str] = DEFAULT_TASKS,
    tasks_dir: str | Path | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    compare: Sequence[str] = ("truth", "typo_vote", "vote"),
    progress: bool = True,
) -> dict[str, Any]:
    """Resolve ``n`` real conflicts (the first ones of each task, in order) with ICLCR and the
    bundled model; returns the timing and accuracy figures.

    ``tasks``: task folder names (``base-setting``) taken in order until ``n`` conflicts are
    collected; made under ``tasks_dir`` (default: a temporary folder) when missing.
    ``options``: ICLCR options (``k``, ``model``, ...); the answer cache is always off.
    ``compare``: classic resolvers scored on the same problems."""
    from lakefuse.bench.catalog import ensure_task
    from lakefuse.progress import Tracker
    from lakefuse.resolve import get_resolver

    opts = {"model": "smollm2", **(options or {}), "cache": False}
    tmp = None
    if tasks_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="lakefuse-speed-")
        tasks_dir = tmp.name
    root = Path(tasks_dir)
    loaded = []
    total = 0
    for name in tasks:
        if total >= n:
            break
        folder = ensure_task(root, name, seed)
        ctx, problems, truths = load_task(folder, n - total)
        loaded.append((name, ctx, problems, truths))
        total += len(problems)
    if total < n:
        raise ValueError(f"only {total} conflicts in tasks {list(tasks)} (wanted {n})")

    resolver = get_resolver("iclcr", **opts)
    tracker = Tracker(quiet=not progress)
    per_task: dict[str, Any] = {}
    answers: list[str] = []
    all_truths: list[Any] = []
    counts: dict[str, float] = {}
    proc = psutil.Process()
    cpu0 = proc.cpu_times()
    t0 = time.perf_counter()
    with tracker.progress("iclcr", total) as bar:
        job = bar.add_task("ICLCR conflicts", total=total)
        resolver.on_progress = lambda k: bar.advance(job, k)  # type: ignore[attr-defined]
        for name, ctx, problems, truths in loaded:
            ts = time.perf_counter()
            decisions = resolver.resolve(problems, ctx)
            wall = time.perf_counter() - ts
            vals = [d.value for d in decisions]
            stats = dict(resolver.stats)  # type: ignore[attr-defined]
            for k, v in stats.items():
                counts[k] = counts.get(k, 0) + v
            per_task[name] = {
                "conflicts": len(problems),
                "wall_s": round(wall, 2),
                "iclcr_accuracy": _accuracy(vals, truths),
                "stats": stats,
            }
            answers += vals
            all_truths += truths
    wall_s = time.perf_counter() - t0
    cpu1 = proc.cpu_times()
    compared: dict[str, float | None] = {}
    for name in compare:
        vals = []
        for _, ctx, problems, _ in loaded:
            vals += [d.value for d in get_resolver(name).resolve(problems, ctx)]
        compared[name] = _accuracy(vals, all_truths)
        for tname, ctx, problems, truths in loaded:
            dec = get_resolver(name).resolve(problems, ctx)
            per_task[tname][f"{name}_accuracy"] = _accuracy([d.value for d in dec], truths)
    backend = getattr(resolver, "_backend", None)
    out = {
        "conflicts": total,
        "wall_s": round(wall_s, 2),
        "s_per_conflict": round(wall_s / total, 4),
        "projected_s_per_1000": round(1000 * wall_s / total, 1),
        "cpu_s": round((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), 2),
        "model": getattr(backend, "model_id", None),
        "options": {k: v for k, v in opts.items()},
        "cache_hits": int(counts.get("cached", 0)),
        "model_calls": int(counts.get("model", 0)),
        "decided_without_model": int(counts.get("pooled", 0)),
        "fallback": int(counts.get("fallback", 0)),
        "errors": int(counts.get("errors", 0)),
        "model_load_s": round(counts.get("load_s", 0.0), 2),
        "accuracy": _accuracy(answers, all_truths),
        "accuracy_of": {"iclcr": _accuracy(answers, all_truths), **compared},
        "tasks": per_task,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
    }
    if tmp is not None:
        tmp.cleanup()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lakefuse.bench.conflict_speed")
    ap.add_argument("--n", type=int, default=1000, help="conflicts to resolve")
    ap.add_argument("--tasks-dir", default=None, help="where tasks are (made if missing)")
    ap.add_argument("--task", action="append", help="task folder name(s), base-setting")
    ap.add_argument("--opt", action="append", default=[], help="ICLCR option key=value")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--out", default=None, help="write the result as JSON here")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    options = parse_options(args.opt)
    res = run(
        args.n,
        tasks=tuple(args.task or DEFAULT_TASKS),
        tasks_dir=args.tasks_dir,
        seed=args.seed,
        options=options,
        progress=not args.quiet,
    )
    text = json.dumps(res, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    brief = {k: res[k] for k in ("conflicts", "wall_s", "s_per_conflict", "accuracy_of")}
    print(json.dumps(brief), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
