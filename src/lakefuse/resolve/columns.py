"""Column statistics for choosing among variants of one value: how often the value, its
format (:func:`shape`) and its words (in their position) occur in the attribute's column."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from lakefuse.text import rows as text_rows
from lakefuse.text.rows import Lookup
from lakefuse.text.words import known_words
from lakefuse.types import ConflictProblem, ResolveContext

T = TypeVar("T")
_WORD = re.compile(r"\w+")
_SHAPE = re.compile(r"[A-Z]+[a-z]+|[A-Z]+|[a-z]+|[0-9]+|\s+|.")


def shape(value: str) -> str:
    """The value's format: ``"1901-11-12"`` -> ``"9999-99-99"``, ``"Green Bay, WI"`` ->
    ``"Aa Aa, A"`` (runs of digits, capitalised words, upper and lower case words)."""
    out = []
    for m in _SHAPE.finditer(value):
        t = m.group()
        if t[0].isdigit():
            out.append("9" * min(len(t), 16))
        elif t[0].isspace():
            out.append(" ")
        elif t[0].isalpha():
            out.append("Aa" if t[0].isupper() and t[-1].islower() else "A" if t.isupper() else "a")
        else:
            out.append(t)
    return "".join(out)


def _positional(value: str) -> list[str]:
    words = _WORD.findall(value)
    if len(words) == 1:
        return [f"={words[0]}"]
    return [
        f"<{w}" if i == 0 else f">{w}" if i == len(words) - 1 else w for i, w in enumerate(words)
    ]


def _word_shapes(value: str) -> list[str]:
    return [shape(w) for w in value.split()]


def _trigrams(value: str) -> list[str]:
    text = f" {' '.join(value.casefold().split())} "
    return [text[i : i + 3] for i in range(len(text) - 2)]


class ColumnCounts:
    """How often each exact value, format (:func:`shape`) and (case-sensitive, positional)
    word occurs in each attribute of the union; computed lazily per attribute, a batch of
    distinct values at a time, and held by Arrow (:class:`~lakefuse.text.rows.Lookup`)."""

    def __init__(self, context: ResolveContext | None) -> None:
        self._union = context.union if context is not None else None
        self._counts: dict[str, Lookup] = {}
        self._words: dict[str, Lookup] = {}
        self._shapes: dict[str, Lookup] = {}
        self._grams: dict[str, Lookup] = {}
        self._wshapes: dict[str, Lookup] = {}

    def __call__(self, attribute: str) -> Lookup:
        """Distinct value -> occurrences in the column (counted by Arrow, once; 0 for a value
        the column does not have)."""
        if attribute not in self._counts:
            counts = Lookup.counted([])
            if self._union is not None and attribute in self._union.attributes:
                codes, dictionary = self._union.codes(attribute)
                n = np.bincount(codes[codes >= 0], minlength=len(dictionary))
                counts = Lookup(dictionary, n, missing=0)
            self._counts[attribute] = counts
        return self._counts[attribute]

    def _parts(
        self, attribute: str, parts: Callable[[str], list[str]]
    ) -> Iterator[tuple[list[str], list[int]]]:
        """Per batch of the column's distinct values: the ``parts`` of each value, each
        weighted by the value's occurrences."""
        batch: tuple[list[str], list[int]] = ([], [])
        for v, n in self(attribute).items():
            for x in parts(v):
                batch[0].append(x)
                batch[1].append(n)
            if len(batch[0]) >= text_rows.BATCH:
                yield batch
                batch = ([], [])
        yield batch

    def words(self, attribute: str) -> Lookup:
        """Occurrences of each word of the column, in its position and anywhere."""
        if attribute not in self._words:

            def both(v: str) -> list[str]:
                return [x for w in _positional(v) for x in (w, w.lstrip("<>="))]

            self._words[attribute] = Lookup.counted(self._parts(attribute, both))
        return self._words[attribute]

    def spelling(self, attribute: str, value: str) -> float:
        """Mean log frequency of the value's words in the column, in their position and
        anywhere: a misspelt word is rare, and so is a usual word in an unusual place."""
        words = self.words(attribute)
        toks = _positional(value)
        if not toks:
            return 0.0
        return sum(math.log1p(words[w]) + math.log1p(words[w.lstrip("<>=")]) for w in toks) / len(
            toks
        )

    def letters(self, attribute: str, value: str) -> float:
        """Mean log frequency of the value's character trigrams in the column: a typo makes
        trigrams no other value has ("calderowod" against "calderwood", "wood")."""
        return self._mean_log_count(self._grams, _trigrams, attribute, value)

    def word_format(self, attribute: str, value: str) -> float:
        """Mean log frequency of the value's word formats in the column: a capital in the
        middle of a word ("mEpower") is a format no other word of the column has."""
        return self._mean_log_count(self._wshapes, _word_shapes, attribute, value)

    def _mean_log_count(
        self,
        cache: dict[str, Lookup],
        parts: Callable[[str], list[str]],
        attribute: str,
        value: str,
    ) -> float:
        """Mean log frequency, in the column, of the ``parts`` of ``value`` (counted once per
        attribute into ``cache``)."""
        if attribute not in cache:
            cache[attribute] = Lookup.counted(self._parts(attribute, parts))
        counts = cache[attribute]
        mine = parts(value)
        return sum(math.log(counts[x] or 1) for x in mine) / len(mine) if mine else 0.0

    def format_share(self, attribute: str, value: str) -> float:
        if attribute not in self._shapes:
            parts = self._parts(attribute, lambda v: [shape(v)])
            self._shapes[attribute] = Lookup.counted(parts)
        shapes = self._shapes[attribute]
        total = shapes.total()
        return shapes[shape(value)] / total if total else 0.0

    def outside(self, problem: ConflictProblem, i: int) -> int:
        """Occurrences of candidate ``i`` in the column outside this conflict's cells."""
        c = problem.candidates[i]
        return self(problem.attribute)[c.value] - len(c.tids)

    def evidence(self, problem: ConflictProblem, indexes: Sequence[int]) -> tuple[float, ...]:
        """Column evidence for a group of candidates: occurrences elsewhere, usual format,
        usual words (each the best over the group)."""
        a = problem.attribute
        values = [problem.candidates[i].value for i in indexes]
        return (
            max(self.outside(problem, i) for i in indexes),
            max(round(self.format_share(a, v), 2) for v in values),
            max(round(self.spelling(a, v), 6) for v in values),
        )

    def usual(self, problem: ConflictProblem, indexes: Sequence[int]) -> int:
        """The index (among ``indexes``) of the table's usual spelling: most frequent in the
        column outside this problem, then in the column's usual format, then with the most
        usual words, then the most usual word formats, then the most words the encoder's
        vocabulary knows, then the most usual letter trigrams, then most supported in the
        problem, then earliest tuple."""
        if len(indexes) == 1:
            return indexes[0]
        counts = self(problem.attribute)
        cands = problem.candidates
        a = problem.attribute
        return lazy_max(
            indexes,
            [
                lambda i: counts[cands[i].value] - len(cands[i].tids),
                lambda i: round(self.format_share(a, cands[i].value), 2),
                lambda i: round(self.spelling(a, cands[i].value), 6),
                lambda i: round(self.word_format(a, cands[i].value), 6),
                lambda i: known_words(cands[i].value),
                lambda i: round(self.letters(a, cands[i].value), 6),
                lambda i: len(cands[i].tids),
                lambda i: -min(cands[i].tids),
            ],
        )


def lazy_max(items: Sequence[T], keys: Sequence[Callable[[T], Any]]) -> T:
    """``max(items, key=lambda x: tuple(k(x) for k in keys))``, computing each key only for
    the items still tied on the keys before it (the later keys are the costly ones)."""
    left = list(items)
    for k in keys:
        if len(left) == 1:
            break
        scored = [k(x) for x in left]
        top = max(scored)
        left = [x for x, v in zip(left, scored) if v == top]
    return left[0]
