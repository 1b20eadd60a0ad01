"""Typed settings: every setting and stage option is validated against its model before a run
reads or writes anything; a bad one is one error line and exit code 2, and the models are the
one source of the options' names, defaults and documentation."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import sys
from pathlib import Path
from typing import get_args

import pytest
import typer
from typer.testing import CliRunner

import lakefuse
from lakefuse import cli
from lakefuse.block import get_blocker
from lakefuse.block.options import Encoder
from lakefuse.config import Settings
from lakefuse.errors import InputError
from lakefuse.judge import get_judge
from lakefuse.judge.options import SSACLOptions
from lakefuse.reference import MARKDOWN_COMMAND, STAGES, render_markdown
from lakefuse.registry import OptionError, warm_imports

from .conftest import EXAMPLE, ROOT


def _integrate(args: list[str], out: Path) -> tuple[int, list[str]]:
    res = CliRunner().invoke(
        cli.app, ["integrate", str(EXAMPLE), "-o", str(out), "-q", "--judge", "similarity", *args]
    )
    return res.exit_code, res.stderr.splitlines()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--threshold", "-1"], "--threshold: must be >= 0 (got -1)"),
        (["--threshold", "2"], "--threshold: must be <= 1 (got 2)"),
        (["--threshold", "nan"], "--threshold: must be a finite number (got 'nan')"),
        (["--threshold", "abc"], "--threshold: must be a number (got 'abc')"),
        (["--max-candidates", "0"], "--max-candidates: must be >= 1 (got 0)"),
        (["--max-candidates", "-5"], "--max-candidates: must be >= 1 (got -5)"),
        (["--seed", "-1"], "--seed: must be >= 0 (got -1)"),
        (
            ["--judge", "ssacl", "--judge-opt", "epochs=0"],
            "--judge-opt epochs: must be >= 1 (got 0)",
        ),
        (
            ["--judge", "ssacl", "--judge-opt", "epochs=many"],
            "--judge-opt epochs: must be an integer (got 'many')",
        ),
        (
            ["--judge", "ssacl", "--judge-opt", "lr=[1,2]"],
            "--judge-opt lr: must be a number (got [1, 2])",
        ),
        (
            ["--judge", "ssacl", "--judge-opt", "hidden=-3"],
            "--judge-opt hidden: must be >= 1 (got -3)",
        ),
        (["--judge-opt", "veto=1.5"], "--judge-opt veto: must be <= 1 (got 1.5)"),
        (["--sets", "nonsense"], "--sets: unknown set discovery method 'nonsense' (available:"),
        (["--blocker", "nope"], "--blocker: unknown blocker 'nope' (available: ann, hybrid,"),
        (["--judge-opt", "epochs=3"], "--judge-opt epochs: not an option of judge 'similarity'"),
        (
            ["--blocker-opt", "fill=maybe"],
            "--blocker-opt fill: must be true or false (got 'maybe')",
        ),
        (["--resolver-opt", "k=5"], "--resolver-opt k: not an option of resolver 'typo_vote'"),
        (["--sets-opt", "resolution"], "--sets-opt 'resolution': not KEY=VALUE"),
        (
            ["--resolver-opt", 'per_attribute={"City": "oracle"}'],
            "--resolver-opt per_attribute: unknown resolver 'oracle' for attribute 'City'",
        ),
    ],
)
def test_bad_setting_is_one_line_and_exit_2_before_out_exists(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "deep" / "out"
    code, lines = _integrate(args, out)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expected in lines[0], lines
    assert not (tmp_path / "deep").exists()


def test_valid_options_reach_the_stages_and_run_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, lines = _integrate(
        ["--threshold", "0.7", "--judge-opt", "veto=0.5", "--blocker-opt", "local_scale=5"], out
    )
    assert code == 0, lines
    settings = json.loads((out / "run.json").read_text())["settings"]
    assert settings["threshold"] == 0.7 and settings["max_candidates_per_tuple"] == 50
    assert settings["judge_options"] == {"veto": 0.5}
    # run.json's settings are Settings again, unchanged by validation
    assert Settings.from_dict(settings).validate().to_dict() == settings


def test_python_api_validates_before_touching_out(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"--threshold: must be >= 0 \(got -1\)") as info:
        lakefuse.integrate([str(EXAMPLE)], tmp_path / "o", threshold=-1)
    # an InputError for the CLI (exit 2) and still a ValueError for older callers
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)
    with pytest.raises(OptionError, match="must be a finite number"):
        lakefuse.integrate([str(EXAMPLE)], tmp_path / "o", threshold=float("nan"))
    with pytest.raises(OptionError, match="--judge-opt epochs: must be >= 1"):
        lakefuse.integrate([str(EXAMPLE)], tmp_path / "o", judge_options={"epochs": 0})
    assert not (tmp_path / "o").exists()


def test_validate_returns_a_typed_copy() -> None:
    s = Settings(threshold="0.25", seed="3")  # type: ignore[arg-type]
    v = s.validate()
    assert (v.threshold, v.seed) == (0.25, 3) and s.threshold == "0.25"
    assert Settings().validate() == Settings()
    with pytest.raises(OptionError, match="unknown setting 'nope'"):
        Settings.validated({"nope": 1})
    with pytest.raises(OptionError, match="engine: must be one of 'duckdb' or 'spark'"):
        Settings(engine="flink").validate()  # type: ignore[arg-type]


def test_create_builds_the_strategy_from_validated_values() -> None:
    judge = get_judge("similarity", threshold="0.5")
    assert judge.threshold == 0.5 and isinstance(judge.threshold, float)  # type: ignore[attr-defined]
    assert get_blocker("token", fill="false").fill is False  # type: ignore[attr-defined]
    with pytest.raises(OptionError, match="--blocker-opt max_df: must be >= 2 .got 1."):
        get_blocker("token", max_df=1)
    with pytest.raises(OptionError, match="threshold_bounds: low must be <= high"):
        get_judge("ssacl", threshold_bounds=[0.7, 0.4])


def _constructor_defaults(cls: type) -> dict[str, object] | None:
    """Keyword -> default of a class's constructor; None when it takes ``**options``."""
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name: p.default for p in params}


@pytest.mark.parametrize(
    ("stage", "name"), [(s, n) for s, (reg, _) in STAGES.items() for n in reg.names()]
)
def test_every_model_matches_its_strategy(stage: str, name: str) -> None:
    registry = STAGES[stage][0]
    model = registry.models[name]
    cls = registry.load(name)
    model_defaults = {
        k: f.get_default(call_default_factory=True) for k, f in model.model_fields.items()
    }
    expected = _constructor_defaults(cls)
    if expected is None:  # a strategy taking **options keeps its defaults in DEFAULTS
        assert model_defaults == sys.modules[cls.__module__].DEFAULTS
    else:
        assert model_defaults == expected
    for f in model.model_fields.values():
        assert f.description, (stage, name)
    assert model.__doc__, (stage, name)


def test_heavy_imports_name_installed_libraries() -> None:
    # a misspelt name would be skipped silently by warm_imports
    named = [m for reg, _ in STAGES.values() for n in reg.names() for m in reg.heavy_imports(n)]
    assert "torch._dynamo" in named
    for module in named:
        assert importlib.util.find_spec(module) is not None, module


def test_warm_imports_imports_on_its_own_thread_past_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lf_warm_bad.py").write_text("raise ImportError('broken')\n")
    (tmp_path / "lf_warm_ok.py").write_text(
        "import threading\nTHREAD = threading.current_thread().name\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lf_warm_bad", "lf_warm_ok"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    thread = warm_imports(["lf_warm_bad", "lf_warm_ok", "lf_warm_ok"])
    assert thread is not None
    thread.join(timeout=30)
    assert sys.modules["lf_warm_ok"].THREAD == thread.name != "MainThread"
    assert "lf_warm_bad" not in sys.modules  # the stage that needs it meets the error
    assert warm_imports(["lf_warm_ok", "json"]) is None  # nothing left to import


def test_ssacl_defaults_come_from_its_model() -> None:
    from lakefuse.judge import ssacl

    assert SSACLOptions().model_dump() == ssacl.DEFAULTS
    assert ssacl.SSACLJudge().options == ssacl.DEFAULTS


def test_encoder_choices_are_the_encoders() -> None:
    from lakefuse.encode import ENCODERS

    assert set(get_args(Encoder)) == set(ENCODERS)


def test_settings_reference_is_up_to_date() -> None:
    doc = ROOT / "docs" / "settings.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), f"run `{MARKDOWN_COMMAND}`"


def test_options_command_prints_the_models() -> None:
    runner = CliRunner()
    res = runner.invoke(cli.app, ["options", "judge", "ssacl"])
    assert res.exit_code == 0, res.output
    epochs = next(line for line in res.stdout.splitlines() if line.split()[:1] == ["epochs"])
    assert epochs.split()[1:4] == ["int", "6", ">="]
    assert "--judge similarity" not in res.stdout  # only the strategy asked for
    everything = runner.invoke(cli.app, ["options"]).stdout
    for _, (registry, _) in STAGES.items():
        for n in registry.names():
            assert f"{registry.flag} {n}" in everything
    for args in (["options", "nope"], ["options", "judge", "nope"]):
        res = runner.invoke(cli.app, args)
        assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1, res.output


def test_integrate_help_lists_each_stage_strategies() -> None:
    res = CliRunner().invoke(cli.app, ["integrate", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for registry, _ in STAGES.values():
        for n in registry.names():
            assert n in res.stdout, n


def test_schema_command_prints_the_settings_schema() -> None:
    res = CliRunner().invoke(cli.app, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert set(schema["properties"]) == set(Settings().to_dict())
    threshold = schema["properties"]["threshold"]["anyOf"][0]
    assert (threshold["minimum"], threshold["maximum"]) == (0, 1)


def test_faiss_loader_is_quiet() -> None:
    import faiss  # noqa: F401  (its loggers exist once it is imported)

    cli._logging(quiet=False)
    assert "faiss.loader" in logging.Logger.manager.loggerDict
    for name in ("faiss", "faiss.loader"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger().getEffectiveLevel() == logging.INFO  # progress still shows


def test_bench_without_its_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # fake: the bench extra's libraries reported missing, on a fresh app
    fresh = typer.Typer()

    @fresh.command()
    def other() -> None: ...

    monkeypatch.setattr(cli, "app", fresh)
    monkeypatch.setattr(cli, "_bench_missing", lambda: ["splink"])
    cli._add_bench()
    res = CliRunner().invoke(fresh, ["bench", "run", "--suite", "quick"])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [f"error: {cli.BENCH_MISSING}"]
