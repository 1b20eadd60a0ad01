"""Whether two values say the same thing: one place by name or code, one number or date in
two formats, the same words in another order, or words abbreviated by rule
(:mod:`lakefuse.text.abbreviations`).

:func:`canonical` maps a value onto a key shared by its equivalents up to place, format and
word order; :func:`same_meaning` also accepts abbreviations, word by word."""

from __future__ import annotations

from functools import lru_cache

from lakefuse.text.abbreviations import same_words
from lakefuse.text.dates import as_date
from lakefuse.text.normalize import normalize, undot
from lakefuse.text.numbers import parse_number
from lakefuse.text.places import place_groups


@lru_cache(maxsize=1)
def equivalence_groups() -> dict[str, tuple[str, ...]]:
    """normalised form -> every known spelling of the same place (first = canonical). A
    form several places share (``"CA"``, ``"Georgia"``) maps to its first owner, countries
    before subdivisions; :func:`ambiguous_groups` lists them all."""
    out: dict[str, tuple[str, ...]] = {}
    for group in place_groups():
        for f in group:
            key = normalize(f)
            if key and key not in out:
                out[key] = group
    return out


@lru_cache(maxsize=1)
def ambiguous_groups() -> dict[str, list[tuple[str, ...]]]:
    """normalised form -> every group it belongs to ("CA": Canada, California, ...), for the
    forms that belong to more than one."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for group in place_groups():
        for f in group:
            key = normalize(f)
            if key and group not in out.setdefault(key, []):
                out[key].append(group)
    return {k: v for k, v in out.items() if len(v) > 1}


def _place_key(value: str) -> str:
    return normalize(undot(value))


@lru_cache(maxsize=500_000)
def canonical(value: str) -> str:
    """A key shared by known equivalents: places by their name, numbers by value, dates by
    ISO day, word order ignored."""
    n = _place_key(value)
    group = equivalence_groups().get(n)
    if group is not None:
        return "g:" + normalize(group[0])
    x = parse_number(value)
    if x is not None:
        return f"n:{x:.6g}"
    d = as_date(value)
    if d is not None:
        return "d:" + d.strftime("%Y-%m-%d")
    return "w:" + " ".join(sorted(normalize(value).split()))


@lru_cache(maxsize=500_000)
def canonical_forms(value: str) -> frozenset[str]:
    """Every canonical key ``value`` may have (ambiguous codes have several)."""
    groups = ambiguous_groups().get(_place_key(value))
    if groups is None:
        return frozenset([canonical(value)])
    return frozenset("g:" + normalize(g[0]) for g in groups)


@lru_cache(maxsize=1 << 18)  # value pairs recur across a judge's batches (about 3 calls in 5)
def same_meaning(a: str, b: str) -> bool:
    """``a`` and ``b`` are known equivalents (or equal up to format and order), or the same
    words with some abbreviated (``Main St.`` / ``Main Street``)."""
    if not canonical_forms(a).isdisjoint(canonical_forms(b)):
        return True
    return same_words(normalize(a).split(), normalize(b).split())
