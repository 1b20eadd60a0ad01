"""Command line: ``lakefuse integrate``, ``lakefuse train``, ``lakefuse bench``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from lakefuse.config import Settings, parse_options
from lakefuse.errors import InputError

app = typer.Typer(
    name="lakefuse",
    help="Integrate the tables of a data lake into one clean table.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
        force=True,
    )


def _options(pairs: list[str] | None) -> dict[str, object]:
    """key=value pairs; values parsed as JSON where they parse."""
    try:
        return parse_options(pairs)
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def _fail(exc: InputError) -> None:
    err.print(f"[bold red]error:[/bold red] {exc.format()}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


#: CLI defaults are the Settings defaults (one source of truth)
_D = Settings()

Inputs = Annotated[list[Path], typer.Argument(help="CSV/Parquet files or folders of them.")]


@app.command()
def integrate(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    columns: Annotated[
        Path | None, typer.Option(help="JSON/YAML file mapping headers onto attributes.")
    ] = None,
    blocker: Annotated[str, typer.Option(help="Candidate generation method.")] = _D.blocker,
    judge: Annotated[str, typer.Option(help="Pairwise integrability judge.")] = _D.judge,
    sets: Annotated[str, typer.Option(help="Integrable set discovery method.")] = _D.sets,
    resolver: Annotated[str, typer.Option(help="Conflict resolution strategy.")] = _D.resolver,
    threshold: Annotated[
        float | None, typer.Option(help="Decision threshold (default: chosen without labels).")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="Judge saved by `lakefuse train`.")] = None,
    max_candidates: Annotated[
        int, typer.Option(help="Candidate pairs per tuple, on average (the blocking budget).")
    ] = _D.max_candidates_per_tuple,
    seed: Annotated[int, typer.Option()] = 0,
    blocker_opt: Annotated[
        list[str] | None, typer.Option("--blocker-opt", help="key=value for the blocker.")
    ] = None,
    judge_opt: Annotated[
        list[str] | None, typer.Option("--judge-opt", help="key=value for the judge.")
    ] = None,
    sets_opt: Annotated[
        list[str] | None, typer.Option("--sets-opt", help="key=value for set discovery.")
    ] = None,
    resolver_opt: Annotated[
        list[str] | None, typer.Option("--resolver-opt", help="key=value for the resolver.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Integrate INPUT tables into OUT (integrated.csv/.parquet, membership.csv, pairs.parquet,
    provenance.parquet, run.json, lakefuse.duckdb)."""
    _logging(quiet)
    from lakefuse.io import load_columns_file
    from lakefuse.pipeline import integrate as run

    try:
        settings = Settings(
            blocker=blocker,
            judge=judge,
            sets=sets,
            resolver=resolver,
            threshold=threshold,
            model_path=str(model) if model else None,
            max_candidates_per_tuple=max_candidates,
            seed=seed,
            columns=load_columns_file(columns) if columns else None,
            columns_file=str(columns) if columns else None,
            quiet=quiet,
            blocker_options=_options(blocker_opt),
            judge_options=_options(judge_opt),
            sets_options=_options(sets_opt),
            resolver_options=_options(resolver_opt),
        )
        result = run([str(p) for p in inputs], out, settings)
    except InputError as exc:
        _fail(exc)
        return
    except ValueError as exc:  # unknown stage names and the like
        err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
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
    seed: Annotated[int, typer.Option()] = 0,
    judge_opt: Annotated[list[str] | None, typer.Option("--judge-opt")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Train a judge on INPUT tables (self-supervised) and save it for `integrate --model`."""
    _logging(quiet)
    from lakefuse.engines import get_engine
    from lakefuse.io import align, load_columns_file
    from lakefuse.judge import get_judge
    from lakefuse.pipeline import build_union, read_inputs

    try:
        settings = Settings(
            judge=judge,
            seed=seed,
            quiet=quiet,
            columns=load_columns_file(columns) if columns else None,
            judge_options=_options(judge_opt),
        )
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
        _fail(exc)
        return
    except ValueError as exc:
        err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    typer.echo(str(out))


def _add_bench() -> None:
    try:
        from lakefuse.bench.cli import app as bench_app
    except ImportError:  # pragma: no cover - bench is part of the package
        return
    app.add_typer(bench_app, name="bench", help="Benchmarks: make tasks, run systems, score.")


_add_bench()


def main() -> None:
    try:
        app()
    except InputError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc.format()}")
        sys.exit(2)


if __name__ == "__main__":
    main()
