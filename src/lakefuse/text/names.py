"""People's names and lists of them.

Nicknames come from the ``nicknames`` package (a hand-curated data set of English given
names and their nicknames, Carlton Northern and Nick Crews): ``bill`` -> William, Robert,
Willis. Lists (authors, tags) are values split at ``,``, ``;`` or ``|``."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import cache

from lakefuse.text.dates import as_date
from lakefuse.text.numbers import as_number


@cache
def _nicknamer() -> object | None:
    try:
        from nicknames import NickNamer
    except ImportError:  # pragma: no cover - nicknames is a dependency
        return None
    return NickNamer()


@cache
def formal_names(given: str) -> frozenset[str]:
    """The (lower case) given names ``given`` is a nickname of (``"bill"`` -> william,
    robert, ...); empty for none or an unknown name."""
    nn = _nicknamer()
    if nn is None:  # pragma: no cover
        return frozenset()
    return frozenset(nn.canonicals_of(given))  # type: ignore[attr-defined]


def same_given_name(a: str, b: str) -> bool:
    """``a`` and ``b`` (lower case words) can be one person's given name: equal, one a
    nickname of the other (``bill`` / ``william``), or both nicknames of one name (``bill``
    / ``will``)."""
    if a == b:
        return True
    fa, fb = formal_names(a), formal_names(b)
    return b in fa or a in fb or not fa.isdisjoint(fb)


def initials_match(ra: Sequence[str], rb: Sequence[str]) -> bool:
    """ "N. Chubb" / "Chubb, Nick" / "Nick Chubb": same words up to order, one side may give a
    word as its initial."""
    rest = list(rb)
    for x in sorted(ra, key=len, reverse=True):
        hit = next((y for y in rest if y == x), None)
        if hit is None:
            hit = next(
                (
                    y
                    for y in rest
                    if (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
                ),
                None,
            )
        if hit is None:
            return False
        rest.remove(hit)
    return True


_LIST_SEP = re.compile(r"\s*[,;|]\s*")


def list_items(value: str) -> tuple[list[str], str] | None:
    """``value`` as a list of at least two items with letters (an author list, tags), and
    the separator it is written with; None for anything else (numbers, single values).
    HTML character references are read first, so that ``&#246;`` is no separator."""
    value = html.unescape(value)
    if as_number(value) is not None or as_date(value) is not None:
        return None
    m = _LIST_SEP.search(value)
    if m is None:
        return None
    items = [x.strip() for x in _LIST_SEP.split(value)]
    if len(items) < 2 or not all(any(c.isalpha() for c in x) for x in items):
        return None
    return items, m.group(0)


_NAME_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['.-])*")


def reads_as_name(words: Sequence[str]) -> bool:
    """Two to five words of letters (``michael j. franklin``), as a person's name is."""
    return 2 <= len(words) <= 5 and all(_NAME_WORD.fullmatch(w) for w in words)


def shorter_name(item: str, initial: bool) -> str:
    """``michael j. franklin`` -> ``michael franklin`` (middle initials dropped) or, with
    ``initial``, ``m. franklin``. Only items that read as a person's name (two to five words
    of letters) change: ``iPad Mini 4`` stays as it is."""
    words = item.split()
    if not reads_as_name(words):
        return item
    kept = [words[0], *(w for w in words[1:-1] if len(w.rstrip(".")) > 1), words[-1]]
    if initial:
        kept[0] = kept[0][0] + "."
    return " ".join(kept)


def person_keys(value: str) -> set[str] | None:
    """The people of a list of names as first initial and last word (``M. Franklin`` and
    ``Michael J. Franklin`` -> ``m franklin``); None unless every item reads as a name."""
    parsed = list_items(value)
    if parsed is None:
        return None
    keys = set()
    for item in parsed[0]:
        words = item.lower().split()
        if not reads_as_name(words):
            return None
        keys.add(f"{words[0][0]} {words[-1].strip('.')}")
    return keys


def same_list(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are lists of names (authors) naming mostly the same people (at
    least half of the shorter list), however ordered, abbreviated or escaped: one list
    written two ways. A list with an item that reads as no name (a number, a single word,
    "3x zoom") never is one; product features of two to five plain words can pass."""
    ka, kb = person_keys(a), person_keys(b)
    if ka is None or kb is None:
        return False
    return 2 * len(ka & kb) >= min(len(ka), len(kb))
