"""Value noise as in the paper: semantic equivalence (SE), typographical errors (TE) and
conflicts (another value for the same attribute of the same entity).

Every function takes an explicit :class:`random.Random`, so a task is deterministic for a seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache

# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class NoiseSetting:
    """Per-cell rates; a cell gets at most one kind of noise."""

    name: str
    se: float
    te: float
    conflict: float

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)


#: the paper's three settings; the rates are parameters (``--se/--te/--conflict`` scale them)
SETTINGS: dict[str, NoiseSetting] = {
    "balanced": NoiseSetting("balanced", se=0.10, te=0.10, conflict=0.05),
    "te_heavy": NoiseSetting("te_heavy", se=0.04, te=0.20, conflict=0.05),
    "se_heavy": NoiseSetting("se_heavy", se=0.20, te=0.04, conflict=0.05),
    "none": NoiseSetting("none", se=0.0, te=0.0, conflict=0.0),
}

# --------------------------------------------------------------------------- typographical

_ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]


@cache
def _neighbours() -> dict[str, str]:
    pos = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    out: dict[str, str] = {}
    for c, (r, i) in pos.items():
        near = [
            d
            for d, (r2, i2) in pos.items()
            if d != c and abs(r2 - r) <= 1 and abs(i2 - i) <= 1 and (r2, i2) != (r, i)
        ]
        out[c] = "".join(near)
    return out


def keyboard_neighbour(ch: str, rng: random.Random) -> str:
    near = _neighbours().get(ch.lower())
    if not near:
        return ch
    new = rng.choice(near)
    return new.upper() if ch.isupper() else new


TE_KINDS = ("substitute", "insert", "delete", "transpose")


def typo(value: str, rng: random.Random, kind: str | None = None) -> str | None:
    """One keyboard-neighbour substitution, insertion, deletion or adjacent transposition.
    Returns None when the value cannot take one (no letter or digit)."""
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    if not positions:
        return None
    kinds = list(TE_KINDS) if kind is None else [kind]
    rng.shuffle(kinds)
    for k in kinds:
        i = rng.choice(positions)
        if k == "substitute":
            new = value[:i] + keyboard_neighbour(value[i], rng) + value[i + 1 :]
        elif k == "insert":
            new = value[:i] + keyboard_neighbour(value[i], rng) + value[i:]
        elif k == "delete":
            if len(value) < 3:
                continue
            new = value[:i] + value[i + 1 :]
        else:
            pairs = [j for j in range(len(value) - 1) if value[j] != value[j + 1]]
            if not pairs:
                continue
            j = rng.choice(pairs)
            new = value[:j] + value[j + 1] + value[j] + value[j + 2 :]
        if new != value and new.strip():
            return new
    return None


# --------------------------------------------------------------------------- semantic

ABBREVIATIONS: dict[str, list[str]] = {
    "street": ["st.", "st"],
    "avenue": ["ave.", "av."],
    "road": ["rd."],
    "boulevard": ["blvd.", "blv."],
    "drive": ["dr."],
    "place": ["pl."],
    "crescent": ["cres.", "cr."],
    "court": ["ct."],
    "circuit": ["cct."],
    "parade": ["pde."],
    "terrace": ["tce."],
    "highway": ["hwy."],
    "square": ["sq."],
    "lane": ["ln."],
    "close": ["cl."],
    "mount": ["mt."],
    "saint": ["st."],
    "fort": ["ft."],
    "north": ["n."],
    "south": ["s."],
    "east": ["e."],
    "west": ["w."],
    "international": ["intl.", "int'l"],
    "university": ["univ."],
    "department": ["dept."],
    "corporation": ["corp."],
    "company": ["co."],
    "incorporated": ["inc."],
    "limited": ["ltd."],
    "conference": ["conf."],
    "proceedings": ["proc."],
    "journal": ["j."],
    "transactions": ["trans."],
    "international conference": ["icc"],
    "management": ["mgmt."],
    "systems": ["sys."],
    "database": ["db"],
    "databases": ["dbs"],
    "information": ["inf."],
    "computer": ["comp."],
    "science": ["sci."],
    "stadium": ["stad."],
    "center": ["ctr."],
    "centre": ["ctr."],
    "field": ["fld."],
    "and": ["&"],
    "edition": ["ed."],
    "version": ["v."],
    "professional": ["pro"],
    "software": ["sw"],
    "restaurant": ["rest."],
    "american": ["amer."],
    "californian": ["calif."],
    "los angeles": ["l.a.", "la"],
    "new york": ["ny", "n.y."],
    "san francisco": ["sf", "s.f."],
    "united states": ["u.s.", "usa", "us"],
    "record": ["rec."],
    "very large data bases": ["vldb"],
}

#: abbreviations too ambiguous to expand ("la cienega" is no "los angeles cienega")
AMBIGUOUS = {"la", "us", "co.", "pro", "db", "sw", "st", "inf.", "rest.", "ed.", "j."}

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@cache
def _place_names() -> dict[str, list[str]]:
    """Country and subdivision names <-> codes, from pycountry (lower case keys)."""
    out: dict[str, list[str]] = {}
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a core dependency
        return out

    def add(a: str, b: str) -> None:
        a, b = a.lower(), b.lower()
        if a != b:
            out.setdefault(a, []).append(b)

    for c in pycountry.countries:
        for alt in (c.alpha_2, c.alpha_3, getattr(c, "official_name", None)):
            if alt:
                add(c.name, alt)
                add(alt, c.name)
    for cc in ("US", "AU", "CA", "GB"):
        for s in pycountry.subdivisions.get(country_code=cc) or []:
            code = s.code.split("-", 1)[1]
            add(s.name, code)
            add(code, s.name)
    return out


def _case_like(template: str, new: str) -> str:
    if template.isupper():
        return new.upper()
    if template[:1].isupper():
        return " ".join(w[:1].upper() + w[1:] for w in new.split(" "))
    return new


_NUM = re.compile(r"^[$€£]?\d{1,3}(,\d{3})+(\.\d+)?$|^[$€£]?\d+(\.\d+)?$")
_YMD = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-]+ [A-Za-z][A-Za-z'\-]+$")


def _number_variants(v: str) -> list[str]:
    """Quantities only: 4-digit integers (years, postcodes) are left alone."""
    if not _NUM.match(v):
        return []
    cur = v[0] if v[0] in "$€£" else ""
    body = v[len(cur) :].replace(",", "")
    whole, _, frac = body.partition(".")
    if not frac and "," not in v and len(whole) <= 4:
        return []
    out: list[str] = []
    if "," in v:
        out.append(cur + body)
    elif len(whole) >= 5:
        out.append(cur + f"{int(whole):,}" + (f".{frac}" if frac else ""))
    if not frac and whole.endswith("000") and len(whole) >= 5:
        out.append(cur + f"{int(whole) // 1000}k")
    if frac and set(frac) == {"0"}:
        out.append(cur + whole)
    elif frac and len(frac) == 1:
        out.append(cur + body + "0")
    if not cur and frac:
        out.append("$" + body)
    return [o for o in out if o != v]


def _date_variants(v: str) -> list[str]:
    m = _YMD.match(v)
    d: date | None = None
    try:
        if m:
            d = date(int(m[1]), int(m[2]), int(m[3]))
        elif m2 := _DMY.match(v):
            d = date(int(m2[3]), int(m2[2]), int(m2[1]))
    except ValueError:
        return []
    if d is None:
        return []
    out = [
        d.isoformat(),
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
        f"{d.day} {MONTHS[d.month - 1]} {d.year}",
        d.strftime("%Y%m%d"),
    ]
    return [o for o in out if o != v]


NICKNAMES = {
    "william": "bill",
    "robert": "bob",
    "richard": "dick",
    "elizabeth": "liz",
    "katherine": "kate",
    "catherine": "cathy",
    "margaret": "maggie",
    "james": "jim",
    "michael": "mike",
    "thomas": "tom",
    "christopher": "chris",
    "nicholas": "nick",
    "benjamin": "ben",
    "samuel": "sam",
    "joshua": "josh",
    "matthew": "matt",
    "jessica": "jess",
    "rebecca": "becky",
    "alexander": "alex",
    "daniel": "dan",
    "jonathan": "jon",
    "joseph": "joe",
    "edward": "ed",
    "charlotte": "charlie",
    "jennifer": "jen",
    "victoria": "vicky",
    "isabella": "bella",
    "zachary": "zac",
    "timothy": "tim",
    "anthony": "tony",
    "andrew": "andy",
    "patrick": "pat",
    "kimberley": "kim",
    "stephanie": "steph",
    "lachlan": "lachie",
    "oliver": "ollie",
}


def _name_variants(v: str) -> list[str]:
    low = v.lower()
    if low in NICKNAMES:
        return [_case_like(v, NICKNAMES[low])]
    if not _NAME.match(v):
        return []
    first, last = v.split(" ")
    return [f"{last}, {first}", f"{first[0]}. {last}"]


def _abbreviation_variants(v: str) -> list[str]:
    low = v.lower()
    out: list[str] = []
    for long, shorts in ABBREVIATIONS.items():
        pat = r"\b" + re.escape(long) + r"\b"
        if re.search(pat, low):
            for s in shorts:
                out.append(_case_like(v, re.sub(pat, s, low, count=1)))
        for s in shorts:  # expand an abbreviation (word-bounded, dots included)
            if s in AMBIGUOUS or sum(ch.isalpha() for ch in s) < 2 and s != "&":
                continue
            spat = r"(?<![\w.])" + re.escape(s) + r"(?![\w])"
            if re.search(spat, low) and len(s) > 1:
                out.append(_case_like(v, re.sub(spat, long, low, count=1)))
    places = _place_names()
    if low in places:
        out.extend(_case_like(v, p) if len(p) > 3 else p.upper() for p in places[low])
    elif "," in v:  # "Tampa, Florida" -> "Tampa, FL"
        head, _, tail = v.rpartition(",")
        t = tail.strip().lower()
        if t in places:
            out.extend(
                f"{head}, {p.upper() if len(p) <= 3 else _case_like(tail, p)}" for p in places[t]
            )
    return [o for o in out if o.lower() != low]


def _list_reorder(v: str) -> list[str]:
    """Reorder a list ("a b , c d" or "a; b"); "City, State" is no list."""
    for sep in (" , ", "; "):
        parts = [p.strip() for p in v.split(sep.strip()) if p.strip()]
        if len(parts) >= 2 and sep in v and all(any(c.isalpha() for c in p) for p in parts):
            return [sep.join(parts[1:] + parts[:1])]
    return []


def _word_order(v: str) -> list[str]:
    words = v.split()
    if 2 <= len(words) <= 4 and all(w.isalpha() for w in words):
        return [" ".join(words[1:] + words[:1])]
    return []


SE_KINDS: dict[str, Callable[[str], list[str]]] = {
    "number": _number_variants,
    "date": _date_variants,
    "name": _name_variants,
    "abbreviation": _abbreviation_variants,
    "list_order": _list_reorder,
    "word_order": _word_order,
}


PERSON_HINTS = ("player", "author", "person", "given", "surname", "first", "last", "customer")


def equivalent(value: str, rng: random.Random, column: str = "") -> tuple[str, str] | None:
    """A semantically equivalent spelling of ``value`` and the kind of change, or None.

    Specific formats (dates, numbers, person names where ``column`` names a person,
    abbreviations, places, lists) are preferred; reordering words is the fallback, and a
    case change the last resort."""
    v = value.strip()
    specific: list[tuple[str, str]] = []
    kinds = ["date", "abbreviation", "list_order"]
    if any(h in column.lower() for h in PERSON_HINTS):
        kinds.append("name")
    for kind in kinds:
        specific.extend((o, kind) for o in SE_KINDS[kind](v))
    if not any(k == "date" for _, k in specific):
        specific.extend((o, "number") for o in _number_variants(v))
    if specific:
        return rng.choice(specific)
    order = _word_order(v)
    if order:
        return order[0], "word_order"
    if any(c.isalpha() for c in v):
        new = v.upper() if v != v.upper() else v.title()
        if new != v:
            return new, "case"
    return None


def conflicting(value: str, pool: Sequence[str], rng: random.Random) -> str | None:
    """Another real value of the same attribute (drawn from ``pool``), different from
    ``value`` even after case/space normalisation."""
    key = normalize(value)
    for _ in range(8):
        other = rng.choice(pool) if pool else None
        if other is not None and normalize(other) != key:
            return other
    return None


def normalize(value: object) -> str:
    """Case- and whitespace-insensitive comparison key used by scoring."""
    if value is None:
        return ""
    return " ".join(str(value).casefold().split())
