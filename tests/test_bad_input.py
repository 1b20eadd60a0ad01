"""Every bad-input case: one clear error line naming file (row, column), exit code 2, and no
output folder left looking complete."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lakefuse.cli import app


def _run(runner: CliRunner, args: list[str]) -> tuple[int, str]:
    res = runner.invoke(app, ["integrate", *args, "-q"])
    return res.exit_code, " ".join(res.output.split())


def _ok_table(folder: Path, name: str = "a.csv") -> Path:
    p = folder / name
    p.write_text("name,city\nAda,London\nAlan,Manchester\n")
    return p


def _assert_error(code: int, out: str, *fragments: str, outdir: Path | None = None) -> None:
    assert code == 2, out
    assert out.startswith("error:"), out
    for f in fragments:
        assert f in out, (f, out)
    if outdir is not None:
        assert not (outdir / "run.json").exists()
        assert not (outdir / "membership.csv").exists()


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    code, out = _run(runner, [str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "nope.csv", "no such file", outdir=tmp_path / "o")


def test_missing_folder(runner: CliRunner, tmp_path: Path) -> None:
    code, out = _run(runner, [str(tmp_path / "lake"), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "lake", "no such file or folder", outdir=tmp_path / "o")


def test_folder_without_tables(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "notes.txt").write_text("hello")
    code, out = _run(runner, [str(tmp_path / "lake"), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "lake", "no tables", outdir=tmp_path / "o")


def test_ragged_csv_names_row(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text("name,city\nAda,London\nAlan,Manchester,UK\nGrace,NYC\n")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.csv", "row 1", "ragged", outdir=tmp_path / "o")


def test_unreadable_csv(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text('name,city\nAda,"Lon"don\n')
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.csv", "unreadable CSV", outdir=tmp_path / "o")


def test_unreadable_parquet(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.parquet"
    b.write_bytes(b"this is not parquet")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.parquet", "unreadable Parquet", outdir=tmp_path / "o")


@pytest.mark.parametrize("content", ["", "name,city\n"])
def test_empty_table(runner: CliRunner, tmp_path: Path, content: str) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text(content)
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.csv", "empty", outdir=tmp_path / "o")


def test_no_shared_column(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text("title,year\nX,1999\n")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.csv", "shares no column", outdir=tmp_path / "o")


def test_duplicate_headers(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text("name,City, city \nAda,London,London\n")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.csv", "duplicate header", "row 0", "city", outdir=tmp_path / "o")


def test_columns_file_with_unknown_header(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text("full name,town\nAda,London\n")
    cols = tmp_path / "cols.yaml"
    cols.write_text("full name: name\ntown: city\nsurname: name\n")
    code, out = _run(runner, [str(a), str(b), "--columns", str(cols), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "cols.yaml", "surname", outdir=tmp_path / "o")


def test_columns_file_maps_headers(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text("full name,town,born\nAda,London,1815\n")
    cols = tmp_path / "cols.json"
    cols.write_text('{"full name": "name", "town": "city"}')
    res = runner.invoke(
        app, ["integrate", str(a), str(b), "--columns", str(cols), "-o", str(tmp_path / "o"), "-q"]
    )
    assert res.exit_code == 0, res.output
    integ = pd.read_csv(tmp_path / "o" / "integrated.csv", dtype=str)
    assert list(integ.columns) == ["set_id", "name", "city", "born"]
    ada = integ[integ["name"] == "Ada"]
    assert len(ada) == 1 and ada.iloc[0]["born"] == "1815"


def test_non_utf8_is_a_warning(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_bytes("name,city\nAda,Z\xfcrich\n".encode("latin-1"))
    res = CliRunner().invoke(app, ["integrate", str(a), str(b), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "non-UTF-8" in res.output
    integ = pd.read_csv(tmp_path / "o" / "integrated.csv", dtype=str)
    assert "Zürich" in set(integ["city"])


def test_long_cells_null_columns_mixed_formats(runner: CliRunner, tmp_path: Path) -> None:
    long = "x" * 200_000
    a = tmp_path / "a.csv"
    a.write_text(
        "name,price,date,empty\n"
        f'Ada,"1,200.50",2020-01-05,\n'
        f"Alan,$99,05/01/2020,\n"
        f"{long},12%,Jan 5 2020,\n"
    )
    b = tmp_path / "b.csv"
    b.write_text("name,price,date\nAda,1200.5,2020/01/05\nGrace,,\n")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    assert code == 0, out
    mem = pd.read_csv(tmp_path / "o" / "membership.csv")
    assert len(set(zip(mem["table"], mem["row"], strict=True))) == 5
    integ = pd.read_csv(tmp_path / "o" / "integrated.csv", dtype=str)
    assert long in set(integ["name"])
    assert "empty" in integ.columns and integ["empty"].isna().all()


def test_duplicate_table_names(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = _ok_table(tmp_path / "x")
    b = _ok_table(tmp_path / "y")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "a.csv", "table name", outdir=tmp_path / "o")


def test_unknown_stage_name(runner: CliRunner, tmp_path: Path) -> None:
    a = _ok_table(tmp_path)
    code, out = _run(runner, [str(a), "--sets", "nonsense", "-o", str(tmp_path / "o")])
    assert code == 2 and "nonsense" in out


def test_stage_options_reach_the_stage_and_unknown_ones_are_named(
    runner: CliRunner, tmp_path: Path
) -> None:
    import json

    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text("name,city\nAda,London\nGrace,Arlington\n")
    code, out = _run(
        runner, [str(a), str(b), "--blocker-opt", "fill=false", "-o", str(tmp_path / "o")]
    )
    assert code == 0, out
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["settings"]["blocker_options"] == {"fill": False}
    code, out = _run(runner, [str(a), "--blocker-opt", "nosuch=1", "-o", str(tmp_path / "o2")])
    _assert_error(code, out, "nosuch", "blocker 'token'", "fill", outdir=tmp_path / "o2")
