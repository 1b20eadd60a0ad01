"""Per-attribute evidence for a pair of tuples: similarity in [0, 1] or NaN (no evidence:
null on a side). Shared by every judge; learned judges add embedding similarity on top."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz

from lakefuse.types import UnionTable

_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
_NUM = re.compile(r"^[+-]?[$€£]?\s*\d[\d,]*(\.\d+)?\s*%?$")
_DATE_FORMATS = (
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


@lru_cache(maxsize=1_000_000)
def normalize(value: str) -> str:
    """Case-, accent-, punctuation- and space-insensitive form; HTML character references
    (``b&#246;hlen``, ``&amp;``) read as the characters they stand for."""
    v = html.unescape(value) if "&" in value else value
    v = unicodedata.normalize("NFKD", v)
    v = "".join(c for c in v if not unicodedata.combining(c)).lower()
    v = _PUNCT.sub(" ", v)
    return _SPACES.sub(" ", v).strip()


@lru_cache(maxsize=1_000_000)
def as_number(value: str) -> float | None:
    v = value.strip()
    if not _NUM.match(v):
        return None
    v = v.replace(",", "").replace("$", "").replace("€", "").replace("£", "").rstrip("%")
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


@lru_cache(maxsize=200_000)
def as_date(value: str) -> datetime | None:
    v = value.strip()
    if len(v) < 6 or len(v) > 30 or not any(c.isdigit() for c in v):
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt)
        except ValueError:
            continue
    return None


def value_similarity(a: str, b: str) -> float:
    """Similarity of two non-null cell values in [0, 1]."""
    if a == b:
        return 1.0
    na, nb = normalize(a), normalize(b)
    if na == nb:
        return 1.0
    xa, xb = as_number(a), as_number(b)
    if xa is not None and xb is not None:
        diff = abs(xa - xb)
        if xa.is_integer() and xb.is_integer() and max(abs(xa), abs(xb)) < 10_000:
            # years, counts, codes: off by one is close, anything else disagrees
            return 0.5 if diff <= 1 else 0.0
        denom = max(abs(xa), abs(xb), 1e-9)
        return max(0.0, 1.0 - 10.0 * diff / denom)
    da, db = as_date(a), as_date(b)
    if da is not None and db is not None:
        return 1.0 if da == db else max(0.0, 1.0 - abs((da - db).days) / 365.0) * 0.5
    if not na or not nb:
        return 0.0
    return max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(na, nb)) / 100.0


@dataclass
class AttributeStats:
    """Per-attribute statistics from the union (no labels)."""

    attributes: list[str]
    distinctiveness: np.ndarray  # distinct non-null values / non-null cells, in (0, 1]
    coverage: np.ndarray  # non-null share

    @classmethod
    def of(cls, union: UnionTable) -> AttributeStats:
        values = union.values()
        dist, cov = [], []
        for a in union.attributes:
            col = [normalize(v) for v in values[a] if v is not None]
            cov.append(len(col) / max(1, union.n_tuples))
            dist.append(len(set(col)) / len(col) if col else 0.0)
        return cls(list(union.attributes), np.array(dist), np.array(cov))


def pair_evidence(union: UnionTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Matrix (pairs x attributes) of value similarities; NaN where a side is null.

    The value look-up is the engine's join (``Engine.pair_values``); the similarity is a
    per-row function, as a UDF would be on a distributed engine."""
    out = np.full((len(left), len(union.attributes)), np.nan, dtype=np.float64)
    attrs = union.evidence_attributes
    if len(left) == 0 or not attrs:
        return out
    pairs = union.engine.pair_values(
        union.name,
        pa.table({"l": pa.array(left, type=pa.int64()), "r": pa.array(right, type=pa.int64())}),
        attrs,
    )
    for a in attrs:
        j = union.attributes.index(a)
        lv = pairs.column(a + "__l").to_pylist()
        rv = pairs.column(a + "__r").to_pylist()
        for i, (va, vb) in enumerate(zip(lv, rv)):
            if va is not None and vb is not None:
                out[i, j] = value_similarity(va, vb)
    return out
