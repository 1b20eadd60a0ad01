"""The bench report: Markdown tables (one per metric, with per-setting and per-kind means),
merging several runs, and the section between the bench markers of the project's benchmark
page (:data:`BENCH_DOC`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakefuse.bench.systems import DEFAULT

#: (key in a result, column header, format)
COLUMNS = [
    ("f1", "F1", "{:.3f}"),
    ("set_similarity", "SetSim", "{:.3f}"),
    ("labelled_f1", "LabF1", "{:.3f}"),
    ("labelled_test_f1", "LabF1(test)", "{:.3f}"),
    ("conflict_accuracy", "Conf", "{:.3f}"),
    ("cell_accuracy", "Cell", "{:.3f}"),
    ("time_ratio", "t×", "{:.2f}"),
    ("block_recall_shared", "BlockR", "{:.3f}"),
    ("block_recall", "BlockR(all)", "{:.3f}"),
    ("block_recall_evidence", "BlockR(ev)", "{:.3f}"),
    ("pairs_per_tuple", "Pairs/t", "{:.1f}"),
]


def _fmt(v: Any, f: str) -> str:
    return "–" if v is None else f.format(v)


#: The Markdown page whose bench and resolvers markers hold the project's tables (the
#: ``--readme`` target of ``make bench-readme``).
BENCH_DOC = Path("docs/benchmarks.md")
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


def update_readme(
    readme: Path, md: str, command: str, start: str = README_START, end: str = README_END
) -> None:
    """Replace the text between the ``start`` and ``end`` markers of ``readme`` with the
    report."""
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{readme} has no {start} ... {end} markers to put the table between")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    body = f"\n_Made by {command}; `make bench-readme` regenerates it._\n\n{md}\n"
    readme.write_text(head + start + body + end + tail, encoding="utf-8")


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
        "(no labels, generic settings), `tfidf_mutual` = char 2-4-gram TF-IDF, mutual best "
        "match across tables with cosine > 0.3, `lakefuse` = the default, `x=y` = lakefuse "
        "with one stage changed. – = not applicable, ERR = the run failed (listed below), "
        "skip = not run (time budget).",
    ]
    titles = {
        "f1": "Pairwise F1",
        "set_similarity": "Set similarity (Hungarian-matched Jaccard / max #sets)",
        "labelled_f1": "F1 over the labelled pairs (Magellan: the literature's metric; "
        "Fodors-Zagat: every cross pair)",
        "labelled_test_f1": "F1 over the labelled pairs of the test split (the number papers "
        "report)",
        "conflict_accuracy": "Conflict accuracy (gold conflicts resolved to the true value)",
        "cell_accuracy": "Cell accuracy (integrated table vs clean values)",
        "time_ratio": "Time ratio (wall time / lakefuse default's)",
        "block_recall_shared": "Blocking recall (gold pairs whose tuples share a non-null "
        "attribute, found among the judged candidate pairs)",
        "block_recall": "Blocking recall over all gold pairs (the pairs of pairwise F1; in join "
        "tasks many share no attribute and meet only through a third tuple)",
        "block_recall_evidence": "Blocking recall over the gold pairs that still share "
        "evidence (an attribute on which neither tuple's value was replaced by conflict noise)",
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
