"""Calendar dates as cells write them.

:func:`as_date` reads one date (the first of :data:`DATE_FORMATS` that fits: day before
month in ``01/02/2000``); :func:`date_keys` gives every date a value may spell (both
readings of ``01/02/2000``), for deciding whether two spellings can be one date;
:func:`date_formats` writes a date the ways sources do. Month names are the C locale's
(:mod:`calendar`), as :func:`datetime.strptime` reads them."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from functools import lru_cache

from lakefuse.text.normalize import fold

#: formats :func:`as_date` reads, in order of preference
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%Y%m%d",
)
#: formats :func:`date_formats` writes
OUTPUT_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d %B %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d.%m.%Y",
)

#: month number by the first three letters of its (folded) name
MONTHS = {calendar.month_abbr[m].casefold()[:3]: m for m in range(1, 13)}

_YMD = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")
_XYY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_TEXT_DATE = re.compile(
    r"^(?:(\d{1,2}) ([a-z]{3})[a-z]*\.?|([a-z]{3})[a-z]*\.? (\d{1,2}),?) (\d{4})$"
)


@lru_cache(maxsize=200_000)
def as_date(value: str) -> datetime | None:
    """The date ``value`` spells in one of :data:`DATE_FORMATS`, else None."""
    v = value.strip()
    if len(v) < 6 or len(v) > 30 or not any(c.isdigit() for c in v):
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt)
        except ValueError:
            continue
    return None


def date_keys(value: str) -> frozenset[tuple[int, int, int]]:
    """The (year, month, day) dates a value may spell (day/month order is ambiguous in
    01/02/2000); empty when it spells none."""
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
        if mon[:3] in MONTHS:
            out.add((int(m[5]), MONTHS[mon[:3]], int(day)))
    return frozenset(d for d in out if 1 <= d[1] <= 12 and 1 <= d[2] <= 31)


def date_formats(d: date) -> list[str]:
    """``d`` written in each of :data:`OUTPUT_FORMATS`."""
    return [d.strftime(f) for f in OUTPUT_FORMATS]
