"""Value-pair evidence for many pairs at once (the first ``SIM_COLUMNS`` static features of
:mod:`lakefuse.judge.ssacl_features`), computed over distinct values and distinct value
pairs rather than pair by pair.

Values are dictionary-encoded (:func:`encode`); each distinct value is parsed once (its
normalised form, number, date, acronym, word initials and canonical forms; kept in a
module cache) and each distinct pair of values is compared once: string similarities by
rapidfuzz over all distinct pairs of normalised forms at once (``process.cpdist``, on
``threads`` threads), equality by code, numbers and dates with numpy. The semantic test
(:func:`~lakefuse.text.equivalence.same_meaning`) runs only on the pairs where it can hold
and is not settled by the codes already. Every number is computed as
:func:`lakefuse.judge.ssacl_features.value_features` computes it for one pair (same
operations, same order, float64 rounded once to float32), so both give identical
features."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pyarrow as pa
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from lakefuse.arrays import unique_sorted
from lakefuse.text.abbreviations import MAX_TRUNCATION, acronym
from lakefuse.text.dates import as_date
from lakefuse.text.equivalence import canonical_forms, same_meaning
from lakefuse.text.normalize import normalize
from lakefuse.text.numbers import parse_number
from lakefuse.text.rows import ArrowStrings, Strings, dictionary_codes, pick
from lakefuse.threads import thread_count

SIM_COLUMNS = 10  # char, token_set, jaro_winkler, exact, canonical, acronym, numeric,
# is_numeric, date, len_ratio
#: the columns of the ``lite`` part: what a Fellegi-Sunter comparison reads (exact,
#: canonical, Jaro-Winkler) and what a pair's reported evidence reads (char, acronym); the
#: ``rest`` part is the other columns
LITE_COLUMNS = (0, 2, 3, 4, 5)
REST_COLUMNS = tuple(c for c in range(SIM_COLUMNS) if c not in LITE_COLUMNS)
Part = Literal["all", "lite", "rest"]

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000

#: value -> (normalised, number, acronym (lower case), normalised without spaces, first
#: letter of each word, number of words, canonical forms)
_Parsed = tuple[str, float | None, str, str, str, int, frozenset[str]]
_PARSED: dict[str, _Parsed] = {}
#: value -> the date it spells, in µs since 1970 (None: none); read only where the pair
#: feature needs it (not both sides numbers), as strptime is the slowest parse
_DATES: dict[str, int | None] = {}
_MAX_PARSED = 2_000_000


def parse(value: str) -> _Parsed:
    """What the pair features read off one value (cached)."""
    hit = _PARSED.get(value)
    if hit is not None:
        return hit
    out = _parse(value)
    if len(_PARSED) > _MAX_PARSED:
        _PARSED.clear()
    _PARSED[value] = out
    return out


def _parse(value: str) -> _Parsed:
    """:func:`parse` without the cache (a whole dictionary is parsed once anyway)."""
    n = normalize(value)
    words = n.split()
    return (
        n,
        parse_number(value),
        acronym(value).lower(),
        n.replace(" ", ""),
        "".join(w[0] for w in words),
        len(words),
        canonical_forms(value),
    )


def date_of(value: str) -> int | None:
    """The date ``value`` spells (:func:`~lakefuse.text.dates.as_date`) in µs since 1970."""
    if value in _DATES:
        return _DATES[value]
    out = _date_of(value)
    if len(_DATES) > _MAX_PARSED:
        _DATES.clear()
    _DATES[value] = out
    return out


def _date_of(value: str) -> int | None:
    """:func:`date_of` without the cache."""
    d = as_date(value)
    return None if d is None else (d - _EPOCH) // _MICROSECOND


def encode(values: Sequence[str | None]) -> tuple[np.ndarray, Strings]:
    """Dictionary codes (int64, -1 = null) of ``values`` and the distinct values, in order
    of first appearance (:func:`_text_codes` of one batch)."""
    return _text_codes([_chunk(list(values))])


_SIM_CACHE: dict[tuple[str, str], tuple[float, ...]] = {}


def value_features(a: str, b: str) -> tuple[float, ...]:
    """The ``SIM_COLUMNS`` features of one pair of non-null values (cached); the numbers
    :func:`similarities` gives for many pairs at once."""
    key = (a, b) if a <= b else (b, a)
    hit = _SIM_CACHE.get(key)
    if hit is not None:
        return hit
    p, q = parse(a), parse(b)
    na, nb = p[0], q[0]
    if not na or not nb:
        out = (0.0,) * SIM_COLUMNS
    else:
        exact = na == nb
        char = fuzz.ratio(na, nb) / 100.0
        tset = fuzz.token_set_ratio(na, nb) / 100.0
        jw = JaroWinkler.similarity(na, nb)
        canon = float(exact or _same_meaning(a, b, p, q))
        ac = float((len(nb) >= 2 and p[2] == q[3]) or (len(na) >= 2 and q[2] == p[3]))
        xa, xb = p[1], q[1]
        num, is_num = 0.0, 0.0
        if xa is not None and xb is not None:
            # relative closeness, sharp: 5% apart is no agreement
            is_num = 1.0
            num = max(0.0, 1.0 - 20.0 * abs(xa - xb) / max(abs(xa), abs(xb), 1e-9))
        date = 0.0
        if not is_num:
            da, db = date_of(a), date_of(b)
            if da is not None and db is not None:
                date = max(0.0, 1.0 - abs((da - db) // _DAY_US) / 365.0)
        ln = min(len(na), len(nb)) / max(len(na), len(nb))
        out = (char, tset, jw, float(exact), canon, ac, num, is_num, date, ln)
    if len(_SIM_CACHE) > _MAX_PARSED:
        _SIM_CACHE.clear()
    _SIM_CACHE[key] = out
    return out


def _same_meaning(a: str, b: str, p: _Parsed, q: _Parsed) -> bool:
    """``same_meaning(a, b)`` for values whose normalised forms differ, settled by their
    parses where they can settle it (see :meth:`_Values._canonical`)."""
    fa, fb = p[6], q[6]
    if len(fa) == 1 and len(fb) == 1:
        if fa == fb:
            return True
        if p[4] != q[4] or (p[5] == 1 and len(p[0]) == len(q[0])):
            return False
    return same_meaning(a, b)


_Chunk = pa.Array | list[str | None]


def _chunk(values: list[str | None]) -> _Chunk:
    """One batch's strings as an Arrow array, or as they are where Arrow cannot hold one (a
    lone surrogate)."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowException, UnicodeError):
        return values


def _text_codes(chunks: list[_Chunk]) -> tuple[np.ndarray, Strings]:
    """Codes (int64, -1 = None) of the strings of ``chunks`` read one after the other, and
    the distinct strings in order of first appearance: by Arrow, or by a dict where a chunk
    is a list (Arrow could not hold one of its strings)."""
    if all(isinstance(c, pa.Array) for c in chunks):
        codes, distinct = dictionary_codes(pa.chunked_array(chunks, pa.string()))
        return codes, ArrowStrings(distinct)
    table: dict[str, int] = {}
    flat = [
        -1 if v is None else table.setdefault(v, len(table))
        for c in chunks
        for v in (c.to_pylist() if isinstance(c, pa.Array) else c)
    ]
    return np.array(flat, dtype=np.int64), list(table)


class _Values:
    """The parses of distinct values as arrays (index = position in ``values``). A whole
    dictionary (Arrow-held) is parsed a batch at a time and its normalised forms stay in
    Arrow, each batch of pairs reading the ones it compares; a list (one batch of training
    pairs) is parsed through the module's caches."""

    def __init__(self, values: Strings) -> None:
        self.values = values
        whole = isinstance(values, ArrowStrings)
        self._parse, self._date_of = (_parse, _date_of) if whole else (parse, date_of)
        n = len(values)
        self.nlen = np.zeros(n, dtype=np.int64)
        self.has_num = np.zeros(n, dtype=bool)
        self.num = np.zeros(n, dtype=np.float64)
        self.n_words = np.zeros(n, dtype=np.int64)
        # each batch's strings go to Arrow at once: no list of every value's forms
        text: dict[str, list[_Chunk]] = {k: [] for k in ("norm", "acr", "flat", "ini", "form")}
        batches = values.batches() if isinstance(values, ArrowStrings) else [(0, list(values))]
        for start, batch in batches:
            parsed = [self._parse(v) for v in batch]
            at = slice(start, start + len(batch))
            self.nlen[at] = [len(p[0]) for p in parsed]
            self.has_num[at] = [p[1] is not None for p in parsed]
            self.num[at] = [p[1] if p[1] is not None else 0.0 for p in parsed]
            self.n_words[at] = [p[5] for p in parsed]
            for k, i in (("norm", 0), ("acr", 2), ("flat", 3), ("ini", 4)):
                text[k].append(_chunk([p[i] for p in parsed]))
            # one canonical form: itself; several (ambiguous codes such as "CA"): none
            text["form"].append(
                _chunk([next(iter(p[6])) if len(p[6]) == 1 else None for p in parsed])
            )
        self.norm, self.norms = _text_codes(text["norm"])
        # acronyms and space-free forms share one code table
        letters, _ = _text_codes(text["acr"] + text["flat"])
        self.acr, self.flat = letters[:n], letters[n:]
        self.initials, _ = _text_codes(text["ini"])
        self.form, _ = _text_codes(text["form"])
        self._date_known: np.ndarray | None = None
        self._has_date: np.ndarray | None = None
        self._date: np.ndarray | None = None

    def pairs(self, a: np.ndarray, b: np.ndarray, threads: int, part: Part = "all") -> np.ndarray:
        """(len(a), SIM_COLUMNS) float64 features of the value pairs (a[i], b[i]). ``part``:
        every column, or only :data:`LITE_COLUMNS` or only the others (the rest stay 0),
        each computed as for every column."""
        out = np.zeros((len(a), SIM_COLUMNS), dtype=np.float64)
        # a value that normalises to nothing gives no evidence: all zero
        keep = np.flatnonzero((self.nlen[a] > 0) & (self.nlen[b] > 0))
        if len(keep) == 0:
            return out
        a, b = a[keep], b[keep]
        na, nb = self.norm[a], self.norm[b]
        la, lb = self.nlen[a], self.nlen[b]
        # string similarities: once per distinct pair of normalised forms
        m = len(self.norms)
        key, back = np.unique(np.minimum(na, nb) * m + np.maximum(na, nb), return_inverse=True)
        s1, s2 = pick(self.norms, key // m), pick(self.norms, key % m)
        # (rapidfuzz's ratios are percentages, its Jaro-Winkler a share)
        scorers = ((0, fuzz.ratio, 100.0), (1, fuzz.token_set_ratio, 100.0))
        scorers += ((2, JaroWinkler.similarity, 1.0),)
        for col, scorer, scale in scorers:
            if part == "all" or (col in LITE_COLUMNS) == (part == "lite"):
                sim = process.cpdist(
                    s1, s2, scorer=scorer, processor=None, dtype=np.float64, workers=threads
                )
                out[keep, col] = sim[back] / scale
        if part != "rest":
            exact = na == nb
            out[keep, 3] = exact
            out[keep, 4] = self._canonical(a, b, exact)
            out[keep, 5] = ((lb >= 2) & (self.acr[a] == self.flat[b])) | (
                (la >= 2) & (self.acr[b] == self.flat[a])
            )
        if part == "lite":
            return out
        # numbers: relative closeness, sharp (5% apart is no agreement)
        both = self.has_num[a] & self.has_num[b]
        xa, xb = self.num[a], self.num[b]
        with np.errstate(invalid="ignore", over="ignore"):
            close = 1.0 - 20.0 * np.abs(xa - xb) / np.maximum(
                np.maximum(np.abs(xa), np.abs(xb)), 1e-9
            )
        out[keep, 6] = np.where(both & (close > 0.0), close, 0.0)  # max(0.0, x): NaN -> 0
        out[keep, 7] = both
        has_date, date = self._dates(np.concatenate([a[~both], b[~both]]))
        dated = ~both & has_date[a] & has_date[b]
        days = np.floor_divide(date[a] - date[b], _DAY_US)  # timedelta.days
        near = 1.0 - np.abs(days) / 365.0
        out[keep, 8] = np.where(dated & (near > 0.0), near, 0.0)
        out[keep, 9] = np.minimum(la, lb) / np.maximum(la, lb)
        return out

    def _dates(self, need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each value spells a date and which (µs), read for the values ``need``
        (once per value: a whole-lake dictionary serves many batches)."""
        if self._date_known is None:
            self._date_known = np.zeros(len(self.values), dtype=bool)
            self._has_date = np.zeros(len(self.values), dtype=bool)
            self._date = np.zeros(len(self.values), dtype=np.int64)
        todo = unique_sorted(need)
        todo = todo[~self._date_known[todo]]
        for i, v in zip(todo.tolist(), pick(self.values, todo)):
            d = self._date_of(v)
            if d is not None:
                self._has_date[i], self._date[i] = True, d
        self._date_known[todo] = True
        assert self._has_date is not None and self._date is not None
        return self._has_date, self._date

    def _canonical(self, a: np.ndarray, b: np.ndarray, exact: np.ndarray) -> np.ndarray:
        """``exact or same_meaning(a, b)``. Equal single canonical forms settle it; else
        only abbreviated words can (:func:`~lakefuse.text.abbreviations.same_words`): as
        many words, each pair equal or one a truncation or contraction of the other, which
        keeps the first letter and (for a single word) makes it shorter; or an ambiguous
        form (several canonical forms) on a side."""
        fa, fb = self.form[a], self.form[b]
        out = exact | ((fa >= 0) & (fa == fb))
        # one word each: a truncation (of at most MAX_TRUNCATION letters) or a contraction
        # (two letters or more shorter)
        la, lb = self.nlen[a], self.nlen[b]
        short, gap = np.minimum(la, lb), np.abs(la - lb)
        word = (gap >= 2) | ((gap == 1) & (short <= MAX_TRUNCATION))
        maybe = (self.initials[a] == self.initials[b]) & ((self.n_words[a] > 1) | word)
        check = np.flatnonzero(~out & (maybe | (fa < 0) | (fb < 0)))
        xs, ys = pick(self.values, a[check]), pick(self.values, b[check])
        for i, x, y in zip(check.tolist(), xs, ys):
            out[i] = same_meaning(x, y)
        return out


def parsed(dictionary: Strings) -> _Values:
    """Every value of ``dictionary`` parsed once, for :func:`similarities` to reuse over many
    batches of pairs."""
    return _Values(dictionary)


def similarities(
    dictionary: Strings,
    left: np.ndarray,
    right: np.ndarray,
    threads: int | None = None,
    values: _Values | None = None,
    part: Part = "all",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """(pairs, SIM_COLUMNS) float32 features of the value pairs ``dictionary[left[i]]``,
    ``dictionary[right[i]]`` (codes, -1 = null); rows where a side is null stay NaN.
    ``values``: :func:`parsed` of the same dictionary, when the caller keeps one; ``part``:
    see :meth:`_Values.pairs` (the columns not computed are 0 where both sides hold a
    value). ``out``: a (pairs, SIM_COLUMNS) float32 array (a view into the caller's
    table) that every row is written into and that is returned, instead of a new one."""
    null = (left < 0) | (right < 0)
    if out is None:
        out = np.full((len(left), SIM_COLUMNS), np.nan, dtype=np.float32)
    else:
        out[null] = np.nan
    rows = np.flatnonzero(~null)
    if len(rows) == 0:
        return out
    a, b = left[rows].astype(np.int64), right[rows].astype(np.int64)
    d = max(1, len(dictionary))
    # every feature is symmetric: one computation per unordered pair of distinct values
    key, back = np.unique(np.minimum(a, b) * d + np.maximum(a, b), return_inverse=True)
    if values is not None:
        feats = values.pairs(key // d, key % d, thread_count(threads), part)
        out[rows] = feats[back]
        return out
    used, pos = np.unique(np.concatenate([key // d, key % d]), return_inverse=True)
    values = _Values(pick(dictionary, used))
    feats = values.pairs(pos[: len(key)], pos[len(key) :], thread_count(threads), part)
    out[rows] = feats[back]  # float64 -> float32 once, as one pair's tuple is stored
    return out
