"""What every importer shares: options, results, reject files, the batch loader, and the
pipeline that ties them together (:func:`import_csv`, :func:`run`)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from shopmind.safety import SafeWriter, safe_writer
from shopmind.store.db import Store
from shopmind.store.importers.errors import ImportFileError, RowError, format_reason
from shopmind.store.importers.reading import Columns, CsvTable, Field, Row

__all__ = [
    "ImportFileError",
    "ImportResult",
    "Options",
    "RejectSink",
    "Rejected",
    "RowError",
    "check_input",
    "check_reject_file",
    "group_consecutive",
    "import_csv",
    "load",
    "merge_repeats",
    "run",
]


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
    raw: bool = False
    # With skip_bad_rows: hand each rejected record to this instead of a reject file (validation).
    on_reject: Callable[[Rejected], None] | None = None

    @property
    def reject_path(self) -> Path:
        """``--reject-file``, else ``NAME.rejects.csv`` beside the input file or folder."""
        if self.reject_file is not None:
            return self.reject_file
        path = self.path if self.path.name not in ("", "..") else self.path.resolve()
        return path.with_name(path.name + ".rejects.csv")


@dataclass
class ImportResult:
    """What an import did: records stored, rows rejected or merged, per-table counts."""

    kind: str
    path: Path
    rows: int = 0
    rejected: int = 0
    reject_file: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    read: int = 0
    new: int | None = None
    merged: int = 0

    def add(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n

    def summary(self) -> str:
        stored = ", ".join(f"{n:,} {table}" for table, n in self.counts.items()) or "nothing"
        text = f"{self.path.name}: {self.read:,} rows read, stored {stored}"
        if self.new is not None:
            text += f" ({self.new:,} new, {self.rows - self.new:,} already stored)"
        if self.merged:
            text += f"; {self.merged:,} rows merged into an earlier row with the same key"
        if self.rejected:
            text += f"; {self.rejected:,} rows rejected → {self.reject_file}"
        return text


def check_input(path: Path, folder: bool = False) -> None:
    """Refuse, before anything is read, a path that is not there, or a folder where a file
    is expected (only ``pages`` reads a folder)."""
    if not path.exists():
        raise ImportFileError(path, None, None, "no such file or folder")
    if path.is_dir() and not folder:
        raise ImportFileError(path, None, None, "is a folder; expected a file")


# --- reject files -----------------------------------------------------------------------


def check_reject_file(opts: Options) -> None:
    """Refuse, before anything is read, a reject file that would overwrite the input (the
    same file by any path or link, or a file inside an imported folder) or that cannot be
    written (a folder, or in a folder that does not exist or is read-only)."""
    target, source = opts.reject_path, opts.path
    if target.resolve() == source.resolve() or (
        target.exists() and source.exists() and os.path.samefile(target, source)
    ):
        raise ImportFileError(source, None, None, "the reject file is the input file")
    if source.is_dir() and source.resolve() in target.resolve().parents:
        raise ImportFileError(
            source, None, None, f"the reject file {target} is inside the folder being imported"
        )
    folder = target.parent
    if target.is_dir():
        problem = "the reject file is a folder"
    elif not folder.exists():
        problem = "the reject file's folder does not exist"
    elif not folder.is_dir():
        problem = f"the reject file's folder {folder} is not a folder"
    elif not os.access(folder, os.W_OK | os.X_OK):
        problem = "the reject file's folder is not writable"
    else:
        return
    raise ImportFileError(target, None, None, problem)


class RejectSink:
    """The reject file: the rejected rows as read, plus a ``reason`` column.

    Rows go to a hidden temporary file beside the reject file, created on the first
    rejected row; :meth:`close` (after the import committed) renames it over the reject
    file and :meth:`discard` (a failed import) deletes it. So a clean import leaves no file
    and a failed one leaves any earlier reject file as it was. Merchants open reject files
    in spreadsheets, so cells that a spreadsheet would run as a formula get a ``'`` in
    front (:mod:`shopmind.safety.spreadsheet`), unless ``raw``. Given ``keep``, rejected
    records go to it instead, and no file is written.
    """

    def __init__(
        self,
        path: Path,
        header: Sequence[str],
        delimiter: str = ",",
        raw: bool = False,
        keep: Callable[[Rejected], None] | None = None,
    ) -> None:
        self.path = path
        self.header = list(header)
        self.delimiter = delimiter
        self.raw = raw
        self.keep = keep
        self.rows = 0
        self._tmp: Path | None = None
        self._fh: TextIO | None = None
        self._writer: SafeWriter | None = None

    def _open(self) -> SafeWriter:
        self._tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        self._fh = self._tmp.open("x", encoding="utf-8", newline="")
        writer = safe_writer(self._fh, raw=self.raw, delimiter=self.delimiter)
        writer.writerow([*self.header, "reason"])
        return writer

    def write(self, item: Rejected) -> None:
        if self.keep is not None:
            self.keep(item)
            self.rows += len(item.raw) or 1
            return
        if self._writer is None:
            self._writer = self._open()
        width = len(self.header)
        for values in item.raw or [[]]:
            padded = (list(values) + [""] * width)[:width]
            self._writer.writerow([*padded, item.reason])
            self.rows += 1

    def _close_file(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        """The import succeeded: the temporary file becomes the reject file."""
        self._close_file()
        if self._tmp is not None:
            os.replace(self._tmp, self.path)
            self._tmp = None

    def discard(self) -> None:
        """The import failed: delete the temporary file, leave the reject file alone."""
        self._close_file()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


# --- loading ----------------------------------------------------------------------------

Writer = Callable[[Connection, list[Any], ImportResult], Sequence[Rejected]]
Connect = Callable[[], AbstractContextManager[Connection]]


def load(
    store: Store,
    opts: Options,
    result: ImportResult,
    items: Iterable[Any],
    write: Writer,
    rejects: RejectSink,
    rows_read: Callable[[], int],
    connect: Connect | None = None,
) -> ImportResult:
    """Write ``items`` in batches inside ONE transaction; ``Rejected`` items either abort
    the whole import (rolled back) or, with ``skip_bad_rows``, go to the reject file.

    ``connect`` (default ``store.connect``) opens that transaction. An error raised by the
    database becomes a one-line :class:`ImportFileError` once everything is rolled back.
    """

    def refuse(bad: Iterable[Rejected]) -> None:
        for item in bad:
            if not opts.skip_bad_rows:
                raise item.error(opts.path)
            rejects.write(item)

    def flush(conn: Connection, batch: list[Any]) -> None:
        if batch:
            refuse(write(conn, batch, result))
        if opts.progress is not None:
            opts.progress(rows_read())

    stream = iter(items)
    try:
        with (connect or store.connect)() as conn:
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
    except DBAPIError as exc:
        rejects.discard()
        message = f"database error: {_first_line(exc)}"
        raise ImportFileError(opts.path, None, None, message) from None  # no SQL, no parameters
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
    result.reject_file = rejects.path if rejects.rows and rejects.keep is None else None
    return result


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc.orig or exc).__name__


class Source(Protocol):
    """What an importer reads from: the reject file copies its header and delimiter."""

    @property
    def header(self) -> Sequence[str]: ...

    @property
    def delimiter(self) -> str: ...

    @property
    def rows_read(self) -> int: ...


def run(
    store: Store,
    opts: Options,
    kind: str,
    source: Source,
    items: Iterable[Any],
    write: Writer,
    *,
    new: int | None = None,
    connect: Connect | None = None,
) -> ImportResult:
    """The pipeline every importer ends in: a result, a reject file shaped like ``source``,
    and :func:`load` writing ``items`` through ``write(conn, batch, result)``."""
    result = ImportResult(kind, opts.path, new=new)
    rejects = RejectSink(
        opts.reject_path, source.header, source.delimiter, raw=opts.raw, keep=opts.on_reject
    )
    return load(store, opts, result, items, write, rejects, lambda: source.rows_read, connect)


def import_csv(
    store: Store,
    opts: Options,
    kind: str,
    fields: Sequence[Field] | Callable[[list[str]], Sequence[Field]],
    records: Callable[[CsvTable, Columns], Iterable[Any]],
    write: Writer,
    check: Callable[[Path, Columns], None] | None = None,
) -> ImportResult:
    """A CSV import: read the header, find our ``fields`` (or ``fields(header)``) by name,
    let ``check`` refuse the columns found, then :func:`run` over ``records(table, cols)``."""
    table = CsvTable(opts.path)
    cols = table.columns(fields(table.header) if callable(fields) else fields, opts.mapping)
    if check is not None:
        try:
            check(opts.path, cols)
        except ImportFileError:
            table.close()
            raise
    return run(store, opts, kind, table, records(table, cols), write)


# --- helpers for records ----------------------------------------------------------------


def group_consecutive(rows: Iterable[Row], name: str, noun: str) -> Iterator[list[Row] | Rejected]:
    """Runs of consecutive rows sharing the value of field ``name`` (one product's or one
    order's rows). A row where it is empty, or where it repeats a value whose run ended
    earlier in the file, is ``Rejected``: the rows of one record must be together."""
    seen: dict[str, int] = {}
    group: list[Row] = []
    current = ""
    for row in rows:
        value = row.get(name)
        if group and value == current:
            group.append(row)
            continue
        if group:
            yield group
            group = []
        label = row.cols.label(name)
        if not value:
            yield Rejected(row.line, label, "is empty", [row.values])
        elif value in seen:
            message = (
                f"rows of {noun} {value!r} must be together (first seen on line {seen[value]})"
            )
            yield Rejected(row.line, label, message, [row.values])
        else:
            seen[value] = row.line
            current, group = value, [row]
    if group:
        yield group


def merge_repeats(
    rows: Sequence[dict[str, Any]], seen: set[str], result: ImportResult, table: str
) -> list[dict[str, Any]]:
    """One row per ``external_id`` (the last wins, as a later import would). A row whose key
    came earlier in the file (``seen`` spans the batches) is counted in ``result.merged``;
    ``result.counts[table]`` counts distinct keys, ``result.rows`` every row."""
    out: dict[str, dict[str, Any]] = {}
    result.add(table, 0)
    for row in rows:
        key = row["external_id"]
        if key in seen:
            result.merged += 1
        else:
            seen.add(key)
            result.add(table, 1)
        out[key] = row
    result.rows += len(rows)
    return list(out.values())
