"""Numbers as cells write them: ``1,200``, ``$3.50``, ``12%``, ``1 200``, ``1.2k``, ``3M``."""

from __future__ import annotations

import math
import re
from functools import lru_cache

_NUM = re.compile(r"^[+-]?[$€£]?\s*\d[\d,]*(\.\d+)?\s*%?$")
_SPACED = re.compile(r"^\d{1,3}( \d{3})+(\.\d+)?$")
_SUFFIXED = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmM])$")
#: metric multiplier suffixes (SI prefixes kilo and mega, as prices and counts use them)
_MULTIPLIER = {"k": 1e3, "m": 1e6}


@lru_cache(maxsize=1_000_000)
def as_number(value: str) -> float | None:
    """A plain number: sign, currency symbol, thousands commas, decimals, a percent sign."""
    v = value.strip()
    if not _NUM.match(v):
        return None
    v = v.replace(",", "").replace("$", "").replace("€", "").replace("£", "").rstrip("%")
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def parse_number(value: str) -> float | None:
    """:func:`as_number`, and also thin-space thousands (``1 200``) and a metric multiplier
    (``1.2k``, ``3M``)."""
    x = as_number(value)
    if x is not None:
        return x
    v = value.strip()
    if _SPACED.match(v):
        return float(v.replace(" ", ""))
    m = _SUFFIXED.match(v)
    if m:
        return float(m.group(1)) * _MULTIPLIER[m.group(2).lower()]
    return None


def number_formats(x: float) -> list[str]:
    """Ways to write ``x``: thousands commas, one decimal, shortest, and for whole numbers
    of 1000 or more a ``k`` multiplier and space-separated thousands."""
    forms = [f"{x:,.0f}" if x == int(x) else f"{x:,.2f}", f"{x:.1f}", f"{x:g}"]
    if abs(x) >= 1000 and x == int(x):
        forms.append(f"{x / 1000:g}k")
        forms.append(f"{int(x):_}".replace("_", " "))
    return forms
