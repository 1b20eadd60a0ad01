"""Chart of pairwise F1 per task and system (``bench_f1.png``): a heat map with the values
written in, tasks as rows and systems as columns, and the mean per system as the last row
(× = failed, blank = skipped, * = mean over the tasks that ran)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def f1_chart(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lakefuse.bench.report import complete, short

    tasks: list[str] = report["tasks"]
    systems = [s["label"] for s in report["systems"]]
    by = {(r["task"], r["system"]): r for r in report["results"]}
    grid = np.full((len(tasks) + 1, len(systems)), np.nan)
    for i, t in enumerate(tasks):
        for j, s in enumerate(systems):
            v = by.get((t, s), {}).get("f1")
            if v is not None:
                grid[i, j] = v
    for j in range(len(systems)):
        col = grid[: len(tasks), j]
        if np.isfinite(col).any():
            grid[len(tasks), j] = float(np.nanmean(col))
    fig, ax = plt.subplots(
        figsize=(2.5 + 0.75 * len(systems), 1.2 + 0.32 * (len(tasks) + 1)), dpi=110
    )
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if np.isfinite(grid[i, j]):
                partial = i == len(tasks) and not complete(report, systems[j])
                text = f"{grid[i, j]:.2f}" + ("*" if partial else "")
            elif (
                i < len(tasks)
                and by.get((tasks[i], systems[j]), {}).get("error")
                and not by[(tasks[i], systems[j])].get("skipped")
            ):
                text = "×"
            else:
                continue
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    ax.axhline(len(tasks) - 0.5, color="black", linewidth=1)
    ax.set_xticks(range(len(systems)))
    ax.set_xticklabels([short(s) for s in systems], rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(tasks) + 1))
    ax.set_yticklabels([*tasks, "mean"], fontsize=8)
    ax.set_title(f"pairwise F1 — lakefuse bench {report['suite']} @ {report['commit']}", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
