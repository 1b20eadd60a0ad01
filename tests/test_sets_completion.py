"""lakefuse.sets.completion: the bit-mask form of "t completes x and y" answers as the rule
written on the judge's evidence arrays does, for every triple of a judged component."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lakefuse.sets.cliques import DISAGREE, Judged
from lakefuse.sets.completion import Completion, row_bits


def completes_by_arrays(t: int, x: int, y: int, judged: Judged) -> bool:
    """The rule as arrays (the form arbitrate used before the masks): ``t`` is null, towards
    x and towards y, on every attribute where x and y disagree (similarity under DISAGREE,
    else their lowest seen one)."""
    assert judged.ev is not None
    exy = judged.ev[judged.index[(min(x, y), max(x, y))]]
    seen = ~np.isnan(exy)
    if not seen.any():
        return True
    where = exy < DISAGREE
    if not where.any():
        where = seen & (exy == np.nanmin(exy))
    for z in (x, y):
        etz = judged.ev[judged.index[(min(t, z), max(t, z))]]
        if not np.isnan(etz[where]).all():
            return False
    return True


# similarities on a coarse grid (ties at the minimum, values at DISAGREE) or null
_CELL = st.sampled_from([np.nan, 0.0, 0.3, DISAGREE, 0.7, 1.0])


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(3, 6),
    attributes=st.integers(1, 5),
    data=st.data(),
)
def test_completion_masks_answer_as_the_arrays_do(k: int, attributes: int, data) -> None:
    pairs = list(itertools.combinations(range(k), 2))
    cells = data.draw(
        st.lists(_CELL, min_size=len(pairs) * attributes, max_size=len(pairs) * attributes)
    )
    ev = np.array(cells, dtype=np.float64).reshape(len(pairs), attributes)
    n = len(pairs)
    judged = Judged(
        {p: i for i, p in enumerate(pairs)},
        np.zeros(n, bool),
        np.zeros(n, bool),
        np.zeros(n),
        ev,
    )
    completion = Completion(judged, DISAGREE)
    for t, x, y in itertools.permutations(range(k), 3):
        assert completion.completes(t, x, y) == completes_by_arrays(t, x, y, judged)


def test_row_bits_past_one_machine_word() -> None:
    """Over 62 attributes the masks are Python integers: bit k is still column k."""
    mask = np.zeros((2, 70), dtype=bool)
    mask[0, [0, 65]] = True
    mask[1, 69] = True
    assert row_bits(mask) == [1 + (1 << 65), 1 << 69]
    assert row_bits(mask[:, :10]) == [1, 0]
    assert row_bits(np.zeros((3, 0), dtype=bool)) == [0, 0, 0]
