"""Comparison forms of a cell value, from loosest to strictest.

* :func:`fold`: case, accents and runs of white space ignored (``"Böhlen  M"`` ->
  ``"bohlen m"``); punctuation kept.
* :func:`normalize`: :func:`fold`, and punctuation read as a space; HTML character
  references read as the characters they stand for (``b&#246;hlen``, ``&amp;``).
* :func:`key`: letters and digits only (``"Green Bay,  WI."`` -> ``"greenbaywi"``).
* :func:`words`: the letter and digit runs of :func:`fold`, an apostrophe inside a word
  kept in it (``"int'l"`` -> ``"intl"``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_WORD = re.compile(r"[0-9a-z]+")
#: an apostrophe inside a word ("int'l", "gov't"): the word is one token
_APOSTROPHE = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")


def strip_accents(text: str) -> str:
    """Compatibility decomposition without the combining marks (``"é"`` -> ``"e"``)."""
    if text.isascii():  # no ASCII character decomposes or combines
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def fold(value: str) -> str:
    """Case-, accent- and whitespace-folded text."""
    return " ".join(strip_accents(value).casefold().split())


@lru_cache(maxsize=1_000_000)
def normalize(value: str) -> str:
    """Case-, accent-, punctuation- and space-insensitive form; HTML character references
    (``b&#246;hlen``, ``&amp;``) read as the characters they stand for."""
    v = html.unescape(value) if "&" in value else value
    v = strip_accents(v).lower()
    v = _PUNCT.sub(" ", v)
    return _SPACES.sub(" ", v).strip()


def key(value: str) -> str:
    """Punctuation-free folded key: ``"Green Bay,  WI."`` -> ``"greenbaywi"``."""
    return _NON_ALNUM.sub("", fold(value))


def words(value: str) -> list[str]:
    """Letter and digit runs of the folded value; ``"int'l"`` is one word, ``"intl"``."""
    return _WORD.findall(_APOSTROPHE.sub("", fold(value)))


def plain_words(value: str) -> list[str]:
    """Letter and digit runs of the folded value, split at every other character."""
    return _WORD.findall(fold(value))


_DOTTED = re.compile(r"^(?:[^\W\d_]\.\s?){2,}[^\W\d_]?\.?$")


def undot(value: str) -> str:
    """A dotted initialism written without its dots (``"U.S.A."`` -> ``"USA"``, ``"n.y."`` ->
    ``"ny"``); any other value unchanged."""
    v = value.strip()
    if _DOTTED.match(v):
        return v.replace(".", "").replace(" ", "")
    return value
