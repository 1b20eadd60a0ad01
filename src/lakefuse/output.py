"""The output folder: written whole beside OUT and swapped in at the end; CSVs safe to open in
a spreadsheet.

A run writes every file (the DuckDB database and a trained judge's ``model/`` included) into a
fresh folder ``.OUTNAME.lakefuse-tmp-<pid>-<hex>`` beside OUT, so that a rename is atomic, and
only when everything is written replaces OUT with it. A failed or interrupted run removes that
folder and leaves OUT as it was; no file in OUT ever comes from another run.

OUT may be a new path, an empty folder or a folder holding only names that lakefuse writes (an
earlier output). A folder holding anything else is refused, never deleted: lakefuse replaces
OUT as a whole, so it would remove the user's files with it. So is a run whose inputs, model
or columns file lie inside OUT. A symlink OUT stays: the folder it points to is replaced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakefuse.errors import InputError

log = logging.getLogger("lakefuse")

#: names that lakefuse writes into OUT (an older version's staging folder included)
OUTPUT_NAMES = frozenset(
    {
        "integrated.csv",
        "integrated.parquet",
        "membership.csv",
        "pairs.parquet",
        "provenance.parquet",
        "run.json",
        "lakefuse.duckdb",
        "lakefuse.duckdb.wal",
        "lakefuse.duckdb.tmp",
        "model",
        ".lakefuse-partial",
    }
)
#: a cell a spreadsheet would evaluate: OWASP's list of formula triggers
_FORMULA = r"^[=+\-@\t\r]"
#: ... except a plain number such as -5, +3.2 or -1e5, which a spreadsheet reads as a number
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def escape_formulas(table: pa.Table) -> tuple[pa.Table, int]:
    """``table`` with every text cell (and column name) that starts with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return prefixed by ``'``, unless it is a plain number; and the
    number of cells changed."""
    columns: list[pa.ChunkedArray] = []
    changed = 0
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            hit = pc.and_not(
                pc.match_substring_regex(col, _FORMULA), pc.match_substring_regex(col, _NUMBER)
            )
            hit = pc.fill_null(hit, False)
            n = pc.sum(hit).as_py() or 0
            if n:
                col = pc.if_else(hit, pc.binary_join_element_wise("'", col, ""), col)
                changed += n
        columns.append(col)
    names = [escape_text(c) for c in table.column_names]
    return pa.table(columns, names=names), changed


def escape_text(value: str) -> str:
    """One value escaped as ``escape_formulas`` escapes cells."""
    if re.match(_FORMULA, value) and not re.fullmatch(_NUMBER, value):
        return "'" + value
    return value


def write_tables(
    folder: Path,
    *,
    integrated: pa.Table,
    membership: pa.Table,
    pairs: pa.Table | None,
    provenance: pa.Table,
    csv_escape: bool,
) -> dict[str, Any]:
    """The contract's data files; returns what run.json records about the CSVs. Parquet keeps
    the raw values; only the CSVs, meant for spreadsheets, are escaped."""
    escaped: dict[str, int] = {}
    for name, table in (("integrated.csv", integrated), ("membership.csv", membership)):
        if csv_escape:
            table, escaped[name] = escape_formulas(table)
        # RFC 4180 line ends: Python's csv quotes a field holding any character of the line
        # terminator, so a lone carriage return in a cell is quoted too (with "\n" it is not,
        # and the cell would split its row)
        write_csv(table, folder / name)
    pq.write_table(integrated, folder / "integrated.parquet")
    if pairs is not None:  # else written while judging (lakefuse.judged)
        pq.write_table(pairs, folder / "pairs.parquet")
    pq.write_table(provenance, folder / "provenance.parquet")
    return {"formula_escape": csv_escape, "escaped_cells": escaped}


#: rows turned into Python objects (pandas) at a time when a CSV is written
CSV_ROWS = 65_536


def write_csv(table: pa.Table, path: Path) -> None:
    """``table`` as CSV the way pandas writes it (``\r\n`` line ends), a slice of rows at a
    time: the table is never all in Python objects."""
    for i, field in enumerate(table.schema):  # as pandas reads a whole table: integers
        if pa.types.is_integer(field.type) and table.column(i).null_count:  # with nulls as
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))  # floats
    with open(path, "w", newline="", encoding="utf-8") as f:
        for start in range(0, max(table.num_rows, 1), CSV_ROWS):
            part = table.slice(start, CSV_ROWS).to_pandas()
            part.to_csv(f, index=False, header=start == 0, lineterminator="\r\n")


def write_run_json(folder: Path, run: dict[str, Any]) -> None:
    (folder / "run.json").write_text(json.dumps(run, indent=2, default=str))


class OutputFolder:
    """OUT, checked before any work; ``tmp`` is where the run writes, ``commit`` swaps it in,
    ``discard`` removes it (and any parent folders made for it)."""

    def __init__(self, out: str | Path, protected: Iterable[tuple[str, str | Path]] = ()) -> None:
        self.shown = str(out)
        self.committed = False
        self._made: list[Path] = []
        try:
            self.target = Path(out).resolve()
            self.parent = self.target.parent
            if self.target == self.parent:
                self._fail("is the root of the file system")
            self._check_protected(protected)
            if self.parent.is_dir():
                self._clean_stale()
            self._check_target()
            self._make_parent()
            self.tmp = self._sibling("tmp")
            self.tmp.mkdir()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
            self._remove_parents()
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self._fail(f"cannot be created ({why})")

    def _fail(self, why: str) -> NoReturn:
        raise InputError(f"output folder {self.shown} {why}")

    def _check_protected(self, protected: Iterable[tuple[str, str | Path]]) -> None:
        for what, path in protected:
            p = Path(path).resolve()
            if p == self.target or self.target in p.parents:
                self._fail(
                    f"holds the {what} {path}, and a run replaces the whole folder: "
                    "move it out or write to another folder"
                )

    def _check_target(self) -> None:
        if not self.target.exists():
            return
        if not self.target.is_dir():
            self._fail("is an existing file, not a folder")
        if not os.access(self.target, os.W_OK | os.X_OK):
            self._fail("is not writable")
        foreign = sorted(e.name for e in self.target.iterdir() if e.name not in OUTPUT_NAMES)
        if foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            self._fail(
                f"holds files that lakefuse did not write ({', '.join(foreign[:3])}{more}); "
                "a run replaces the whole folder: name a new or empty folder"
            )

    def _make_parent(self) -> None:
        missing = []
        p = self.parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        if not p.is_dir():
            self._fail(f"cannot be created: {p} is not a folder")
        if not os.access(p, os.W_OK | os.X_OK):
            self._fail(f"cannot be created: {p} is not writable")
        for d in reversed(missing):
            d.mkdir()
            self._made.append(d)

    def _sibling(self, kind: str) -> Path:
        name = f".{self.target.name[:100]}.lakefuse-{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        return self.parent / name

    def _clean_stale(self) -> None:
        """Folders that a killed run (SIGKILL, power cut) left beside OUT: removed once their
        process is gone; an old OUT set aside just before the swap goes back in place."""
        pattern = re.compile(
            rf"\.{re.escape(self.target.name[:100])}\.lakefuse-(tmp|old)-(\d+)-[0-9a-f]{{8}}"
        )
        for entry in self.parent.iterdir():
            m = pattern.fullmatch(entry.name)
            if not m or int(m[2]) == os.getpid() or psutil.pid_exists(int(m[2])):
                continue
            with contextlib.suppress(OSError):
                if m[1] == "old" and not self.target.exists():
                    entry.rename(self.target)
                else:
                    shutil.rmtree(entry, ignore_errors=True)

    def commit(self) -> None:
        """Replace OUT with the finished folder: OUT aside, the new one in place, the old one
        removed. Should the second rename fail, OUT is put back."""
        aside = self._sibling("old") if self.target.exists() else None
        try:
            if aside is not None:
                os.chmod(self.tmp, stat.S_IMODE(self.target.stat().st_mode))
                self.target.rename(aside)
            self.tmp.rename(self.target)
        except BaseException:
            if aside is not None and aside.exists() and not self.target.exists():
                aside.rename(self.target)
            raise
        self.committed = True
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
            if aside.exists():
                log.warning("could not remove the previous output, set aside at %s", aside)

    def discard(self) -> None:
        """After a failure: remove the unfinished folder; OUT stays as it was."""
        if self.committed:
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._remove_parents()

    def _remove_parents(self) -> None:
        for d in reversed(self._made):
            try:
                d.rmdir()
            except OSError:
                break
        self._made = []
