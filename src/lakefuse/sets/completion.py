"""Whether a tuple *completes* two tuples that must stay apart (it is null on every attribute
where they disagree), asked for many triples of one judged component: the judge's evidence
of every pair turned into two bit masks once (the attributes seen, the attributes where the
pair disagrees), so each question is two integer operations instead of array work."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lakefuse.sets.cliques import Judged

#: attributes packed into one machine integer at most (wider tables: Python integers)
_WORD = 62


def row_bits(mask: np.ndarray) -> list[int]:
    """Each row of a boolean matrix as an integer whose bit ``k`` is column ``k``."""
    rows, cols = mask.shape
    if cols == 0:
        return [0] * rows
    if cols <= _WORD:
        return (mask.astype(np.int64) << np.arange(cols, dtype=np.int64)).sum(axis=1).tolist()
    packed = np.packbits(mask, axis=1, bitorder="little")
    return [int.from_bytes(r.tobytes(), "little") for r in packed]


def disagreement_masks(ev: np.ndarray, disagree: float) -> tuple[list[int], list[int]]:
    """Per pair (a row of ``ev``, NaN = a null side): the attributes it has seen (both
    sides hold a value), and the attributes where it disagrees: similarity under
    ``disagree``, or where none is, those at its lowest similarity; none where nothing was
    seen."""
    seen = ~np.isnan(ev)
    with np.errstate(invalid="ignore"):
        where = ev < disagree  # (NaN: False)
        lowest = np.where(seen, ev, np.inf).min(axis=1, initial=np.inf)
        at_min = seen & (ev == lowest[:, None])
    none = ~where.any(axis=1)
    where[none] = at_min[none]
    return row_bits(seen), row_bits(where)


class Completion:
    """``completes(t, x, y)``: tuple ``t`` may sit beside both ``x`` and ``y`` (which must
    stay apart) when it is null, towards each of them, on every attribute where they
    disagree: it completes each without taking a side. Every pair of the component must be
    judged (``judged.index`` holds it). The masks are made on the first question: most
    components never ask one."""

    def __init__(self, judged: Judged, disagree: float) -> None:
        assert judged.ev is not None
        self.index = judged.index
        self._ev, self._disagree = judged.ev, disagree
        self._masks: tuple[list[int], list[int]] | None = None

    def _at(self, a: int, b: int) -> int:
        return self.index[(a, b) if a < b else (b, a)]

    def completes(self, t: int, x: int, y: int) -> bool:
        if self._masks is None:
            self._masks = disagreement_masks(self._ev, self._disagree)
        seen, differs = self._masks
        differ = differs[self._at(x, y)]
        if not differ:
            return True
        return not differ & (seen[self._at(t, x)] | seen[self._at(t, y)])
