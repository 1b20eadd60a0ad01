"""Reading: dialects sniffed over many rows, encodings detected, typed columns kept as text
(NaN null, nested JSON, binary hex), DataFrame indexes kept, internal names out of the users'
way, and every bad header one error that names file (or table), header and column."""

from __future__ import annotations

import datetime
import decimal
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import lakefuse
from lakefuse.cli import app
from lakefuse.errors import InputError
from lakefuse.io import align, from_dataframe, load_columns_file, read_table
from lakefuse.io.csv_read import sniff_delimiter

ROWS = [["Ada Lovelace", "Zürich, CH"], ["Alan Turing", "Wilmslow"], ["Grace Hopper", "N.Y."]]


def _csv(rows: list[list[str]], delimiter: str, newline: str = "\n") -> str:
    return newline.join(delimiter.join(r) for r in rows) + newline


def _values(raw: lakefuse.io.RawTable) -> list[list[str | None]]:
    return [list(r.values()) for r in raw.table.to_pylist()]


# -- dialects --------------------------------------------------------------------------------


def test_semicolon_file_with_quoted_comma_in_header(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('"name, full";city\nAda Lovelace;"Zürich, CH"\nAlan Turing;Wilmslow\n')
    raw = read_table(p)
    assert raw.headers == ["name, full", "city"]
    assert _values(raw) == [["Ada Lovelace", "Zürich, CH"], ["Alan Turing", "Wilmslow"]]


def test_delimiter_is_sniffed_over_rows_not_only_the_header() -> None:
    # the header alone reads as two comma fields; every row says semicolon
    text = "name, first;city\nAda;London\nAlan;Wilmslow\nGrace;NYC\n"
    assert sniff_delimiter(text) == ";"
    # a comma file whose cells hold semicolons stays comma
    assert sniff_delimiter("name,tags\nAda;x,a;b\nAlan,c;d\n") == ","


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_dialects(tmp_path: Path, delimiter: str, newline: str) -> None:
    body = [["name", "city"], *([r[0], r[1].replace(",", "")] for r in ROWS)]
    p = tmp_path / "a.csv"
    p.write_bytes(_csv(body, delimiter, newline).encode())
    raw = read_table(p)
    assert raw.headers == ["name", "city"]
    assert _values(raw) == body[1:]


# -- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "bom", "label"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32-le"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "utf-32-be"),
        ("cp1252", b"", "cp1252"),
    ],
)
def test_encodings(tmp_path: Path, codec: str, bom: bytes, label: str) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(
        bom + _csv([["name", "city"], *ROWS], ",").replace("Zürich, CH", "Zürich").encode(codec)
    )
    raw = read_table(p)
    assert raw.encoding == label
    assert raw.headers == ["name", "city"]
    assert _values(raw)[0] == ["Ada Lovelace", "Zürich"]
    assert len(_values(raw)) == 3


def test_utf16_as_the_only_input(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "people.csv"
    p.write_bytes("name,city\nAda,Zürich\nAlan,Wilmslow\n".encode("utf-16"))
    res = runner.invoke(app, ["integrate", str(p), "-o", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    mem = pd.read_csv(tmp_path / "o" / "membership.csv")
    assert set(zip(mem["table"], mem["row"], strict=True)) == {("people", 0), ("people", 1)}
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["inputs"][0]["encoding"] == "utf-16-le"
    integ = pd.read_csv(tmp_path / "o" / "integrated.csv", dtype=str)
    assert "Zürich" in set(integ["city"])


def test_broken_utf16_and_binary_files_are_one_error(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(b"\xff\xfe" + "name,city\n".encode("utf-16-le") + b"\x00\xd8x")  # lone half
    with pytest.raises(InputError, match=r"a\.csv.*not valid UTF-16-LE"):
        read_table(p)
    p.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe\x00\x00" * 8)
    with pytest.raises(InputError, match="not a text file"):
        read_table(p)


# -- typed columns ---------------------------------------------------------------------------


def test_parquet_types_become_faithful_text(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "price": [1.5, float("nan"), None],
                "n": pa.array([1, None, 3], pa.int64()),
                "tags": [["a", "b"], None, []],
                "dims": [{"w": 1, "h": 2}, None, {"w": 3, "h": None}],
                "blob": [b"\x00\xff", None, b"AB"],
                "attrs": pa.array([[("k", 1)], None, []], pa.map_(pa.string(), pa.int64())),
                "when": pa.array(
                    [datetime.datetime(2020, 1, 5), None, datetime.datetime(2020, 1, 5, 1, 2, 3)]
                ),
                "cost": [decimal.Decimal("1.50"), None, decimal.Decimal("2.25")],
                "ok": [True, False, None],
                "kind": pa.array(["x", None, "x"]).dictionary_encode(),
            }
        ),
        p,
    )
    raw = read_table(p)
    got = raw.table.to_pydict()
    assert got["price"] == ["1.5", None, None]  # NaN is null, not "nan"
    assert got["n"] == ["1", None, "3"]
    assert [json.loads(v) if v else v for v in got["tags"]] == [["a", "b"], None, []]
    assert json.loads(got["dims"][0]) == {"w": 1, "h": 2}
    assert json.loads(got["attrs"][0]) == {"k": 1}
    assert got["blob"] == ["00ff", None, "4142"]
    assert got["when"] == ["2020-01-05 00:00:00", None, "2020-01-05 01:02:03"]
    assert got["cost"] == ["1.50", None, "2.25"]
    assert got["ok"] == ["True", "False", None]
    assert got["kind"] == ["x", None, "x"]
    conv = raw.conversions
    assert conv["price"].startswith("text, NaN as null")
    assert conv["tags"].startswith("json") and conv["dims"].startswith("json")
    assert conv["attrs"].startswith("json") and conv["blob"].startswith("hex")
    assert conv["kind"].startswith("text, categorical")


def test_dataframe_index_mixed_objects_and_nan(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"v": [1, "x", None, 2.5], "f": [1.0, np.nan, 3.0, 4.25]},
        index=pd.Index(["a", "b", "c", "d"], name="code"),
    )
    raw = from_dataframe("x", df)
    assert raw.headers == ["code", "v", "f"]
    got = raw.table.to_pydict()
    assert got == {
        "code": ["a", "b", "c", "d"],
        "v": ["1", "x", None, "2.5"],
        "f": ["1", None, "3", "4.25"],
    }
    assert raw.conversions["v"].startswith("text (from mixed")
    multi = pd.DataFrame(
        {"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    )
    assert from_dataframe("m", multi).headers == ["k", "n", "v"]
    # an unnamed index is a row number, dropped as before
    assert from_dataframe("u", pd.DataFrame({"v": [1]}, index=[7])).headers == ["v"]


def test_dataframe_errors_name_the_table() -> None:
    with pytest.raises(InputError) as exc:
        from_dataframe("x", pd.DataFrame([[1, 2]], columns=["a", "a"]))
    line = exc.value.format()
    assert line.startswith("table x (DataFrame), header, column 'a'") and "duplicate" in line
    assert "file" not in line
    with pytest.raises(InputError, match=r"table y \(DataFrame\).*not a table"):
        lakefuse.integrate({"y": [1, 2]})
    a = pd.DataFrame({"name": ["Ada"]})
    b = pd.DataFrame({"title": ["X"]})
    with pytest.raises(InputError, match=r"^table b \(DataFrame\): shares no column"):
        lakefuse.integrate({"a": a, "b": b})


# -- headers and internal names --------------------------------------------------------------


def test_header_problems_say_header_not_row_0(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("name,ci\x01ty\nAda,London\n")
    with pytest.raises(InputError) as exc:
        read_table(p)
    line = exc.value.format()
    assert "a.csv, header, column 'ci\\x01ty'" in line and "control character" in line
    assert "row 0" not in line and "\n" not in line
    p.write_text("name,\nAda,London\n")
    with pytest.raises(InputError, match=r"header: header 2 is empty"):
        read_table(p)


def test_set_id_header_is_an_early_error_and_mappable(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("name,Set_ID\nAda,7\n")
    raw = [read_table(a)]
    with pytest.raises(InputError) as exc:
        align(raw)
    line = exc.value.format()
    assert "a.csv, header, column 'Set_ID'" in line and "--columns" in line
    attributes, _ = align(raw, {"Set_ID": "source set"})
    assert attributes == ["name", "source set"]


def test_reserved_prefix_is_rejected_and_old_internal_names_round_trip(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,__LF_tid\nAda,1\n")
    with pytest.raises(InputError, match=r"bad\.csv, header, column '__LF_tid'.*reserve"):
        read_table(bad)
    heads = ["name", "_tid", "_table", "_row", "__part"]
    a = pd.DataFrame({h: [f"{h} {i}" for i in range(3)] for h in heads})
    a["name"] = ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    b = pd.DataFrame({"name": ["Alan Turing", "Edsger Dijkstra"], "_row": ["r0", "r1"]})
    res = lakefuse.integrate({"a": a, "b": b}, judge="similarity", quiet=True)
    mem = res.membership.to_pandas()
    assert set(zip(mem["table"], mem["row"], strict=True)) == {
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
        ("b", 1),
    }
    integ = res.integrated.to_pandas()
    assert list(integ.columns) == ["set_id", *heads]
    assert {"_tid 0", "_tid 1", "_tid 2"} <= set(integ["_tid"].dropna())
    assert {"__part 1", "r1"} <= set(integ["__part"].dropna()) | set(integ["_row"].dropna())


# -- --columns files -------------------------------------------------------------------------


def test_columns_file_errors_are_one_line(tmp_path: Path) -> None:
    y = tmp_path / "cols.yaml"
    y.write_text("name: full name\ncity: [town\n")
    with pytest.raises(InputError) as exc:
        load_columns_file(y)
    line = exc.value.format()
    assert line.startswith(f"file {y}: --columns file is not valid YAML (line ")
    assert "\n" not in line
    j = tmp_path / "cols.json"
    j.write_text('{"name": "full name",\n "city" "town"}')
    with pytest.raises(InputError, match=r"not valid JSON \(line 2, column 9\)"):
        load_columns_file(j)
    j.write_bytes('{"n\xe4me": "x"}'.encode("latin-1"))
    with pytest.raises(InputError, match=r"cols\.json: --columns file is not UTF-8"):
        load_columns_file(j)
    with pytest.raises(InputError, match="names a folder"):
        load_columns_file(tmp_path)
    j.write_text('{"name": "__lf_x"}')
    with pytest.raises(InputError, match="reserves"):
        load_columns_file(j)


def test_run_json_records_conversions(tmp_path: Path) -> None:
    a = tmp_path / "a.parquet"
    pq.write_table(pa.table({"name": ["Ada", "Alan"], "tags": [["x"], ["y", "z"]]}), a)
    b = tmp_path / "b.csv"
    b.write_text("name,city\nAda,London\n")
    lakefuse.integrate([a, b], tmp_path / "o", judge="similarity", quiet=True)
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    by_table = {i["table"]: i for i in run["inputs"]}
    assert by_table["a"]["conversions"]["tags"].startswith("json")
    assert by_table["b"]["conversions"] == {}
