"""Demonstrations for ICLCR, drawn from the union itself.

*Compression*: of the other attributes, keep those whose (chance-adjusted) mutual information
with the conflicted attribute is at least ``mi_threshold``; a key-like attribute whose values are
all distinct carries no adjusted information and is dropped.
*Selection*: among rows whose value for the attribute is known and unconflicted, the ``k`` rows
nearest to the merged tuple, with each attribute weighted by its mutual information (exact match
counts fully, shared words partly); or ``k`` random such rows (ablation).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lakefuse.resolve.values import fold

_WORD = re.compile(r"\w+")
MI_SAMPLE = 5000
#: a word shared by more than this fraction of rows is too common to count as evidence
COMMON_WORD = 0.2


def attribute_weights(
    values: dict[str, list[str | None]],
    target: str,
    attributes: Sequence[str],
    seed: int = 0,
) -> dict[str, float]:
    """Adjusted mutual information between ``target`` and each other attribute."""
    from sklearn.metrics import adjusted_mutual_info_score

    tcol = values[target]
    out: dict[str, float] = {}
    rng = random.Random(seed)
    for b in attributes:
        if b == target:
            continue
        bcol = values[b]
        rows = [i for i in range(len(tcol)) if tcol[i] is not None and bcol[i] is not None]
        if len(rows) < 3:
            out[b] = 0.0
            continue
        if len(rows) > MI_SAMPLE:
            rows = rng.sample(rows, MI_SAMPLE)
        x = [fold(bcol[i]) for i in rows]  # type: ignore[arg-type]
        y = [fold(tcol[i]) for i in rows]  # type: ignore[arg-type]
        out[b] = max(0.0, float(adjusted_mutual_info_score(y, x)))
    return out


def compress(
    weights: dict[str, float], threshold: float, max_attributes: int | None = None
) -> dict[str, float]:
    """Attributes at or above the threshold, at most ``max_attributes`` of the highest (the
    single best one if none reaches the threshold, and it is > 0)."""
    ranked = sorted(weights, key=lambda a: -weights[a])
    kept = {a: weights[a] for a in ranked if weights[a] >= threshold and weights[a] > 0}
    if max_attributes is not None and len(kept) > max_attributes:
        kept = {a: kept[a] for a in ranked[:max_attributes]}
    if not kept and weights:
        best = max(weights, key=lambda a: weights[a])
        if weights[best] > 0:
            kept = {best: weights[best]}
    return kept


@dataclass
class Demo:
    values: dict[str, str]  # shown attributes -> value
    answer: str


class DemoIndex:
    """Rows usable as demonstrations for one attribute, with inverted indexes for kNN."""

    def __init__(
        self,
        values: dict[str, list[str | None]],
        target: str,
        shown: dict[str, float],
        exclude: Iterable[int],
        seed: int = 0,
    ) -> None:
        self.values = values
        self.target = target
        self.shown = shown
        self.seed = seed
        excluded = set(exclude)
        tcol = values[target]
        seen: set[tuple] = set()
        rows: list[int] = []
        for i, v in enumerate(tcol):
            if v is None or i in excluded:
                continue
            sig = (v, *(values[a][i] for a in shown))
            if sig in seen:  # the same entity from several tables: one demonstration
                continue
            seen.add(sig)
            rows.append(i)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.exact: dict[str, dict[str, list[int]]] = {}
        self.words: dict[str, dict[str, list[int]]] = {}
        for a in shown:
            ex: dict[str, list[int]] = defaultdict(list)
            wd: dict[str, list[int]] = defaultdict(list)
            col = values[a]
            for j, i in enumerate(rows):
                v = col[i]
                if v is None:
                    continue
                f = fold(v)
                ex[f].append(j)
                for w in set(_WORD.findall(f)):
                    wd[w].append(j)
            limit = max(COMMON_WORD * len(rows), 5)
            self.exact[a] = dict(ex)
            self.words[a] = {w: js for w, js in wd.items() if len(js) <= limit}

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, known: dict[str, str], k: int, how: str = "knn", salt: int = 0) -> list[Demo]:
        """Up to ``k`` demonstrations, least similar first (the nearest sits next to the query)."""
        n = len(self.rows)
        if k <= 0 or n == 0:
            return []
        rng = np.random.default_rng([self.seed, salt])
        if how == "random":
            picks = rng.choice(n, size=min(k, n), replace=False)
            return [self._demo(int(self.rows[j])) for j in picks]
        if how != "knn":
            raise ValueError(f"unknown demonstration selection {how!r} (knn, random)")
        score = np.zeros(n)
        for a, w in self.shown.items():
            v = known.get(a)
            if v is None:
                continue
            f = fold(v)
            js = self.exact[a].get(f)
            if js:
                score[js] += w
                continue
            toks = set(_WORD.findall(f))
            for t in toks:
                js = self.words[a].get(t)
                if js:
                    score[js] += 0.5 * w / len(toks)
        # ties broken at random so that equally near rows are not always the first ones
        order = np.lexsort((rng.random(n), -score))[: min(k, n)]
        return [self._demo(int(self.rows[j])) for j in order[::-1]]

    def _demo(self, i: int) -> Demo:
        shown = {a: self.values[a][i] for a in self.shown if self.values[a][i] is not None}
        return Demo(shown, self.values[self.target][i])  # type: ignore[arg-type]
