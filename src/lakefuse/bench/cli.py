"""``lakefuse bench make | score | run | report | scale | resolvers``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

SuiteOpt = Annotated[str, typer.Option("--suite", help="quick or full.")]
TaskOpt = Annotated[
    list[str] | None, typer.Option("--task", help="Base task name(s), instead of a suite.")
]
SettingOpt = Annotated[
    list[str] | None,
    typer.Option("--setting", help="Noise setting(s): balanced, te_heavy, se_heavy, none."),
]


@app.command()
def make(
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for the tasks.")] = Path(
        "bench-out/tasks"
    ),
    suite: SuiteOpt = "quick",
    task: TaskOpt = None,
    setting: SettingOpt = None,
    seed: Annotated[int, typer.Option()] = 0,
    se: Annotated[float, typer.Option(help="Scale the SE rates by this factor.")] = 1.0,
    te: Annotated[float, typer.Option(help="Scale the TE rates by this factor.")] = 1.0,
    conflict: Annotated[float, typer.Option(help="Scale the conflict rates.")] = 1.0,
) -> None:
    """Build benchmark tasks (input/*.csv + gold/) under OUT."""
    from lakefuse.bench.catalog import make_tasks, plan

    try:
        pairs = plan(suite, task, setting)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for folder in make_tasks(out, pairs, seed, {"se": se, "te": te, "conflict": conflict}):
        meta = json.loads((folder / "gold" / "task.json").read_text())
        typer.echo(
            f"{folder}  tuples={meta['tuples']} sets={meta['gold_sets']} "
            f"conflicts={meta['conflicts']} noise={meta['noise']['rates']}"
        )


@app.command()
def score(
    task_dir: Annotated[Path, typer.Argument(help="A task folder (input/ + gold/).")],
    prediction: Annotated[
        Path, typer.Argument(help="An output folder (membership.csv, integrated.csv, run.json).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score one system output against one task's gold."""
    from lakefuse.bench.gold import load_gold, load_prediction
    from lakefuse.bench.metrics import blocking_of_run
    from lakefuse.bench.metrics import score as score_fn

    gold = load_gold(task_dir)
    res = score_fn(gold, load_prediction(prediction))
    res.update(blocking_of_run(task_dir, gold, prediction))
    if as_json:
        typer.echo(json.dumps(res, indent=2))
        return
    for k, v in res.items():
        if k == "stages":
            for st, c in v.items():
                typer.echo(f"  stage {st:<8} wall_s={c['wall_s']}  peak_rss_mb={c['peak_rss_mb']}")
        else:
            typer.echo(f"{k:<18} {round(v, 4) if isinstance(v, float) else v}")


@app.command()
def run(
    suite: SuiteOpt = "quick",
    task: TaskOpt = None,
    setting: SettingOpt = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="Results folder.")] = Path("bench-out"),
    tasks_dir: Annotated[
        Path | None, typer.Option(help="Where tasks live (default OUT/tasks); made if missing.")
    ] = None,
    system: Annotated[
        list[str] | None,
        typer.Option("--system", help="Only these systems (labels; fnmatch patterns)."),
    ] = None,
    seed: Annotated[int, typer.Option()] = 0,
    remake: Annotated[bool, typer.Option(help="Rebuild tasks even if present.")] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds per system run (default: quick 90, full 300).")
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Seconds after which no more lakefuse variants start (default: quick 450, "
            "full unlimited; 0 = variants never run)."
        ),
    ] = None,
    readme: Annotated[
        Path | None,
        typer.Option(
            help="Also put the report between the bench markers of this Markdown file "
            "(the project's tables: docs/benchmarks.md)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Run every system on every task of a suite; write bench.json, bench.md, bench_f1.png.

    Tasks are made first when missing. Baselines and the lakefuse default run on every task,
    then the lakefuse variants, until the suite's time budget is spent."""
    import sys

    from lakefuse.bench.report import README_END, README_START, update_readme
    from lakefuse.bench.run import run_suite

    if readme is not None and not (
        readme.exists() and README_START in (text := readme.read_text()) and README_END in text
    ):
        typer.echo(f"error: {readme} needs the lines {README_START} and {README_END}", err=True)
        raise typer.Exit(2)

    try:
        md = run_suite(
            suite=suite,
            tasks=task,
            settings=setting,
            out=out,
            tasks_dir=tasks_dir,
            systems=system,
            seed=seed,
            remake=remake,
            quiet=quiet,
            timeout=timeout,
            budget=-1.0 if budget is None else budget,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if readme is not None:
        args = [a for a in sys.argv[1:] if a not in ("-q", "--quiet")]
        update_readme(readme, md, "lakefuse " + " ".join(args))
    typer.echo(md)


@app.command()
def report(
    bench_json: Annotated[
        list[Path],
        typer.Argument(
            help="bench.json files written by `bench run`; later files add systems and tasks "
            "(and replace the rows they share with earlier ones)."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Folder for the merged report.")
    ] = None,
    readme: Annotated[
        Path | None,
        typer.Option(
            help="Also put the report between the bench markers of this Markdown file "
            "(the project's tables: docs/benchmarks.md)."
        ),
    ] = None,
) -> None:
    """Redraw bench.md and bench_f1.png (and the docs/benchmarks.md table) from one or more
    bench.json."""
    from lakefuse.bench.chart import f1_chart
    from lakefuse.bench.report import markdown, merge_reports, update_readme

    reports = [json.loads(p.read_text()) for p in bench_json]
    data = merge_reports(reports)
    folder = out or bench_json[0].parent
    folder.mkdir(parents=True, exist_ok=True)
    if len(reports) > 1:
        (folder / "bench.json").write_text(json.dumps(data, indent=1, default=str))
    md = markdown(data)
    (folder / "bench.md").write_text(md)
    f1_chart(data, folder / "bench_f1.png")
    if readme is not None:
        commits = ", ".join(dict.fromkeys(r["commit"] for r in reports))
        if len(reports) > 1:
            how = f"{len(reports)} `lakefuse bench run` runs ({commits}), merged by `bench report`"
        else:
            how = f"`lakefuse bench run --suite {data['suite']}` ({commits})"
        try:
            update_readme(readme, md, how)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(md)


@app.command()
def scale(
    what: Annotated[
        str,
        typer.Argument(
            help="sets: 1M-tuple / 3M-edge synthetic graph through set discovery; "
            "judge: SSACL trained and run on 10,000 FEBRL tuples; "
            "conflicts: 1,000 conflicts through ICLCR with the bundled model; "
            "pipeline: lakefuse integrate beside a generic Splink on FEBRL-style person "
            "records at several sizes; encoders: each MiniLM backend's rate and distance "
            "from the float32 model on real cell values (--n values per corpus, JSON and "
            "Markdown)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--out",
            help="JSON file to write (default bench-out/scale/WHAT.json); pipeline: the folder "
            "(default bench-out/scale).",
        ),
    ] = None,
    n: Annotated[
        int | None, typer.Option(help="Size (nodes, tuples or conflicts; default per kind).")
    ] = None,
    seed: Annotated[int, typer.Option()] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    sizes: Annotated[
        str | None,
        typer.Option(help="pipeline: rows per size, e.g. 10000,50000 (default 10k,50k,200k,1M)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="pipeline: seconds per system run.")] = 1200.0,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="pipeline: engine(s) lakefuse runs on, side by side, e.g. duckdb,spark "
            "(rows lakefuse and lakefuse-spark; Spark in local mode).",
        ),
    ] = "duckdb",
    systems: Annotated[
        str,
        typer.Option(
            "--systems",
            help="pipeline: systems to run, e.g. lakefuse (default lakefuse,splink). A system "
            "run again at a size replaces its earlier result in OUT; the other results are kept "
            "and named with their commit.",
        ),
    ] = "lakefuse,splink",
    ceiling_max_n: Annotated[
        int,
        typer.Option(
            "--ceiling-max-n",
            help="pipeline: up to this size, lakefuse's candidate pairs are also judged by a "
            "classifier trained on the gold labels (a ceiling for a pairwise judge; 0: never).",
        ),
    ] = 200_000,
) -> None:
    """Scale and speed figures (the issues' time and memory targets), as JSON (pipeline: JSON,
    Markdown and a log-log chart in the folder OUT)."""
    if what == "pipeline":
        from lakefuse.bench.scale_pipeline import parse_engines, parse_sizes, parse_systems
        from lakefuse.bench.scale_pipeline import run as pipeline_run

        try:
            size_list = [n] if n and not sizes else parse_sizes(sizes)
            engines = parse_engines(engine)
            system_list = parse_systems(systems)
            if timeout <= 0:
                raise ValueError(f"--timeout must be positive, not {timeout}")
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        folder = out or Path("bench-out/scale")
        pipeline_run(
            size_list,
            seed,
            timeout,
            folder,
            echo=None if quiet else typer.echo,
            engines=engines,
            systems=system_list,
            ceiling_max_n=ceiling_max_n,
        )
        typer.echo((folder / "scale_pipeline.md").read_text())
        return
    out = out or Path(f"bench-out/scale/{what}.json")
    if what == "encoders":
        from lakefuse.bench.encoders import markdown, write
        from lakefuse.bench.encoders import run as encoders_run

        result = encoders_run(n or 5000, seed, say=(lambda _: None) if quiet else typer.echo)
        write(result, out)
        typer.echo(markdown(result))
        return
    if what == "sets":
        from lakefuse.bench.scale_sets import scale_run

        res = scale_run(n or 1_000_000, 3 * (n or 1_000_000), seed=seed)
    elif what == "judge":
        from lakefuse.bench.ssacl_scale import run as judge_run

        res = judge_run(n or 10_000, seed=seed, quiet=quiet)
    elif what == "conflicts":
        from lakefuse.bench.conflict_speed import run as conflict_run

        res = conflict_run(n=n or 1_000)
    else:
        typer.echo(
            f"unknown figure {what!r}: sets, judge, conflicts, pipeline or encoders", err=True
        )
        raise typer.Exit(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str))
    typer.echo(json.dumps({k: v for k, v in res.items() if not isinstance(v, (dict, list))}))


@app.command()
def resolvers(
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for resolvers.json/.md/.png.")],
    tasks_dir: Annotated[
        Path, typer.Option(help="Where the tasks are (made there when missing).")
    ] = Path("bench-out/tasks"),
    task: Annotated[
        list[str] | None,
        typer.Option("--task", help="Task folder name(s), base-setting (default: all 15)."),
    ] = None,
    row: Annotated[
        list[str] | None,
        typer.Option(
            "--row",
            help="Resolver row(s), e.g. typo_vote, iclcr,k=5 (default: every classic resolver "
            "and the issue's ICLCR ablations; iclcr,no_pool and iclcr,hybrid on request).",
        ),
    ] = None,
    n: Annotated[int, typer.Option(help="Gold conflicts sampled per task.")] = 60,
    jobs: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    seed: Annotated[int, typer.Option()] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    from_json: Annotated[
        list[Path] | None,
        typer.Option(
            help="Run nothing: redraw the Markdown and chart from resolvers.json file(s), "
            "merged (a later file's row wins)."
        ),
    ] = None,
    readme: Annotated[
        Path | None,
        typer.Option(
            help="Also put the tables between the resolvers markers of this Markdown file "
            "(the project's tables: docs/benchmarks.md)."
        ),
    ] = None,
) -> None:
    """Every resolver and ICLCR ablation on the same sampled gold conflicts of each task."""
    from lakefuse.bench.report import update_readme
    from lakefuse.bench.resolvers import DEFAULT_ROWS, draw, merge
    from lakefuse.bench.resolvers import run as resolvers_run
    from lakefuse.bench.resolvers_report import RESOLVERS_END, RESOLVERS_START

    try:
        if from_json:
            report = draw(merge([json.loads(p.read_text()) for p in from_json]), out)
        else:
            report = resolvers_run(
                out, tasks_dir, task, tuple(row or DEFAULT_ROWS), n, seed, jobs, quiet
            )
        md = (out / "resolvers.md").read_text()
        if readme is not None:
            commit = report.get("commit", "?")
            how = f"`lakefuse bench resolvers --n {report['n_per_task']}` ({commit})"
            update_readme(readme, md, how, RESOLVERS_START, RESOLVERS_END)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(md)
    typer.echo(
        f"{len(report['tasks'])} tasks x {len(report['rows'])} rows in {report.get('wall_s')} s"
    )
