"""Import errors: a whole file that cannot be imported, or one bad value in a row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ImportFileError(ValueError):
    """A file that cannot be imported: names the file, the line (1-based, header
    included; ``None`` for the whole file) and the field (column) where known."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, message: str):
        self.path = Path(path)
        self.line = line
        self.field = field
        self.message = message
        super().__init__(format_reason(line, field, message, path=str(path)))


def format_reason(line: int | None, field: str | None, message: str, path: str = "") -> str:
    """``products.csv, line 14, field 'Variant Price': not a price: 'abc'``."""
    where = [p for p in (path, f"line {line}" if line else "") if p]
    if field:
        where.append(f"field {field!r}")
    return f"{', '.join(where)}: {message}" if where else message


class RowError(ValueError):
    """A bad value in one row; ``field`` is the column as the file names it."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def duplicate_column(path: Path, header: Sequence[str], first: int, second: int) -> ImportFileError:
    """Two columns that would fill one of our fields (0-based positions, ``first < second``)."""
    a, b = header[first], header[second]
    other = f"column {second + 1}" if a == b else f"{b!r} column {second + 1}"
    return ImportFileError(path, 1, b, f"duplicate column: {a!r} is column {first + 1} and {other}")
