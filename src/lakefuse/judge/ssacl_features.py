"""Per-attribute pair evidence for the SSACL judge.

A *view* is one tuple as the judge sees it: its values (None = null), and for each
attribute the attribute's distinctiveness inside the view's source table and the value's
uniqueness there (1 / occurrences). Real tuples take both from their table; augmented views
inherit their anchor's.

For a pair of views and an attribute non-null on both sides, :func:`static_features` gives
string, character, numeric, date and semantic evidence plus context (how identifying the
attribute is on each side, how rare the value is); the judge adds the (learned) embedding
cosine on top. Nulls give no evidence: a mask, never a mismatch."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from lakefuse.augment.semantic import acronym, parse_number, same_meaning
from lakefuse.judge.features import as_date, normalize
from lakefuse.types import TABLE, UnionTable

STATIC_NAMES = (
    "char",  # Levenshtein ratio of normalised values
    "token_set",  # token-set ratio (reordering, extra words)
    "jaro_winkler",
    "exact",  # equal after normalisation
    "canonical",  # equal after semantic canonicalisation (countries, abbreviations, formats)
    "acronym",  # one is the other's acronym
    "numeric",  # both numbers: closeness; else 0
    "is_numeric",
    "date",  # both dates: closeness; else 0
    "len_ratio",
    "dist_min",  # attribute distinctiveness inside each side's table
    "dist_max",
    "uniq_min",  # 1 / occurrences of the value inside each side's table
    "uniq_max",
    "rarity",  # how rare the (more common) value is in the whole union
)
N_STATIC = len(STATIC_NAMES)
SIM_COLUMNS = 10  # the first columns are value similarities; the rest is context


@dataclass
class View:
    values: list[str | None]
    dist: np.ndarray  # (A,)
    uniq: np.ndarray  # (A,)
    rarity: np.ndarray  # (A,)


def judged_values(union: UnionTable) -> dict[str, list[str | None]]:
    """``union.values()`` with the attributes that are no evidence (per-table surrogate ids)
    blanked out: attribute -> values by tid."""
    values = union.values()
    evidence = set(getattr(union, "evidence_attributes", union.attributes))
    blank: list[str | None] = [None] * union.n_tuples
    return {a: (values[a] if a in evidence else blank) for a in union.attributes}


class UnionStats:
    """Distinctiveness and value counts per source table and attribute (no labels)."""

    def __init__(self, union: UnionTable) -> None:
        tables = union.values()[TABLE]
        values = judged_values(union)
        self.values = values
        self.attributes = list(union.attributes)
        self.n = union.n_tuples
        names = sorted(set(tables))
        self.tables = np.array([names.index(t) for t in tables], dtype=np.int64)
        A = len(self.attributes)
        self.dist = np.zeros((len(names), A))
        self.uniq = np.zeros((self.n, A))
        self.rarity = np.zeros((self.n, A))
        self.distinctiveness = np.zeros(A)  # whole union
        log_n = math.log(self.n + 1.0)
        for j, a in enumerate(self.attributes):
            col = [normalize(v) if v is not None else None for v in values[a]]
            total = Counter(v for v in col if v)
            nonnull = sum(total.values())
            self.distinctiveness[j] = len(total) / nonnull if nonnull else 0.0
            per_table: dict[int, Counter[str]] = {}
            for i, v in enumerate(col):
                if v:
                    per_table.setdefault(int(self.tables[i]), Counter())[v] += 1
            for t, c in per_table.items():
                self.dist[t, j] = len(c) / max(1, sum(c.values()))
            for i, v in enumerate(col):
                if v:
                    self.uniq[i, j] = 1.0 / per_table[int(self.tables[i])][v]
                    self.rarity[i, j] = 1.0 - math.log(total[v]) / log_n
        self.identifying = [
            [j for j in range(A) if self.dist[t, j] >= 0.5 * max(self.dist[t].max(), 1e-9)]
            for t in range(len(names))
        ]

    def view(self, tid: int, values: list[str | None]) -> View:
        return View(values, self.dist[self.tables[tid]], self.uniq[tid], self.rarity[tid])


_SIM_CACHE: dict[tuple[str, str], tuple[float, ...]] = {}


def value_features(a: str, b: str) -> tuple[float, ...]:
    """The first ``SIM_COLUMNS`` features of a pair of non-null values (cached)."""
    key = (a, b) if a <= b else (b, a)
    hit = _SIM_CACHE.get(key)
    if hit is not None:
        return hit
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        out = (0.0,) * SIM_COLUMNS
    else:
        exact = float(na == nb)
        char = fuzz.ratio(na, nb) / 100.0
        tset = fuzz.token_set_ratio(na, nb) / 100.0
        jw = JaroWinkler.similarity(na, nb)
        canon = float(exact or same_meaning(a, b))
        ac = float(
            (len(nb) >= 2 and acronym(a).lower() == nb.replace(" ", ""))
            or (len(na) >= 2 and acronym(b).lower() == na.replace(" ", ""))
        )
        xa, xb = parse_number(a), parse_number(b)
        num, is_num = 0.0, 0.0
        if xa is not None and xb is not None:
            # relative closeness, sharp: 5% apart is no agreement
            is_num = 1.0
            num = max(0.0, 1.0 - 20.0 * abs(xa - xb) / max(abs(xa), abs(xb), 1e-9))
        date = 0.0
        if not is_num:
            da, db = as_date(a), as_date(b)
            if da is not None and db is not None:
                date = max(0.0, 1.0 - abs((da - db).days) / 365.0)
        ln = min(len(na), len(nb)) / max(len(na), len(nb))
        out = (char, tset, jw, exact, canon, ac, num, is_num, date, ln)
    if len(_SIM_CACHE) > 2_000_000:
        _SIM_CACHE.clear()
    _SIM_CACHE[key] = out
    return out


def static_features(left: list[View], right: list[View], n_attr: int) -> np.ndarray:
    """(pairs, attributes, N_STATIC) float32; rows where a side is null stay NaN."""
    out = np.full((len(left), n_attr, N_STATIC), np.nan, dtype=np.float32)
    for i, (x, y) in enumerate(zip(left, right)):
        for j in range(n_attr):
            a, b = x.values[j], y.values[j]
            if a is None or b is None:
                continue
            out[i, j, :SIM_COLUMNS] = value_features(a, b)
            out[i, j, SIM_COLUMNS:] = (
                min(x.dist[j], y.dist[j]),
                max(x.dist[j], y.dist[j]),
                min(x.uniq[j], y.uniq[j]),
                max(x.uniq[j], y.uniq[j]),
                min(x.rarity[j], y.rarity[j]),
            )
    return out
