"""What every importer shares: errors, results, options, reject files and the batch loader."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection

from shopmind.store.db import Store


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


@dataclass
class Rejected:
    """A record refused by an importer, with the raw rows it came from."""

    line: int | None
    field: str | None
    message: str
    raw: list[list[str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return format_reason(self.line, self.field, self.message)

    def error(self, path: Path) -> ImportFileError:
        return ImportFileError(path, self.line, self.field, self.message)


@dataclass
class Options:
    """How to import one file (see :func:`shopmind.store.importers.import_file`)."""

    path: Path
    skip_bad_rows: bool = False
    reject_file: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"
    batch_size: int = 5000
    progress: Callable[[int], None] | None = None

    @property
    def reject_path(self) -> Path:
        return self.reject_file or self.path.with_name(self.path.name + ".rejects.csv")


@dataclass
class ImportResult:
    """What an import did: records stored, rows rejected, per-table counts."""

    kind: str
    path: Path
    rows: int = 0
    rejected: int = 0
    reject_file: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    read: int = 0
    new: int | None = None

    def add(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n

    def summary(self) -> str:
        stored = ", ".join(f"{n:,} {table}" for table, n in self.counts.items()) or "nothing"
        text = f"{self.path.name}: {self.read:,} rows read, stored {stored}"
        if self.new is not None:
            text += f" ({self.new:,} new, {self.rows - self.new:,} already stored)"
        if self.rejected:
            text += f"; {self.rejected:,} rows rejected → {self.reject_file}"
        return text


class RejectSink:
    """The reject file: the rejected rows as read, plus a ``reason`` column.

    Opened on the first rejected row, so a clean import leaves no file behind.
    """

    def __init__(self, path: Path, header: Sequence[str], delimiter: str = ",") -> None:
        self.path = path
        self.header = list(header)
        self.delimiter = delimiter
        self.rows = 0
        self._fh: TextIO | None = None
        self._writer: Any = None

    def write(self, item: Rejected) -> None:
        if self._writer is None:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh, delimiter=self.delimiter)
            self._writer.writerow([*self.header, "reason"])
        width = len(self.header)
        for values in item.raw or [[]]:
            padded = (list(values) + [""] * width)[:width]
            self._writer.writerow([*padded, item.reason])
            self.rows += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def discard(self) -> None:
        self.close()
        if self._writer is not None:
            self.path.unlink(missing_ok=True)


Writer = Callable[[Connection, list[Any]], Sequence[Rejected]]


def load(
    store: Store,
    opts: Options,
    result: ImportResult,
    items: Iterable[Any],
    write: Writer,
    rejects: RejectSink,
    rows_read: Callable[[], int],
) -> ImportResult:
    """Write ``items`` in batches inside ONE transaction; ``Rejected`` items either abort
    the whole import (rolled back) or, with ``skip_bad_rows``, go to the reject file."""

    def refuse(bad: Iterable[Rejected]) -> None:
        for item in bad:
            if not opts.skip_bad_rows:
                raise item.error(opts.path)
            rejects.write(item)

    def flush(conn: Connection, batch: list[Any]) -> None:
        if batch:
            refuse(write(conn, batch))
        if opts.progress is not None:
            opts.progress(rows_read())

    stream = iter(items)
    try:
        with store.connect() as conn:
            batch: list[Any] = []
            for item in stream:
                if isinstance(item, Rejected):
                    refuse([item])
                    continue
                batch.append(item)
                if len(batch) >= opts.batch_size:
                    flush(conn, batch)
                    batch = []
            flush(conn, batch)
    except BaseException:
        rejects.discard()
        raise
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # an abandoned reader closes its file now, not at garbage collection
    rejects.close()
    result.read = rows_read()
    result.rejected = rejects.rows
    result.reject_file = rejects.path if rejects.rows else None
    return result
