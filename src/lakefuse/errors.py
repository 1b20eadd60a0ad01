"""Errors a user can act on. The CLI prints one line and exits with code 2."""

from __future__ import annotations


class LakefuseError(Exception):
    """Base class of all lakefuse errors."""


class InputError(LakefuseError):
    """Bad input: names the file and, where it applies, the row and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message
