"""Model numbers, codes and numbers with units in free text, by their shape (no word lists).

* A **code** is a token (letters, digits and the separators ``- / . _``) that, with its
  separators dropped, mixes letters and digits in at least three characters (``DSC-W55`` ->
  ``dscw55``, ``ps-lx350h``), or is a digit string of at least four digits written without a
  decimal point (a part number, a year). A token shaped like a number with a unit
  (``64gb``, ``15.6in``) is a quantity, not a code; a decimal number (a price) is neither. Each
  code also yields its stem up to its last digit (``fs105na`` -> ``fs105``), so a model and its
  region or colour variant suffix meet.
* A **quantity** is a number with a short unit word after it, written together or apart
  (``64 GB``, ``64gb``, ``200 watts``); the number is kept as written less thousands commas
  (``15,6`` and ``15.6`` both read ``15.6``).

The matrices are built with scikit-learn's vectorisers (one pass over the texts, linear in
their length); codes that many rows share (over ``max(MAX_CODE_ROWS, MAX_CODE_SHARE * rows)``)
are dropped: they name a product line or a standard (``10/100``), not one item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import sparse

_TOKEN = re.compile(r"[0-9a-z][0-9a-z\-/._]*[0-9a-z]|[0-9a-z]")
_SEP = re.compile(r"[\-/._]")
_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)+$")
_QUANTITY_TOKEN = re.compile(r"^\d+(?:[.,]\d+)?[a-z]{1,5}$")
_QUANTITY = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s?-?([a-z]{1,5})\b")
_LAST_DIGIT = re.compile(r"^(.*\d)[a-z]+$")
_NUMBER_CELL = re.compile(r"^[\d\s\-/.,()+:#]+$")

#: a code on more rows than this (or this share of them) is a line or a standard, not an item
MAX_CODE_ROWS = 10
MAX_CODE_SHARE = 0.01
#: a value of digits and separators only is read as a code when it has this many digits (a
#: phone number, a long id), not when shorter (a postcode, a house number, a small count);
#: tuned on bench tasks
MIN_ID_DIGITS = 8


def codes_of(text: str) -> list[str]:
    """The codes of one text, separators dropped, each with its stem (see the module)."""
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if _DECIMAL.match(tok) and not tok.isdigit():
            continue  # a decimal number: a price or a size
        if _QUANTITY_TOKEN.match(tok):
            continue  # a number with its unit
        code = _SEP.sub("", tok)
        has_digit = any(c.isdigit() for c in code)
        has_alpha = any(c.isalpha() for c in code)
        if has_digit and has_alpha and len(code) >= 3:
            out.append(code)
            stem = _LAST_DIGIT.match(code)
            if stem and len(stem.group(1)) >= 3 and not stem.group(1).isdigit():
                out.append(stem.group(1))
        elif code.isdigit() and len(code) >= 4 and (tok.isdigit() or "-" in tok):
            out.append(code)
    return out


def quantities_of(text: str) -> list[tuple[str, str]]:
    """(unit, number) pairs of one text."""
    return [
        (unit, num.replace(",", ".").rstrip("0").rstrip(".") if "." in num or "," in num else num)
        for num, unit in _QUANTITY.findall(text.lower())
    ]


def code_value(value: str) -> bool:
    """Whether codes are read from a value: not from one made only of digits and separators
    (a postcode, a phone number, a date, an id: a value of its own column, which the judge
    compares as such) unless it has ``MIN_ID_DIGITS`` digits; a model number inside a title
    is read."""
    return not _NUMBER_CELL.match(value) or sum(c.isdigit() for c in value) >= MIN_ID_DIGITS


#: what a text holding a code must hold (a necessary condition of :func:`codes_of`, read by
#: Arrow for all rows at once, ignoring case): a letter and a digit side by side in a token,
#: separators apart; four digits in a row; a digit before a hyphen. Or a character outside
#: ASCII, whose lowercase :func:`codes_of` may read differently.
MAY_HOLD_CODE = r"[a-z][\-/._]*[0-9]|[0-9][\-/._]*[a-z]|[0-9]{4}|[0-9][\-/._]*-|[^\x00-\x7f]"


def code_texts(columns: Sequence[Any], n_rows: int) -> pa.Array:
    """One text per row to read codes from: the row's values that :func:`code_value` keeps
    (columns: Arrow string arrays or sequences of values; an Arrow string array)."""
    from lakefuse.text.rows import row_texts

    return row_texts(columns, n_rows, keep=code_value)


def without_codeless(texts: pa.Array) -> pa.Array:
    """``texts`` with each text that cannot hold a code (:data:`MAY_HOLD_CODE`) emptied: the
    same codes, read without a Python call for most rows of a register of people (not for
    quantities, which a number and a unit a space apart make)."""
    import pyarrow.compute as pc

    may = pc.match_substring_regex(texts, MAY_HOLD_CODE, ignore_case=True)
    return pc.if_else(pc.fill_null(may, False), texts, "")


def code_matrix(texts: Sequence[str], vectorizer: Callable[..., Any]) -> sparse.csr_matrix:
    """Rows x codes, 1 where the row carries the code; codes on too many rows dropped
    (``vectorizer``: scikit-learn's ``CountVectorizer`` class)."""
    n = len(texts)
    try:
        x = vectorizer(analyzer=codes_of, binary=True, dtype=np.float32).fit_transform(texts)
    except ValueError:  # no code at all
        return sparse.csr_matrix((n, 0), dtype=np.float32)
    x = x.tocsc()
    df = np.diff(x.indptr)
    keep = np.flatnonzero(df <= max(MAX_CODE_ROWS, MAX_CODE_SHARE * n))
    return x[:, keep].tocsr()


def quantity_matrices(
    texts: Sequence[str], vectorizer: Callable[..., Any]
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Rows x units and rows x (unit, number), 1 where the row states it."""
    n = len(texts)
    empty = sparse.csr_matrix((n, 0), dtype=np.float32)
    try:
        q = vectorizer(
            analyzer=lambda t: [f"{u} {x}" for u, x in quantities_of(t)],
            binary=True,
            dtype=np.float32,
        )
        quantities = q.fit_transform(texts).tocsr()
    except ValueError:
        return empty, empty
    names = q.get_feature_names_out()
    units, unit_of = np.unique([s.split(" ", 1)[0] for s in names], return_inverse=True)
    to_unit = sparse.csr_matrix(
        (np.ones(len(names), dtype=np.float32), (np.arange(len(names)), unit_of)),
        shape=(len(names), len(units)),
    )
    per_unit = (quantities @ to_unit).tocsr()
    per_unit.data[:] = 1.0
    return per_unit, quantities
