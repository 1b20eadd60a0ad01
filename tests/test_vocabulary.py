"""The product must not know the benchmark's noise vocabulary.

bench/noise.py generates the semantic-equivalence noise of the benchmark from its own tables
(abbreviations, nicknames, month names, the countries whose subdivisions it abbreviates). A
product that carries the same tables, or their inversions, would be measured against its
own generator. The product's vocabularies come from maintained, independent sources
(pycountry, the ``nicknames`` data set, the encoder's WordPiece vocabulary) and general
rules; this test reads every string table written into the product's source (dict, list,
tuple and set literals, anywhere in a module) and fails on any overlap with the generator's
tables beyond the reviewed allow-lists below."""

from __future__ import annotations

import ast
from pathlib import Path

import lakefuse

SRC = Path(lakefuse.__file__).resolve().parent
NOISE = SRC / "bench" / "noise.py"

#: word pairs (alias, abbreviation, nickname) both sides may have, with the reason
ALLOWED_PAIRS: dict[frozenset[str], str] = {}

#: words that may appear in both sides' word lists, with the reason
ALLOWED_WORDS: dict[str, str] = {
    # the typo model: keys next to each other on a QWERTY keyboard are what fingers hit
    "1234567890": "the QWERTY keyboard's rows: a physical layout, not a vocabulary",
    "qwertyuiop": "the QWERTY keyboard's rows: a physical layout, not a vocabulary",
    "asdfghjkl": "the QWERTY keyboard's rows: a physical layout, not a vocabulary",
    "zxcvbnm": "the QWERTY keyboard's rows: a physical layout, not a vocabulary",
    "insert": "Damerau-Levenshtein's edit operations: every typo model has them",
    "delete": "Damerau-Levenshtein's edit operations: every typo model has them",
    "transpose": "Damerau-Levenshtein's edit operations: every typo model has them",
}


def fold(word: str) -> str:
    """Compare words as abbreviations are written: case, dots and apostrophes ignored."""
    return " ".join(word.casefold().replace("'", "").replace("\u2019", "").strip(" .").split())


def _strings(node: ast.AST) -> list[str] | None:
    """The strings of a str constant or a list/tuple/set of them; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and node.elts:
        out = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if len(out) == len(node.elts) and all(isinstance(v, str) for v in out):
            return out
    return None


def tables(source: str) -> tuple[set[frozenset[str]], list[frozenset[str]]]:
    """The string tables written in ``source``: word pairs (a dict's key with each string
    of its value, in either direction) and word lists (list, tuple and set literals of two
    strings or more, their words with a letter or digit), folded."""
    pairs: set[frozenset[str]] = set()
    lists: list[frozenset[str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                keys, values = _strings(k) if k is not None else None, _strings(v)
                if keys and values and len(keys) == 1:
                    for w in values:
                        pair = frozenset({fold(keys[0]), fold(w)})
                        if len(pair) == 2:
                            pairs.add(pair)
        words = _strings(node) if not isinstance(node, ast.Constant) else None
        if words and len(words) >= 2:  # punctuation (separators) is no vocabulary
            lists.append(frozenset(fold(w) for w in words if any(c.isalnum() for c in w)))
    return pairs, lists


def product_modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "bench" not in p.relative_to(SRC).parts)


def overlaps(
    product: tuple[set[frozenset[str]], list[frozenset[str]]],
    generator: tuple[set[frozenset[str]], list[frozenset[str]]],
) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """(shared pairs, shared words of list pairs that share two or more) not allowed."""
    pairs = {p for p in product[0] & generator[0] if p not in ALLOWED_PAIRS}
    words: set[frozenset[str]] = set()
    for mine in product[1]:
        for theirs in generator[1]:
            shared = frozenset(w for w in mine & theirs if w not in ALLOWED_WORDS)
            if len(shared) >= 2:
                words.add(shared)
    return pairs, words


def test_the_collector_reads_the_generator_vocabulary() -> None:
    pairs, lists = tables(NOISE.read_text())
    assert frozenset({"lachlan", "lachie"}) in pairs  # nickname
    assert frozenset({"stadium", "stad"}) in pairs  # abbreviation, dot folded
    assert frozenset({"international conference", "icc"}) in pairs
    assert frozenset({"international", "intl"}) in pairs  # apostrophe folded
    assert any({"us", "au", "ca", "gb"} <= words for words in lists)  # subdivided countries
    assert any("jan" in words for words in lists)  # month abbreviations


def test_a_product_table_copied_from_the_generator_is_caught() -> None:
    fake_product = 'FAKE = {"lachie": "lachlan", "stad.": ("stadium",)}\nC = ("GB", "AU", "CA")'
    pairs, words = overlaps(tables(fake_product), tables(NOISE.read_text()))
    assert pairs == {frozenset({"lachie", "lachlan"}), frozenset({"stad", "stadium"})}
    assert frozenset({"gb", "au", "ca"}) in words


def test_product_vocabularies_do_not_overlap_the_noise_generator() -> None:
    generator = tables(NOISE.read_text())
    offenders = []
    for path in product_modules():
        pairs, words = overlaps(tables(path.read_text()), generator)
        rel = path.relative_to(SRC.parent)
        offenders += [f"{rel}: pair {sorted(p)}" for p in sorted(pairs, key=sorted)]
        offenders += [f"{rel}: words {sorted(w)}" for w in sorted(words, key=sorted)]
    assert not offenders, "product tables repeat bench/noise.py's:\n" + "\n".join(offenders)


def test_allow_lists_are_short_and_reasoned() -> None:
    assert len(ALLOWED_PAIRS) + len(set(ALLOWED_WORDS.values())) <= 8
    assert all(reason.strip() for reason in [*ALLOWED_PAIRS.values(), *ALLOWED_WORDS.values()])


def test_places_cover_every_country_not_only_the_generators_four() -> None:
    from lakefuse.text.places import place_names

    assert "bayern" in place_names("BY")  # DE-BY
    assert "new south wales" in place_names("NSW")  # AU, also the generator's
    assert "tokyo" in place_names("Tokyo")  # JP-13: a numeric code, the name only
    assert {"florida", "flevoland"} <= place_names("FL")  # US-FL and NL-FL
    assert "france" in place_names("FRA")


def test_nicknames_come_from_the_nicknames_data_set() -> None:
    from nicknames import NickNamer

    from lakefuse.text.names import formal_names, same_given_name

    assert formal_names("bill") == frozenset(NickNamer().canonicals_of("bill"))
    assert same_given_name("bill", "william") and same_given_name("bill", "will")
    assert not same_given_name("bill", "thomas")
