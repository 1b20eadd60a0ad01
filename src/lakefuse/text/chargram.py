"""IDF-weighted character-gram cosine between whole rows, for given pairs only.

Each row's text (its values joined by spaces, lower-cased) becomes a TF-IDF vector over
character 2-4-grams inside word boundaries (scikit-learn's ``char_wb`` analyser), with the IDF
learnt from the rows themselves (the lake, no outside corpus): a gram every row has weighs
little, a rare model number or street name much. Rows are L2-normalised, so the cosine of a
pair is the dot product of its two rows.

Cost: fitting is linear in the text; the cosines are computed for the given pairs only (row-wise
sparse products in chunks), linear in the number of pairs -- never all pairs of rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: pairs per sparse row-wise product (bounds the memory of one step)
CHUNK = 50_000


def pair_cosines(
    texts: Sequence[str], left: np.ndarray, right: np.ndarray, ngrams: tuple[int, int] = (2, 4)
) -> np.ndarray:
    """Cosine of the TF-IDF character-gram vectors of ``texts[left[i]]`` and
    ``texts[right[i]]``, for every ``i`` (float64 in [0, 1]; 0 for an empty text)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    out = np.zeros(len(left), dtype=np.float64)
    if len(left) == 0 or not any(texts):
        return out
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, lowercase=True, dtype=np.float32)
    x = vec.fit_transform(texts).tocsr()
    for s in range(0, len(left), CHUNK):
        a, b = left[s : s + CHUNK], right[s : s + CHUNK]
        out[s : s + CHUNK] = np.asarray(x[a].multiply(x[b]).sum(axis=1)).ravel()
    return np.clip(out, 0.0, 1.0)
