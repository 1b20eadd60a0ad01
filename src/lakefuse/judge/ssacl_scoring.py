"""Array work of SSACL scoring: value-embedding cosines of dictionary-encoded pairs, and the
ScoredPairs table with its ``drivers`` column, built for all pairs at once."""

from __future__ import annotations

import threading
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from lakefuse.text.rows import Strings, nonempty, pick

#: "0.00" .. "1.00"
_CENTS = np.array([f"{k / 100:.2f}" for k in range(101)], dtype=object)
#: the doubles nearest to the rounding boundaries (2k + 1) / 200 between k and k + 1 cents
_BOUNDS = np.array([(2 * k + 1) / 200 for k in range(100)], dtype=np.float64)
#: a value equal to that double rounds up: the double lies above the true boundary, or on
#: it (a tie, 0.125) and k + 1 is even (round half to even, as ``format`` does)
_UP_AT = np.array(
    [
        Fraction(float(b)) > Fraction(2 * k + 1, 200)
        or (Fraction(float(b)) == Fraction(2 * k + 1, 200) and (k + 1) % 2 == 0)
        for k, b in enumerate(_BOUNDS.tolist())
    ],
    dtype=bool,
)


#: the boundaries with a -inf before and a +inf after (the neighbours of any cent code)
_BOUNDS_PAD = np.concatenate([[-np.inf], _BOUNDS, [np.inf]])


def _cents(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cent codes (index into ``_CENTS``) of the elements of ``x`` in [0, 1], correctly
    rounded as ``format`` rounds, and the mask of those elements."""
    x = np.asarray(x, dtype=np.float64)
    table = (x >= 0.0) & (x <= 1.0) & ~np.signbit(x)
    v = np.where(table, x, 0.0)
    # the boundaries strictly below v: estimated by arithmetic, then set right by the two
    # boundaries beside the estimate (it is off by one at most, next to a boundary)
    below = np.clip(np.ceil(v * 100.0 - 0.5), 0, len(_BOUNDS)).astype(np.int64)
    below -= _BOUNDS_PAD[below] >= v
    below += _BOUNDS_PAD[below + 1] < v
    at = np.minimum(below, len(_BOUNDS) - 1)
    return below + ((_BOUNDS[at] == v) & _UP_AT[at]), table


def two_decimals(x: np.ndarray) -> np.ndarray:
    """``f"{v:.2f}"`` of every element (an object array of str): correctly rounded, by
    table for values in [0, 1] (scores, weights, similarities), by ``format`` otherwise."""
    x = np.asarray(x, dtype=np.float64)
    cents, table = _cents(x)
    out = np.where(table, _CENTS[cents], None)
    for i in np.flatnonzero(~table).tolist():
        out.flat[i] = f"{float(x.flat[i]):.2f}"
    return out


#: the 101 cent strings, then "" (the code of an item not written)
_CENTS_ARROW = pa.array([*_CENTS.tolist(), ""], type=pa.string())
_NONE = len(_CENTS)


def cent_texts(x: np.ndarray, has: np.ndarray) -> pa.Array:
    """:func:`two_decimals` of ``x`` where ``has``, "" elsewhere, as an Arrow string array
    (taken from the table of cent strings; elements outside [0, 1] formatted one by one)."""
    x = np.where(has, x, 0.0)  # (0: not written)
    cents, table = _cents(x)
    if table.all():
        return _CENTS_ARROW.take(pa.array(np.where(has, cents, _NONE), type=pa.int64()))
    return pa.array(np.where(has, two_decimals(x), "").tolist(), type=pa.string())


def either(has: np.ndarray, text: str) -> pa.Array:
    """``text`` where ``has``, "" elsewhere."""
    return pa.array([text, ""], type=pa.string()).take(pa.array(np.where(has, 0, 1)))


def drivers(
    attributes: list[str],
    ev: np.ndarray,
    att: np.ndarray,
    char: np.ndarray,
    present: np.ndarray,
    elsewhere: tuple[np.ndarray, str, np.ndarray] | None = None,
) -> pa.Array:
    """Per pair, the (at most) three present attributes of highest attention, in that
    order (ties: attribute order): ``name=evidence(w=attention,chr=char similarity)``.
    Built with Arrow's string kernels for all pairs at once: every piece of the three items
    (a piece of an item not written is "") joined in one pass. ``elsewhere``: (a mask of
    pairs, a name, their scores): those pairs, which another model decided, get
    ``name=score`` instead."""
    if elsewhere is not None and elsewhere[0].any():
        mask, name, score = elsewhere
        keep, other = np.flatnonzero(~mask), np.flatnonzero(mask)
        built = drivers(attributes, ev[keep], att[keep], char[keep], present[keep])
        named = pc.binary_join_element_wise(
            f"{name}=", cent_texts(score[other], np.ones(len(other), dtype=bool)), ""
        )
        at = np.empty(len(mask), dtype=np.int64)
        at[keep], at[other] = np.arange(len(keep)), len(keep) + np.arange(len(other))
        return pa.concat_arrays([built, named]).take(pa.array(at))
    P, A = att.shape
    if A == 0 or P == 0:
        return pa.array([""] * P, type=pa.string())
    order = np.argsort(-att, axis=1, kind="stable")
    here = np.take_along_axis(present, order, axis=1)
    rank = np.cumsum(here, axis=1)
    rows = np.arange(P)
    heads = pa.array([f"{a}=" for a in attributes] + [""], type=pa.string())
    pieces: list[pa.Array] = []
    for k in range(1, 4):
        hit = here & (rank == k)
        has = hit.any(axis=1)
        if not has.any():
            break
        j = order[rows, np.argmax(hit, axis=1)]
        if k > 1:
            pieces.append(either(has, ","))
        pieces += [
            heads.take(pa.array(np.where(has, j, A), type=pa.int64())),
            cent_texts(ev[rows, j], has),
            either(has, "(w="),
            cent_texts(att[rows, j], has),
            either(has, ",chr="),
            cent_texts(char[rows, j], has),
            either(has, ")"),
        ]
    if not pieces:
        return pa.array([""] * P, type=pa.string())
    return pc.binary_join_element_wise(*pieces, "")


#: value pairs whose vectors :meth:`Vectors.cosines` gathers at a time (2 x 128 x 384 float32
#: fit a core's cache; measured fastest of 64 .. 2048)
_GATHER_ROWS = 128

#: bytes a :class:`Vectors` table may take (2 GiB: 1.4 million values at 384 dimensions as
#: float32, 2.8 million as float16)
VECTORS_BUDGET = 2 << 30


class Vectors:
    """Embeddings of ``strings`` (a union's distinct values) by position, as the embedder
    gives them: each value is asked of the embedder once, when first needed, and later
    batches read it from a table (``budget`` bytes at most; a larger union asks the
    embedder every time). Asking only for the values not yet seen changes nothing: the
    embedder computes exactly the values it has not cached, in the order asked, and every
    value seen is cached. Batches scored on several threads share one table: a value is
    written into it under a lock, once (the judge embeds every value of the union before it
    scores, so the embedder hands over vectors it holds rather than computing them)."""

    def __init__(self, embedder: Any, strings: Strings, budget: int = VECTORS_BUDGET) -> None:
        self.embedder = embedder
        self.strings = strings
        n, dim = len(strings), int(embedder.dim)
        # float32 where it fits (fast to read), else float16, which holds the vectors exactly
        # (the embedder rounds every vector to float16) in half the memory
        dtype = np.float32 if n * dim * 4 <= budget else np.float16
        self.table = np.zeros((n, dim), dtype) if n * dim * dtype().itemsize <= budget else None
        self.known = np.zeros(n if self.table is not None else 0, dtype=bool)
        #: per string, whether it is non-empty (an empty string has cosine 0), when needed
        self.nonempty: np.ndarray | None = None
        self._lock = threading.Lock()

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), dim) embeddings of ``strings[ids]``."""
        if self.table is None:  # nothing shared to fill: the embedder's cache is thread-safe
            return self.embedder.embed(pick(self.strings, ids))
        with self._lock:
            new = ids[~self.known[ids]]
            if len(new):
                self.table[new] = self.embedder.embed(pick(self.strings, new))
                self.known[new] = True
            # counted as asked for, as when every value of the batch is asked of the embedder
            self.embedder.stats["requested"] += len(ids) - len(new)
        return self.table[ids].astype(np.float32, copy=False)

    def cosines(self, lc: np.ndarray, rc: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """:func:`cosines` read straight from the table (which must exist): the values not
        embedded yet are embedded first, in one call, in order of first appearance (left
        tuples first, row by row), as :func:`cosines` asks for them."""
        assert self.table is not None
        if self.nonempty is None:
            self.nonempty = nonempty(self.strings)
        flat = np.concatenate([lc, rc]).reshape(-1)
        flat = flat[flat >= 0]
        flat = flat[self.nonempty[flat]]
        ids, first = np.unique(flat[~self.known[flat]], return_index=True)
        if len(ids):
            self(ids[np.argsort(first, kind="stable")])  # counted there as asked for
        # the values seen before counted as asked for too, as when every distinct value of
        # the batch is asked of the embedder (a mask of this call counts them: batches may be
        # scored on several threads at once)
        seen = np.zeros(len(self.strings), dtype=bool)
        seen[flat] = True
        with self._lock:
            self.embedder.stats["requested"] += int(np.count_nonzero(seen)) - len(ids)
        cos = np.zeros(mask.shape, dtype=np.float32)
        ok = mask & (lc >= 0) & (rc >= 0)
        ok[ok] = self.nonempty[lc[ok]] & self.nonempty[rc[ok]]
        li, ri = lc[ok], rc[ok]
        dots = np.empty(len(li), dtype=np.float32)
        # gathered a few rows at a time: both sides' vectors stay in the core's cache for
        # the dot products (the same products, over twice as fast as one large gather)
        for s in range(0, len(li), _GATHER_ROWS):
            a = self.table[li[s : s + _GATHER_ROWS]].astype(np.float32, copy=False)
            b = self.table[ri[s : s + _GATHER_ROWS]].astype(np.float32, copy=False)
            dots[s : s + _GATHER_ROWS] = np.einsum("ij,ij->i", a, b)
        cos[ok] = dots
        return cos


def cosines(
    vectors: Any, lc: np.ndarray, rc: np.ndarray, strings: Strings, mask: np.ndarray
) -> np.ndarray:
    """(P, A) embedding cosines of the value pairs where ``mask``; ``lc``, ``rc``: (P, A)
    positions in ``strings`` (-1 = null); ``vectors(ids)`` embeds ``strings[ids]`` (a
    :class:`Vectors`, or an embedder's ``embed`` on the strings). The values are embedded in
    one call, in order of first appearance (left tuples first, row by row); an empty string
    is embedded as nothing and has cosine 0."""
    if isinstance(vectors, Vectors) and vectors.table is not None:
        return vectors.cosines(lc, rc, mask)
    flat = np.concatenate([lc, rc]).reshape(-1)
    ids, first = np.unique(flat[flat >= 0], return_index=True)
    keep = np.array([bool(v) for v in pick(strings, ids)], dtype=bool)
    ids, first = ids[keep], first[keep]
    order = np.argsort(first, kind="stable")
    table = vectors(ids[order]) if len(ids) else np.zeros((0, 1), np.float32)
    slot = np.empty(len(ids), dtype=np.int64)
    slot[order] = np.arange(len(ids))
    cos = np.zeros(mask.shape, dtype=np.float32)
    for j in range(mask.shape[1] if len(ids) else 0):
        rows = np.flatnonzero(mask[:, j])
        at = [np.minimum(np.searchsorted(ids, c[rows, j]), len(ids) - 1) for c in (lc, rc)]
        ok = (ids[at[0]] == lc[rows, j]) & (ids[at[1]] == rc[rows, j])
        rows, li, ri = rows[ok], slot[at[0][ok]], slot[at[1][ok]]
        if len(rows):
            cos[rows, j] = np.einsum("ij,ij->i", table[li], table[ri])
    return cos


def as_tensors(
    static: np.ndarray, lc: np.ndarray, rc: np.ndarray, strings: Strings, vectors: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """The matcher's inputs for pairs with static features ``static`` (P, A, features) and
    value positions ``lc``, ``rc`` in ``strings``: embedding cosines (P, A), the static
    features (zeros where null), the mask of attributes both sides hold; and ``static``."""
    mask = ~np.isnan(static[:, :, 0])
    cos = cosines(vectors, lc, rc, strings, mask)
    return (
        torch.from_numpy(np.clip(cos, -1.0, 1.0)),
        torch.from_numpy(np.where(np.isnan(static), np.float32(0.0), static)),
        torch.from_numpy(mask),
        static,
    )
