"""Demonstrations for ICLCR, drawn from the union itself.

*Compression*: of the other attributes, keep those whose (chance-adjusted) mutual information
with the conflicted attribute is at least ``mi_threshold``; a key-like attribute whose values are
all distinct carries no adjusted information and is dropped.
*Selection*: among rows whose value for the attribute is known and unconflicted, the ``k`` rows
nearest to the merged tuple, with each attribute weighted by its mutual information (exact match
counts fully, shared words partly); or ``k`` random such rows (ablation).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from lakefuse.arrays import unique_sorted
from lakefuse.resolve.values import fold
from lakefuse.text.rows import ArrowStrings, Lookup, dictionary_codes
from lakefuse.types import UnionTable

_WORD = re.compile(r"\w+")
MI_SAMPLE = 5000
#: a word shared by more than this fraction of rows is too common to count as evidence
COMMON_WORD = 0.2


def attribute_weights(
    values: Mapping[str, list[str | None]] | UnionTable,
    target: str,
    attributes: Sequence[str],
    seed: int = 0,
) -> dict[str, float]:
    """Adjusted mutual information between ``target`` and each other attribute, on at most
    ``MI_SAMPLE`` rows that carry both (the same rows whether ``values`` is the union or its
    values as lists)."""
    column = _column_reader(values)
    tcodes, tdict = column(target)
    out: dict[str, float] = {}
    rng = random.Random(seed)
    for b in attributes:
        if b == target:
            continue
        bcodes, bdict = column(b)
        rows = np.flatnonzero((tcodes >= 0) & (bcodes >= 0))
        if len(rows) < 3:
            out[b] = 0.0
            continue
        if len(rows) > MI_SAMPLE:
            # random.sample picks positions by the population's length only: the same rows
            # as sampling the list of row numbers
            rows = rows[rng.sample(range(len(rows)), MI_SAMPLE)]
        x = _folded(bcodes[rows], bdict)
        y = _folded(tcodes[rows], tdict)
        out[b] = max(0.0, adjusted_mutual_info(y, x))
    return out


def adjusted_mutual_info(labels_true: Sequence[str], labels_pred: Sequence[str]) -> float:
    """scikit-learn's ``adjusted_mutual_info_score`` (arithmetic mean), with the expected
    mutual information summed once per distinct pair of cluster sizes instead of once per pair
    of clusters: the same value up to floating-point rounding (about 1e-15), hundreds of times
    faster when the labels have thousands of distinct values."""
    from sklearn.metrics import mutual_info_score
    from sklearn.metrics.cluster import contingency_matrix

    y, x = np.asarray(labels_true), np.asarray(labels_pred)
    n_classes, n_clusters = len(unique_sorted(y)), len(unique_sorted(x))
    if n_classes == n_clusters == 1 or n_classes == n_clusters == 0:
        return 1.0
    if n_classes == 1 or n_clusters == 1:
        return 0.0
    contingency = contingency_matrix(y, x, sparse=True)
    mi = mutual_info_score(y, x, contingency=contingency)
    emi = _expected_mutual_information(contingency, len(y))
    normalizer = float(np.mean([_entropy(y), _entropy(x)]))
    eps = np.finfo("float64").eps
    denominator = normalizer - emi
    denominator = min(denominator, -eps) if denominator < 0 else max(denominator, eps)
    numerator = mi - emi
    numerator = min(numerator, -eps) if numerator < 0 else max(numerator, eps)
    return float(numerator / denominator)


def _entropy(labels: np.ndarray) -> float:
    if len(labels) == 0:
        return 1.0
    pi = np.unique(labels, return_counts=True)[1].astype(np.float64)
    if pi.size == 1:
        return 0.0
    pi_sum = np.sum(pi)
    return float(-np.sum((pi / pi_sum) * (np.log(pi) - math.log(pi_sum))))


def _expected_mutual_information(contingency: Any, n: int) -> float:
    """The expected mutual information of two labelings with the contingency's row and
    column sums (Vinh et al. 2010), as scikit-learn sums it, grouped by equal sums."""
    from scipy.special import gammaln

    a = np.ravel(contingency.sum(axis=1)).astype(np.int64)
    b = np.ravel(contingency.sum(axis=0)).astype(np.int64)
    if a.size == 1 or b.size == 1:
        return 0.0
    ua, ca = np.unique(a, return_counts=True)
    ub, cb = np.unique(b, return_counts=True)
    u = np.repeat(ua, len(ub))
    v = np.tile(ub, len(ua))
    mult = np.repeat(ca, len(ub)).astype(np.float64) * np.tile(cb, len(ua))
    start = np.maximum(1, u - n + v)
    length = np.maximum(np.minimum(u, v) + 1 - start, 0)
    pair = np.repeat(np.arange(len(u)), length)
    offset = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    nij = (start[pair] + offset).astype(np.float64)
    uu, vv = u[pair].astype(np.float64), v[pair].astype(np.float64)
    term1 = nij / n
    term2 = (math.log(n) + np.log(nij)) - np.log(uu) - np.log(vv)
    gln = (
        gammaln(uu + 1)
        + gammaln(vv + 1)
        + gammaln(n - uu + 1)
        + gammaln(n - vv + 1)
        - (gammaln(nij + 1) + gammaln(n + 1))
        - gammaln(uu - nij + 1)
        - gammaln(vv - nij + 1)
        - gammaln(n - uu - vv + nij + 1)
    )
    terms = term1 * term2 * np.exp(gln)
    return float(np.sum(np.bincount(pair, weights=terms, minlength=len(u)) * mult))


def _folded(codes: np.ndarray, dictionary: pa.Array) -> list[str]:
    """:func:`fold` of the values with these codes, each distinct value folded once."""
    uniq, inv = np.unique(codes, return_inverse=True)
    folded = [fold(v) for v in dictionary.take(pa.array(uniq)).to_pylist()]
    return [folded[i] for i in inv.tolist()]


def _column_reader(
    values: Mapping[str, list[str | None]] | UnionTable,
) -> Callable[[str], tuple[np.ndarray, pa.Array]]:
    """Dictionary codes (-1 = null) and distinct values of a column, from the union or from
    lists of values."""
    if isinstance(values, UnionTable):
        return values.codes

    def read(name: str) -> tuple[np.ndarray, pa.Array]:
        enc = pa.array(values[name], type=pa.string()).dictionary_encode()
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, enc.dictionary

    return read


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
    """Rows usable as demonstrations for one attribute, with inverted indexes for kNN.

    Built from the union's dictionary codes (or from lists of values, for tests): rows are
    deduplicated on their codes, each distinct value is folded and split into words once, and
    the indexes map a folded value or a word to the (ascending) positions of its rows."""

    def __init__(
        self,
        values: Mapping[str, list[str | None]] | UnionTable,
        target: str,
        shown: dict[str, float],
        exclude: Iterable[int],
        seed: int = 0,
    ) -> None:
        column = _column_reader(values)
        self.target = target
        self.shown = shown
        self.seed = seed
        self.columns = {a: column(a) for a in dict.fromkeys([target, *shown])}
        tcodes = self.columns[target][0]
        usable = tcodes >= 0
        excluded = np.fromiter(exclude, dtype=np.int64)
        usable[excluded[(excluded >= 0) & (excluded < len(usable))]] = False
        cand = np.flatnonzero(usable)
        # the same entity from several tables: one demonstration (first row of each signature)
        sig = np.column_stack([self.columns[a][0][cand] for a in [target, *shown]])
        first = np.unique(sig, axis=0, return_index=True)[1] if len(cand) else cand
        self.rows = cand[np.sort(first)]
        self.exact: dict[str, RowIndex] = {}
        self.words: dict[str, RowIndex] = {}
        for a in shown:
            self.exact[a], self.words[a] = self._index(*self.columns[a])

    def _index(self, codes: np.ndarray, dictionary: pa.Array) -> tuple[RowIndex, RowIndex]:
        """Folded value -> row positions, and word -> row positions (words on more than
        ``COMMON_WORD`` of the rows left out). Each distinct value is folded and split into
        words once, a batch at a time; forms and words are held by Arrow."""
        c = codes[self.rows]
        js = np.flatnonzero(c >= 0)
        uniq, inv = np.unique(c[js], return_inverse=True)
        used = ArrowStrings(dictionary.take(pa.array(uniq, pa.int64())))
        of_value, forms = dictionary_codes(used.mapped(fold, pa.string()))
        form = of_value[inv] if len(js) else np.zeros(0, dtype=np.int64)
        exact = RowIndex(forms, form, js)
        # each form's words: (form, word) pairs, words coded by Arrow
        pair_form: list[np.ndarray] = []
        pair_word: list[pa.Array] = []
        for start, batch in ArrowStrings(forms).batches():
            ws = [sorted(set(_WORD.findall(f))) for f in batch]
            pair_form.append(np.repeat(np.arange(start, start + len(batch)), [len(w) for w in ws]))
            pair_word.append(pa.array([w for x in ws for w in x], pa.string()))
        flat_form = np.concatenate(pair_form) if pair_form else np.zeros(0, np.int64)
        flat_word, vocab = dictionary_codes(pa.chunked_array(pair_word, pa.string()))
        # per row, the words of its form: the form's (form, word) pairs, rows in order
        by_form = np.argsort(flat_form, kind="stable")
        n_words = np.bincount(flat_form, minlength=len(forms))
        starts = np.concatenate([[0], np.cumsum(n_words)])[:-1]
        per = n_words[form] if len(form) else np.zeros(0, dtype=np.int64)
        offset = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
        word = flat_word[by_form[np.repeat(starts[form], per) + offset]] if len(offset) else offset
        limit = max(COMMON_WORD * len(self.rows), 5)
        return exact, RowIndex(vocab, word, np.repeat(js, per), limit=limit)

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
            if js is not None:
                score[js] += w
                continue
            toks = set(_WORD.findall(f))
            for t in toks:
                js = self.words[a].get(t)
                if js is not None:
                    score[js] += 0.5 * w / len(toks)
        # ties broken at random so that equally near rows are not always the first ones
        order = np.lexsort((rng.random(n), -score))[: min(k, n)]
        return [self._demo(int(self.rows[j])) for j in order[::-1]]

    def _value(self, attribute: str, i: int) -> str | None:
        codes, dictionary = self.columns[attribute]
        return dictionary[int(codes[i])].as_py() if codes[i] >= 0 else None

    def _demo(self, i: int) -> Demo:
        shown = {a: v for a in self.shown if (v := self._value(a, i)) is not None}
        return Demo(shown, self._value(self.target, i))  # type: ignore[arg-type]


class RowIndex:
    """Strings -> the (ascending) row positions that carry them, held by Arrow and numpy:
    ``names[k]`` is carried by the rows ``items[i]`` where ``keys[i] == k``; a string on
    more than ``limit`` rows is left out."""

    def __init__(
        self, names: pa.Array, keys: np.ndarray, items: np.ndarray, limit: float | None = None
    ) -> None:
        order = np.argsort(keys, kind="stable")
        self.items = items[order]
        count = np.bincount(keys, minlength=len(names)) if len(keys) else np.zeros(len(names))
        self.starts = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
        kept = np.flatnonzero((count > 0) & (count <= (limit if limit is not None else np.inf)))
        self.lookup = Lookup(names.take(pa.array(kept, pa.int64())), kept)

    def get(self, name: str) -> np.ndarray | None:
        k = self.lookup.get(name)
        return None if k is None else self.items[self.starts[k] : self.starts[k + 1]]
