"""Text evidence for long rows (:mod:`lakefuse.text.idf`, :mod:`lakefuse.text.codes`): codes by
their shape, a shared rare code as evidence, two different codes and two different amounts of
one unit as counter-evidence, numbers that agree."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lakefuse.text.codes import code_texts, code_value, codes_of, quantities_of
from lakefuse.text.idf import TextEvidence, number_agreement, number_columns, pair_weights
from lakefuse.text.rows import row_texts


def test_codes_by_shape() -> None:
    codes = codes_of("Sony Cyber-shot DSC-W55 camera 7.2 megapixel 64GB 399.99 2007 fs105na")
    assert "dscw55" in codes and "fs105na" in codes and "fs105" in codes and "2007" in codes
    # a price, a size and a number with its unit are no codes; plain words neither
    assert not {"39999", "72", "64gb", "sony", "camera", "cybershot"} & set(codes)
    assert ("gb", "64") in quantities_of("64 GB card") and ("gb", "64") in quantities_of("64gb")
    assert quantities_of("15,6 in") == [("in", "15.6")]


def test_codes_are_not_read_from_short_number_values() -> None:
    # a postcode or a house number is a value of its own column, a long id or phone number
    # and a model number in a title are codes
    cols = [["3181", "213/848-6677", "acme x200 2007"], ["nsw", "ca", None]]
    texts = code_texts(cols, 3).to_pylist()
    assert texts == ["nsw", "213/848-6677 ca", "acme x200 2007"]
    assert codes_of(texts[1]) == ["2138486677"] and "x200" in codes_of(texts[2])


def _catalogue() -> list[str]:
    # filler rows give the words and grams their IDF; each filler carries its own code
    filler = [f"generic cable adapter part {i} x{1000 + i}z" for i in range(40)]
    return [
        "sony cybershot camera dsc-w55 silver",  # 0
        "sony camera dscw55 silver 7 mp",  # 1: same model, written differently
        "sony cybershot camera dsc-w70 silver",  # 2: another model of the line
        "kingston memory card 64gb sd",  # 3
        "kingston memory card 32 gb sd",  # 4: same words, another size
        "kingston memory card 64 gb sd",  # 5
        *filler,
    ]


def test_shared_code_beats_shared_words_and_different_codes_count_against() -> None:
    ev = TextEvidence.of(_catalogue())
    pairs = ev.pairs(np.array([0, 0]), np.array([1, 2]))
    assert pairs.codes[0] > 0.5 and pairs.codes[1] == 0.0
    assert not pairs.code_conflict[0] and pairs.code_conflict[1]
    # by words and grams alone the other model of the line looks closer
    assert pairs.words[1] > pairs.words[0]
    w = ev.weights(np.array([0, 0]), np.array([1, 2]))
    assert w[0] > w[1]


def test_different_amounts_of_one_unit_count_against() -> None:
    ev = TextEvidence.of(_catalogue())
    pairs = ev.pairs(np.array([3, 3]), np.array([4, 5]))
    assert pairs.quantity_conflict.tolist() == [1.0, 0.0]
    assert ev.weights(np.array([3]), np.array([5]))[0] > ev.weights(np.array([3]), np.array([4]))[0]


def test_numbers_agree_within_a_tolerance_and_nulls_are_no_evidence() -> None:
    cols = [["399.0", "399.99", "120", None, "n/a"]]
    nums = number_columns(cols)
    got = number_agreement(nums, np.array([0, 0, 0, 3]), np.array([1, 2, 3, 4]))
    assert got[0] == 1.0 and got[1] == 0.0 and got[2] == 0.0 and got[3] == 0.0
    assert number_columns([["a", None]]) == []
    texts = ["acme widget"] * 5
    w = pair_weights(texts, cols, np.array([0, 0]), np.array([1, 2]))
    assert w[0] > w[1]


def test_empty_texts() -> None:
    ev = TextEvidence.of(["", "", ""])
    assert ev.weights(np.array([0]), np.array([1])).tolist() == [0.0]


@given(
    st.integers(0, 6).flatmap(
        lambda n: st.lists(
            st.lists(
                st.one_of(st.none(), st.just(""), st.text(max_size=5)), min_size=n, max_size=n
            ),
            max_size=4,
        ).map(lambda cols: (n, cols))
    )
)
def test_row_texts_join_each_rows_non_empty_values(
    case: tuple[int, list[list[str | None]]],
) -> None:
    n, cols = case
    want = [" ".join(c[i] for c in cols if c[i]) for i in range(n)]
    assert row_texts(cols, n).to_pylist() == want
    keep = code_texts(cols, n).to_pylist()
    assert keep == [" ".join(c[i] for c in cols if c[i] and code_value(c[i])) for i in range(n)]
