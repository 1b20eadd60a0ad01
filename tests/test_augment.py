"""Augmentations: semantic equivalents from offline data, typos, dropped attributes."""

from __future__ import annotations

import numpy as np

from lakefuse.augment import (
    Augmenter,
    canonical,
    same_meaning,
    semantic_variant,
    semantic_variants,
    typo,
)
from lakefuse.augment.typo import KEYBOARD


def test_countries_and_states_share_a_canonical_form() -> None:
    assert canonical("United States") == canonical("U.S.") == canonical("USA")
    assert canonical("United Kingdom") == canonical("UK")
    assert same_meaning("California", "CA") and same_meaning("Canada", "CA")
    assert not same_meaning("California", "Canada")
    assert canonical("United States") != canonical("United Stakes")
    assert canonical("Germany") != canonical("France")


def test_formats_abbreviations_and_order_share_a_canonical_form() -> None:
    assert canonical("1,200") == canonical("1200.0")
    assert canonical("2020-01-05") == canonical("January 05, 2020")
    # abbreviations are found by rule (truncation, contraction), word by word, not by a
    # table of keys: same_meaning, not the canonical key, accepts them
    assert same_meaning("123 Main Street", "123 Main St.")
    assert same_meaning("Acme Corporation", "Acme Corp")
    assert not same_meaning("123 Main Street", "123 Maple Street")
    assert canonical("Smith, John") == canonical("John Smith")
    assert canonical("1,200") != canonical("1,300")


def test_semantic_variants_are_equivalent_and_different_strings() -> None:
    for value in ["United States", "Yankee Stadium", "2021-03-04", "Acme Incorporated"]:
        variants = semantic_variants(value)
        assert variants and value not in variants
    assert "USA" in semantic_variants("United States")
    assert "UN" in semantic_variants("United Nations")
    rng = np.random.default_rng(0)
    v = semantic_variant("12500", rng)
    assert v is None or canonical(v) == canonical("12500")


def test_typos_are_small_and_seeded() -> None:
    a = [typo("Yankee Stadium", np.random.default_rng(3)) for _ in range(3)]
    assert len(set(a)) == 1  # same seed, same typo
    rng = np.random.default_rng(1)
    outs = {typo("Yankee Stadium", rng) for _ in range(50)}
    assert len(outs) > 10
    for o in outs:
        assert abs(len(o) - len("Yankee Stadium")) <= 1
    assert set(KEYBOARD["s"]) >= {"a", "d", "w"}


def test_positive_keeps_an_identifying_attribute() -> None:
    aug = Augmenter(p_drop=0.9)
    rng = np.random.default_rng(0)
    row = ["Yankee Stadium", "New York", "1923", None]
    for _ in range(100):
        pos = aug.positive(row, identifying=[0], rng=rng)
        assert pos[0] is not None
        assert pos[3] is None
        assert any(v is not None for v in pos)


def test_switches_turn_augmentations_off() -> None:
    aug = Augmenter(se=False, te=False, drop=False)
    rng = np.random.default_rng(0)
    row = ["Yankee Stadium", "New York", "1923"]
    assert all(aug.positive(row, [0], rng) == row for _ in range(20))


def test_lists_are_reordered_shortened_and_left_incomplete() -> None:
    authors = "linas bukauskas , curtis e. dyreson , michael h. böhlen"
    variants = semantic_variants(authors)
    assert "michael h. böhlen , curtis e. dyreson , linas bukauskas" in variants
    assert "linas bukauskas , curtis dyreson , michael böhlen" in variants
    assert "l. bukauskas , c. dyreson , m. böhlen" in variants
    assert "linas bukauskas , curtis e. dyreson" in variants  # one author left out
    assert canonical("gottfried vossen , mathias weske") == canonical(
        "mathias weske , gottfried vossen"
    )
    # only names are shortened: a model number is no middle initial
    assert "iPad Mini, 128GB, Gold" not in semantic_variants("Apple iPad Mini 4, 128GB, Gold")
    assert "Gold, 128GB, Apple iPad Mini 4" in semantic_variants("Apple iPad Mini 4, 128GB, Gold")
    # numbers with thousands separators and single values are no lists
    assert all("," not in v for v in semantic_variants("1,200"))
    assert not any(v.startswith("kenneth a. ross ,") for v in semantic_variants("kenneth a. ross"))


def test_one_list_written_two_ways_is_no_hard_negative() -> None:
    # SSACL's hard negatives swap in a neighbour's value that clearly differs; the same
    # authors, reordered and abbreviated (or escaped), must not count as differing
    from lakefuse.judge.ssacl_data import _differs
    from lakefuse.text.names import same_list

    a = "michael h. b&#246;hlen , curtis e. dyreson , linas bukauskas"
    b = "L. Bukauskas; M. Böhlen; C. Dyreson"
    assert same_list(a, b) and not _differs(a, b)
    other = "jennifer widom , hector garcia-molina"
    assert not same_list(a, other) and _differs(a, other)
    assert not same_list("Yankee Stadium", "Yankee Stadium")  # single values are no lists
    # only lists of names: two products that share half their features stay apart
    assert not same_list("sony camera, 3x zoom, black", "canon camera, 3x zoom, black")


def test_html_character_references_read_as_characters() -> None:
    from lakefuse.text.normalize import normalize

    assert normalize("michael b&#246;hlen") == normalize("Michael Böhlen") == "michael bohlen"
    assert normalize("AT&amp;T") == normalize("AT&T")
