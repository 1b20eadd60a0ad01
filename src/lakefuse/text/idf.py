"""Text evidence for pairs of long rows (product catalogues, bibliographies), IDF from the lake.

Each row's text (:func:`lakefuse.text.rows.row_texts`) is read four ways, each a sparse
matrix with one row per tuple and every weight learnt from the rows themselves (no outside
corpus, no labels):

* **words**: TF-IDF over word tokens (letters and digits; a word every row has weighs
  little, a rare brand or title word much), rows L2-normalised;
* **grams**: TF-IDF over character 2-4-grams inside word boundaries
  (:mod:`lakefuse.text.chargram`), which forgives spelling and word splits;
* **codes**: model numbers and codes (:mod:`lakefuse.text.codes`): a token mixing letters and
  digits, or a long digit string, with its separators dropped (``DSC-W55`` = ``dscw55``) and
  also its stem up to its last digit (``fs105na`` meets ``fs105``); IDF-weighted, so a shared
  rare code is strong evidence, and two rows that both carry codes but share none are counter
  evidence;
* **quantities**: numbers with their units (``64 GB`` = ``64gb``): two rows that state the
  same unit with different numbers disagree.

:meth:`TextEvidence.pairs` gives, for given pairs only, each signal as an array, and
:meth:`TextEvidence.weights` one combined pair weight. Cost: fitting is linear in the text;
the pair signals are row-wise sparse products in chunks, linear in the number of pairs -- no
Python loop per pair, never all pairs of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy import sparse

from lakefuse.text import rows
from lakefuse.text.codes import code_matrix, code_texts, quantity_matrices, without_codeless

#: row texts: Python strings, or an Arrow string array read a batch at a time
Texts = Sequence[str] | pa.Array
#: a column of values: an Arrow string array or a sequence of values (None = null)
Column = pa.Array | Sequence[str | None]

#: pairs per sparse row-wise product (bounds the memory of one step)
CHUNK = 50_000

#: weights of the signals in :meth:`TextEvidence.weights` (tuned on bench tasks: Magellan
#: Abt-Buy, Amazon-Google, DBLP-ACM, Fodors-Zagat, labelled-pair F1 of the one-to-one sets)
WORD_WEIGHT = 0.5
GRAM_WEIGHT = 0.5
CODE_WEIGHT = 0.3
CODE_CONFLICT = 0.1
QUANTITY_CONFLICT = 0.05


@dataclass
class PairText:
    """The signals of a set of pairs (arrays aligned with the pairs)."""

    words: np.ndarray  # IDF-weighted word cosine, [0, 1]
    grams: np.ndarray  # IDF-weighted character-gram cosine, [0, 1]
    codes: np.ndarray  # IDF-weighted cosine of the code sets, [0, 1] (0 where one side has none)
    code_conflict: np.ndarray  # both sides carry codes and share none (bool)
    quantity_conflict: np.ndarray  # units both state with no number in common (count)

    def combined(self) -> np.ndarray:
        """One weight per pair: the cosines, plus shared codes, less the disagreements."""
        return (
            WORD_WEIGHT * self.words
            + GRAM_WEIGHT * self.grams
            + CODE_WEIGHT * self.codes
            - CODE_CONFLICT * self.code_conflict
            - QUANTITY_CONFLICT * np.minimum(self.quantity_conflict, 2)
        )


def _idf_rows(x: sparse.csr_matrix, binary: bool = True) -> sparse.csr_matrix:
    """Rows of ``x`` (counts) weighted by smoothed IDF over the rows and L2-normalised."""
    from sklearn.feature_extraction.text import TfidfTransformer

    if x.shape[0] == 0 or x.shape[1] == 0:
        return x.astype(np.float32).tocsr()
    if binary:
        x = (x > 0).astype(np.float32)
    return TfidfTransformer(sublinear_tf=True).fit_transform(x).astype(np.float32).tocsr()


def _rowdot(
    x: sparse.csr_matrix, y: sparse.csr_matrix, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    out = np.zeros(len(left), dtype=np.float64)
    for s in range(0, len(left), CHUNK):
        a, b = left[s : s + CHUNK], right[s : s + CHUNK]
        out[s : s + CHUNK] = np.asarray(x[a].multiply(y[b]).sum(axis=1)).ravel()
    return out


def _codes_shared(
    codes: sparse.csr_matrix, left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of rows of ``codes`` (rows x codes): the row-wise product of their code
    vectors, and whether both rows carry codes and share none (a conflict)."""
    dot = _rowdot(codes, codes, left, right)
    has = np.asarray(codes.getnnz(axis=1)) > 0
    return dot, has[left] & has[right] & (dot <= 0)


def code_conflicts(columns: Sequence[Column], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per pair of rows ``(left[i], right[i])`` (positions in ``columns``): both rows carry
    codes and share none, the codes read as :class:`TextEvidence` reads them. Only the rows
    of the pairs are read (cost linear in the pairs, not in the rows); a code is dropped when
    more than ``max(MAX_CODE_ROWS, MAX_CODE_SHARE * rows read)`` of them carry it."""
    from sklearn.feature_extraction.text import CountVectorizer

    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    if len(left) == 0:
        return np.zeros(0, dtype=bool)
    ids, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    take = pa.array(ids)
    sub = [rows.as_strings(c).take(take) for c in columns]
    codes = code_matrix(_readable(without_codeless(code_texts(sub, len(ids)))), CountVectorizer)
    return _codes_shared(codes, inverse[: len(left)], inverse[len(left) :])[1]


def _readable(texts: Texts) -> Sequence[str] | rows.ArrowStrings:
    return rows.ArrowStrings(texts) if isinstance(texts, pa.Array | pa.ChunkedArray) else texts


@dataclass
class TextEvidence:
    """The four views of every row's text (see the module)."""

    words: sparse.csr_matrix
    grams: sparse.csr_matrix
    codes: sparse.csr_matrix
    units: sparse.csr_matrix  # row x unit, 1 where the row states a number with that unit
    quantities: sparse.csr_matrix  # row x (unit, number), 1 where the row states it

    @classmethod
    def of(cls, texts: Texts, codes_from: Texts | None = None) -> TextEvidence:
        """The views of ``texts`` (one per row: Python strings or an Arrow string array, read
        a batch at a time); codes and quantities are read from ``codes_from`` where given
        (:func:`lakefuse.text.codes.code_texts`), else from ``texts``."""
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        texts = _readable(texts)
        n = len(texts)
        empty = sparse.csr_matrix((n, 0), dtype=np.float32)
        try:
            words = TfidfVectorizer(
                token_pattern=r"(?u)\b\w+\b", sublinear_tf=True, dtype=np.float32
            ).fit_transform(texts)
            grams = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 4), dtype=np.float32
            ).fit_transform(texts)
        except ValueError:  # no word in any text
            return cls(empty, empty, empty, empty, empty)
        codes_from = texts if codes_from is None else _readable(codes_from)
        codes = _idf_rows(code_matrix(codes_from, CountVectorizer))
        units, quantities = quantity_matrices(codes_from, CountVectorizer)
        return cls(words.tocsr(), grams.tocsr(), codes, units, quantities)

    def pairs(self, left: np.ndarray, right: np.ndarray) -> PairText:
        """The signals of the pairs ``(left[i], right[i])`` (row indices)."""
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        zero = np.zeros(len(left))
        if len(left) == 0 or self.words.shape[1] == 0:
            return PairText(zero, zero, zero, zero.astype(bool), zero)
        codes, conflict = _codes_shared(self.codes, left, right)
        shared_units = _rowdot(self.units, self.units, left, right)
        shared_quantities = _rowdot(self.quantities, self.quantities, left, right)
        return PairText(
            np.clip(_rowdot(self.words, self.words, left, right), 0, 1),
            np.clip(_rowdot(self.grams, self.grams, left, right), 0, 1),
            np.clip(codes, 0, 1),
            conflict,
            np.maximum(shared_units - shared_quantities, 0),
        )

    def weights(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """One text weight per pair (:meth:`PairText.combined`)."""
        return self.pairs(left, right).combined()


#: weight of :func:`number_agreement` in a pair's weight (tuned on bench tasks)
NUMBER_WEIGHT = 0.1
#: two numbers agree when they differ by at most this share of the larger (a price in two
#: shops, a year); the agreement falls to 0 at twice this share
NUMBER_TOLERANCE = 0.1


def number_columns(columns: Sequence[Column]) -> list[np.ndarray]:
    """Each column (Arrow strings or a sequence of values) as floats (NaN where a value is null
    or not a plain number), each distinct value parsed once; columns with no number left
    out."""
    from lakefuse.text.numbers import as_number

    return rows.number_columns(columns, as_number)


def number_agreement(
    numbers: Sequence[np.ndarray], left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Per pair, the mean over the number columns both tuples fill of how closely their numbers
    agree (1 within ``NUMBER_TOLERANCE`` of the larger, 0 from twice that), 0 where they
    share none."""
    total = np.zeros(len(left))
    count = np.zeros(len(left))
    for x in numbers:
        a, b = x[left], x[right]
        both = np.isfinite(a) & np.isfinite(b)
        big = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(both & (big > 0), np.abs(a - b) / np.where(big > 0, big, 1), 0.0)
        close = np.clip(2.0 - rel / NUMBER_TOLERANCE, 0.0, 1.0)
        total += np.where(both, close, 0.0)
        count += both
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


@dataclass
class PairWeigher:
    """The text weight of pairs of rows (:func:`pair_weights`), the rows' views built once:
    each pair's weight depends on its two rows only, so pairs may be weighed in any groups."""

    evidence: TextEvidence
    numbers: list[np.ndarray]

    @classmethod
    def of(cls, texts: Texts, columns: Sequence[Column]) -> PairWeigher:
        return cls(TextEvidence.of(texts, code_texts(columns, len(texts))), number_columns(columns))

    @classmethod
    def of_columns(cls, columns: Sequence[Column], n_rows: int) -> PairWeigher:
        """From the columns alone, each row's text their values joined
        (:func:`lakefuse.text.rows.row_texts`)."""
        return cls.of(rows.row_texts(columns, n_rows), columns)

    def __call__(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        weight = self.evidence.weights(left, right)
        return weight + NUMBER_WEIGHT * number_agreement(self.numbers, left, right)


def pair_weights(
    texts: Texts,
    columns: Sequence[Column],
    left: np.ndarray,
    right: np.ndarray,
) -> np.ndarray:
    """The text weight of each pair (:meth:`TextEvidence.weights` of the row ``texts``, codes
    read from the ``columns``' values that are not plain numbers or ids) plus ``NUMBER_WEIGHT``
    times how closely the numbers of their ``columns`` agree."""
    return PairWeigher.of(texts, columns)(left, right)
