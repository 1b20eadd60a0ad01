"""The output contract of `lakefuse integrate`, on real data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lakefuse.cli import app
from tests.conftest import EXAMPLE, ROOT, input_tuples


@pytest.fixture(scope="module")
def stadium_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import STADIUMS, need

    out = tmp_path_factory.mktemp("stadiums") / "out"
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["integrate", str(need(STADIUMS)), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


def test_all_files_written(stadium_run: Path) -> None:
    for name in (
        "integrated.csv",
        "integrated.parquet",
        "membership.csv",
        "pairs.parquet",
        "provenance.parquet",
        "run.json",
        "lakefuse.duckdb",
    ):
        assert (stadium_run / name).is_file(), name
    assert not (stadium_run / ".lakefuse-partial").exists()
    # written in a temporary folder beside OUT, renamed into place: nothing else is left there
    assert [p.name for p in stadium_run.parent.iterdir()] == ["out"]


def test_membership_covers_every_input_tuple(stadium_run: Path) -> None:
    from tests.conftest import STADIUMS

    mem = pd.read_csv(stadium_run / "membership.csv")
    assert list(mem.columns) == ["table", "row", "set_id"]
    got = set(zip(mem["table"], mem["row"], strict=True))
    assert got == input_tuples(STADIUMS)
    integrated = pd.read_csv(stadium_run / "integrated.csv")
    assert set(mem["set_id"]) == set(integrated["set_id"])


def test_integrated_columns_and_sets(stadium_run: Path) -> None:
    integ = pd.read_csv(stadium_run / "integrated.csv", dtype=str)
    assert list(integ.columns) == [
        "set_id",
        "Player",
        "Position",
        "Team",
        "Facility",
        "Location",
        "Capacity",
        "Opened",
    ]
    parq = pq.read_table(stadium_run / "integrated.parquet").to_pandas()
    assert parq.columns.tolist() == integ.columns.tolist()
    assert len(parq) == len(integ)
    # the stadium tables integrate: far fewer sets than input tuples, and Aaron Rodgers'
    # set carries his team's stadium from another table
    run = json.loads((stadium_run / "run.json").read_text())
    assert run["counts"]["sets"] < 0.8 * run["counts"]["tuples"]
    rodgers = integ[integ["Player"] == "Aaron Rodgers"]
    assert (rodgers["Facility"] == "Lambeau Field").any()
    assert (rodgers["Team"] == "Packers").all()


def test_pairs_parquet_explains(stadium_run: Path) -> None:
    pairs = pq.read_table(stadium_run / "pairs.parquet").to_pandas()
    for col in ("l_table", "l_row", "r_table", "r_row", "score", "decision", "drivers"):
        assert col in pairs.columns
    assert any(c.startswith("ev:") for c in pairs.columns)
    assert pairs["decision"].any() and (~pairs["decision"]).any()


def test_provenance_traces_every_cell(stadium_run: Path) -> None:
    from tests.conftest import STADIUMS

    integ = pd.read_csv(stadium_run / "integrated.csv", dtype=str)
    prov = pq.read_table(stadium_run / "provenance.parquet").to_pandas()
    assert {"set_id", "attribute", "value", "table", "row", "source_value", "method"} <= set(
        prov.columns
    )
    long = integ.melt(id_vars="set_id", var_name="attribute").dropna()
    long["set_id"] = long["set_id"].astype(int)
    traced = set(zip(prov["set_id"], prov["attribute"], strict=True))
    assert set(zip(long["set_id"], long["attribute"], strict=True)) <= traced
    # every provenance cell is a real input cell
    sources = {f.stem: pd.read_csv(f, dtype=str) for f in STADIUMS.glob("*.csv")}
    for rec in prov.sample(min(50, len(prov)), random_state=0).itertuples():
        header = next(h for h in sources[rec.table].columns if h.lower() == rec.attribute.lower())
        assert sources[rec.table].loc[rec.row, header] == rec.source_value
    chosen = prov[prov["chosen"]]
    assert (chosen["value"] == chosen["source_value"]).all()


def test_run_json_counts_and_stages(stadium_run: Path) -> None:
    run = json.loads((stadium_run / "run.json").read_text())
    assert run["lakefuse_version"]
    assert run["settings"]["judge"]
    for key in ("tuples", "candidate_pairs", "edges", "sets", "conflicts"):
        assert isinstance(run["counts"][key], int)
    from tests.conftest import STADIUMS

    assert run["counts"]["tuples"] == len(input_tuples(STADIUMS))
    for stage in ("read", "union", "block", "judge", "sets", "resolve"):
        assert run["stages"][stage]["wall_s"] >= 0
        assert run["stages"][stage]["peak_rss_mb"] > 0


def test_duckdb_file_inspectable(stadium_run: Path) -> None:
    con = duckdb.connect(str(stadium_run / "lakefuse.duckdb"), read_only=True)
    n = con.sql("SELECT count(*) FROM union_t").fetchall()[0][0]
    tables = {r[0] for r in con.sql("SHOW TABLES").fetchall()}
    con.close()
    from tests.conftest import STADIUMS

    assert n == len(input_tuples(STADIUMS))
    assert {"membership", "pairs", "integrated", "provenance"} <= tables


def test_python_api_with_dataframes() -> None:
    import lakefuse

    a = pd.DataFrame({"name": ["Ada Lovelace", "Alan Turing"], "born": ["1815", "1912"]})
    b = pd.DataFrame({"Name": ["Alan Turing", "Grace Hopper"], "field": ["CS", "CS"]})
    res = lakefuse.integrate({"a": a, "b": b}, settings=lakefuse.Settings(quiet=True))
    mem = res.membership.to_pandas()
    assert set(zip(mem["table"], mem["row"], strict=True)) == {
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("b", 1),
    }
    integ = res.integrated.to_pandas()
    turing = integ[integ["name"] == "Alan Turing"]
    assert len(turing) == 1 and turing.iloc[0]["born"] == "1912"
    assert turing.iloc[0]["field"] == "CS"


def test_installed_cli_on_example(tmp_path: Path) -> None:
    exe = ROOT / ".venv" / "bin" / "lakefuse"
    if not exe.exists():
        pytest.skip("no .venv/bin/lakefuse")
    proc = subprocess.run(
        [str(exe), "integrate", str(EXAMPLE), "-o", str(tmp_path / "o"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "o")
    assert (tmp_path / "o" / "run.json").exists()


def test_installed_command_exits_2_with_one_error_line(tmp_path: Path) -> None:
    # the command skips the interpreter's teardown at exit (lakefuse.shutdown): the status
    # and the error line must still come out
    exe = ROOT / ".venv" / "bin" / "lakefuse"
    if not exe.exists():
        pytest.skip("no .venv/bin/lakefuse")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    proc = subprocess.run(
        [str(exe), "integrate", str(bad), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: file ") and "bad.csv, row 1" in lines[0]
    assert not (tmp_path / "o").exists()
