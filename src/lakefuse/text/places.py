"""Countries and their subdivisions, from ISO 3166 as :mod:`pycountry` ships it: every
country (name, official and common name, alpha-2 and alpha-3 code) and every subdivision of
every country (name, and its code after the country prefix when that is two or three
letters: ``US-FL`` -> ``FL``, ``DE-BY`` -> ``BY``, ``AU-VIC`` -> ``VIC``).

Codes are ambiguous across countries (``FL`` is Florida and Flevoland, ``CA`` Canada,
California and a dozen provinces), so a form names a *set* of places."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from lakefuse.text.normalize import fold, undot

#: everyday English names that ISO 3166 does not list (it has "United Kingdom", "Russian
#: Federation", "Netherlands", "Türkiye"): alpha-3 code -> names
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "GBR": ("UK", "Britain", "Great Britain"),
    "USA": ("America",),
    "RUS": ("Russia",),
    "NLD": ("Holland",),
    "ARE": ("UAE",),
    "CIV": ("Ivory Coast",),
    "TUR": ("Turkey",),
}


def _countries() -> Iterator[tuple[str, list[str]]]:
    """(display name, forms with the ISO name first) per country."""
    import pycountry

    for c in pycountry.countries:
        forms = [c.name, c.alpha_3, c.alpha_2]
        for attr in ("official_name", "common_name"):
            v = getattr(c, attr, None)
            if v:
                forms.append(v)
        forms.extend(COUNTRY_ALIASES.get(c.alpha_3, ()))
        yield getattr(c, "common_name", None) or c.name, forms


def _subdivisions() -> Iterator[tuple[str, list[str]]]:
    """(name, [name, code]) per subdivision; numeric codes (``FR-75C``, ``JP-13``) are no
    form anyone writes for a place."""
    import pycountry

    for s in pycountry.subdivisions:
        code = s.code.split("-", 1)[1]
        forms = [s.name]
        if code.isalpha() and 2 <= len(code) <= 3:
            forms.append(code)
        yield s.name, forms


@cache
def place_groups() -> tuple[tuple[str, ...], ...]:
    """Every place's forms, the ISO name first; countries before subdivisions."""
    out = [*(forms for _, forms in _countries()), *(forms for _, forms in _subdivisions())]
    return tuple(tuple(dict.fromkeys(f for f in forms if f)) for forms in out)


@cache
def place_index() -> dict[str, frozenset[str]]:
    """Folded form -> the (folded) names of every place it may denote."""
    out: dict[str, set[str]] = {}
    for name, forms in [*_countries(), *_subdivisions()]:
        for f in forms:
            if f:
                out.setdefault(fold(f), set()).add(fold(name))
    return {k: frozenset(v) for k, v in out.items()}


def place_names(value: str) -> frozenset[str]:
    """The places the whole value may name (``"FL"`` -> Florida and Flevoland); empty if
    none."""
    index = place_index()
    whole = fold(undot(value)).strip(" .")
    return index.get(whole, frozenset())


def unique_place(value: str) -> str | None:
    """The one place the whole value names, or None (no place, or several)."""
    names = place_names(value)
    return next(iter(names)) if len(names) == 1 else None
