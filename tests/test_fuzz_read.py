"""Property: whatever the bytes or the column types, reading either succeeds with every row
present and every value round-tripping as text (surrounding whitespace trimmed, empty ->
null), or raises one InputError (which the CLI prints as one line and exits 2 on)."""

from __future__ import annotations

import csv
import datetime
import decimal
import json
import os
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import lakefuse
from lakefuse.errors import InputError
from lakefuse.io import align, from_dataframe, read_table
from lakefuse.io.csv_read import DELIMITERS

#: LAKEFUSE_FUZZ_EXAMPLES=2000 for a deeper local run; 60 keeps the file under a minute
FUZZ = settings(
    max_examples=int(os.environ.get("LAKEFUSE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# old internal names, formula prefixes, unicode: ordinary headers that must round-trip
NAMED = ["_row", "_table", "_tid", "__part", "=SUM(A1)", "+1", "-x", "@me", "Ünïcødé", "名前"]
NAMED += ["city", "a b", " padded "]
# reserved, the output's set_id, empty: one clear error
BAD = ["__lf_tid", "__LF_x", "set_id", "", "  "]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]


def _key(h: str) -> str:
    return " ".join(h.strip().lower().split())


def _header_ok(headers: list[str]) -> bool:
    """Headers every reader must accept (the documented rules, spelt out)."""
    for h in headers:
        s = h.strip()
        if not s or s.lower().startswith("__lf_"):
            return False
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in s):
            return False
    return len({_key(h) for h in headers}) == len(headers)


def _readable(headers: list[str], rows: list[list[str]]) -> bool:
    """A table every reader must read: good headers, none named set_id, a row or more."""
    return _header_ok(headers) and bool(rows) and "set_id" not in map(_key, headers)


def _text(codec: str, exclude: str) -> st.SearchStrategy[str]:
    # NULs are left to the UTF-16/32 files that hold them by nature: in a UTF-8 file they
    # can spell UTF-16 (the reader's guess would then be as good as the writer's intent)
    chars = st.characters(codec=codec, exclude_characters=exclude + "\x00")
    return st.text(chars, max_size=8)


def _write_csv(headers: list[str], rows: list[list[str]], d: str, quote_all: bool, nl: str) -> str:
    def field(v: str, one: bool) -> str:
        special = quote_all or any(c in v for c in (d, '"', "\r", "\n")) or (one and v == "")
        return '"' + v.replace('"', '""') + '"' if special else v

    one = len(headers) == 1
    return "".join(d.join(field(v, one) for v in r) + nl for r in [headers, *rows])


@st.composite
def csv_files(
    draw: st.DrawFn, first: str | None = None
) -> tuple[bytes, list[str], list[list[str]], str]:
    """(bytes, headers, rows, encoding); ``first``: the first header (to share a column)."""
    encoding = draw(st.sampled_from(ENCODINGS))
    codec = "cp1252" if encoding == "cp1252" else "utf-8"
    d = draw(st.sampled_from(DELIMITERS))
    quote_all = draw(st.booleans())
    nl = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    # unquoted, a header holding another candidate delimiter is genuinely ambiguous
    others = "" if quote_all else "".join(x for x in DELIMITERS if x != d)
    n_cols = draw(st.integers(1, 4))
    named = [h for h in NAMED if h.encode(codec, "replace").decode(codec) == h]
    word = st.characters(codec=codec, exclude_characters=others, exclude_categories=("Cc", "Cs"))
    header = st.one_of(st.sampled_from(named), st.text(word, min_size=1, max_size=8))
    headers = draw(st.lists(header, min_size=n_cols, max_size=n_cols, unique_by=_key))
    if draw(st.integers(0, 3)) == 0:  # now and then a bad header: any text, or a duplicate
        bad = st.one_of(st.sampled_from([*BAD, *headers]), _text(codec, others))
        headers[draw(st.integers(0, n_cols - 1))] = draw(bad)
    if first is not None:
        headers[0] = first
    cell = _text(codec, "")
    rows = draw(st.lists(st.lists(cell, min_size=n_cols, max_size=n_cols), max_size=5))
    text = _write_csv(headers, rows, d, quote_all, nl)
    if not draw(st.booleans()):
        text = text[: -len(nl)]  # no newline after the last row
    data = text.encode(encoding)
    if encoding == "cp1252" and any(ord(c) > 127 for c in text):
        try:  # cp1252 bytes that happen to be UTF-8 are read as UTF-8, rightly
            data.decode("utf-8")
            assume(False)
        except UnicodeDecodeError:
            pass
    return data, headers, rows, encoding


def _expect(v: str) -> str | None:
    return v.strip() or None


@FUZZ
@given(csv_files(), st.sampled_from([".csv", ".tsv"]))
def test_csv_reads_whole_or_fails_in_one_line(
    f: tuple[bytes, list[str], list[list[str]], str], suffix: str
) -> None:
    data, headers, rows, encoding = f
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"t{suffix}"
        p.write_bytes(data)
        try:
            raw = read_table(p)
            align([raw])
        except InputError as exc:
            line = exc.format()
            assert "\n" not in line and line.startswith(f"file {p}")
            assert not _readable(headers, rows), line
            event(f"InputError {exc.message[:25]}")
            return
    event("read")
    assert raw.headers == [h.strip() for h in headers]
    got = [list(r.values()) for r in raw.table.to_pylist()]
    assert got == [[_expect(v) for v in r] for r in rows]
    if encoding == "utf-16":
        assert raw.encoding == "utf-16-le"


# -- typed columns: Parquet and DataFrames --------------------------------------------------

_INT = st.integers(-(2**62), 2**62)
# no subnormals: a library loaded by other tests may flush them to zero (FTZ), and hypothesis
# then refuses to draw them
_FLOAT = st.floats(allow_nan=True, allow_infinity=False, allow_subnormal=False)
_TS = st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2200, 1, 1))
_DEC = st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False)
_STR = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
KINDS: dict[str, tuple[st.SearchStrategy, pa.DataType | None]] = {
    "int": (_INT, pa.int64()),
    "float": (_FLOAT, pa.float64()),
    "bool": (st.booleans(), pa.bool_()),
    "timestamp": (_TS, pa.timestamp("us")),
    "decimal": (_DEC, pa.decimal128(12, 2)),
    "list": (st.lists(_STR, max_size=3), pa.list_(pa.string())),
    "struct": (st.fixed_dictionaries({"a": _INT, "b": _STR}), None),
    "binary": (st.binary(max_size=6), pa.binary()),
    "category": (st.sampled_from(["x", "y z", " w "]), None),
    "text": (_STR, pa.string()),
}


def _same(kind: str, value: object, text: str | None) -> bool:
    """``text`` is ``value`` read back (None: a null cell)."""
    if value is None or value == b"" or (kind == "float" and value != value):  # NaN
        return text is None  # an empty cell is null, whatever its type
    if kind in ("text", "category"):
        return text == (str(value).strip() or None)
    assert text is not None, (kind, value)
    if kind == "int":
        return int(text) == value
    if kind == "float":
        return float(text) == value
    if kind == "bool":
        return text == str(value)
    if kind == "timestamp":
        return pd.Timestamp(text) == pd.Timestamp(value)  # type: ignore[arg-type]
    if kind == "decimal":
        return decimal.Decimal(text) == value
    if kind in ("list", "struct"):
        return json.loads(text) == value
    if kind == "binary":
        return bytes.fromhex(text) == value
    raise AssertionError(kind)


@st.composite
def typed_tables(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, list[object]]]:
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    n = draw(st.integers(1, 5))
    names = {f"c{i} {k}": k for i, k in enumerate(kinds)}
    values = {
        name: draw(st.lists(st.one_of(st.none(), KINDS[k][0]), min_size=n, max_size=n))
        for name, k in names.items()
    }
    return names, values


def _arrow(names: dict[str, str], values: dict[str, list[object]]) -> pa.Table:
    cols = {}
    for name, kind in names.items():
        if kind == "category":
            cols[name] = pa.array(values[name], pa.string()).dictionary_encode()
        else:
            cols[name] = pa.array(values[name], KINDS[kind][1])
    return pa.table(cols)


def _check(raw: lakefuse.io.RawTable, names: dict[str, str], values: dict[str, list]) -> None:
    assert raw.headers == list(names)
    got = raw.table.to_pydict()
    for name, kind in names.items():
        assert len(got[name]) == len(values[name])
        for v, t in zip(values[name], got[name], strict=True):
            assert _same(kind, v, t), (name, v, t)
        if kind not in ("text",):
            assert name in raw.conversions or all(v is None for v in values[name])


@FUZZ
@given(typed_tables())
def test_parquet_types_round_trip(t: tuple[dict[str, str], dict[str, list[object]]]) -> None:
    names, values = t
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "t.parquet"
        pq.write_table(_arrow(names, values), p)
        _check(read_table(p), names, values)


@FUZZ
@given(typed_tables(), st.booleans())
def test_dataframe_types_round_trip(
    t: tuple[dict[str, str], dict[str, list[object]]], typed: bool
) -> None:
    names, values = t
    if typed:  # pandas' own dtypes, as Arrow gives them
        frame = _arrow(names, values).to_pandas()
        ints = [n for n, k in names.items() if k == "int" and None in values[n]]
        assume(not ints or all(abs(v) < 2**53 for n in ints for v in values[n] if v is not None))
    else:  # object columns, as a user builds them from Python values
        frame = pd.DataFrame(
            {
                n: pd.Categorical(values[n])
                if k == "category"
                else pd.Series(values[n], dtype=object)
                for n, k in names.items()
            }
        )
    _check(from_dataframe("x", frame), names, values)


@FUZZ
@given(st.lists(st.one_of(st.none(), _INT, _STR, _FLOAT), min_size=1, max_size=6))
def test_mixed_object_columns_read_as_text(values: list[object]) -> None:
    raw = from_dataframe("x", pd.DataFrame({"v": pd.Series(values, dtype=object)}))
    for v, t in zip(values, raw.table.column("v").to_pylist(), strict=True):
        if v is None or (isinstance(v, float) and v != v):
            assert t is None
        elif isinstance(v, str):
            assert t == (v.strip() or None)
        elif isinstance(v, int):
            assert t == str(v)  # exactly, even beside floats
        else:
            assert float(t) == v  # type: ignore[arg-type]


# -- end to end ------------------------------------------------------------------------------


@settings(
    max_examples=max(4, FUZZ.max_examples // 15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(csv_files(first="name"), csv_files(first=" Name"))
def test_integrate_keeps_every_row(
    a: tuple[bytes, list[str], list[list[str]], str],
    b: tuple[bytes, list[str], list[list[str]], str],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, (data, _, _, _) in (("a", a), ("b", b)):
            paths.append(Path(tmp) / f"{name}.csv")
            paths[-1].write_bytes(data)
        try:
            res = lakefuse.integrate(paths, judge="similarity", quiet=True)
        except InputError as exc:
            assert "\n" not in exc.format()
            assert not all(_readable(f[1], f[2]) for f in (a, b)), exc.format()
            event("InputError")
            return
    event("integrated")
    n = {"a": len(a[2]), "b": len(b[2])}
    expected = {(t, r) for t in n for r in range(n[t])}
    mem = res.membership.to_pandas()
    assert set(zip(mem["table"], mem["row"], strict=True)) == expected


@pytest.mark.parametrize("quote_all", [False, True])
def test_integrate_semicolon_utf16_lake(tmp_path: Path, quote_all: bool) -> None:
    a = tmp_path / "a.csv"
    a.write_bytes(
        _write_csv(
            ["name", "city"],
            [["Ada Lovelace", "Zürich, CH"], ["Alan", "X"]],
            ";",
            quote_all,
            "\r\n",
        ).encode("utf-16")
    )
    b = tmp_path / "b.csv"
    b.write_text('name,city\n"Ada Lovelace","Zürich, CH"\nGrace,NYC\n', encoding="utf-8-sig")
    res = lakefuse.integrate([a, b], tmp_path / "o", judge="similarity", quiet=True)
    mem = pd.read_csv(tmp_path / "o" / "membership.csv")
    assert set(zip(mem["table"], mem["row"], strict=True)) == {
        ("a", 0),
        ("a", 1),
        ("b", 0),
        ("b", 1),
    }
    assert "Zürich, CH" in set(res.integrated.column("city").to_pylist())
    assert csv.field_size_limit() >= 1 << 30
