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
    _assert_error(
        code, out, "b.csv", "header, column", "duplicate header", "city", outdir=tmp_path / "o"
    )
    assert "row 0" not in out  # row 0 is the first data row


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


@pytest.mark.parametrize(
    ("header", "fragments"),
    [
        ("set_id", ["header, column 'set_id'", "--columns"]),
        ("__lf_row", ["header, column '__lf_row'", "reserves"]),
        ("ci\x07ty", ["header, column 'ci\\x07ty'", "control character"]),
    ],
)
def test_bad_headers_are_one_line(
    runner: CliRunner, tmp_path: Path, header: str, fragments: list[str]
) -> None:
    a = _ok_table(tmp_path)
    b = tmp_path / "b.csv"
    b.write_text(f"name,{header}\nAda,London\n")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    _assert_error(code, out, "b.csv", *fragments, outdir=tmp_path / "o")
    assert "row 0" not in out


def test_old_internal_names_are_ordinary_headers(runner: CliRunner, tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("name,_row,_table,_tid,__part\nAda,r,t,7,p\nAlan,r2,t2,8,p2\n")
    b = tmp_path / "b.csv"
    b.write_text("name,_tid\nAda,7\nGrace,9\n")
    code, out = _run(runner, [str(a), str(b), "-o", str(tmp_path / "o")])
    assert code == 0, out
    mem = pd.read_csv(tmp_path / "o" / "membership.csv")
    assert set(zip(mem["table"], mem["row"], strict=True)) == {
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("b", 1),
    }
    integ = pd.read_csv(tmp_path / "o" / "integrated.csv", dtype=str)
    assert list(integ.columns) == ["set_id", "name", "_row", "_table", "_tid", "__part"]
    assert {"7", "8", "9"} == set(integ["_tid"])


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("cols.yaml", "name: full name\ncity: [town\n", ["not valid YAML (line 3, column 1)"]),
        ("cols.json", '{"name": "x",}', ["not valid JSON (line 1, column 14)"]),
        ("cols.yaml", b"n\xe4me: x\n", ["not UTF-8"]),
        ("cols", None, ["names a folder"]),
    ],
)
def test_bad_columns_file_is_one_line(
    runner: CliRunner, tmp_path: Path, name: str, content: str | bytes | None, fragments: list[str]
) -> None:
    a = _ok_table(tmp_path)
    cols = tmp_path / name
    if content is None:
        cols.mkdir()
    elif isinstance(content, bytes):
        cols.write_bytes(content)
    else:
        cols.write_text(content)
    code, out = _run(runner, [str(a), "--columns", str(cols), "-o", str(tmp_path / "o")])
    _assert_error(code, out, name, *fragments, outdir=tmp_path / "o")
