"""Value variants and variant pooling shared by the resolvers.

Two candidate values are *variants* of one value when they differ only by case, accents,
punctuation or spacing, by a small typo, by word order, by a nickname (the ``nicknames``
data set), or by an abbreviation found by rule: an initialism, a truncation or contraction
of a word, a place code (ISO 3166, every country and subdivision). The text primitives are
:mod:`lakefuse.text`'s. Pooling is done within one conflict problem, so an occasional false
merge only affects that problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz.distance import DamerauLevenshtein

from lakefuse.text.abbreviations import contraction, initialism, truncation
from lakefuse.text.dates import date_keys
from lakefuse.text.names import initials_match, same_given_name
from lakefuse.text.normalize import fold, key, plain_words, words
from lakefuse.text.places import place_names, unique_place
from lakefuse.text.words import known_words
from lakefuse.types import Candidate

__all__ = [
    "canonical_tokens",
    "date_keys",
    "fold",
    "key",
    "known_words",
    "place_names",
    "pool",
    "variants",
]


def _same_place(a: str, b: str) -> bool:
    pa, pb = place_names(a), place_names(b)
    if pa and pb:
        return bool(pa & pb)
    if "," in a and "," in b:
        ha, _, ta = a.rpartition(",")
        hb, _, tb = b.rpartition(",")
        return key(ha) == key(hb) and bool(place_names(ta) & place_names(tb))
    return False


def canonical_tokens(value: str) -> tuple[str, ...]:
    """Words, with a value or a two-letter word that names exactly one place written as that
    place's name."""
    whole = unique_place(value)
    if whole is not None:
        return tuple(plain_words(whole))
    out: list[str] = []
    for tok in words(value):
        place = unique_place(tok) if len(tok) == 2 and not tok.isdigit() else None
        out.extend(plain_words(place) if place is not None else [tok])
    return tuple(out)


def _typo(a: str, b: str) -> bool:
    """Small edit distance relative to length (digits must match exactly)."""
    if a.isdigit() or b.isdigit():
        return False
    n = max(len(a), len(b))
    if n < 4:
        return False
    budget = 1 if n < 8 else 2 if n < 16 else 3
    return DamerauLevenshtein.distance(a, b, score_cutoff=budget) <= budget


def _same_people(ra: Sequence[str], rb: Sequence[str]) -> bool:
    """Same words up to order, given names possibly as nicknames (``Bill Smith`` /
    ``William Smith``)."""
    rest = list(rb)
    for x in ra:
        hit = next((y for y in rest if y == x), None)
        if hit is None:
            hit = next((y for y in rest if same_given_name(x, y)), None)
        if hit is None:
            return False
        rest.remove(hit)
    return True


def variants(a: str, b: str) -> bool:
    """Whether two values are spelling/abbreviation variants of one value."""
    ka, kb = key(a), key(b)
    if not ka or not kb:
        return False
    if ka == kb or _typo(ka, kb):
        return True
    if _same_place(a, b):
        return True
    da, db = date_keys(a), date_keys(b)
    if da and db:
        return bool(da & db)
    ta, tb = canonical_tokens(a), canonical_tokens(b)
    if ta == tb and ta:
        return True
    if len(ta) > 1 and sorted(ta) == sorted(tb):  # word or list order
        return True
    ra, rb = plain_words(a), plain_words(b)
    if len(ra) == len(rb) > 1 and (_same_people(ra, rb) or initials_match(ra, rb)):
        return True
    if "".join(ta) == "".join(tb):
        return True
    if len(ta) == 1 and initialism(ta[0], tb) or len(tb) == 1 and initialism(tb[0], ta):
        return True
    if len(ta) == len(tb) and len(ta) > 1:
        # token-wise: equal, a truncation ("Univ." / "University"), a contraction ("mgmt" /
        # "management"), or a small typo
        return all(
            x == y
            or truncation(x, y)
            or truncation(y, x)
            or _typo(x, y)
            or contraction(x, y)
            or contraction(y, x)
            for x, y in zip(ta, tb)
        )
    return False


#: :func:`variants` remembered per pair of values: conflicts of a column repeat the same
#: pairs (two states, two suburbs), and the rules are pure functions of the two strings
_variants = lru_cache(maxsize=1 << 18)(variants)


def pool(candidates: Sequence[Candidate]) -> list[list[int]]:
    """Group candidate indexes into variant clusters (union-find, first index is the root)."""
    parent = list(range(len(candidates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(candidates)):
        for j in range(i + 1, len(candidates)):
            if _variants(candidates[i].value, candidates[j].value):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())
