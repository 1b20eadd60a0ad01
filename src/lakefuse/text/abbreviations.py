"""Abbreviations by general rule, with no table of words: a *truncation* keeps a word's
first letters (``Univ.`` / University, ``Stad`` / Stadium), a *contraction* keeps its first
letter and some of the rest in order (``mgmt`` / management, ``Blvd`` / Boulevard,
``int'l`` / international), an *initialism* or *acronym* keeps the first letter of each word
(``RJS`` / Raymond James Stadium, ``UN`` / United Nations). Whether a contraction's long
form is a word, and its short form none, is read off the WordPiece vocabulary
(:mod:`lakefuse.text.words`)."""

from __future__ import annotations

from collections.abc import Sequence

from lakefuse.text.normalize import normalize
from lakefuse.text.words import known_words

_VOWELS = frozenset("aeiouy")
#: function words an acronym skips ("Bank of America" -> "BA")
_FUNCTION_WORDS = frozenset({"of", "the", "and", "for", "de"})
#: a truncation keeps at most this many letters (longer prefixes are words of their own)
MAX_TRUNCATION = 4


def acronym(value: str) -> str:
    """First letters of the value's words, function words left out, upper case."""
    words = [w for w in normalize(value).split() if w not in _FUNCTION_WORDS]
    return "".join(w[0] for w in words).upper()


def initialism(short: str, long_words: Sequence[str]) -> bool:
    """``short`` is the first letters of two or more ``long_words``."""
    return len(long_words) >= 2 and short == "".join(t[0] for t in long_words)


def truncation(short: str, long: str) -> bool:
    """``short`` (up to :data:`MAX_TRUNCATION` letters) is the start of the longer ``long``."""
    return 1 <= len(short) <= MAX_TRUNCATION and len(long) > len(short) and long.startswith(short)


def contraction(short: str, long: str) -> bool:
    """``short`` is ``long`` with letters left out ("mgmt" / "management", "vlge" /
    "village", "dbs" / "databases", "intl" / "international"): same first letter, the rest
    in order, ``long`` is a word of the vocabulary, and ``short`` is none ("bay" / "bradley"
    are two words) or has no vowel ("db" / "database": the vocabulary has "db", but no
    English word is written without a vowel)."""
    if len(short) < 2 or len(long) <= len(short) + 1 or short[0] != long[0]:
        return False
    if not short.isalpha() or not long.isalpha():
        return False
    it = iter(long[1:])
    if not all(c in it for c in short[1:]):
        return False
    if known_words(long) != 1:
        return False
    return known_words(short) == 0 or not _VOWELS.intersection(short)


def abbreviates(short: str, long: str) -> bool:
    """``short`` is a truncation or contraction of ``long`` (both folded words)."""
    return short.isalpha() and (truncation(short, long) or contraction(short, long))


def same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two word sequences of one length, word by word equal or one abbreviating the other,
    and at least one pair unequal."""
    if len(a) != len(b) or not a or list(a) == list(b):
        return False
    return all(x == y or abbreviates(x, y) or abbreviates(y, x) for x, y in zip(a, b))


def abbreviation_forms(word: str) -> list[str]:
    """Ways to shorten a word of six letters or more that the vocabulary knows: its first
    four letters, and its first letter with the consonants of the rest (doubled letters
    once), as sources write them ("Stadium" -> "Stad", "Stdm")."""
    low = word.casefold()
    if len(low) < 6 or not low.isalpha() or known_words(low) != 1:
        return []
    trunc = word[:MAX_TRUNCATION]
    cons = [c for c in word[1:] if c.casefold() not in _VOWELS]
    squeezed = [c for i, c in enumerate(cons) if i == 0 or c.casefold() != cons[i - 1].casefold()]
    contr = word[0] + "".join(squeezed)
    return [f for f in dict.fromkeys([trunc, contr]) if len(f) + 1 < len(word)]
