"""Semantic equivalents (SE): other ways of writing the same value, from offline data.

* countries (pycountry): name, official name, common name, alpha-2/alpha-3 codes, and a few
  everyday aliases; US states (pycountry subdivisions): name and postal code;
* word abbreviations for addresses, companies, titles and institutions;
* acronyms (``United Nations`` -> ``UN`` / ``U.N.``), token reordering (``Smith, John``),
  name initials, case; lists (``a , b , c``: authors, tags) reordered, with one item left
  out, or with their names written shorter (``michael j. franklin`` -> ``michael franklin``
  / ``m. franklin``); number formats (``1200`` -> ``1,200`` / ``1200.0`` / ``1.2k``) and date
  formats.

:func:`canonical` maps a value onto a key shared by its known equivalents (used by the judge
as evidence); :func:`semantic_variant` draws one equivalent (used to make positives)."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import numpy as np

from lakefuse.judge.features import as_date, as_number, normalize

WORD_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    # addresses
    "street": ("st",),
    "avenue": ("ave", "av"),
    "road": ("rd",),
    "boulevard": ("blvd",),
    "drive": ("dr",),
    "lane": ("ln",),
    "court": ("ct",),
    "place": ("pl",),
    "square": ("sq",),
    "highway": ("hwy",),
    "parkway": ("pkwy",),
    "suite": ("ste",),
    "north": ("n",),
    "south": ("s",),
    "east": ("e",),
    "west": ("w",),
    "northeast": ("ne",),
    "northwest": ("nw",),
    "southeast": ("se",),
    "southwest": ("sw",),
    "mount": ("mt",),
    "fort": ("ft",),
    "saint": ("st",),
    "building": ("bldg",),
    "apartment": ("apt",),
    "floor": ("fl",),
    "center": ("ctr", "centre"),
    # companies and institutions
    "incorporated": ("inc",),
    "corporation": ("corp",),
    "company": ("co",),
    "limited": ("ltd",),
    "international": ("intl",),
    "association": ("assoc", "assn"),
    "university": ("univ", "u"),
    "department": ("dept",),
    "institute": ("inst",),
    "national": ("natl",),
    "government": ("govt",),
    "manufacturing": ("mfg",),
    "brothers": ("bros",),
    "technology": ("tech",),
    "technologies": ("tech",),
    "laboratory": ("lab",),
    "laboratories": ("labs",),
    "and": ("&",),
    "stadium": ("stad",),
    "football": ("fb",),
    "club": ("cl",),
    "united": ("utd",),
    "proceedings": ("proc",),
    "conference": ("conf",),
    "journal": ("j",),
    "international conference": ("icc",),
    "transactions": ("trans",),
    # titles
    "doctor": ("dr",),
    "mister": ("mr",),
    "professor": ("prof",),
    "junior": ("jr",),
    "senior": ("sr",),
    "captain": ("capt",),
    "general": ("gen",),
    "sergeant": ("sgt",),
    # numbers as words
    "one": ("1",),
    "two": ("2",),
    "three": ("3",),
    "four": ("4",),
    "five": ("5",),
    "first": ("1st",),
    "second": ("2nd",),
    "third": ("3rd",),
    "fourth": ("4th",),
}
_EXTRA_COUNTRY_ALIASES = {
    "USA": ("U.S.", "U.S.A.", "US", "America", "United States of America", "the States"),
    "GBR": ("UK", "U.K.", "Britain", "Great Britain"),
    "RUS": ("Russia",),
    "KOR": ("South Korea", "Korea"),
    "PRK": ("North Korea",),
    "IRN": ("Iran",),
    "VNM": ("Vietnam",),
    "SYR": ("Syria",),
    "BOL": ("Bolivia",),
    "VEN": ("Venezuela",),
    "TZA": ("Tanzania",),
    "CZE": ("Czech Republic",),
    "NLD": ("Holland", "The Netherlands"),
    "ARE": ("UAE", "U.A.E."),
    "TWN": ("Taiwan",),
    "LAO": ("Laos",),
    "MDA": ("Moldova",),
    "CIV": ("Ivory Coast",),
}


@lru_cache(maxsize=1)
def equivalence_groups() -> dict[str, tuple[str, ...]]:
    """normalised form -> every known spelling of the same thing (first = canonical)."""
    groups: list[list[str]] = []
    try:
        import pycountry

        for c in pycountry.countries:
            forms = [c.name, c.alpha_3, c.alpha_2]
            for attr in ("official_name", "common_name"):
                v = getattr(c, attr, None)
                if v:
                    forms.append(v)
            forms.extend(_EXTRA_COUNTRY_ALIASES.get(c.alpha_3, ()))
            groups.append(forms)
        for s in pycountry.subdivisions.get(country_code="US") or []:
            groups.append([s.name, s.code.split("-")[1]])
    except ImportError:  # pragma: no cover
        pass
    out: dict[str, tuple[str, ...]] = {}
    for forms in groups:
        uniq = tuple(dict.fromkeys(forms))
        for f in uniq:
            key = normalize(f)
            # two-letter codes collide with words ("IN", "OR", "ME"): keep the first owner
            if key and key not in out:
                out[key] = uniq
    return out


@lru_cache(maxsize=1)
def ambiguous_groups() -> dict[str, list[tuple[str, ...]]]:
    """normalised form -> every group it belongs to ("CA": Canada and California)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    seen = set()
    for group in equivalence_groups().values():
        if group in seen:
            continue
        seen.add(group)
        for f in group:
            key = normalize(f)
            if key and group not in out.setdefault(key, []):
                out[key].append(group)
    return {k: v for k, v in out.items() if len(v) > 1}


@lru_cache(maxsize=1)
def _abbreviation_maps() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    to_long: dict[str, str] = {}
    for long, shorts in WORD_ABBREVIATIONS.items():
        if " " in long:
            continue
        for s in shorts:
            to_long.setdefault(s, long)
    return to_long, WORD_ABBREVIATIONS


def acronym(value: str) -> str:
    words = [w for w in normalize(value).split() if w not in {"of", "the", "and", "for", "de"}]
    return "".join(w[0] for w in words).upper()


_SPACED = re.compile(r"^\d{1,3}( \d{3})+(\.\d+)?$")
_SUFFIXED = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmM])$")


def parse_number(value: str) -> float | None:
    """Numbers in the formats :func:`semantic_variant` writes: ``1,200``, ``1 200``,
    ``1200.0``, ``1.2k``, ``3M``."""
    x = as_number(value)
    if x is not None:
        return x
    v = value.strip()
    if _SPACED.match(v):
        return float(v.replace(" ", ""))
    m = _SUFFIXED.match(v)
    if m:
        return float(m.group(1)) * (1e3 if m.group(2) in "kK" else 1e6)
    return None


@lru_cache(maxsize=500_000)
def canonical(value: str) -> str:
    """A key shared by known semantic equivalents: countries and states by code, numbers by
    value, dates by ISO day, abbreviations expanded, word order ignored."""
    n = normalize(value)
    group = equivalence_groups().get(n)
    if group is not None:
        return "g:" + normalize(group[0])
    x = parse_number(value)
    if x is not None:
        return f"n:{x:.6g}"
    d = as_date(value)
    if d is not None:
        return "d:" + d.strftime("%Y-%m-%d")
    to_long, _ = _abbreviation_maps()
    words = [to_long.get(w, w) for w in n.split()]
    return "w:" + " ".join(sorted(words))


@lru_cache(maxsize=500_000)
def canonical_forms(value: str) -> frozenset[str]:
    """Every canonical key ``value`` may have (ambiguous codes have several)."""
    groups = ambiguous_groups().get(normalize(value))
    if groups is None:
        return frozenset([canonical(value)])
    return frozenset("g:" + normalize(g[0]) for g in groups)


def same_meaning(a: str, b: str) -> bool:
    """``a`` and ``b`` are known equivalents (or equal up to format and order)."""
    return not canonical_forms(a).isdisjoint(canonical_forms(b))


def _number_variant(x: float, rng: np.random.Generator) -> str:
    forms = [f"{x:,.0f}" if x == int(x) else f"{x:,.2f}", f"{x:.1f}", f"{x:g}"]
    if abs(x) >= 1000 and x == int(x):
        forms.append(f"{x / 1000:g}k")
        forms.append(f"{int(x):_}".replace("_", " "))
    return forms[int(rng.integers(len(forms)))]


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


def _reads_as_name(words: list[str]) -> bool:
    """Two to five words of letters (``michael j. franklin``), as a person's name is."""
    return 2 <= len(words) <= 5 and all(_NAME_WORD.fullmatch(w) for w in words)


def _shorter_name(item: str, initial: bool) -> str:
    """``michael j. franklin`` -> ``michael franklin`` (middle initials dropped) or, with
    ``initial``, ``m. franklin``. Only items that read as a person's name (two to five words
    of letters) change: ``iPad Mini 4`` stays as it is."""
    words = item.split()
    if not _reads_as_name(words):
        return item
    kept = [words[0], *(w for w in words[1:-1] if len(w.rstrip(".")) > 1), words[-1]]
    if initial:
        kept[0] = kept[0][0] + "."
    return " ".join(kept)


def list_variants(value: str) -> list[str]:
    """Equivalent ways a source may write a list: reordered, one item left out (three or
    more items), names shortened."""
    parsed = list_items(value)
    if parsed is None:
        return []
    items, sep = parsed
    out = [sep.join(reversed(items))]
    if len(items) >= 3:
        out.append(sep.join(items[1:] + items[:1]))
        out.append(sep.join(items[:-1]))
    for initial in (False, True):
        out.append(sep.join(_shorter_name(x, initial) for x in items))
    return [v for v in out if v != value]


def _person_keys(value: str) -> set[str] | None:
    """The people of a list of names as first initial and last word (``M. Franklin`` and
    ``Michael J. Franklin`` -> ``m franklin``); None unless every item reads as a name."""
    parsed = list_items(value)
    if parsed is None:
        return None
    keys = set()
    for item in parsed[0]:
        words = item.lower().split()
        if not _reads_as_name(words):
            return None
        keys.add(f"{words[0][0]} {words[-1].strip('.')}")
    return keys


def same_list(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are lists of names (authors) naming mostly the same people (at
    least half of the shorter list), however ordered, abbreviated or escaped: one list
    written two ways. A list with an item that reads as no name (a number, a single word,
    "3x zoom") never is one; product features of two to five plain words can pass."""
    ka, kb = _person_keys(a), _person_keys(b)
    if ka is None or kb is None:
        return False
    return 2 * len(ka & kb) >= min(len(ka), len(kb))


_DATE_OUT = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d.%m.%Y")


def semantic_variants(value: str) -> list[str]:
    """Deterministic list of equivalents of ``value`` (may be empty), without ``value``."""
    out: list[str] = []
    n = normalize(value)
    group = equivalence_groups().get(n)
    if group is not None:
        out.extend(g for g in group if normalize(g) != n)
    d = as_date(value)
    if d is not None and as_number(value) is None:
        out.extend(d.strftime(f) for f in _DATE_OUT)
    words = value.split()
    to_long, to_short = _abbreviation_maps()
    low = [re.sub(r"[^\w&]", "", w.lower()) for w in words]
    for i, w in enumerate(low):
        if w in to_short:
            short = to_short[w][0]
            out.append(" ".join([*words[:i], short.capitalize() + ".", *words[i + 1 :]]))
        elif w in to_long:
            out.append(" ".join([*words[:i], to_long[w].capitalize(), *words[i + 1 :]]))
    if len(words) >= 2 and all(w[:1].isalpha() for w in words):
        acr = acronym(value)
        if len(acr) >= 2:
            out.extend([acr, ".".join(acr) + "."])
        out.append(f"{words[-1]}, {' '.join(words[:-1])}")  # token reordering
        out.append(" ".join([f"{words[0][0]}.", *words[1:]]))  # initial
    out.extend(list_variants(value))
    if value != value.lower():
        out.append(value.lower())
    return [v for v in dict.fromkeys(out) if v and v != value]


def semantic_variant(value: str, rng: np.random.Generator) -> str | None:
    """One equivalent of ``value`` (or None when none is known)."""
    x = as_number(value)
    if x is not None:
        v = _number_variant(x, rng)
        return v if v != value else None
    options = semantic_variants(value)
    if not options:
        return None
    return options[int(rng.integers(len(options)))]
