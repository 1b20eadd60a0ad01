"""The output folder is written whole or not at all, and its CSVs are safe in a spreadsheet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lakefuse import pipeline
from lakefuse.cli import app
from lakefuse.errors import InputError
from lakefuse.output import OUTPUT_NAMES, escape_formulas
from lakefuse.pipeline import integrate
from tests.conftest import EXAMPLE

FAST: dict[str, Any] = {"quiet": True, "judge": "similarity"}
#: a quick ssacl (q-gram encoder, few steps): a judge that trains and saves OUT/model
SSACL_FAST = {"encoder": "qgram", "epochs": 6, "target_groups": 600, "max_anchors": 200}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


class FakeFailure(RuntimeError):
    """The failure injected into a stage (a fake, for the error path only)."""


def _raise(exc: BaseException) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


#: stage -> the function of lakefuse.pipeline that the stage calls, made to fail
STAGES = {
    "read": "read_inputs",
    "union": "build_union",
    "block": "get_blocker",
    "judge": "get_judge",
    "sets": "get_set_finder",
    "resolve": "merge",
    "write": "write_tables",
    "run.json": "write_run_json",
}


def test_failed_runs_leave_out_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    integrate([EXAMPLE], out, **FAST)
    before = snapshot(out)
    assert {"run.json", "integrated.csv", "lakefuse.duckdb"} <= set(before)
    failures: list[tuple[str, BaseException]] = [
        (stage, FakeFailure(stage)) for stage in STAGES
    ] + [("judge", KeyboardInterrupt())]
    for stage, exc in failures:
        with monkeypatch.context() as m:
            m.setattr(pipeline, STAGES[stage], _raise(exc))
            with pytest.raises(type(exc)):
                integrate([EXAMPLE], out, **FAST)
        assert snapshot(out) == before, stage
        assert beside(out) == ["out"], stage  # no temporary folder left behind


def test_failed_swap_puts_out_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    integrate([EXAMPLE], out, **FAST)
    before = snapshot(out)
    real = Path.rename
    calls: list[str] = []

    def rename(self: Path, target: Any) -> Path:  # fake: moving the new folder in fails
        if "lakefuse-tmp" in self.name and not calls:
            calls.append(self.name)
            raise OSError("fake: rename failed")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="fake"):
        integrate([EXAMPLE], out, **FAST)
    assert calls
    assert snapshot(out) == before
    assert beside(out) == ["out"]


def test_a_failed_first_run_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "new" / "deeper" / "out"
    monkeypatch.setattr(pipeline, "merge", _raise(FakeFailure("resolve")))
    with pytest.raises(FakeFailure):
        integrate([EXAMPLE], out, **FAST)
    assert list(tmp_path.iterdir()) == []  # the parents made for OUT are gone too


def test_no_file_comes_from_another_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    trained = integrate([EXAMPLE], out, quiet=True, judge="ssacl", judge_options=SSACL_FAST)
    assert trained.run["stages"]["judge"].get("saved_model") == "model"
    assert (out / "model" / "judge.json").is_file()
    assert {p.name for p in out.iterdir()} <= OUTPUT_NAMES  # what a later run may replace
    # the judge kept in OUT cannot be reused for the same OUT: the run would delete it
    with pytest.raises(InputError, match="model"):
        integrate([EXAMPLE], out, quiet=True, model_path=str(out / "model"))
    assert (out / "model" / "judge.json").is_file()
    integrate([EXAMPLE], out, **FAST)
    assert not (out / "model").exists()
    assert json.loads((out / "run.json").read_text())["judge"]["name"] == "similarity"
    # an output folder whose run.json an earlier tool removed (lakefuse names only) is replaced
    (out / "run.json").unlink()
    (out / "model").mkdir()
    (out / "model" / "stale.txt").write_text("from another run")
    integrate([EXAMPLE], out, **FAST)
    assert not (out / "model").exists() and (out / "run.json").is_file()


def test_stale_temporary_folders_of_killed_runs_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid names no live process now
    stale = tmp_path / f".out.lakefuse-tmp-{dead.pid}-0123abcd"
    stale.mkdir()
    (stale / "lakefuse.duckdb").write_bytes(b"half written")
    live = tmp_path / f".out.lakefuse-tmp-{os.getpid()}-0123abcd"  # this process: kept
    live.mkdir()
    integrate([EXAMPLE], tmp_path / "out", **FAST)
    assert beside(tmp_path / "out") == sorted(["out", live.name])


def _escape_lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    lake.mkdir()
    pd.DataFrame(
        {
            "name": ["=1+1", "+SUM(A1:A9)", "-5", "+3.2", "-1e5", "@cmd", "-x", "plain", "\t=2+2"],
            "code": ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"],
        }
    ).to_csv(lake / "=cmd.csv", index=False)
    return lake


def test_csv_cells_escaped_parquet_raw(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = integrate([_escape_lake(tmp_path)], out, **FAST)
    csv = pd.read_csv(out / "integrated.csv", dtype=str, keep_default_na=False)
    raw = pq.read_table(out / "integrated.parquet").column("name").to_pylist()
    assert {"=1+1", "+SUM(A1:A9)", "-5", "@cmd"} <= set(raw)
    assert "=2+2" in raw or "\t=2+2" in raw  # a tab, defused or not, is escaped in the CSV
    expected = {
        "=1+1": "'=1+1",
        "+SUM(A1:A9)": "'+SUM(A1:A9)",
        "-5": "-5",
        "+3.2": "+3.2",
        "-1e5": "-1e5",
        "@cmd": "'@cmd",
        "-x": "'-x",
        "plain": "plain",
        "=2+2": "'=2+2",
        "\t=2+2": "'\t=2+2",
    }
    assert csv["name"].tolist() == [expected[v] for v in raw]
    mem = pd.read_csv(out / "membership.csv", dtype=str, keep_default_na=False)
    assert set(mem["table"]) == {"'=cmd"}
    assert set(res.membership.column("table").to_pylist()) == {"=cmd"}
    prov = pq.read_table(out / "provenance.parquet").to_pandas()
    assert "=cmd" in set(prov["table"]) and "=1+1" in set(prov["source_value"])
    con = duckdb.connect(str(out / "lakefuse.duckdb"), read_only=True)
    db = {r[0] for r in con.sql("SELECT name FROM integrated").fetchall()}
    con.close()
    assert "=1+1" in db
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["csv_escape"] is True
    assert run["csv"]["formula_escape"] is True
    assert run["csv"]["escaped_cells"]["integrated.csv"] == 5


def test_csv_escape_off(tmp_path: Path) -> None:
    out = tmp_path / "out"
    integrate([_escape_lake(tmp_path)], out, csv_escape=False, **FAST)
    csv = pd.read_csv(out / "integrated.csv", dtype=str, keep_default_na=False)
    assert "=1+1" in set(csv["name"])
    assert json.loads((out / "run.json").read_text())["csv"]["formula_escape"] is False


def test_escape_formulas_unit() -> None:
    t = pa.table(
        {
            "=x": ["=a", "\tb", "\rc", "-5", "+3.2", "-1e5", ".5", "-", "1-2", None, "@", "+1+1"],
            "n": list(range(12)),
        }
    )
    got, n = escape_formulas(t)
    assert got.column_names == ["'=x", "n"]
    assert got.column(0).to_pylist() == [
        "'=a",
        "'\tb",
        "'\rc",
        "-5",
        "+3.2",
        "-1e5",
        ".5",
        "'-",
        "1-2",
        None,
        "'@",
        "'+1+1",
    ]
    assert n == 6
    assert got.column("n").equals(t.column("n"))


def _cli(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["integrate", str(EXAMPLE), "--judge", "similarity", "-q", *args])
    return res.exit_code, res.output


def test_cli_out_is_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("mine")
    code, text = _cli(["-o", str(out)])
    assert code == 2, text
    assert text.startswith("error:") and len(text.strip().splitlines()) == 1, text
    assert "out.txt" in text and "not a folder" in text
    assert out.read_text() == "mine"


def test_cli_out_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    code, text = _cli(["-o", str(tmp_path / "file" / "out")])
    assert code == 2 and text.startswith("error:") and "cannot be created" in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cli_out_with_other_files_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, text = _cli(["-o", str(out)])
    assert code == 2 and text.startswith("error:") and "notes.txt" in text, text
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_cli_out_not_writable(tmp_path: Path) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, text = _cli(["-o", str(parent / "out")])
    finally:
        parent.chmod(0o755)
    assert code == 2 and text.startswith("error:") and "not writable" in text, text


def test_csv_cells_with_line_breaks_round_trip(tmp_path: Path) -> None:
    """A cell holding a lone carriage return or a newline stays one cell of one row."""
    from lakefuse.output import write_tables

    integrated = pa.table({"set_id": [0, 1, 2], "note": ["x\ry", "p\nq", "plain"]})
    membership = pa.table({"table": ["t", "t", "t"], "row": [0, 1, 2], "set_id": [0, 1, 2]})
    empty = pa.table({"x": pa.array([], pa.int64())})
    write_tables(
        tmp_path,
        integrated=integrated,
        membership=membership,
        pairs=empty,
        provenance=empty,
        csv_escape=False,
    )
    back = pd.read_csv(tmp_path / "integrated.csv", dtype=str, keep_default_na=False)
    assert back["note"].tolist() == ["x\ry", "p\nq", "plain"]
    assert len(pd.read_csv(tmp_path / "membership.csv")) == 3


def test_pairs_streamed_to_the_folder_equal_the_pairs_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an output folder the judged pairs go to pairs.parquet batch by batch and are not
    held: the file (written in many small batches) equals the table a run without a folder
    keeps, and the database holds the same pairs."""
    from lakefuse import judged
    from tests.conftest import STADIUMS, need

    settings = {"quiet": True, "judge": "ssacl", "judge_options": SSACL_FAST}
    monkeypatch.setattr(judged, "SCORE_BATCH", 7)
    whole = integrate([need(STADIUMS)], **settings)
    assert whole.pairs_table is not None and whole.pairs.num_rows > 40
    out = tmp_path / "out"
    streamed = integrate([need(STADIUMS)], out, **settings)
    assert streamed.pairs_table is None  # read from the file when asked
    on_disk = pq.read_table(out / "pairs.parquet")
    assert on_disk.equals(whole.pairs)
    assert streamed.pairs.equals(whole.pairs)
    assert streamed.membership.equals(whole.membership)
    assert json.loads((out / "run.json").read_text())["counts"]["candidate_pairs"] == (
        on_disk.num_rows
    )
    con = duckdb.connect(str(out / "lakefuse.duckdb"), read_only=True)
    n = con.sql("SELECT count(*) FROM pairs").fetchall()[0][0]
    con.close()
    assert n == on_disk.num_rows


def test_many_pairs_are_a_view_in_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above DB_PAIRS_MAX the database reads pairs.parquet through a view instead of a
    copy, made once OUT is in place (it names the file by its absolute path)."""
    monkeypatch.setattr(pipeline, "DB_PAIRS_MAX", 5)
    out = tmp_path / "out"
    res = integrate([EXAMPLE], out, **FAST)
    run = json.loads((out / "run.json").read_text())
    assert run["database"] == {"pairs": "view of pairs.parquet"}
    con = duckdb.connect(str(out / "lakefuse.duckdb"), read_only=True)
    kinds = dict(con.sql("SELECT table_name, table_type FROM information_schema.tables").fetchall())
    n = con.sql("SELECT count(*) FROM pairs").fetchall()[0][0]
    con.close()
    assert kinds["pairs"] == "VIEW" and kinds["membership"] == "BASE TABLE"
    assert n == res.pairs.num_rows == run["counts"]["candidate_pairs"] > 5
