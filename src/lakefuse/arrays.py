"""Array helpers that every stage may use."""

from __future__ import annotations

import numpy as np


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` for a 1-d integer or boolean array: its distinct values, ascending.

    NumPy 2.3+ answers a plain ``np.unique`` from a hash table, which on this project's
    arrays (mostly distinct codes and ids) is many times slower than sorting: measured with
    numpy 2.4 on random int64 ids, 0.6 s against 0.01 s at a million, 17 s against 0.14 s at
    ten million, 15 ms against 0.6 ms at a hundred thousand. Sorting and dropping repeats
    gives the same array. Other dtypes (floats, where NaNs need ``np.unique``'s rules;
    strings) go to ``np.unique``."""
    a = np.asarray(x)
    if a.ndim != 1 or a.dtype.kind not in "iub":
        return np.unique(a)
    s = np.sort(a)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]
