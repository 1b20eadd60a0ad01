"""Errors a user can act on. The CLI prints one line and exits with code 2."""

from __future__ import annotations


class LakefuseError(Exception):
    """Base class of all lakefuse errors."""


class InputError(LakefuseError):
    """Bad input: names the file (or, for a DataFrame given to the Python API, the table) and,
    where it applies, the row (data rows count from 0; ``header=True``: the header) and column.

    ``table``: how an in-memory table is named, e.g. ``"x (DataFrame)"``."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        table: str | None = None,
        row: int | None = None,
        header: bool = False,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.table = table
        self.row = row
        self.header = header
        self.column = column
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.table is not None:
            where.append(f"table {self.table}")
        if self.header:
            where.append("header")
        elif self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        # one line, whatever a parser's message held (YAML errors span several)
        message = " ".join(self.message.split())
        return f"{prefix}: {message}" if prefix else message
