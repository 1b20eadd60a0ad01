"""Fuzzing the command line: whatever values the options get, ``lakefuse integrate`` either
runs (exit 0, run.json written) or refuses with one error line and exit code 2, leaving OUT
uncreated; never a traceback (exit 1)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lakefuse.cli import app
from lakefuse.reference import STAGES

from .conftest import EXAMPLE

#: strategies that load a model or train (seconds to minutes): their cases always carry one
#: unknown option, so they exercise validation only; the others may run the pipeline
SLOW = {("judge", "ssacl"), ("blocker", "ann"), ("blocker", "hybrid"), ("sets", "gnn")}
SLOW |= {("resolver", "iclcr")}

text = st.text(st.characters(codec="utf-8"), max_size=8)
json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    # no subnormals: the SSACL judge turns on flush-to-zero for the whole process (torch)
    | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=2),
    max_leaves=4,
)
#: a value as typed: JSON of any type, a number in or out of range, or any text
value = st.one_of(
    json_value.map(json.dumps),
    st.sampled_from(["NaN", "Infinity", "-1", "0", "1", "2", "0.5", "-3", "1e400", "many", ""]),
    st.integers(-(10**20), 10**20).map(str),
    text,
)


@st.composite
def stage_options(draw: st.DrawFn) -> list[str]:
    """``--STAGE NAME`` and a few ``--STAGE-opt KEY=VALUE`` (known keys mostly)."""
    stage = draw(st.sampled_from(sorted(STAGES)))
    registry, shared = STAGES[stage]
    name = draw(st.sampled_from(registry.names()))
    keys = sorted(registry.models[name].model_fields) + sorted(
        shared.model_fields if shared else []
    )
    key = st.sampled_from(keys) if keys else text
    pairs = draw(st.lists(st.tuples(st.one_of(key, key, text), value), max_size=3))
    if (stage, name) in SLOW:
        pairs.append(("no_such_option", "1"))
    args = [f"{registry.flag}={name}"]
    return args + [f"{registry.option_flag}={k}={v}" for k, v in pairs]


@st.composite
def command_line(draw: st.DrawFn) -> list[str]:
    args = ["--judge=similarity", "-q"]
    for flag in ("--threshold", "--max-candidates", "--seed"):
        if draw(st.booleans()):
            args.append(f"{flag}={draw(value)}")
    return args + draw(stage_options())


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(args=command_line())
def test_any_option_value_runs_or_is_one_error_line(args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        res = CliRunner().invoke(app, ["integrate", str(EXAMPLE), "-o", str(out), *args])
        assert res.exit_code in (0, 2), (args, res.output, res.exc_info)
        if res.exit_code == 2:
            lines = res.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (args, res.stderr)
            assert not out.exists(), args
        else:
            assert (out / "run.json").exists(), args
