"""Value keys and variant pooling shared by the resolvers.

Two candidate values are *variants* of one value when they differ only by case, accents,
punctuation or spacing, by a small typo, or by a common abbreviation (initialism, US state
or country code, street/month abbreviations).  Pooling is done within one conflict problem,
so an occasional false merge only affects that problem.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import cache

from rapidfuzz.distance import DamerauLevenshtein

from lakefuse.types import Candidate, ConflictProblem, ResolveContext

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TOKEN = re.compile(r"[0-9a-z]+")

_ABBREV = {
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "blvd": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "hwy": "highway",
    "pl": "place",
    "sq": "square",
    "mt": "mount",
    "ft": "fort",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "univ": "university",
    "intl": "international",
    "natl": "national",
    "dept": "department",
    "co": "company",
    "corp": "corporation",
    "inc": "incorporated",
    "ltd": "limited",
    "jr": "junior",
    "sr": "senior",
    "jan": "january",
    "feb": "february",
    "mar": "march",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
}


def fold(value: str) -> str:
    """Case-, accent- and whitespace-folded text."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def key(value: str) -> str:
    """Punctuation-free folded key: ``"Green Bay,  WI."`` -> ``"greenbaywi"``."""
    return _NON_ALNUM.sub("", fold(value))


@cache
def _places() -> dict[str, str]:
    """Code -> name for countries and US/Canadian states (lower case, folded)."""
    out: dict[str, str] = {}
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a dependency
        return out
    for c in pycountry.countries:
        name = fold(getattr(c, "common_name", None) or c.name)
        out[c.alpha_2.lower()] = name
        out[c.alpha_3.lower()] = name
        out[fold(c.name)] = name
        official = getattr(c, "official_name", None)
        if official:
            out[fold(official)] = name
    out.update({"usa": "united states", "us": "united states", "uk": "united kingdom"})
    for country in ("US", "CA"):
        for s in pycountry.subdivisions.get(country_code=country) or []:
            out[s.code.split("-", 1)[1].lower()] = fold(s.name)
    return out


def canonical_tokens(value: str) -> tuple[str, ...]:
    """Tokens with abbreviations and place codes expanded."""
    places = _places()
    whole = fold(value).strip(" .")
    if whole in places:
        return tuple(_TOKEN.findall(places[whole]))
    out: list[str] = []
    for tok in _TOKEN.findall(fold(value)):
        if tok in _ABBREV:
            out.append(_ABBREV[tok])
        elif len(tok) == 2 and tok in places and not tok.isdigit():
            out.extend(_TOKEN.findall(places[tok]))
        else:
            out.append(tok)
    return tuple(out)


def _initialism(short: str, long_tokens: Sequence[str]) -> bool:
    return len(long_tokens) >= 2 and short == "".join(t[0] for t in long_tokens)


def _typo(a: str, b: str) -> bool:
    """Small edit distance relative to length (digits must match exactly)."""
    if a.isdigit() or b.isdigit():
        return False
    n = max(len(a), len(b))
    if n < 4:
        return False
    budget = 1 if n < 8 else 2 if n < 16 else 3
    return DamerauLevenshtein.distance(a, b, score_cutoff=budget) <= budget


def variants(a: str, b: str) -> bool:
    """Whether two values are spelling/abbreviation variants of one value."""
    ka, kb = key(a), key(b)
    if not ka or not kb:
        return False
    if ka == kb or _typo(ka, kb):
        return True
    ta, tb = canonical_tokens(a), canonical_tokens(b)
    if ta == tb and ta:
        return True
    if "".join(ta) == "".join(tb):
        return True
    if len(ta) == 1 and _initialism(ta[0], tb) or len(tb) == 1 and _initialism(tb[0], ta):
        return True
    if len(ta) == len(tb) and len(ta) > 1:
        # token-wise: equal, prefix abbreviation ("Univ." / "University"), or a small typo
        return all(
            x == y
            or (len(x) >= 1 and len(y) > len(x) and y.startswith(x) and len(x) <= 4)
            or (len(y) >= 1 and len(x) > len(y) and x.startswith(y) and len(y) <= 4)
            or _typo(x, y)
            for x, y in zip(ta, tb)
        )
    return False


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
            if variants(candidates[i].value, candidates[j].value):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(candidates)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


_WORD = re.compile(r"\w+")


class ColumnCounts:
    """How often each exact value, and each (case-sensitive) word, occurs in each attribute of
    the union; computed lazily per attribute."""

    def __init__(self, context: ResolveContext | None) -> None:
        self._values = context.union.values() if context is not None else {}
        self._counts: dict[str, Counter[str]] = {}
        self._words: dict[str, Counter[str]] = {}

    def __call__(self, attribute: str) -> Counter[str]:
        if attribute not in self._counts:
            col = self._values.get(attribute, [])
            self._counts[attribute] = Counter(v for v in col if v is not None)
        return self._counts[attribute]

    def words(self, attribute: str) -> Counter[str]:
        if attribute not in self._words:
            words: Counter[str] = Counter()
            for v, n in self(attribute).items():
                for w in _WORD.findall(v):
                    words[w] += n
            self._words[attribute] = words
        return self._words[attribute]

    def spelling(self, attribute: str, value: str) -> float:
        """Mean log frequency of the value's words in the column: a misspelt or unusually
        abbreviated word is rare."""
        words = self.words(attribute)
        toks = _WORD.findall(value)
        if not toks:
            return 0.0
        return sum(math.log1p(words[w]) for w in toks) / len(toks)

    def usual(self, problem: ConflictProblem, indexes: Sequence[int]) -> int:
        """The index (among ``indexes``) of the table's usual spelling: most frequent in the
        column outside this problem, then most usual words, then most supported in the
        problem, then earliest tuple."""
        counts = self(problem.attribute)
        cands = problem.candidates
        return max(
            indexes,
            key=lambda i: (
                counts[cands[i].value] - len(cands[i].tids),
                round(self.spelling(problem.attribute, cands[i].value), 6),
                len(cands[i].tids),
                -min(cands[i].tids),
            ),
        )
