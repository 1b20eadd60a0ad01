"""Markdown tables and a heat map for :mod:`lakefuse.bench.resolvers` reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SETTINGS = ("balanced", "te_heavy", "se_heavy")
#: The markers in docs/benchmarks.md (``report.BENCH_DOC``) that the tables go between.
RESOLVERS_START = "<!-- resolvers:start -->"
RESOLVERS_END = "<!-- resolvers:end -->"


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per row: mean conflict accuracy over the tasks of each setting, pooled accuracy with
    its Wilson interval, mean cell accuracy, and the tasks where it is above / below the
    default resolver."""
    from lakefuse.bench.resolvers import wilson

    default = report["results"].get(report["default"], {})
    out = []
    for row in report["rows"]:
        res = report["results"].get(row, {})
        done = [t for t in report["tasks"] if t in res]
        per_setting = {
            s: _mean(
                [
                    res[t]["conflict_accuracy"]
                    for t in done
                    if t.endswith("-" + s) and res[t]["conflict_accuracy"] is not None
                ]
            )
            for s in SETTINGS
        }
        right = sum(res[t]["right"] for t in done)
        n = sum(res[t]["conflicts"] for t in done)
        lo, hi = wilson(right, n)
        cells = [res[t]["cell_accuracy"] for t in done if res[t]["cell_accuracy"] is not None]
        vs = [(res[t]["right"], default[t]["right"]) for t in done if t in default]
        calls = sum(res[t]["model_calls"] for t in done)
        fallback = sum(res[t].get("fallback", 0) for t in done)
        wall = sum(res[t]["wall_s"] for t in done)
        out.append(
            {
                "row": row,
                "tasks": len(done),
                **per_setting,
                "pooled": right / n if n else None,
                "ci95": (lo, hi),
                "cell_accuracy": _mean(cells),
                "above_default": sum(a > b for a, b in vs),
                "below_default": sum(a < b for a, b in vs),
                "model_calls": calls,
                "fallback": fallback,
                "s_per_model_call": wall / calls if calls else None,
            }
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    default = report["default"]
    lines = [
        f"### Resolvers on sampled gold conflicts ({report['n_per_task']} per task, "
        f"seed {report['seed']})",
        "",
        "Gold integrable sets (no judge or set errors), the same problems for every row. "
        "Conflict accuracy is the mean over the tasks of a setting; *pooled* is over every "
        "sampled conflict, with its Wilson 95% interval. Cell accuracy covers every cell of "
        f"the sampled sets. `{default}` is the default resolver; *±default* counts the tasks "
        "where the row resolves more / fewer conflicts right than it; *fallback* counts "
        "ICLCR's conflicts that the model did not answer (missing, failing or too slow), "
        "decided by its classic fallback instead.",
        "",
        "| resolver | balanced | TE-heavy | SE-heavy | pooled (95% CI) | cell acc. | "
        "±default | model calls | fallback | s / call |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary(report):
        name = f"**{s['row']}** (default)" if s["row"] == default else s["row"]
        if s["tasks"] < len(report["tasks"]):
            name += f" ({s['tasks']}/{len(report['tasks'])} tasks)"
        lo, hi = s["ci95"]
        lines.append(
            f"| {name} | {_f(s['balanced'])} | {_f(s['te_heavy'])} | {_f(s['se_heavy'])} | "
            f"{_f(s['pooled'])} ({lo:.3f}–{hi:.3f}) | {_f(s['cell_accuracy'])} | "
            f"+{s['above_default']} / −{s['below_default']} | {s['model_calls']} | "
            f"{s['fallback']} | {_f(s['s_per_model_call'], 2)} |"
        )
    for metric, what, size in (
        ("conflict_accuracy", "Conflict accuracy", "conflicts"),
        ("cell_accuracy", "Cell accuracy", "cells"),
    ):
        lines += _per_task(
            report, metric, size, f"{what} per task ({size} in the sample in brackets):"
        )
    return "\n".join(lines) + "\n"


def _per_task(report: dict[str, Any], metric: str, size: str, title: str) -> list[str]:
    rows = report["rows"]
    lines = ["", title, "", "| task | " + " | ".join(rows) + " |", "|---|" + "---:|" * len(rows)]
    for t in report["tasks"]:
        cells = []
        n = None
        for r in rows:
            res = report["results"].get(r, {}).get(t)
            cells.append(_f(res[metric]) if res else " ")
            n = res[size] if res else n
        lines.append(f"| {t} ({n}) | " + " | ".join(cells) + " |")
    return lines


def chart(report: dict[str, Any], path: Path) -> Path:
    """Heat map of conflict accuracy, tasks as rows and resolvers as columns, the pooled
    accuracy as the last row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks, rows = report["tasks"], report["rows"]
    grid = np.full((len(tasks) + 1, len(rows)), np.nan)
    for j, r in enumerate(rows):
        res = report["results"].get(r, {})
        for i, t in enumerate(tasks):
            if t in res and res[t]["conflict_accuracy"] is not None:
                grid[i, j] = res[t]["conflict_accuracy"]
        n = sum(res[t]["conflicts"] for t in res)
        if n:
            grid[len(tasks), j] = sum(res[t]["right"] for t in res) / n
    fig, ax = plt.subplots(figsize=(2.8 + 0.8 * len(rows), 1.2 + 0.32 * (len(tasks) + 1)), dpi=110)
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0.4, vmax=1.0, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7)
    ax.axhline(len(tasks) - 0.5, color="black", linewidth=1)
    ax.set_xticks(range(len(rows)))
    labels = [f"{r} (default)" if r == report["default"] else r for r in rows]
    ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(tasks) + 1))
    ax.set_yticklabels([*tasks, "pooled"], fontsize=8)
    ax.set_title(
        f"conflict accuracy on {report['n_per_task']} sampled gold conflicts per task",
        fontsize=9,
    )
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
