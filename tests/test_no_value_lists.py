"""No stage reads every value of the union into Python lists (#19): the stages read the union's
Arrow columns and dictionary codes. ``UnionTable.values()`` (Python lists by tid, for tests and
the bench's small tasks) is made to fail, then the stages that once used it run on real data:
the hybrid blocker's value neighbours, the one-to-one step's text weights, and ICLCR's
demonstrations. The distinct values too stay in Arrow (:mod:`lakefuse.text.rows`), read a batch
at a time: with batches of a few values the whole run gives the same outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefuse import integrate, output
from lakefuse.resolve.demos import DemoIndex, attribute_weights, compress
from lakefuse.text import rows as text_rows
from lakefuse.types import UnionTable
from tests.conftest import need
from tests.test_resolve import context, make_union

ABT_BUY = Path(__file__).resolve().parents[2] / "shared" / "data" / "magellan" / "abt_buy"


@pytest.fixture
def no_value_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: UnionTable) -> None:
        raise AssertionError("a stage read every value into Python lists")

    monkeypatch.setattr(UnionTable, "values", refuse)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.suffix == ".csv"}


@pytest.mark.usefixtures("no_value_lists")
def test_blocking_judging_and_one_to_one_sets_read_no_value_lists(
    stadiums: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = integrate([stadiums], blocker="hybrid", quiet=True, out_dir=tmp_path / "whole")
    assert result.integrated.num_rows > 0 and result.run["stages"]["sets"]["sets"] > 0
    # every stage again with the distinct values read 7 at a time (dictionaries, parses,
    # embeddings, value groups, column counts) and the CSVs written 5 rows at a time
    monkeypatch.setattr(text_rows, "BATCH", 7)
    monkeypatch.setattr(output, "CSV_ROWS", 5)
    small = integrate([stadiums], blocker="hybrid", quiet=True, out_dir=tmp_path / "batched")
    assert small.run["stages"]["sets"]["sets"] == result.run["stages"]["sets"]["sets"]
    whole, batched = _outputs(tmp_path / "whole"), _outputs(tmp_path / "batched")
    assert set(whole) == {"integrated.csv", "membership.csv"}
    assert batched == whole


def test_distinct_values_are_held_by_arrow(stadiums: Path) -> None:
    import pandas as pd

    from lakefuse.encode.tuples import union_columns
    from lakefuse.judge.pair_features import parsed
    from lakefuse.judge.ssacl_features import UnionStats
    from lakefuse.resolve.columns import ColumnCounts
    from lakefuse.resolve.context import KeyCodes
    from lakefuse.types import ResolveContext

    union = make_union({f.stem: pd.read_csv(f, dtype=str) for f in sorted(stadiums.glob("*.csv"))})
    stats = UnionStats(union)
    assert isinstance(stats.strings, text_rows.ArrowStrings)
    assert all(
        isinstance(c.dictionary, text_rows.ArrowStrings) for c in union_columns(union).values()
    )
    values = parsed(stats.strings)
    assert isinstance(values.norms, text_rows.ArrowStrings) and len(values.norms) > 100
    a = max(union.attributes, key=lambda x: len(union.codes(x)[1]))
    counts = ColumnCounts(ResolveContext(union, {}))(a)
    assert isinstance(counts, text_rows.Lookup) and counts.total() > len(counts) > 100
    assert isinstance(KeyCodes(union)(a)[1], text_rows.Lookup)


@pytest.mark.usefixtures("no_value_lists")
def test_one_to_one_text_weights_read_no_value_lists() -> None:
    # two clean catalogues: the one-to-one step pairs them, weighing pairs by their text
    folder = need(ABT_BUY)
    import pandas as pd

    tables = {
        p.stem: pd.read_csv(p, dtype=str).head(300)
        for p in sorted(folder.glob("*.csv"))
        if p.stem in ("tableA", "tableB")
    }
    result = integrate(tables, quiet=True)
    report = result.run["stages"]["sets"]["one_to_one"]
    assert report["paired"], report
    assert report["candidate_pairs"] > 0


def test_demonstrations_from_the_union_equal_those_from_lists() -> None:
    import pandas as pd

    rows = [
        ("Packers", "Lambeau Field", "Green Bay"),
        ("Packers", "Lambeau Field", "Green Bay"),
        ("Bears", "Soldier Field", "Chicago"),
        ("Lions", "Ford Field", "Detroit"),
        ("Saints", "Caesars Superdome", "New Orleans"),
        ("Saints", None, "New Orleans"),
    ]
    ctx = context({"t": pd.DataFrame(rows, columns=["Team", "Facility", "City"])})
    union = ctx.union
    lists = union.values()
    for target in union.attributes:
        weights = attribute_weights(union, target, union.attributes, seed=0)
        assert weights == attribute_weights(lists, target, union.attributes, seed=0)
        shown = compress(weights, 0.0) or {a: 1.0 for a in union.attributes if a != target}
        a, b = DemoIndex(union, target, shown, [1]), DemoIndex(lists, target, shown, [1])
        assert a.rows.tolist() == b.rows.tolist()
        for known in ({"Team": "Saints"}, {"City": "green bay"}, {"Facility": "Field"}):
            got = [(d.values, d.answer) for d in a.select(known, 3)]
            assert got == [(d.values, d.answer) for d in b.select(known, 3)]
