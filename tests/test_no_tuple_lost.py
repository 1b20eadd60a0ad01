"""Property: whatever the tables, every input tuple is accounted for in the output."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakefuse

VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "Berlin",
            "berlin ",
            "Berlni",
            "U.S.",
            "United States",
            "1,200",
            "1200",
            "2020-01-05",
            "05/01/2020",
            "",
            "a,b",
            'quote"d',
            "x" * 300,
        ]
    ),
    # any printable text; a bare carriage return inside a field is not representable in the
    # CSV that pandas writes, so control characters are left out
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=0, max_size=12),
)
HEADERS = ["key", "name", "city", "Country", "year", "price"]


@st.composite
def lakes(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    n_tables = draw(st.integers(1, 4))
    out = {}
    for t in range(n_tables):
        others = draw(st.lists(st.sampled_from(HEADERS[1:]), unique=True, max_size=4))
        cols = ["key", *others]
        n_rows = draw(st.integers(1, 12))
        data = {c: [draw(VALUES) for _ in range(n_rows)] for c in cols}
        out[f"t{t}"] = pd.DataFrame(data, dtype=object)
    return out


def _check(result: lakefuse.pipeline.Result, expected: set[tuple[str, int]]) -> None:
    mem = result.membership.to_pandas()
    assert set(zip(mem["table"], mem["row"], strict=True)) == expected
    n_sets = result.integrated.num_rows
    assert sorted(set(mem["set_id"])) == list(range(n_sets))
    assert result.run["counts"]["sets"] == n_sets


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lakes(), st.sampled_from(["cliques", "components"]))
def test_no_tuple_lost_dataframes(lake: dict[str, pd.DataFrame], method: str) -> None:
    expected = {(name, i) for name, df in lake.items() for i in range(len(df))}
    res = lakefuse.integrate(lake, settings=lakefuse.Settings(quiet=True, sets=method))
    _check(res, expected)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lakes())
def test_no_tuple_lost_files(lake: dict[str, pd.DataFrame]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lake"
        folder.mkdir()
        expected = set()
        for name, df in lake.items():
            df.to_csv(folder / f"{name}.csv", index=False)
            expected |= {(name, i) for i in range(len(df))}
        res = lakefuse.integrate([folder], Path(tmp) / "out", quiet=True)
        _check(res, expected)
        mem = pd.read_csv(Path(tmp) / "out" / "membership.csv")
        assert set(zip(mem["table"], mem["row"], strict=True)) == expected
