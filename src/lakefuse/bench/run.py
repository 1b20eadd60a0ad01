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
from lakefuse.bench.systems import DEFAULT, System, order_variants, run_isolated, select, slug
from lakefuse.pipeline import MODEL_DIR

#: per-run time limit in seconds, by suite
TIMEOUTS = {"quick": 90.0, "full": 300.0}
#: seconds after which a suite stops starting lakefuse variants (baselines and the default
#: always run); None = no limit
BUDGETS: dict[str, float | None] = {"quick": 450.0, "full": None}
#: keep each lakefuse run's lakefuse.duckdb (MBs per run) under OUT/runs
KEEP_DB = False
#: (key in a result, column header, format)
COLUMNS = [
    ("f1", "F1", "{:.3f}"),
    ("set_similarity", "SetSim", "{:.3f}"),
    ("conflict_accuracy", "Conf", "{:.3f}"),
    ("cell_accuracy", "Cell", "{:.3f}"),
    ("time_ratio", "t×", "{:.2f}"),
    ("block_recall_shared", "BlockR", "{:.3f}"),
    ("block_recall", "BlockR(all)", "{:.3f}"),
    ("pairs_per_tuple", "Pairs/t", "{:.1f}"),
]


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


def _fmt(v: Any, f: str) -> str:
    return "–" if v is None else f.format(v)


README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from several runs: tasks and systems in first-seen order, a later run's row
    replacing an earlier one for the same (task, system); commits and wall times listed."""
    if len(reports) == 1:
        return reports[0]
    out = dict(reports[0])
    tasks: list[str] = []
    systems: dict[str, Any] = {}
    rows: dict[tuple[str, str], Any] = {}
    for r in reports:
        tasks += [t for t in r["tasks"] if t not in tasks]
        for s in r["systems"]:
            systems.setdefault(s["label"], s)
        for row in r["results"]:
            rows[(row["task"], row["system"])] = row
    out["tasks"] = tasks
    out["systems"] = list(systems.values())
    out["results"] = list(rows.values())
    out["commit"] = " + ".join(dict.fromkeys(r["commit"] for r in reports))
    out["wall_s"] = sum(r["wall_s"] for r in reports)
    return out


def update_readme(readme: Path, md: str, command: str) -> None:
    """Replace the text between the bench markers of ``readme`` with the report."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(
            f"{readme} has no {README_START} ... {README_END} markers to put the table between"
        )
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    body = f"\n_Made by {command}; `make bench-readme` regenerates it._\n\n{md}\n"
    readme.write_text(head + README_START + body + README_END + tail, encoding="utf-8")


def complete(report: dict[str, Any], system: str) -> bool:
    """Did ``system`` produce a scored result on every task?"""
    rows = {r["task"]: r for r in report["results"] if r["system"] == system}
    return all(t in rows and not rows[t].get("error") for t in report["tasks"])


def short(label: str) -> str:
    """``lakefuse[sets=louvain]`` -> ``sets=louvain`` for table headers."""
    return label[len("lakefuse[") : -1] if label.startswith("lakefuse[") else label


#: metrics that also get a mean per noise setting and per task kind (the issues' criteria)
BY_GROUP = ("f1", "set_similarity", "conflict_accuracy", "block_recall_shared")


def _group_means(
    report: dict[str, Any], by: dict[tuple[str, str], Any], systems: list[str], key: str, fmt: str
) -> list[str]:
    """Rows 'mean, <setting>' and 'mean, <kind> tasks' (over the tasks where all ran)."""
    info = {r["task"]: (r.get("setting"), r.get("kind")) for r in report["results"]}
    groups: list[tuple[str, list[str]]] = []
    for i, label in ((0, "setting {}"), (1, "{} tasks")):
        names = sorted({v[i] for v in info.values() if v[i]})
        if len(names) > 1:
            for g in names:
                groups.append(
                    (label.format(g), [t for t in report["tasks"] if info.get(t, ())[i] == g])
                )
    out = []
    for label, tasks in groups:
        cells = [f"*mean, {label}*"]
        for s in systems:
            vals = [by[(t, s)].get(key) for t in tasks if (t, s) in by]
            vals = [v for v in vals if v is not None]
            cells.append(_fmt(sum(vals) / len(vals), fmt) if vals else "–")
        if any(c != "–" for c in cells[1:]):
            out.append("| " + " | ".join(cells) + " |")
    return out


def markdown(report: dict[str, Any]) -> str:
    """One table per metric: rows are tasks x noise settings, columns the systems (lakefuse
    variants named by what they change), and a mean row."""
    systems = [s["label"] for s in report["systems"]]
    by = {(r["task"], r["system"]): r for r in report["results"]}
    lines = [
        f"lakefuse bench, suite `{report['suite']}`, commit `{report['commit']}`, "
        f"{report['date']}, {report['machine']['cpus']} CPUs, {report['wall_s']:.0f}s in all.",
        "",
        "Columns: `exact_fd` = ALITE's full disjunction on exact values, `splink` = Splink "
        "(no labels, generic settings), `lakefuse` = the default, `x=y` = lakefuse with one "
        "stage changed. – = not applicable, ERR = the run failed (listed below), skip = not run "
        "(time budget).",
    ]
    titles = {
        "f1": "Pairwise F1",
        "set_similarity": "Set similarity (Hungarian-matched Jaccard / max #sets)",
        "conflict_accuracy": "Conflict accuracy (gold conflicts resolved to the true value)",
        "cell_accuracy": "Cell accuracy (integrated table vs clean values)",
        "time_ratio": "Time ratio (wall time / lakefuse default's)",
        "block_recall_shared": "Blocking recall (gold pairs whose tuples share a non-null "
        "attribute, found among the judged candidate pairs)",
        "block_recall": "Blocking recall over all gold pairs (the pairs of pairwise F1; in join "
        "tasks many share no attribute and meet only through a third tuple)",
        "pairs_per_tuple": "Candidate pairs per tuple (mean)",
    }
    for key, _, fmt in COLUMNS:
        head = ["task", *(short(s) for s in systems)]
        lines += [
            "",
            f"### {titles[key]}",
            "",
            "| " + " | ".join(head) + " |",
            "|---|" + "---:|" * len(systems),
        ]
        for task in report["tasks"]:
            cells = [task]
            for s in systems:
                r = by.get((task, s), {})
                if r.get("skipped"):
                    cells.append("skip")
                elif r.get("error"):
                    cells.append("ERR")
                else:
                    cells.append(_fmt(r.get(key), fmt))
            lines.append("| " + " | ".join(cells) + " |")
        cells = ["**mean**"]
        for s in systems:
            vals = [by[(t, s)].get(key) for t in report["tasks"] if (t, s) in by]
            vals = [v for v in vals if v is not None]
            mark = "" if complete(report, s) else "*"
            cells.append(_fmt(sum(vals) / len(vals), fmt) + mark if vals else "–")
        lines.append("| " + " | ".join(cells) + " |")
        if key in BY_GROUP:
            lines += _group_means(report, by, systems, key, fmt)
    lines += [
        "",
        "### Wall time (s) and peak memory (MB) of the lakefuse default",
        "",
        "| task | wall_s | peak_rss_mb | slowest stage |",
        "|---|---:|---:|---|",
    ]
    for task in report["tasks"]:
        r = by.get((task, DEFAULT), {})
        stages = r.get("stages") or {}
        slow = max(stages.items(), key=lambda kv: kv[1].get("wall_s") or 0.0, default=None)
        slowest = f"{slow[0]} ({slow[1].get('wall_s') or 0.0:.1f}s)" if slow else "–"
        wall = _fmt(r.get("wall_s"), "{:.1f}")
        lines.append(f"| {task} | {wall} | {_fmt(r.get('peak_rss_mb'), '{:.0f}')} | {slowest} |")
    if not all(complete(report, s) for s in systems):
        lines += [
            "",
            "\\* mean over the tasks where the system ran (it failed or was skipped on others).",
        ]
    errors = [r for r in report["results"] if r.get("error") and not r.get("skipped")]
    skipped = sorted({r["system"] for r in report["results"] if r.get("skipped")})
    if skipped:
        lines += ["", f"skip = not run, the suite's time budget was spent: {', '.join(skipped)}"]
    if errors:
        lines += ["", "Errors:"]
        lines += [f"- {r['task']} / {r['system']}: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"
