"""Per-attribute pair evidence for the SSACL judge.

A *view* is one tuple as the judge sees it: its values (None = null), and for each
attribute the attribute's distinctiveness inside the view's source table and the value's
uniqueness there (1 / occurrences). Real tuples take both from their table; augmented views
inherit their anchor's.

For a pair of views and an attribute non-null on both sides, :func:`static_features` gives
string, character, numeric, date and semantic evidence plus context (how identifying the
attribute is on each side, how rare the value is); the judge adds the (learned) embedding
cosine on top. Nulls give no evidence: a mask, never a mismatch. The value evidence is
computed per attribute over distinct values and value pairs
(:mod:`lakefuse.judge.pair_features`); :func:`pair_static` reads the union's tuples from the
dictionary codes of :class:`UnionStats` without making views."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lakefuse.encode.tuples import judged_values
from lakefuse.judge.pair_features import SIM_COLUMNS, encode, similarities
from lakefuse.text.normalize import normalize
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
# the first SIM_COLUMNS (10) columns are value similarities; the rest is context


@dataclass
class View:
    values: list[str | None]
    dist: np.ndarray  # (A,)
    uniq: np.ndarray  # (A,)
    rarity: np.ndarray  # (A,)


class UnionStats:
    """Distinctiveness and value counts per source table and attribute (no labels), and
    the union's values dictionary-encoded: ``strings`` holds every distinct value (of any
    attribute) once, ``codes[t, j]`` the position of tuple ``t``'s value of attribute
    ``j`` there (-1 = null)."""

    def __init__(self, union: UnionTable) -> None:
        tables = union.values()[TABLE]
        values = judged_values(union)
        self.values = values
        self.attributes = list(union.attributes)
        self.n = union.n_tuples
        table_codes, table_names = encode(tables)
        names = sorted(table_names)
        rank = np.array([names.index(t) for t in table_names], dtype=np.int64)
        self.tables = rank[table_codes] if self.n else np.zeros(0, dtype=np.int64)
        A = len(self.attributes)
        T = len(names)
        self.dist = np.zeros((T, A))
        self.uniq = np.zeros((self.n, A))
        self.rarity = np.zeros((self.n, A))
        self.distinctiveness = np.zeros(A)  # whole union
        self.codes = np.full((self.n, A), -1, dtype=np.int32)
        ids: dict[str, int] = {}
        log_n = math.log(self.n + 1.0)
        for j, a in enumerate(self.attributes):
            codes, dictionary = encode(values[a])
            self.codes[:, j] = np.array(
                [ids.setdefault(v, len(ids)) for v in dictionary] or [-1], dtype=np.int64
            )[codes]
            self.codes[codes < 0, j] = -1
            # counts of normalised values (a value that normalises to nothing is none)
            forms: dict[str, int] = {}
            form_of = np.array(
                [
                    forms.setdefault(nv, len(forms)) if (nv := normalize(v)) else -1
                    for v in dictionary
                ]
                or [-1],
                dtype=np.int64,
            )
            form = np.where(codes >= 0, form_of[codes], -1)
            rows = np.flatnonzero(form >= 0)
            f = form[rows]
            total = np.bincount(f, minlength=len(forms))
            nonnull = len(rows)
            self.distinctiveness[j] = len(forms) / nonnull if nonnull else 0.0
            key, inverse, count = np.unique(
                self.tables[rows] * max(1, len(forms)) + f, return_inverse=True, return_counts=True
            )
            distinct = np.bincount(key // max(1, len(forms)), minlength=T)
            self.dist[:, j] = distinct / np.maximum(1, np.bincount(self.tables[rows], minlength=T))
            self.uniq[rows, j] = 1.0 / count[inverse]
            seen, which = np.unique(total[f], return_inverse=True)
            logs = np.array([math.log(int(c)) for c in seen.tolist()], dtype=np.float64)
            self.rarity[rows, j] = 1.0 - logs[which] / log_n
        self.strings = list(ids)
        self.identifying = [
            [j for j in range(A) if self.dist[t, j] >= 0.5 * max(self.dist[t].max(), 1e-9)]
            for t in range(len(names))
        ]

    def view(self, tid: int, values: list[str | None]) -> View:
        return View(values, self.dist[self.tables[tid]], self.uniq[tid], self.rarity[tid])


_Side = tuple[np.ndarray, np.ndarray, np.ndarray]


def _context(out: np.ndarray, both: np.ndarray, left: _Side, right: _Side) -> None:
    """Fill the context columns of ``out`` (P, A, N_STATIC) where both sides have a value:
    ``left`` and ``right`` are the (P, A) distinctiveness, uniqueness and rarity arrays."""
    (dl, ul, rl), (dr, ur, rr) = left, right
    ctx = np.stack(
        [np.minimum(dl, dr), np.maximum(dl, dr), np.minimum(ul, ur), np.maximum(ul, ur)]
        + [np.minimum(rl, rr)],
        axis=2,
    )
    out[:, :, SIM_COLUMNS:] = np.where(both[:, :, None], ctx, np.nan)


def static_features(
    left: list[View], right: list[View], n_attr: int, threads: int | None = None
) -> np.ndarray:
    """(pairs, attributes, N_STATIC) float32; rows where a side is null stay NaN."""
    P = len(left)
    out = np.full((P, n_attr, N_STATIC), np.nan, dtype=np.float32)
    if P == 0 or n_attr == 0:
        return out
    both = np.zeros((P, n_attr), dtype=bool)
    for j in range(n_attr):
        codes, dictionary = encode([x.values[j] for x in left] + [y.values[j] for y in right])
        out[:, j, :SIM_COLUMNS] = similarities(dictionary, codes[:P], codes[P:], threads)
        both[:, j] = (codes[:P] >= 0) & (codes[P:] >= 0)
    sides = [
        tuple(np.stack([getattr(x, k)[:n_attr] for x in views]) for k in ("dist", "uniq", "rarity"))
        for views in (left, right)
    ]
    _context(out, both, sides[0], sides[1])
    return out


def pair_static(
    stats: UnionStats, left: np.ndarray, right: np.ndarray, threads: int | None = None
) -> np.ndarray:
    """:func:`static_features` of the union's tuple pairs ``(left[i], right[i])`` (tids)."""
    A = len(stats.attributes)
    out = np.full((len(left), A, N_STATIC), np.nan, dtype=np.float32)
    if len(left) == 0 or A == 0:
        return out
    lc, rc = stats.codes[left], stats.codes[right]
    for j in range(A):
        out[:, j, :SIM_COLUMNS] = similarities(stats.strings, lc[:, j], rc[:, j], threads)
    sides = [(stats.dist[stats.tables[t]], stats.uniq[t], stats.rarity[t]) for t in (left, right)]
    _context(out, (lc >= 0) & (rc >= 0), sides[0], sides[1])
    return out
