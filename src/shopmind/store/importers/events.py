"""GA4-style events from CSV, JSON lines or a JSON array (flat or BigQuery-export shape).

Each event goes through :func:`shopmind.store.events.normalize_event`, so the importer
and the REST API store identical rows; ``insert_new`` keeps re-imports idempotent by
``event_id``. The file is streamed (JSON arrays too), so memory stays flat however long
it is. ``mapping`` renames columns or top-level keys ({"event_name": "event"}). On SQLite
the events are staged in a TEMP table while the file is read (see :mod:`.staging`).
The new events are counted into the daily aggregates (:mod:`shopmind.store.daily`) in the
transaction that stores them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, func, select

from shopmind.store.daily import add_stored_events
from shopmind.store.db import Store
from shopmind.store.events import EventError, normalize_event, write_events
from shopmind.store.importers.common import ImportFileError, ImportResult, Options, Rejected, run
from shopmind.store.importers.errors import duplicate_column
from shopmind.store.importers.reading import FIELD_LIMIT, CsvTable, found_columns, key, open_text
from shopmind.store.importers.staging import TempStage
from shopmind.store.models import Event

_CHUNK = 1 << 20
_WS = re.compile(r"\s*")


def import_events(store: Store, opts: Options) -> ImportResult:
    source: _JsonLines | _JsonArray | _CsvEvents
    kind = _sniff(opts.path)
    if kind == "csv":
        source = _CsvEvents(opts.path, opts.mapping, opts.currency)
    else:
        cls = _JsonArray if kind == "array" else _JsonLines
        source = cls(opts.path, opts.mapping, opts.currency)
    if store.dialect != "sqlite":
        return run(store, opts, "events", source, source, _write, new=0)
    stage = TempStage(Event, "event_id", on_copy=_count_copied)

    def write(
        conn: Connection, batch: list[dict[str, Any]], result: ImportResult
    ) -> list[Rejected]:
        stage.write(conn, batch)
        _count(batch, result)
        return []

    result = run(
        store, opts, "events", source, source, write, new=0, connect=lambda: stage.connect(store)
    )
    result.new = stage.new
    return result


def _count_copied(conn: Connection, new: int) -> None:
    """Count the ``new`` events the SQLite copy just added: SQLite has one writer at a time
    and gives a new row the rowid above the largest stored, so they hold the largest ids."""
    if new:
        last = conn.scalar(select(func.max(Event.id))) or 0
        add_stored_events(conn, after_id=last - new)


def _write(conn: Connection, batch: list[dict[str, Any]], result: ImportResult) -> list[Rejected]:
    new = write_events(conn, batch)
    result.new = (result.new or 0) + new
    _count(batch, result)
    return []


def _count(batch: list[dict[str, Any]], result: ImportResult) -> None:
    result.rows += len(batch)
    result.add("events", len(batch))


def _sniff(path: Path) -> str:
    """``csv``, ``lines`` (JSON lines) or ``array`` (one JSON array), from the first character."""
    if path.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    fh, _ = open_text(path)
    with fh:
        head = fh.read(4096).lstrip()
    if not head:
        raise ImportFileError(path, None, None, "file is empty")
    return {"[": "array", "{": "lines"}.get(head[0], "csv")


def _rename(raw: dict[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    for ours, theirs in mapping.items():
        if theirs in raw:
            raw[ours] = raw.pop(theirs)
    return raw


class _CsvEvents:
    """Flat CSV: headers become snake_case keys; ``traffic_source.source`` nests."""

    def __init__(self, path: Path, mapping: Mapping[str, str], currency: str) -> None:
        self.table = CsvTable(path)
        self.header = self.table.header
        self.delimiter = self.table.delimiter
        self.currency = currency
        try:
            keys = _event_keys(path, self.header, mapping)
        except ImportFileError:
            self.table.close()
            raise
        flat = {k for k in keys if "." not in k}
        dotted = [(i, *k.split(".", 1)) for i, k in enumerate(keys) if "." in k]
        self.nested = [(i, parent, child) for i, parent, child in dotted if parent not in flat]
        self.keys = keys
        self.labels = dict(zip(keys, self.header, strict=True))

    @property
    def rows_read(self) -> int:
        return self.table.rows_read

    def __iter__(self) -> Iterator[dict[str, Any] | Rejected]:
        keys, nested, currency, labels = self.keys, self.nested, self.currency, self.labels
        width = len(keys)
        for line, values in self.table:
            if len(values) > width and any(values[width:]):
                message = f"{len(values)} fields but the header has {width}"
                yield Rejected(line, None, message, [values])
                continue
            raw: dict[str, Any] = dict(zip(keys, values, strict=False))
            for i, parent, child in nested:
                if i < len(values):
                    raw.setdefault(parent, {})[child] = values[i]
            try:
                yield normalize_event(raw, currency)
            except EventError as exc:
                yield Rejected(line, labels.get(exc.field, exc.field), exc.message, [values])


def _event_keys(path: Path, header: list[str], mapping: Mapping[str, str]) -> list[str]:
    """Each column's event key: its header in snake_case, or the key ``mapping`` gives it.

    Every column is passed on to the event, so two columns giving one key are refused.
    """
    keys = [re.sub(r"[^0-9a-z.]+", "_", h.lower()).strip("_") for h in header]
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(key(name), []).append(i)
    for ours, theirs in mapping.items():
        if key(theirs) not in positions:
            found = found_columns(header)
            raise ImportFileError(path, 1, theirs, f"mapped column not found (found: {found})")
        first, *more = positions[key(theirs)]
        if more:
            raise duplicate_column(path, header, first, more[0])
        keys[first] = ours
    first_at: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k and first_at.setdefault(k, i) != i:
            raise duplicate_column(path, header, first_at[k], i)
    return keys


class _JsonLines:
    """One JSON object per line; blank lines are skipped."""

    header = ("record",)
    delimiter = ","

    def __init__(self, path: Path, mapping: Mapping[str, str], currency: str) -> None:
        self.path = path
        self.mapping = mapping
        self.currency = currency
        self.rows_read = 0

    def _event(self, line: int, text: str, raw: Any) -> dict[str, Any] | Rejected:
        if not isinstance(raw, dict):
            return Rejected(line, None, "not a JSON object", [[text]])
        try:
            event = _rename(raw, self.mapping) if self.mapping else raw
            return normalize_event(event, self.currency)
        except EventError as exc:
            return Rejected(line, exc.field, exc.message, [[text]])

    def __iter__(self) -> Iterator[dict[str, Any] | Rejected]:
        fh, _ = open_text(self.path)
        with fh:
            for line, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                self.rows_read += 1
                if "\\u0000" in text:  # PostgreSQL refuses NUL in text
                    text = text.replace("\\u0000", "")
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Rejected(line, None, f"not valid JSON: {exc.msg}", [[text.rstrip()]])
                    continue
                yield self._event(line, text.rstrip(), raw)
        if not self.rows_read:
            raise ImportFileError(self.path, None, None, "file is empty")


class _JsonArray(_JsonLines):
    """A file holding one JSON array of events, decoded element by element."""

    def __iter__(self) -> Iterator[dict[str, Any] | Rejected]:
        fh, _ = open_text(self.path)
        with fh:
            for line, text, raw in _ArrayReader(fh, self.path):
                self.rows_read += 1
                if "\\u0000" in text:  # PostgreSQL refuses NUL in text
                    raw = json.loads(text.replace("\\u0000", ""))
                yield self._event(line, text, raw)
        if not self.rows_read:
            raise ImportFileError(self.path, None, None, "no events (the array is empty)")


class _ArrayReader:
    """Streams the elements of a top-level JSON array: (line, text, value)."""

    def __init__(self, fh: IO[str], path: Path) -> None:
        self.fh, self.path = fh, path
        self.buf, self.pos, self.eof = "", 0, False
        self.line, self.counted = 1, 0  # line number at buf[counted]
        self.decoder = json.JSONDecoder()

    def _line_at(self, pos: int) -> int:
        self.line += self.buf.count("\n", self.counted, pos)
        self.counted = pos
        return self.line

    def _more(self) -> bool:
        chunk = self.fh.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self._line_at(self.pos)
        self.buf, self.counted, self.pos = self.buf[self.pos :] + chunk, 0, 0
        return True

    def _peek(self) -> str | None:
        while True:
            match = _WS.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return None

    def _fail(self, message: str) -> ImportFileError:
        return ImportFileError(self.path, self._line_at(self.pos), None, message)

    def __iter__(self) -> Iterator[tuple[int, str, Any]]:
        if self._peek() != "[":
            raise self._fail("expected a JSON array")
        self.pos += 1
        first = True
        while True:
            ch = self._peek()
            if ch == "]":
                return
            if ch is None:
                raise self._fail("the JSON array is not closed")
            if not first:
                if ch != ",":
                    raise self._fail("expected ',' between array elements")
                self.pos += 1
                self._peek()
            first = False
            yield self._element()

    def _element(self) -> tuple[int, str, Any]:
        line = self._line_at(self.pos)
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self.buf) - 64 or exc.msg.startswith("Unterminated")
                if self.eof or not truncated or len(self.buf) - self.pos > FIELD_LIMIT:
                    raise self._fail(f"not valid JSON: {exc.msg}") from None
                self._more()
                continue
            text = self.buf[self.pos : end]
            self.pos = end
            return line, text, value
