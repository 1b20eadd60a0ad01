"""CSV files: the encoding detected from the bytes, the delimiter sniffed over a sample of rows,
then parsed by Python's csv module (strict quoting), with errors that name file, row and column.

Encodings: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) decides; without one, text
whose NUL bytes sit in every other byte (every fourth) is UTF-16 (UTF-32); otherwise UTF-8,
and where that fails cp1252 (latin-1 for the five bytes cp1252 leaves undefined), with a warning.

Delimiter: each of ``, ; TAB |`` parses the first :data:`SNIFF_ROWS` records; the one whose
header has several fields and whose rows all have as many wins (more fields first, then the
extension's default: TAB for .tsv, else comma). A quoted comma in a ``;`` file's header is one
field of the ``;`` reading and a quoting error of the comma reading, so the ``;`` reading wins.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from lakefuse.errors import InputError
from lakefuse.io.raw import RawTable, check_headers

log = logging.getLogger("lakefuse")

csv.field_size_limit(1 << 30)  # very long cells are data, not an error

DELIMITERS = (",", ";", "\t", "|")
#: records each candidate delimiter parses to choose among them
SNIFF_ROWS = 200
#: at most so many characters of the file hold those records
SNIFF_CHARS = 1 << 20
#: bytes looked at to tell UTF-16/32 without a byte-order mark
SNIFF_BYTES = 1 << 16

# UTF-32 LE's mark starts with UTF-16 LE's: look for it first
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark, told by where its NUL bytes sit: text that is
    mostly ASCII has a NUL in every other byte (UTF-16) or three in every four (UTF-32)."""
    sample = data[: SNIFF_BYTES - SNIFF_BYTES % 4]
    n = len(sample)
    if n < 4 or sample.count(0) < max(2, 0.05 * n):  # a few stray NULs are no encoding
        return None
    quarter = n / 4
    z = [sample[k::4].count(0) for k in range(4)]
    if n % 4 == 0 and len(data) % 4 == 0:
        if z[2] >= 0.9 * quarter and z[3] >= 0.9 * quarter and z[0] < 0.5 * quarter:
            return "utf-32-le"
        if z[0] >= 0.9 * quarter and z[1] >= 0.9 * quarter and z[3] < 0.5 * quarter:
            return "utf-32-be"
    total = sum(z)
    if len(data) % 2 == 0:
        if z[1] + z[3] >= 0.95 * total:
            return "utf-16-le"
        if z[0] + z[2] >= 0.95 * total:
            return "utf-16-be"
    return None


def _decode_wide(data: bytes) -> tuple[str, str] | None:
    """UTF-16/32 text without a byte-order mark (None where the bytes are not such text)."""
    wide = _wide_encoding(data)
    if wide is None:
        return None
    try:
        text = data.decode(wide)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else (text, wide)


def _decode_strict(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid {encoding.upper()} text (byte {exc.start}: {exc.reason})", file=str(path)
        ) from exc


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """The file's text and the encoding it was read with."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding == "utf-8-sig":
                data = data[len(bom) :]
                break  # UTF-8 (or, where its bytes are not, cp1252) below
            return _decode_strict(data[len(bom) :], encoding, path), encoding
    else:
        wide = _decode_wide(data)
        if wide is not None:
            return wide
        bom = b""
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        if b"\x00" in data:
            raise InputError(
                "not a text file (NUL bytes, and not UTF-8/16/32); save the table as CSV",
                file=str(path),
            ) from exc
        line = data[: exc.start].count(b"\n") + 1
        log.warning(
            "file %s: non-UTF-8 bytes (first at line %d); read as cp1252/latin-1", path, line
        )
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"


def _blank(row: list[str], n: int) -> bool:
    """An empty line is no tuple, nor (where the header has several fields) one of spaces; a
    lone ``""`` is the one empty cell of a one-column row."""
    return not row or (n > 1 and len(row) == 1 and not row[0].strip())


def _score(text: str, delimiter: str) -> tuple[int, float]:
    """(fields of the header, share of the sampled rows with as many fields) for one delimiter;
    a quoting error ends the sample (the full parse reports it), one in the header scores 0."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS:  # whole lines only (a cut inside quotes is an error, below)
        sample = sample[: max(sample.rfind("\n"), sample.rfind("\r")) + 1] or sample
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for row in islice(reader, SNIFF_ROWS):
            if row:
                rows.append(row)
    except csv.Error:
        pass
    if not rows:
        return 0, 0.0
    n = len(rows[0])
    body = rows[1:]
    share = sum(len(r) == n for r in body) / len(body) if body else 1.0
    return n, share


def sniff_delimiter(text: str, default: str = ",") -> str:
    """The delimiter (one of :data:`DELIMITERS`) that reads the sample most consistently."""
    best, best_key = default, None
    for i, d in enumerate(DELIMITERS):
        n, share = _score(text, d)
        key = (n > 1, share, n, d == default, -i)
        if best_key is None or key > best_key:
            best, best_key = d, key
    return best


def _text_array(values: list[str]) -> pa.Array:
    """Cells as text: surrounding whitespace trimmed, empty cells null."""
    arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def read_csv(path: Path) -> RawTable:
    where = {"file": str(path)}
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", **where) from exc
    text, encoding = decode(data, path)
    if not text.strip():
        raise InputError("empty file (no header, no rows)", **where)
    delimiter = sniff_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    data_row = 0
    cells: list[str] = []  # row after row, flat (strings, which the GC need not track)
    headers: list[str] | None = None
    try:
        for first in reader:
            if first:  # empty lines before the header are skipped
                headers = check_headers(first, where)
                break
        if headers is None:
            raise InputError("empty file (no header, no rows)", **where)
        n = len(headers)
        for row in reader:
            if len(row) != n:
                if _blank(row, n):
                    continue
                raise InputError(
                    f"ragged row: {len(row)} fields where the header has {n} "
                    f"(line {reader.line_num}; rows count data rows from 0)",
                    row=data_row,
                    **where,
                )
            cells.extend(row)
            data_row += 1
    except csv.Error as exc:
        raise InputError(
            f"unreadable CSV (line {reader.line_num}): {exc}",
            row=None if headers is None else data_row,
            header=headers is None,
            **where,
        ) from exc
    if not cells:
        raise InputError("empty table (a header but no data rows)", **where)
    table = pa.table({h: _text_array(cells[j :: len(headers)]) for j, h in enumerate(headers)})
    delim = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    log.debug("file %s: %s, %s-separated", path, encoding, delim)
    return RawTable(path.stem, str(path), headers, table, encoding)
