"""Pairwise scores of the scale bench: a membership (tuples in sets, possibly overlapping)
against the gold people, counted without enumerating pairs where each tuple is in one set
(the set x person contingency table), and the gold read from a scale data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lakefuse.arrays import unique_sorted

#: predicted pairs enumerated at most (when a tuple sits in several sets); above, the score is
#: reported as not computed rather than exhausting memory
MAX_PAIRS = 300_000_000


def _choose2(counts: np.ndarray) -> int:
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def group_pair_codes(sets: np.ndarray, members: np.ndarray, n: int) -> np.ndarray:
    """Codes ``a * n + b`` (a < b) of the distinct pairs of members sharing a set."""
    order = np.lexsort((members, sets))
    s, m = sets[order], members[order]
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = (s[1:] != s[:-1]) | (m[1:] != m[:-1])
    s, m = s[keep], m[keep]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.empty(0, np.int64)
    sizes = np.diff(np.r_[starts, len(s)])
    later = np.repeat(starts + sizes, sizes) - np.arange(len(s)) - 1  # partners after each
    total = int(later.sum())
    if total > MAX_PAIRS:
        raise MemoryError(f"{total} predicted pairs to enumerate (more than {MAX_PAIRS})")
    left = np.repeat(np.arange(len(s)), later)
    first = np.repeat(np.cumsum(later) - later, later)
    right = left + 1 + (np.arange(total) - first)
    return unique_sorted(m[left].astype(np.int64) * n + m[right])


def prf(true_pairs: int, pred_pairs: int, gold: int) -> dict[str, float]:
    """Precision, recall and F1 (5 decimals) of ``pred_pairs`` pairs, ``true_pairs`` of them
    among ``gold``; nothing predicted of nothing to find scores 1."""
    p = true_pairs / pred_pairs if pred_pairs else (1.0 if gold == 0 else 0.0)
    r = true_pairs / gold if gold else (1.0 if pred_pairs == 0 else 0.0)
    return {
        "precision": round(p, 5),
        "recall": round(r, 5),
        "f1": round(2 * p * r / (p + r), 5) if p + r else 0.0,
    }


def gold_pairs(person: np.ndarray) -> int:
    """Pairs of tuples of one person."""
    return _choose2(np.bincount(person))


def pair_scores(person: np.ndarray, tuples: np.ndarray, sets: np.ndarray) -> dict[str, Any]:
    """Pairwise P/R/F1 of a membership (``tuples[i]`` in set ``sets[i]``; a tuple in no set is
    a singleton) against ``person`` (gold person of each tuple 0..n-1). One set per tuple is
    counted from the set x person contingency table; otherwise the pairs are enumerated."""
    n = len(person)
    gold = gold_pairs(person)
    set_codes = pd.factorize(sets)[0]
    if len(tuples) == len(unique_sorted(tuples)):
        pred_pairs = _choose2(np.bincount(set_codes))
        cell = set_codes.astype(np.int64) * (int(person.max()) + 1) + person[tuples]
        true_pairs = _choose2(np.unique(cell, return_counts=True)[1])
        method = "contingency"
    else:
        codes = group_pair_codes(set_codes, tuples.astype(np.int64), n)
        pred_pairs = len(codes)
        true_pairs = int((person[codes // n] == person[codes % n]).sum())
        method = "pairs"
    return {
        **prf(true_pairs, pred_pairs, gold),
        "pred_pairs": pred_pairs,
        "gold_pairs": gold,
        "true_pairs": true_pairs,
        "pred_sets": int(len(unique_sorted(set_codes))),
        "largest_set": int(np.bincount(set_codes).max()) if len(set_codes) else 0,
        "pair_count": method,
    }


def read_gold(folder: Path) -> tuple[dict[str, int], np.ndarray]:
    """Offsets of each table in the tuple numbering, and the gold person of each tuple."""
    gold = pd.read_csv(folder / "gold.csv", usecols=["table", "row", "person"])
    gold = gold.sort_values(["table", "row"], ignore_index=True)
    sizes = gold.groupby("table", sort=True).size()
    offsets = dict(zip(sizes.index, np.r_[0, np.cumsum(sizes.to_numpy())[:-1]].tolist()))
    return offsets, gold["person"].to_numpy(np.int64)


def score_membership(out: Path, offsets: dict[str, int], person: np.ndarray) -> dict[str, Any]:
    m = pd.read_csv(out / "membership.csv", dtype={"table": str})
    off = m["table"].map(offsets)
    if off.isna().any():
        raise ValueError(
            f"membership.csv names unknown tables {sorted(set(m['table'][off.isna()]))}"
        )
    tuples = off.to_numpy(np.int64) + m["row"].to_numpy(np.int64)
    return pair_scores(person, tuples, m["set_id"].to_numpy())


# --------------------------------------------------------------------------- runner
