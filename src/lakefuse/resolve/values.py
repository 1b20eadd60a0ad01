"""Value keys and variant pooling shared by the resolvers.

Two candidate values are *variants* of one value when they differ only by case, accents,
punctuation or spacing, by a small typo, or by a common abbreviation (initialism, US state
or country code, street/month abbreviations).  Pooling is done within one conflict problem,
so an occasional false merge only affects that problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

from rapidfuzz.distance import DamerauLevenshtein

from lakefuse.types import Candidate

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TOKEN = re.compile(r"[0-9a-z]+")
#: an apostrophe inside a word ("int'l", "gov't"): the word is one token
_APOSTROPHE = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")
_VOWELS = frozenset("aeiouy")

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


NICKNAMES = {
    "bill": "william",
    "will": "william",
    "bob": "robert",
    "rob": "robert",
    "dick": "richard",
    "rick": "richard",
    "liz": "elizabeth",
    "beth": "elizabeth",
    "kate": "katherine",
    "cathy": "catherine",
    "maggie": "margaret",
    "peggy": "margaret",
    "jim": "james",
    "jimmy": "james",
    "mike": "michael",
    "tom": "thomas",
    "chris": "christopher",
    "nick": "nicholas",
    "ben": "benjamin",
    "sam": "samuel",
    "josh": "joshua",
    "matt": "matthew",
    "jess": "jessica",
    "becky": "rebecca",
    "alex": "alexander",
    "dan": "daniel",
    "danny": "daniel",
    "jon": "jonathan",
    "joe": "joseph",
    "ed": "edward",
    "ted": "edward",
    "charlie": "charles",
    "jen": "jennifer",
    "vicky": "victoria",
    "bella": "isabella",
    "zac": "zachary",
    "zach": "zachary",
    "tim": "timothy",
    "tony": "anthony",
    "andy": "andrew",
    "pat": "patrick",
    "kim": "kimberley",
    "steph": "stephanie",
    "lachie": "lachlan",
    "ollie": "oliver",
    "dave": "david",
    "steve": "stephen",
    "greg": "gregory",
    "fred": "frederick",
    "harry": "henry",
    "jack": "john",
    "johnny": "john",
    "sue": "susan",
    "meg": "margaret",
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_YMD = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")
_XYY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_TEXT_DATE = re.compile(
    r"^(?:(\d{1,2}) ([a-z]{3})[a-z]*\.?|([a-z]{3})[a-z]*\.? (\d{1,2}),?) (\d{4})$"
)


def date_keys(value: str) -> frozenset[tuple[int, int, int]]:
    """The calendar dates a value may spell (day/month order is ambiguous in 01/02/2000)."""
    v = fold(value).strip()
    out: set[tuple[int, int, int]] = set()
    if m := _YMD.match(v):
        if len(v) in (8, 10) or not v.isdigit():
            out.add((int(m[1]), int(m[2]), int(m[3])))
    elif m := _XYY.match(v):
        out.add((int(m[3]), int(m[2]), int(m[1])))
        out.add((int(m[3]), int(m[1]), int(m[2])))
    elif m := _TEXT_DATE.match(v):
        day, mon = (m[1], m[2]) if m[1] else (m[4], m[3])
        if mon[:3] in _MONTHS:
            out.add((int(m[5]), _MONTHS[mon[:3]], int(day)))
    return frozenset(d for d in out if 1 <= d[1] <= 12 and 1 <= d[2] <= 31)


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


@cache
def _aliases() -> dict[str, frozenset[str]]:
    """Folded place name or code -> every place name it may denote."""
    out: dict[str, set[str]] = {}
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a dependency
        return {}

    def add(names: Sequence[str], target: str) -> None:
        for n in names:
            if n:
                out.setdefault(fold(n), set()).add(fold(target))

    for c in pycountry.countries:
        name = getattr(c, "common_name", None) or c.name
        add([c.alpha_2, c.alpha_3, c.name, name, getattr(c, "official_name", "")], name)
    for country in ("US", "CA", "AU", "GB"):
        for sub in pycountry.subdivisions.get(country_code=country) or []:
            add([sub.code.split("-", 1)[1], sub.name], sub.name)
    return {k: frozenset(v) for k, v in out.items()}


def place_names(value: str) -> frozenset[str]:
    """Places the value (or its part after the last comma) may name; empty if none."""
    aliases = _aliases()
    whole = fold(value).strip(" .")
    if whole in aliases:
        return aliases[whole]
    return frozenset()


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
    """Tokens with abbreviations and place codes expanded."""
    places = _places()
    whole = fold(value).strip(" .")
    if whole in places:
        return tuple(_TOKEN.findall(places[whole]))
    out: list[str] = []
    for tok in _TOKEN.findall(_APOSTROPHE.sub("", fold(value))):
        if tok in _ABBREV:
            out.append(_ABBREV[tok])
        elif len(tok) == 2 and tok in places and not tok.isdigit():
            out.extend(_TOKEN.findall(places[tok]))
        else:
            out.append(tok)
    return tuple(out)


def _initialism(short: str, long_tokens: Sequence[str]) -> bool:
    return len(long_tokens) >= 2 and short == "".join(t[0] for t in long_tokens)


def _initials_match(ra: Sequence[str], rb: Sequence[str]) -> bool:
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


def _typo(a: str, b: str) -> bool:
    """Small edit distance relative to length (digits must match exactly)."""
    if a.isdigit() or b.isdigit():
        return False
    n = max(len(a), len(b))
    if n < 4:
        return False
    budget = 1 if n < 8 else 2 if n < 16 else 3
    return DamerauLevenshtein.distance(a, b, score_cutoff=budget) <= budget


def known_words(value: str) -> int:
    """Words of two letters or more in the value that are whole entries of the encoder's
    WordPiece vocabulary (30,522 entries learnt from English text): a known word or name is
    one entry, a typo or a contraction breaks into pieces ("steelers" / "see" + "##lers")."""
    return _known(" ".join(value.casefold().split()))


@lru_cache(maxsize=65_536)
def _known(text: str) -> int:
    from lakefuse.encode.minilm import tokenizer

    toks = tokenizer().encode(text, add_special_tokens=False).tokens
    nxt = [*toks[1:], ""]
    return sum(
        1
        for t, n in zip(toks, nxt)
        if len(t) > 1 and t.isalpha() and not t.startswith("##") and not n.startswith("##")
    )


def _contraction(short: str, long: str) -> bool:
    """``short`` is ``long`` with letters left out ("mgmt" / "management", "vlge" /
    "village", "dbs" / "databases", "int'l" / "international"): same first letter, the rest
    in order, ``long`` is a word of the encoder's vocabulary, and ``short`` is none ("bay" /
    "bradley" are two words) or has no vowel ("db" / "database": the vocabulary has "db",
    but no English word is written without a vowel)."""
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
    ra, rb = _TOKEN.findall(fold(a)), _TOKEN.findall(fold(b))
    na = sorted(NICKNAMES.get(t, t) for t in ra)
    nb = sorted(NICKNAMES.get(t, t) for t in rb)
    if len(ra) == len(rb) > 1 and (na == nb or _initials_match(ra, rb)):
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
            or _contraction(x, y)
            or _contraction(y, x)
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
