"""No stage reads every value of the union into Python lists (#19): the stages read the union's
Arrow columns and dictionary codes. ``UnionTable.values()`` (Python lists by tid, for tests and
the bench's small tasks) is made to fail, then the stages that once used it run on real data:
the hybrid blocker's value neighbours, the one-to-one step's text weights, and ICLCR's
demonstrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefuse import integrate
from lakefuse.resolve.demos import DemoIndex, attribute_weights, compress
from lakefuse.types import UnionTable
from tests.conftest import need
from tests.test_resolve import context

ABT_BUY = Path(__file__).resolve().parents[2] / "shared" / "data" / "magellan" / "abt_buy"


@pytest.fixture
def no_value_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: UnionTable) -> None:
        raise AssertionError("a stage read every value into Python lists")

    monkeypatch.setattr(UnionTable, "values", refuse)


@pytest.mark.usefixtures("no_value_lists")
def test_blocking_judging_and_one_to_one_sets_read_no_value_lists(stadiums: Path) -> None:
    result = integrate([stadiums], blocker="hybrid", quiet=True)
    assert result.integrated.num_rows > 0 and result.run["stages"]["sets"]["sets"] > 0


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
