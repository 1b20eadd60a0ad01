"""Self-supervised training groups for SSACL, made from the table being integrated.

A group is one anchor tuple, one positive view and ``K`` negative views:

* positive: the anchor corrupted by semantic equivalents, typos and dropped attributes, and
  always keeping one attribute that identifies tuples in its table;
* conflicts: a positive with three or more identifying attributes may disagree on one of
  them (real duplicates carry conflicting values; resolution comes later);
* hard negatives by perturbation: the anchor with at least half of its identifying
  attributes swapped for clearly different values of a near neighbour (another entity that
  shares the rest, e.g. the city), the rest corrupted like a positive;
* near-neighbour negatives: neighbours (by tuple embedding) that clearly disagree with the
  anchor on at least half of the shared identifying attributes;
* random negatives: other tuples.

"Key" groups teach partial tuples: the positive keeps only a non-identifying attribute of
the anchor, seen as the key of another table (as a join would); the negatives are other
tuples of the anchor's table that share that value (two players of one team are not one
player)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from lakefuse.arrays import unique_sorted
from lakefuse.augment import Augmenter
from lakefuse.judge.pair_features import value_features
from lakefuse.judge.ssacl_features import UnionStats, View
from lakefuse.text.names import same_list
from lakefuse.text.rows import ArrowStrings, Strings, dictionary_codes


@dataclass
class Groups:
    left: list[View] = field(default_factory=list)
    right: list[View] = field(default_factory=list)
    label: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    size: int = 0  # views per group (1 positive + negatives)

    def add(self, anchor: View, pos: View, negs: list[View], kinds: list[str]) -> None:
        for v, lab, k in [(pos, 1.0, "pos"), *[(n, 0.0, k) for n, k in zip(negs, kinds)]]:
            self.left.append(anchor)
            self.right.append(v)
            self.label.append(lab)
            self.kind.append(k)

    @property
    def n_groups(self) -> int:
        return len(self.label) // max(1, self.size)


@lru_cache(maxsize=1 << 16)
def _differs(a: str, b: str) -> bool:
    """Whether two values clearly differ (remembered: an anchor's repeats and its
    neighbours ask about the same pairs)."""
    if same_list(a, b):  # one author list written two ways is no disagreement
        return False
    f = value_features(a, b)
    return f[0] < 0.8 and f[1] < 0.9 and f[4] == 0.0 and f[5] == 0.0  # char, token set,
    # canonical form, acronym: values that share words can still differ ("X Stadium")


def _key_disagreement(
    other: list[str | None], row: list[str | None], ident: list[int]
) -> tuple[int, int]:
    """Of the identifying attributes ``ident`` that ``other`` has too: how many, and on how
    many its value clearly differs from ``row``'s."""
    both = [j for j in ident if other[j] is not None]
    return len(both), sum(_differs(other[j] or "", row[j] or "") for j in both)


def _other(pool: Strings, v: str, rng: np.random.Generator, tries: int = 8) -> str | None:
    """A value of ``pool`` that clearly differs from ``v``."""
    for _ in range(tries if pool else 0):
        w = pool[int(rng.integers(len(pool)))]
        if _differs(w, v):
            return w
    return None


class Rows(Sequence[list[str | None]]):
    """The union's tuples as value lists, decoded from the dictionary codes of
    :class:`UnionStats` when asked for (training reads a bounded number of them)."""

    def __init__(self, stats: UnionStats) -> None:
        self.stats = stats

    def __len__(self) -> int:
        return self.stats.n

    @overload
    def __getitem__(self, t: int) -> list[str | None]: ...
    @overload
    def __getitem__(self, t: slice) -> list[list[str | None]]: ...
    def __getitem__(self, t: int | slice) -> Any:
        if isinstance(t, slice):
            return [self.stats.row(i) for i in range(*t.indices(self.stats.n))]
        return self.stats.row(int(t))


def _sorted_values(stats: UnionStats, j: int) -> ArrowStrings:
    """The distinct values of attribute ``j`` in sorted order (code point order, as Python
    sorts strings; UTF-8 bytes sort the same), held by Arrow."""
    c = unique_sorted(stats.codes[:, j])
    values = stats.strings.array.take(pa.array(c[c >= 0].astype(np.int64)))
    return ArrowStrings(values.take(pc.sort_indices(values)))


class _SameValue:
    """Tuples of one source table with one value (case-insensitive) of an attribute, by
    sorting the union once per attribute asked for (instead of a dict of every cell)."""

    def __init__(self, stats: UnionStats) -> None:
        self.stats = stats
        codes, lower = dictionary_codes(stats.strings.mapped(str.lower, pa.string()))
        self.lower = codes if len(codes) else np.zeros(1, dtype=np.int64)
        self.width = max(1, len(lower))
        self.index: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _key(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each tuple's key for attribute ``j``, the tuples in key order, and the keys in
        that order (made once per attribute: a look-up is then two binary searches)."""
        if j not in self.index:
            c = self.stats.codes[:, j]
            key = np.where(c >= 0, self.stats.tables * self.width + self.lower[c], -1)
            order = np.argsort(key, kind="stable")
            self.index[j] = (key, order, key[order])
        return self.index[j]

    def tuples(self, t: int, j: int) -> list[int]:
        """The tids (increasing) of ``t``'s table whose value of ``j`` is ``t``'s, lower
        case."""
        key, order, ordered = self._key(j)
        k = key[t]
        if k < 0:
            return []
        lo, hi = np.searchsorted(ordered, k, "left"), np.searchsorted(ordered, k, "right")
        return order[lo:hi].tolist()


def make_groups(
    rows: Sequence[list[str | None]],
    stats: UnionStats,
    neighbours: np.ndarray,
    anchors: np.ndarray,
    aug: Augmenter,
    rng: np.random.Generator,
    n_neg: int = 7,
    key_share: float = 0.25,
    p_conflict: float = 0.3,
) -> Groups:
    """Training groups for ``anchors`` (tids). ``neighbours``: (n, k) tids, -1 = none."""
    n, A = len(rows), len(stats.attributes)
    g = Groups(size=1 + n_neg)
    decoded: dict[int, list[str | None]] = {}

    def row_of(t: int) -> list[str | None]:
        """``rows[t]``, decoded once (an anchor and its neighbours are read many times)."""
        r = decoded.get(t)
        if r is None:
            r = decoded[t] = rows[t]
        return r

    def real(t: int) -> View:
        return stats.view(t, row_of(t))

    def like(t: int, values: list[str | None]) -> View:
        base = real(t)
        return View(values, base.dist, base.uniq, base.rarity)

    # each attribute's distinct values, and tuples by value, from the dictionary codes
    # (``rows`` are the union's tuples as ``stats`` holds them)
    distinct = [_sorted_values(stats, j) for j in range(A)]
    same_value = _SameValue(stats)

    for a in anchors.tolist():
        row = row_of(a)
        ident = [j for j in stats.identifying[stats.tables[a]] if row[j] is not None]
        if not ident:
            continue
        near = [int(x) for x in neighbours[a] if 0 <= x != a]
        anchor = real(a)
        negs: list[View] = []
        kinds: list[str] = []
        # hard negatives by perturbation: at least half of the identifying attributes take
        # a near neighbour's (clearly different) values; the rest stays the anchor's
        donors = near[:4] + [int(t) for t in rng.integers(0, n, 2)]
        for t in donors[: 2 * 3]:
            if len(negs) >= 2 or t == a:
                continue
            m = (
                len(ident)
                if len(ident) == 1
                else int(rng.integers((len(ident) + 1) // 2, len(ident) + 1))
            )
            swap = [ident[i] for i in rng.permutation(len(ident))[:m].tolist()]
            vals = [aug.value(x, rng)[0] if x is not None else None for x in row]
            vals = aug.dropped(vals, rng, keep=swap[0])
            ok = True
            for j in swap:
                w = row_of(t)[j]
                if w is None or not _differs(w, row[j] or ""):
                    w = _other(distinct[j], row[j] or "", rng)
                if w is None:
                    ok = False
                    break
                vals[j] = w
            if ok:
                negs.append(like(a, vals))
                kinds.append("perturbed")
        # near neighbours that clearly disagree on at least half of the shared keys
        for t in near:
            if len(kinds) >= 4:
                break
            shared, differ = _key_disagreement(row_of(t), row, ident)
            if shared and differ * 2 >= shared:
                negs.append(real(t))
                kinds.append("neighbour")
        # random negatives: other tuples that clearly differ from the anchor on the
        # identifying attributes they share (a duplicate of the anchor is no negative; in a
        # lake of few entities there may be too few, and the anchor is skipped)
        for _ in range(20 * n_neg):
            if len(negs) >= n_neg:
                break
            t = int(rng.integers(n))
            if t == a:
                continue
            shared, differ = _key_disagreement(row_of(t), row, ident)
            if shared and differ * 2 < shared:
                continue
            negs.append(
                like(t, aug.dropped(row_of(t), rng, keep=-1)) if rng.random() < 0.3 else real(t)
            )
            kinds.append("random")
        if len(negs) < n_neg:
            continue
        pos_vals = aug.positive(row, ident, rng)
        # conflicts: a duplicate may disagree on one attribute when enough others agree
        kept = [j for j in ident if pos_vals[j] is not None]
        if len(kept) >= 3 and rng.random() < p_conflict:
            j = kept[int(rng.integers(len(kept)))]
            pos_vals[j] = _other(distinct[j], row[j] or "", rng) or pos_vals[j]
        pos = like(a, pos_vals)
        g.add(anchor, pos, negs[:n_neg], kinds[:n_neg])

        # key groups: a non-identifying attribute as the key of another table
        others = [j for j in range(A) if row[j] is not None and j not in ident]
        if others and rng.random() < key_share:
            j = others[int(rng.integers(len(others)))]
            v = row[j] or ""
            key_vals: list[str | None] = [None] * A
            key_vals[j] = aug.value(v, rng)[0]
            # the other table's key: distinct there, its values (nearly) unique
            one = np.full(A, rng.uniform(0.6, 1.0))
            uq = np.full(A, 1.0 / int(rng.integers(1, 3)))
            pos = View(key_vals, one, uq, anchor.rarity)
            same = [t for t in same_value.tuples(a, j) if t != a]
            knegs: list[View] = []
            vals: list[str | None]
            kk: list[str] = []
            for t in same[:3]:
                hide = set(stats.identifying[stats.tables[t]])
                knegs.append(like(t, [None if i in hide else x for i, x in enumerate(row_of(t))]))
                kk.append("shares-value")
            # hard: the most similar values of the attribute that still clearly differ
            for w, _, _ in process.extract(v, distinct[j], scorer=fuzz.WRatio, limit=8):
                if len(knegs) >= n_neg - 2:
                    break
                if _differs(w, v):
                    vals = [None] * A
                    vals[j] = w
                    knegs.append(View(vals, one, uq, anchor.rarity))
                    kk.append("near-key")
            while len(knegs) < n_neg:
                t = int(rng.integers(n))
                w = row_of(t)[j]
                if t != a and w is not None and _differs(w, v):
                    vals = [None] * A
                    vals[j] = w
                    knegs.append(View(vals, one, uq, stats.rarity[t]))
                    kk.append("other-key")
                elif rng.random() < 0.05:  # attribute almost constant: fall back
                    knegs.append(real(t) if t != a else real((t + 1) % n))
                    kk.append("random")
            g.add(anchor, pos, knegs[:n_neg], kk[:n_neg])
    return g
