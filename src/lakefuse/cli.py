"""Command line: ``lakefuse integrate``, ``train``, ``options``, ``schema`` and ``bench``.

Every setting and stage option is validated (:meth:`lakefuse.config.Settings.validate`)
before anything is read or written: a bad one is one line on stderr and exit code 2. Numbers
are taken as text here and converted by the settings' own types, so that a value of the wrong
type is that same one line, not a usage screen."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from lakefuse.block import BLOCKERS
from lakefuse.config import Settings, json_schema, parse_options
from lakefuse.errors import InputError
from lakefuse.judge import JUDGES
from lakefuse.registry import Registry
from lakefuse.resolve import RESOLVERS
from lakefuse.sets import SET_FINDERS
from lakefuse.shutdown import exit_code, exit_now
from lakefuse.validate import validate_settings

app = typer.Typer(
    name="lakefuse",
    help="Integrate the tables of a data lake into one clean table.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

#: the libraries of the ``bench`` extra (``pip install 'lakefuse[bench]'``)
BENCH_EXTRA = ("matplotlib", "recordlinkage", "splink")
BENCH_MISSING = "lakefuse bench needs the bench extra: pip install 'lakefuse[bench]'"


def _logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
        force=True,
    )
    # faiss's loader logs which build it loads (and a ModuleNotFoundError for the builds it
    # tries first) at INFO, between the progress lines
    for name in ("faiss", "faiss.loader"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _options(flag: str, pairs: list[str] | None) -> dict[str, Any]:
    """key=value pairs; values parsed as JSON where they parse (the models check types)."""
    try:
        return parse_options(pairs, flag)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def _number(text: str | None) -> Any:
    """A number typed on the command line as a number (so that errors show it as typed);
    anything else as the text, for the settings' types to judge."""
    try:
        value = json.loads(text) if text is not None else None
    except (ValueError, RecursionError):
        return text
    return value if isinstance(value, int | float) and not isinstance(value, bool) else text


def _fail(message: str) -> None:
    """One line on stderr, exit code 2."""
    line = escape(" ".join(message.split()))
    err.print(f"[bold red]error:[/bold red] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _choices(what: str, registry: Registry, default: str) -> str:
    names = ", ".join(f"{n} (default)" if n == default else n for n in registry.names())
    return f"{what}: {names}. Its options: `lakefuse options {registry.flag[2:]}`."


#: CLI defaults are the Settings defaults (one source of truth)
_D = Settings()

Inputs = Annotated[list[Path], typer.Argument(help="CSV/Parquet files or folders of them.")]
Seed = Annotated[str, typer.Option(metavar="INTEGER", help="Random seed (>= 0).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]


def _opt(flag: str, what: str) -> Any:
    return typer.Option(flag, metavar="KEY=VALUE", help=f"An option of the {what} (repeat).")


@app.command()
def integrate(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    columns: Annotated[
        Path | None, typer.Option(help="JSON/YAML file mapping headers onto attributes.")
    ] = None,
    blocker: Annotated[
        str,
        typer.Option(metavar="NAME", help=_choices("Candidate generation", BLOCKERS, _D.blocker)),
    ] = _D.blocker,
    judge: Annotated[
        str,
        typer.Option(
            metavar="NAME", help=_choices("Pairwise integrability judge", JUDGES, _D.judge)
        ),
    ] = _D.judge,
    sets: Annotated[
        str,
        typer.Option(
            metavar="NAME", help=_choices("Integrable set discovery", SET_FINDERS, _D.sets)
        ),
    ] = _D.sets,
    resolver: Annotated[
        str,
        typer.Option(metavar="NAME", help=_choices("Conflict resolution", RESOLVERS, _D.resolver)),
    ] = _D.resolver,
    threshold: Annotated[
        str | None,
        typer.Option(
            metavar="FLOAT", help="Decision threshold in [0, 1] (default: chosen without labels)."
        ),
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Judge saved by `lakefuse train`.")] = None,
    max_candidates: Annotated[
        str,
        typer.Option(
            metavar="INTEGER",
            help="Candidate pairs per tuple, on average (the blocking budget, >= 1).",
        ),
    ] = str(_D.max_candidates_per_tuple),
    seed: Seed = str(_D.seed),
    blocker_opt: Annotated[list[str] | None, _opt("--blocker-opt", "blocker")] = None,
    judge_opt: Annotated[list[str] | None, _opt("--judge-opt", "judge")] = None,
    sets_opt: Annotated[list[str] | None, _opt("--sets-opt", "set discovery method")] = None,
    resolver_opt: Annotated[list[str] | None, _opt("--resolver-opt", "resolver")] = None,
    engine: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Engine of the tuple-wide work: duckdb (default) or spark (the `spark` "
            "extra; Java 17+).",
        ),
    ] = _D.engine,
    spark_master: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Spark master URL (default: local[*], started here)."),
    ] = None,
    csv_escape: Annotated[
        bool,
        typer.Option(
            "--csv-escape/--no-csv-escape",
            help="Prefix CSV cells a spreadsheet would run as a formula (=, +, -, @, tab, CR; "
            "not plain numbers) with an apostrophe. Parquet and DuckDB keep the raw values.",
        ),
    ] = _D.csv_escape,
    quiet: Quiet = False,
) -> None:
    """Integrate INPUT tables into OUT (integrated.csv/.parquet, membership.csv, pairs.parquet,
    provenance.parquet, run.json, lakefuse.duckdb)."""
    _logging(quiet)
    try:
        settings = validate_settings(
            {
                "engine": engine,
                "spark_master": spark_master,
                "blocker": blocker,
                "judge": judge,
                "sets": sets,
                "resolver": resolver,
                "threshold": _number(threshold),
                "model_path": str(model) if model else None,
                "max_candidates_per_tuple": _number(max_candidates),
                "seed": _number(seed),
                "columns_file": str(columns) if columns else None,
                "quiet": quiet,
                "csv_escape": csv_escape,
                "blocker_options": _options("--blocker-opt", blocker_opt),
                "judge_options": _options("--judge-opt", judge_opt),
                "sets_options": _options("--sets-opt", sets_opt),
                "resolver_options": _options("--resolver-opt", resolver_opt),
            }
        )
        from lakefuse.io import load_columns_file
        from lakefuse.pipeline import integrate as run

        if columns:
            settings = settings.replace(columns=load_columns_file(columns))
        result = run([str(p) for p in inputs], out, settings)
    except InputError as exc:
        _fail(exc.format())
        return
    except ValueError as exc:  # a stage's own check of its input
        _fail(str(exc))
        return
    counts = result.run["counts"]
    if not quiet:
        err.print(
            f"[green]integrated[/green] {counts['tuples']} tuples into {counts['sets']} sets "
            f"({counts['conflicts']} conflicts resolved) in {result.run['wall_s_total']:.1f}s"
        )
    typer.echo(str(out))


@app.command()
def train(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("-o", "--out", help="Model folder to write.")],
    judge: Annotated[str, typer.Option(help="Judge to train.")] = "ssacl",
    columns: Annotated[Path | None, typer.Option(help="Header mapping file.")] = None,
    seed: Seed = str(_D.seed),
    judge_opt: Annotated[list[str] | None, _opt("--judge-opt", "judge")] = None,
    quiet: Quiet = False,
) -> None:
    """Train a judge on INPUT tables (self-supervised) and save it for `integrate --model`."""
    _logging(quiet)
    try:
        settings = validate_settings(
            {
                "judge": judge,
                "seed": _number(seed),
                "quiet": quiet,
                "judge_options": _options("--judge-opt", judge_opt),
            }
        )
        from lakefuse.engines import get_engine
        from lakefuse.io import align, load_columns_file
        from lakefuse.judge import get_judge
        from lakefuse.pipeline import build_union, read_inputs

        if columns:
            settings = settings.replace(columns=load_columns_file(columns))
        raw = read_inputs([str(p) for p in inputs])
        attributes, per_table = align(raw, settings.columns, str(columns))
        engine = get_engine(settings.engine)
        union = build_union(engine, raw, attributes, per_table, settings)
        j = get_judge(judge, **settings.judge_options)
        if not hasattr(j, "save"):
            raise InputError(f"judge {judge!r} has nothing to train or save")
        j.fit(union, settings)
        j.save(out)  # type: ignore[attr-defined]
    except InputError as exc:
        _fail(exc.format())
        return
    except ValueError as exc:
        _fail(str(exc))
        return
    typer.echo(str(out))


@app.command()
def options(
    stage: Annotated[
        str | None, typer.Argument(help="blocker, judge, sets or resolver (default: all).")
    ] = None,
    name: Annotated[str | None, typer.Argument(help="One strategy of STAGE.")] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="The whole settings reference as Markdown.")
    ] = False,
) -> None:
    """Each strategy's options: name, type, default, range, description (from the models).
    `lakefuse options --markdown > docs/settings.md` writes the settings reference."""
    from lakefuse.reference import render_markdown, render_text

    try:
        text = render_markdown() if markdown else render_text(stage, name)
    except InputError as exc:
        _fail(exc.format())
        return
    typer.echo(text, nl=False)


@app.command()
def schema() -> None:
    """JSON schema of the run settings (run.json's `settings`)."""
    typer.echo(json.dumps(json_schema(), indent=2))


def _bench_missing() -> list[str]:
    return [m for m in BENCH_EXTRA if importlib.util.find_spec(m) is None]


def _add_bench() -> None:
    missing = _bench_missing()
    if not missing:
        try:
            from lakefuse.bench.cli import app as bench_app
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in BENCH_EXTRA:
                raise
            missing = [exc.name or ""]
        else:
            app.add_typer(
                bench_app, name="bench", help="Benchmarks: make tasks, run systems, score."
            )
            return

    @app.command(
        "bench",
        help="Benchmarks (needs the bench extra).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def bench() -> None:
        _fail(BENCH_MISSING)


_add_bench()


def main() -> None:
    try:
        app()
        code = 0
    except InputError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc.format()}", highlight=False, soft_wrap=True, markup=False)
        code = 2
    except SystemExit as exc:  # how click ends every command
        code = exit_code(exc.code)
    exit_now(code)


if __name__ == "__main__":
    main()
