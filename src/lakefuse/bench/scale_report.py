"""``scale_pipeline.md`` and ``scale_pipeline.png`` from the report of
:func:`lakefuse.bench.scale_pipeline.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABEL = {"lakefuse": "lakefuse", "lakefuse-spark": "lakefuse-spark", "splink": "Splink"}
#: the rows of lakefuse itself (one per engine)
LAKEFUSE = ("lakefuse", "lakefuse-spark")
#: the wall outside every stage: interpreter start, imports, opening and closing the engine
#: (Spark: starting and stopping its JVM)
OUTSIDE = "outside stages"


def _f(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def largest_stage(res: dict[str, Any]) -> dict[str, Any] | None:
    """The stage with the most wall time in a lakefuse run (the time outside every stage
    counted as one more, :data:`OUTSIDE`), its seconds and share of the process wall; a run
    stopped at the cap counts the stage it was in up to then."""
    wall = res.get("wall_s")
    stages = dict(res.get("stages") or res.get("finished_stages") or {})
    if res.get("stage_at_stop") and res.get("stage_at_stop_s") is not None:
        stages[res["stage_at_stop"]] = res["stage_at_stop_s"]
    stages = {k: float(v) for k, v in stages.items() if v is not None}
    if not wall or not stages:
        return None
    stages[OUTSIDE] = max(0.0, wall - sum(stages.values()))
    name = max(stages, key=lambda k: stages[k])
    return {"stage": name, "wall_s": round(stages[name], 3), "share": round(stages[name] / wall, 3)}


def _recall_table(report: dict[str, Any]) -> list[str]:
    """Where lakefuse's recall goes, per size: the gold pairs blocking proposed, the share of
    those the judge accepted, and the end-to-end recall (sets add pairs through third
    tuples); empty when no run kept its pairs.parquet."""
    rows = [
        (e["n"], system, res)
        for e in report["sizes"]
        for system, res in e["systems"].items()
        if system in LAKEFUSE and res.get("blocking_recall") is not None
    ]
    if not rows:
        return []
    lines = [
        "",
        "Where lakefuse's recall goes (its pairs.parquet against the gold): the share of gold "
        "pairs among the candidate pairs (blocking recall), the share of those the judge "
        "accepted, and the recall of the output, where set discovery adds pairs that meet "
        "through a third tuple. What set discovery had to work with: the judge's accepts "
        "joined by connected components, P / R / F1 (their recall is the most any set "
        "discovery over the judge's decisions could keep; split by the gold people, they "
        "would keep every true pair and no false one):",
        "",
        "| n | system | gold pairs | candidate pairs | blocking recall | judge accepts "
        "| accepts joined: P / R / F1 | recall |",
        "|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    for n, system, res in rows:
        joined = res.get("accepts_joined") or {}
        lines.append(
            f"| {n:,} | {LABEL[system]} | {res.get('gold_pairs', 0):,} "
            f"| {res['candidate_pairs']:,} | {_f(res['blocking_recall'], 4)} "
            f"| {_f(res.get('judge_accepts'), 4)} | {_prf(joined) if joined else ''} "
            f"| {_f(res.get('recall'), 4)} |"
        )
    return lines


def _prf(d: dict[str, Any]) -> str:
    return f"{_f(d.get('precision'), 4)} / {_f(d.get('recall'), 4)} / {_f(d.get('f1'), 4)}"


def _ceiling_table(report: dict[str, Any]) -> list[str]:
    """lakefuse's judge beside a classifier trained on the gold labels of the same candidate
    pairs (cross-fitted), over the candidates and end to end; empty when none was run."""
    rows = [
        (e["n"], res, res["ceiling"])
        for e in report["sizes"]
        for system, res in e["systems"].items()
        if system == "lakefuse" and isinstance(res.get("ceiling"), dict)
    ]
    if not rows:
        return []
    lines = [
        "",
        "A ceiling for a pairwise judge: a gradient-boosted classifier trained on the gold "
        "labels of lakefuse's own candidate pairs (each attribute's evidence, equality, both "
        "values' frequency; cross-fitted over two halves), beside lakefuse's label-free judge. "
        "P / R / F1 over the candidate pairs (recall of the true candidates; the labelled "
        "classifier at its best cut), and end to end (the labelled classifier's accepts "
        "joined by connected components; lakefuse's output):",
        "",
        "| n | judge on candidates | labelled, on candidates (cut) | labelled + components "
        "(cut) | lakefuse end to end |",
        "|---:|---|---|---|---|",
    ]
    for n, res, c in rows:
        if c.get("error"):
            lines.append(f"| {n:,} | not measured: {c['error']} | | | |")
            continue
        lab, end = c["labelled_on_candidates"], c["labelled_components"]
        lines.append(
            f"| {n:,} | {_prf(c['judge_on_candidates'])} | {_prf(lab)} ({lab['cut']}) "
            f"| {_prf(end)} ({end['cut']}) | {_prf(res)} |"
        )
    return lines


def _mixed(report: dict[str, Any], system: str) -> str:
    """A warning when ``system``'s wall times come from more than one call of the bench
    (the machine's speed varies between calls, so a slope across them mixes two speeds)."""
    calls = {
        res.get("call") for e in report["sizes"] if (res := e["systems"].get(system, {})).get("ok")
    }
    if len(calls) < 2:
        return ""
    return (
        f" These mix the results of {len(calls)} calls of the bench (sizes kept from an "
        "earlier call), whose machine speeds may differ: compare within one call."
    )


def _largest(res: dict[str, Any]) -> str:
    big = res.get("largest_stage") or largest_stage(res)
    return "" if big is None else f"{big['stage']} ({big['share']:.0%})"


def _status(res: dict[str, Any]) -> str:
    if res.get("skipped"):
        return f"skipped ({res['skipped']})"
    if res.get("timed_out"):
        done = ", ".join(res.get("finished_stages", {})) or "none"
        return f"TIMEOUT in stage {res.get('stage_at_stop') or '?'} (finished: {done})"
    if not res.get("ok"):
        return f"ERR: {res.get('error', '?')}"
    return res.get("score_error", "")


def _earlier(report: dict[str, Any]) -> list[str]:
    """A line naming the results kept from an earlier call on another commit, if any."""
    old = []
    for e in report["sizes"]:
        for system, res in e["systems"].items():
            made = res.get("commit") or e.get("commit")
            if made and made != report["commit"]:
                old.append(f"n={e['n']:,} {LABEL.get(system, system)} at `{made}`")
    if not old:
        return []
    return ["", f"Results kept from an earlier call in this folder: {', '.join(old)}."]


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# lakefuse bench scale pipeline",
        "",
        f"Commit `{report['commit']}`, {report['date']}, {m['cpus']} CPUs, "
        f"{m['memory_gib']} GiB memory, seed {report['seed']}, cap {report['timeout_s']:.0f} s "
        "per run. FEBRL-style person records (FEBRL2 + FEBRL3 templates) in 4 sources with "
        "partial columns; each system in a fresh process (lakefuse-spark: lakefuse with "
        "`--engine spark`, Spark in local mode), lakefuse with no embedding cache (every value "
        "embedded as in a first run). Wall = process start to exit; peak RSS = the "
        "larger of the kernel's high-water mark of the process and the sampled sum over its "
        "process tree (a Spark JVM included); CPU = user + system time, the tree's likewise; "
        "disk = peak size of the run folder (output, staging with lakefuse.duckdb, DuckDB "
        "spill, Spark's local folders; the machine's load before each run is in the JSON). "
        "Pairwise P/R/F1 against the gold people. Largest stage = the lakefuse stage with the "
        f"most wall time and its share of the process wall ('{OUTSIDE}': interpreter start, "
        "imports, engine start and stop).",
        *_earlier(report),
        "",
        "| n | people | system | wall s | CPU s | peak RSS MiB | disk MiB | precision | recall "
        "| F1 | wall / Splink's | largest stage (share) | note |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    stage_names: list[str] = []
    for e in report["sizes"]:
        sp = e["systems"].get("splink", {})
        for system, res in e["systems"].items():
            ratio = ""
            if system != "splink" and res.get("ok") and sp.get("ok") and sp.get("wall_s"):
                ratio = _f(res["wall_s"] / sp["wall_s"], 2)
            lines.append(
                f"| {e['n']:,} | {e['data']['people']:,} | {LABEL.get(system, system)} "
                f"| {_f(res.get('wall_s'))} | {_f(res.get('cpu_s'))} "
                f"| {_f(res.get('peak_rss_mb'), 0)} "
                f"| {_f(res.get('disk_peak_mb'), 1)} | {_f(res.get('precision'), 4)} "
                f"| {_f(res.get('recall'), 4)} | {_f(res.get('f1'), 4)} | {ratio} "
                f"| {_largest(res) if system in LAKEFUSE else ''} | {_status(res)} |"
            )
            if system in LAKEFUSE:
                for st in res.get("stages") or res.get("finished_stages") or {}:
                    if st not in stage_names:
                        stage_names.append(st)
    lines += ["", "lakefuse wall per stage (s, from run.json):", ""]
    lines.append(
        "| n | system | " + " | ".join(stage_names) + " | in-process total | process wall |"
    )
    lines.append("|---:|---|" + "---:|" * (len(stage_names) + 2))
    for e in report["sizes"]:
        for system in LAKEFUSE:
            if system not in e["systems"] or e["systems"][system].get("skipped"):
                continue
            res = e["systems"][system]
            st = res.get("stages") or res.get("finished_stages") or {}
            cells = " | ".join(_f(st.get(s), 2) for s in stage_names)
            lines.append(
                f"| {e['n']:,} | {LABEL[system]} | {cells} | "
                f"{_f(res.get('system_wall_s'), 1)} | {_f(res.get('wall_s'), 1)} |"
            )
    lines += _recall_table(report)
    lines += _ceiling_table(report)
    for system, key in (
        ("lakefuse", "lakefuse_wall_slope"),
        ("lakefuse-spark", "lakefuse_spark_wall_slope"),
    ):
        if system not in report["systems"]:
            continue
        slope = report.get(key)
        lines += [
            "",
            f"Log-log slope of {system}'s wall time from {report['slope_from']:,} rows to the "
            f"largest size run: {_f(slope, 2) if slope is not None else 'n/a (needs two sizes)'}"
            f"; over all sizes run: {_f(report.get(key + '_all'), 2)}.{_mixed(report, system)}",
        ]
    both = [
        f"{e['n']:,}: wall x{_f(r.get('wall_s'), 2)}, peak RSS x{_f(r.get('peak_rss_mb'), 2)}"
        for e in report["sizes"]
        if (r := e.get("spark_vs_duckdb"))
    ]
    if both:
        lines += ["", "lakefuse-spark against lakefuse on DuckDB: " + "; ".join(both) + "."]
    notes = []
    for e in report["sizes"]:
        sp = e["systems"].get("splink", {}).get("splink")
        if sp:
            notes.append(
                f"- n={e['n']:,}: Splink blocked on "
                f"{', '.join(sp['blocking_columns']) or 'nothing'}"
                f"; EM on {', '.join(sp['em_columns'])}"
                + (f"; warnings: {'; '.join(sp['warnings'])}" if sp.get("warnings") else "")
            )
    if notes:
        lines += ["", "Splink's generic settings per size:", "", *notes]
    gen = [
        f"{e['n']:,}: {'cached' if e['data'].get('cached') else 'made'} "
        f"(generate {e['data'].get('generate_s')} s, write {e['data'].get('write_s')} s)"
        for e in report["sizes"]
    ]
    lines += ["", "Input data: " + "; ".join(gen) + "."]
    changed = [
        f"{e['n']:,}: {e['lakefuse_overrides']}"
        for e in report["sizes"]
        if e.get("lakefuse_overrides")
    ]
    if changed:
        lines += ["", "lakefuse Settings changed from the defaults: " + "; ".join(changed) + "."]
    lines.append("")
    return "\n".join(lines)


def chart(report: dict[str, Any], path: Path) -> Path:
    """Wall time and peak memory against n, log-log, one line per system (a run stopped at the
    cap is drawn as an × at the cap)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in (
        (axes[0], "wall_s", "wall time (s)"),
        (axes[1], "peak_rss_mb", "peak RSS (MiB)"),
    ):
        for system in report["systems"]:
            ok = [
                (e["n"], e["systems"][system][key])
                for e in report["sizes"]
                if e["systems"].get(system, {}).get("ok")
            ]
            capped = [
                (e["n"], e["systems"][system][key])
                for e in report["sizes"]
                if e["systems"].get(system, {}).get("timed_out")
            ]
            line = None
            if ok:
                (line,) = ax.plot(*zip(*ok), marker="o", label=LABEL.get(system, system))
            if capped:
                color = line.get_color() if line is not None else None
                ax.scatter(
                    *zip(*capped),
                    marker="x",
                    s=60,
                    color=color,
                    label=f"{LABEL.get(system, system)} (cap)",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows (n)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"lakefuse bench scale pipeline ({report['commit']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw(report: dict[str, Any], out: Path) -> None:
    (out / "scale_pipeline.md").write_text(markdown(report))
    chart(report, out / "scale_pipeline.png")
