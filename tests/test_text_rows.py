"""The Arrow-held string helpers every stage reads distinct values through
(:mod:`lakefuse.text.rows`) agree with the Python containers they replace, at any batch size."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakefuse.text import rows
from lakefuse.text.rows import ArrowStrings, Lookup, dictionary_codes, unify

# any text Arrow can hold (no lone surrogates), short so that values repeat
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=4)


@settings(deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), texts), max_size=12), max_size=4))
def test_unify_codes_as_a_dict_in_order_of_first_appearance(arrays: list[list]) -> None:
    strings, positions = unify([pa.array(a, pa.string()) for a in arrays])
    table: dict[str, int] = {}
    for a, got in zip(arrays, positions):
        want = [-1 if v is None else table.setdefault(v, len(table)) for v in a]
        assert got.tolist() == want
    assert list(strings) == list(table)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, st.integers(0, 5)), max_size=30), texts, st.integers(1, 4))
def test_lookup_answers_as_a_counter(items: list[tuple[str, int]], probe: str, batch: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rows, "BATCH", batch)
        parts = [
            ([k for k, _ in items[s : s + 3]], [n for _, n in items[s : s + 3]])
            for s in range(0, len(items), 3)
        ]
        counts = Lookup.counted(parts)
        want: Counter[str] = Counter()
        for k, n in items:
            want[k] += n
        assert dict(counts.items()) == dict(want)
        for k in [*want, probe]:
            assert counts[k] == want[k] and (k in counts) == (k in want)
        assert counts.total() == sum(want.values()) and len(counts) == len(want)


def test_lookup_without_a_default_raises_for_an_absent_key() -> None:
    index = Lookup(pa.array(["b", "a"]), np.array([0, 1]))
    assert index["a"] == 1 and index.get("c") is None and index.get("c", -1) == -1
    with pytest.raises(KeyError):
        index["c"]


@settings(deadline=None)
@given(st.lists(texts, max_size=20), st.integers(1, 5))
def test_batches_take_and_mapped_read_every_string_once(values: list[str], batch: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rows, "BATCH", batch)
        s = ArrowStrings(pa.array(values, pa.string()))
        assert [v for _, b in s.batches() for v in b] == values == list(s)
        assert s.mapped(str.upper, pa.string()).to_pylist() == [v.upper() for v in values]
        assert s.nonempty().tolist() == [bool(v) for v in values]
        ids = np.arange(len(values))[::-1]
        assert s.take(ids) == values[::-1]
        codes, distinct = dictionary_codes(pa.array(values, pa.string()))
        assert [distinct[int(c)].as_py() for c in codes] == values
