"""The ``tfidf_mutual`` baseline: a strong, simple, label-free matcher to run beside lakefuse.

Each row's text (its non-null values joined by spaces, lower-cased) becomes a TF-IDF vector over
character 2-4-grams (IDF from the lake itself). A pair is kept when each row is the other's best
match among the rows of the *other* tables (among all other rows when the lake has one table)
and their cosine is above ``min_cosine``; the integrable sets are the connected components of the
kept pairs. This is the ten-line zero-label baseline of issue #20.

Cost: the vectoriser is linear in the text; the best matches come from sparse products of row
chunks with the whole matrix, quadratic in the number of rows (a baseline for the bench's task
sizes, not for a million rows).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakefuse.arrays import unique_sorted
from lakefuse.bench.baselines import read_union, write_output
from lakefuse.progress import Tracker

#: the issue's setting; not tuned on the bench
MIN_COSINE = 0.3
CHUNK = 512


def best_matches(texts: list[str], groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the index of its most similar row in another group (-1 if none) and the
    cosine of that match."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    best = np.full(n, -1, dtype=np.int64)
    score = np.zeros(n, dtype=np.float64)
    if n < 2:
        return best, score
    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True).fit_transform(texts)
    xt = x.T.tocsc()
    several = len(unique_sorted(groups)) > 1
    for s in range(0, n, CHUNK):
        sim = (x[s : s + CHUNK] @ xt).toarray()
        rows = np.arange(s, min(s + CHUNK, n))
        if several:
            sim[groups[rows][:, None] == groups[None, :]] = -1.0
        else:
            sim[rows - s, rows] = -1.0
        arg = sim.argmax(axis=1)
        best[rows] = arg
        score[rows] = sim[rows - s, arg]
    best[score <= 0] = -1
    return best, score


def mutual_pairs(best: np.ndarray, score: np.ndarray, min_cosine: float) -> np.ndarray:
    """Pairs (i < j) where each is the other's best match and the cosine exceeds the cut."""
    i = np.flatnonzero(best >= 0)
    j = best[i]
    keep = (best[j] == i) & (i < j) & (score[i] > min_cosine)
    return np.stack([i[keep], j[keep]], axis=1)


def tfidf_mutual_baseline(inputs: Path, out: Path, min_cosine: float = MIN_COSINE) -> None:
    t0 = time.perf_counter()
    tracker = Tracker(quiet=True)
    with tracker.stage("read"):
        union, attributes = read_union(inputs)
    with tracker.stage("judge"):
        values = union[attributes].astype(object).where(union[attributes].notna(), "")
        texts = values.astype(str).agg(" ".join, axis=1).str.strip().tolist()
        _, groups = np.unique(union["table"].astype(str).to_numpy(), return_inverse=True)
        best, score = best_matches(texts, groups)
        pairs = mutual_pairs(best, score, min_cosine)
    with tracker.stage("sets"):
        n = len(union)
        graph = coo_matrix(
            (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])) if len(pairs) else ([], ([], [])),
            shape=(n, n),
        )
        _, label = connected_components(graph, directed=False)
        order = np.argsort(label, kind="stable")
        cuts = np.flatnonzero(np.diff(label[order])) + 1
        sets = [part.tolist() for part in np.split(order, cuts)]
    info = {"tfidf_mutual": {"min_cosine": min_cosine, "pairs": int(len(pairs))}}
    write_output(out, union, attributes, sets, tracker, "tfidf_mutual", t0, info)
