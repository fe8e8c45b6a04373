"""Before an import: a preview of the file's start, and a dry run of the whole import.

:func:`preview_file` reads only the start of a file (cheap on a 1 GB export): its columns,
its first rows, and which column the importer would read for each of our fields, found by
header name as the importer finds them. :func:`validate_file` runs the importer itself over
the whole file, so every bad row is found by the importer's own checks, with every write
rolled back: the store is left exactly as it was and no reject file is written.

>>> preview = preview_file("reviews", "reviews.csv", mapping={"product": "item"})  # doctest: +SKIP
>>> [(m.field, m.column) for m in preview.fields][:2]  # doctest: +SKIP
[('external_id', None), ('product', 'item')]
>>> print(validate_file(store, "reviews", "reviews.csv").summary())  # doctest: +SKIP
reviews.csv: 3 rows read, would store 2 reviews; 1 rows would be rejected (1 errors, first
line 3, field 'stars': not a number: 'five')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, exists, func, select
from sqlalchemy.exc import DBAPIError

from shopmind.store.db import Store
from shopmind.store.events import _NESTED, _flatten
from shopmind.store.importers import events as event_files
from shopmind.store.importers import orders, pages, reviews, shopify_products, spend, woocommerce
from shopmind.store.importers.common import (
    ImportFileError,
    ImportResult,
    Options,
    Rejected,
    check_input,
    run,
)
from shopmind.store.importers.errors import format_reason
from shopmind.store.importers.reading import Columns, CsvTable, F, Field, open_text, resolve
from shopmind.store.models import Event
from shopmind.store.writer import insert_new

__all__ = ["ColumnMatch", "Preview", "Problem", "Validation", "preview_file", "validate_file"]

HEAD_BYTES = 1 << 18  # a preview takes the encoding from the first 256 KiB
CELL_CHARS = 200  # a preview cell longer than this is cut, ending in "…"
DOCUMENT_COLUMNS = ["path", "title", "kind", "language", "text"]
# What normalize_event reads (shopmind.store.events), with the keys it tries in order.
EVENT_FIELDS = [
    F("event_name", "event_name", "name", required=True),
    F("event_timestamp", "event_timestamp", "timestamp", "ts", required=True),
    F("user_pseudo_id", "user_pseudo_id", "user_id", "client_id", required=True),
    F("session_id", "session_id", "ga_session_id"),
    F("transaction_id"),
    F("value"),
    F("currency"),
    F("items", "items", "item_id"),
    F("source"),
    F("medium"),
    F("campaign"),
    F("device_category"),
    F("page_location"),
    F("search_term"),
    F("event_id"),
]

Check = Callable[[Path, Columns], None]


@dataclass(frozen=True)
class Problem:
    """One refusal, where it is: ``line`` (the header is line 1) and ``field`` (the column
    as the file names it) when known."""

    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        return format_reason(self.line, self.field, self.message)

    @classmethod
    def of(cls, error: ImportFileError | Rejected) -> Problem:
        return cls(error.line, error.field, error.message)


@dataclass(frozen=True)
class ColumnMatch:
    """Which column the importer would read for one of our fields (``None``: none); for JSON
    events the key, or the nested BigQuery entry, it comes from. ``names`` are the header
    names looked for, in order; a ``mapping`` entry wins over them."""

    field: str
    column: str | None
    required: bool
    names: tuple[str, ...]


@dataclass
class Preview:
    """The start of a file as the importer would read it.

    ``rows`` are the first rows' cells as written (escape them when shown; each cut to
    ``CELL_CHARS``), ``lines`` the line each starts on (``None`` for documents), ``more``
    whether the file goes on. ``missing`` names the required fields without a usable column;
    ``problems`` are what would stop the import before its first row (a missing required
    column, a duplicate column, a mapped column the file lacks) and, for JSON, the first
    rows that are not JSON objects.
    """

    kind: str
    path: Path
    format: str  # "csv", "json lines", "json array" or "documents"
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    rows: list[list[str]]
    lines: list[int | None]
    more: bool
    fields: list[ColumnMatch]
    missing: list[str]
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "path": str(self.path)}


@dataclass
class Validation:
    """What importing the file would do, found without writing anything.

    ``errors`` are the first ``max_errors`` bad records by line, ``error_count`` all of them,
    ``rejected_rows`` the rows they span (``--skip-bad-rows`` would reject those). ``stored``
    and ``counts`` are what the import would store; ``new`` (events) how many of those are
    not stored yet, ``merged`` rows merged into an earlier row with the same key.
    """

    kind: str
    path: Path
    rows_read: int
    stored: int
    counts: dict[str, int]
    new: int | None
    merged: int
    errors: list[Problem]
    error_count: int
    rejected_rows: int

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def summary(self) -> str:
        stored = ", ".join(f"{n:,} {table}" for table, n in self.counts.items()) or "nothing"
        text = f"{self.path.name}: {self.rows_read:,} rows read, would store {stored}"
        if self.new is not None:
            text += f" ({self.new:,} new, {self.stored - self.new:,} already stored)"
        if self.error_count:
            text += f"; {self.rejected_rows:,} rows would be rejected"
            first = f", first {self.errors[0]}" if self.errors else ""
            text += f" ({self.error_count:,} errors{first})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "path": str(self.path), "ok": self.ok}


# --- preview ----------------------------------------------------------------------------


def preview_file(
    kind: str, path: str | Path, rows: int = 10, mapping: Mapping[str, str] | None = None
) -> Preview:
    """The file's columns, its first ``rows`` rows, and the column the importer would read
    for each of our fields (``mapping``, {our_field: their_column}, wins as in the import).

    Reads only the start of the file; its encoding is taken from the first ``HEAD_BYTES``
    (the import checks the whole file). For ``pages`` a folder (or one document) previews
    its first documents as the importer reads them; a FAQ CSV previews as a CSV. Raises
    :class:`ImportFileError` as the import would for a file that is not there, is empty or
    has no header, and for a ``mapping`` naming a field the kind does not have.
    """
    path = _checked(kind, path)
    rows, mapping = max(0, rows), dict(mapping or {})
    if kind == "events":
        return _preview_events(path, rows, mapping)
    if kind == "pages" and not _faq_file(path):
        return _preview_documents(path, rows)
    return _preview_csv(kind, path, rows, mapping)


def _checked(kind: str, path: str | Path) -> Path:
    from shopmind.store.importers import IMPORTERS  # the package imports this module

    if kind not in IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}; choose one of: {', '.join(IMPORTERS)}")
    path = Path(path)
    check_input(path, folder=kind == "pages")
    return path


def _faq_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in (".csv", ".tsv")


def _csv_fields(kind: str, header: list[str]) -> tuple[Sequence[Field], Check | None]:
    """The importer's fields for ``kind`` and its check of the columns found."""
    if kind == "woocommerce-products":
        return woocommerce._fields(header), None
    return {
        "shopify-products": (shopify_products.FIELDS, None),
        "shopify-orders": (orders.SHOPIFY_FIELDS, orders._check_columns),
        "orders": (orders.GENERIC_FIELDS, orders._check_columns),
        "reviews": (reviews.FIELDS, reviews._check_columns),
        "pages": (pages.FAQ_FIELDS, None),
        "ad-spend": (spend.FIELDS, None),
    }[kind]


def _preview_csv(kind: str, path: Path, rows: int, mapping: dict[str, str]) -> Preview:
    table = CsvTable(path, HEAD_BYTES)
    try:
        fields, check = _csv_fields(kind, table.header)
        matches, problems = _match(path, table.header, fields, mapping, check)
        data = _first(iter(table), rows)
    finally:
        table.close()
    width = len(table.header)
    cells = [[_cell(c) for c in values] + [""] * (width - len(values)) for _, values in data]
    return Preview(
        kind, path, "csv", table.encoding, table.delimiter, table.header,
        cells[:rows], [line for line, _ in data][:rows], len(data) > rows,
        matches, _missing(matches), problems,
    )  # fmt: skip


def _match(
    path: Path,
    header: list[str],
    fields: Sequence[Field],
    mapping: dict[str, str],
    check: Check | None,
) -> tuple[list[ColumnMatch], list[Problem]]:
    """Each field's column, found by the importer's own :func:`resolve` one field at a time,
    so that every problem is listed instead of only the first."""
    known = {f.name for f in fields}
    for name, column in mapping.items():
        if name not in known:  # refused as the import refuses it
            resolve(path, header, [replace(f, required=False) for f in fields], {name: column})
    matches, problems, index = [], [], {}
    for f in fields:
        given = {f.name: mapping[f.name]} if f.name in mapping else {}
        try:
            found = resolve(path, header, [f], given).index.get(f.name)
        except ImportFileError as exc:
            problems.append(Problem.of(exc))
            found = None
        if found is not None:
            index[f.name] = found
        column = header[found] if found is not None else None
        matches.append(ColumnMatch(f.name, column, f.required, f.aliases))
    if check is not None and not problems:
        try:
            check(path, Columns(index, header))
        except ImportFileError as exc:
            problems.append(Problem.of(exc))
    return matches, problems


def _missing(matches: list[ColumnMatch]) -> list[str]:
    return [m.field for m in matches if m.required and m.column is None]


def _first(items: Iterator[Any], rows: int) -> list[Any]:
    """Up to ``rows + 1`` items (the extra one says whether there are more); the reader is
    closed, and with it the file."""
    try:
        return list(islice(items, rows + 1)) if rows else []
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _cell(value: Any) -> str:
    if not isinstance(value, str):
        value = "" if value is None else json.dumps(value, ensure_ascii=False)
    return value if len(value) <= CELL_CHARS else value[: CELL_CHARS - 1] + "…"


def _preview_documents(path: Path, rows: int) -> Preview:
    if path.is_file() and path.suffix.lower() not in pages.HTML | pages.MARKDOWN | pages.TEXT:
        raise ImportFileError(path, None, None, "expected a folder, a document or a FAQ CSV")
    items = _first(iter(pages._Documents(path)), rows)
    cells, problems = [], []
    for item in items[:rows]:
        if isinstance(item, Rejected):
            problems.append(Problem.of(item))
        else:
            cells.append([_cell(item[k]) for k in ("external_id", "title", "kind", "language")])
            cells[-1].append(_cell(item["body"]))
    return Preview(
        "pages", path, "documents", None, None, list(DOCUMENT_COLUMNS), cells,
        [None] * len(cells), len(items) > rows, [], [], problems,
    )  # fmt: skip


# --- preview: events --------------------------------------------------------------------


def _event_format(path: Path) -> str:
    """As the events importer decides, from the name or the first character, reading only
    the start of the file."""
    if path.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    fh, _ = open_text(path, HEAD_BYTES)
    with fh:
        head = fh.read(4096).lstrip()
    if not head:
        raise ImportFileError(path, None, None, "file is empty")
    return {"[": "json array", "{": "json lines"}.get(head[0], "csv")


def _preview_events(path: Path, rows: int, mapping: dict[str, str]) -> Preview:
    fmt = _event_format(path)
    if fmt == "csv":
        return _preview_event_csv(path, rows, mapping)
    fh, encoding = open_text(path, HEAD_BYTES)
    with fh:
        if fmt == "json lines":
            items = _first(_json_lines(fh), rows)
        else:
            items = _first(iter(event_files._ArrayReader(fh, path)), rows)
            if rows and not items:
                raise ImportFileError(path, None, None, "no events (the array is empty)")
    records: list[tuple[int, dict[str, Any]]] = []
    problems = []
    for line, _text, raw in items[:rows]:
        if isinstance(raw, Problem):
            problems.append(raw)
        elif not isinstance(raw, dict):
            problems.append(Problem(line, None, "not a JSON object"))
        else:
            records.append((line, raw))
    columns = list(dict.fromkeys(k for _, raw in records for k in raw))
    cells = [[_cell(raw.get(c)) for c in columns] for _, raw in records]
    found: dict[str, str] = {}
    for _, raw in records:
        for key, source in _event_sources(event_files._rename(dict(raw), mapping)).items():
            found.setdefault(key, source)
    matches = _event_matches(found)
    return Preview(
        "events", path, fmt, encoding, None, columns, cells, [line for line, _ in records],
        len(items) > rows, matches, _missing(matches), problems,
    )  # fmt: skip


def _json_lines(fh: Any) -> Iterator[tuple[int, str, Any]]:
    """(line, text, value) per non-blank line; a line that is not JSON gives a Problem."""
    for line, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        try:
            yield line, text, json.loads(text)
        except json.JSONDecodeError as exc:
            yield line, text, Problem(line, None, f"not valid JSON: {exc.msg}")


def _preview_event_csv(path: Path, rows: int, mapping: dict[str, str]) -> Preview:
    table = CsvTable(path, HEAD_BYTES)
    header, problems = table.header, []
    try:
        try:
            keys = event_files._event_keys(path, header, mapping)
        except ImportFileError as exc:
            problems.append(Problem.of(exc))
            keys = [""] * len(header)
        data = _first(iter(table), rows)
    finally:
        table.close()
    # A record shaped as the importer shapes a row (dotted headers nest), to see which
    # event key each column fills.
    probe: dict[str, Any] = {}
    for k in keys:
        parent, dot, child = k.partition(".")
        if k and dot and parent not in keys:
            probe.setdefault(parent, {})[child] = "x"
        elif k:
            probe[k] = "x"
    labels = dict(zip(keys, header, strict=True))
    sources = _event_sources(probe).items()
    found = {key: labels[source] for key, source in sources if source in labels}
    matches = _event_matches(found)
    width = len(header)
    cells = [[_cell(c) for c in values] + [""] * (width - len(values)) for _, values in data]
    return Preview(
        "events", path, "csv", table.encoding, table.delimiter, header, cells[:rows],
        [line for line, _ in data][:rows], len(data) > rows, matches, _missing(matches), problems,
    )  # fmt: skip


def _event_sources(record: Mapping[str, Any]) -> dict[str, str]:
    """Event key → where ``record`` gives it: a top-level key, or one entry of a nested
    BigQuery field (``traffic_source.name``, ``event_params[2]``), found by folding that
    entry alone as :func:`shopmind.store.events.normalize_event` folds the record."""
    found = {k: k for k, v in record.items() if v not in (None, "")}
    for name in _NESTED:
        value = record.get(name)
        if isinstance(value, Mapping):
            parts = [(f"{name}.{k}", {name: {k: v}}) for k, v in value.items()]
        elif isinstance(value, list):
            parts = [(f"{name}[{i}]", {name: [v]}) for i, v in enumerate(value)]
        else:
            parts = [(name, {name: value})]
        for label, alone in parts:
            for key, folded in _flatten(alone).items():
                if folded not in (None, "") and key != name:
                    found.setdefault(key, label)
    return found


def _event_matches(found: Mapping[str, str]) -> list[ColumnMatch]:
    return [
        ColumnMatch(
            f.name, next((found[a] for a in f.aliases if a in found), None), f.required, f.aliases
        )
        for f in EVENT_FIELDS
    ]


# --- validation -------------------------------------------------------------------------


def validate_file(
    store: Store,
    kind: str,
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    max_errors: int = 200,
    *,
    currency: str = "USD",
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> Validation:
    """Import ``path`` as ``kind`` without keeping anything: every bad row (up to
    ``max_errors``, with the count of all), and what the import would store.

    The importer runs with ``skip_bad_rows``, so its own checks find the bad rows, and the
    rejected rows are collected here instead of in a reject file. Every write is rolled
    back, one batch at a time: on SQLite the write lock is held only while one batch is
    written (events are staged in a TEMP table and never reach ``events``). Raises
    :class:`ImportFileError` for what would stop the import whole (no such file, an empty
    file, a missing column, a database error), as the import does.
    """
    path = _checked(kind, path)
    errors: list[Problem] = []
    count = 0

    def keep(item: Rejected) -> None:
        nonlocal count
        count += 1
        if len(errors) < max_errors:
            errors.append(Problem.of(item))

    opts = Options(
        path=path,
        skip_bad_rows=True,
        mapping=dict(mapping or {}),
        currency=currency.upper(),
        batch_size=max(1, batch_size),
        progress=progress,
        on_reject=keep,
    )
    if kind == "events":
        result = _dry_run_events(store, opts)
    else:
        from shopmind.store.importers import IMPORTERS

        dry = _DryRun(store.engine, progress)
        opts.progress = dry.batch_done
        result = IMPORTERS[kind](cast(Store, dry), opts)
    errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return Validation(
        kind, path, result.read, result.rows, result.counts, result.new, result.merged,
        errors, count, result.rejected,
    )  # fmt: skip


class _DryRun:
    """A stand-in for the store whose transactions are all rolled back.

    The importers reach the store only through :meth:`connect` (and ``dialect``); there is
    no engine or session here, so nothing can open a transaction of its own and commit.
    The import pipeline reports progress after each batch (:func:`.common.load`), and the
    batch is rolled back right there: on SQLite the write lock is held one batch at a time,
    not for the whole file, so other writers (the REST API) carry on.
    """

    def __init__(self, engine: Engine, progress: Callable[[int], None] | None) -> None:
        self._engine = engine
        self._progress = progress
        self._conn: Connection | None = None

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            self._conn = conn
            try:
                yield conn
            finally:
                self._conn = None
                conn.rollback()

    def batch_done(self, rows_read: int) -> None:
        if self._conn is not None:
            self._conn.rollback()
        if self._progress is not None:
            self._progress(rows_read)


# The ids of the checked events, staged to count the new ones: a TEMP table is private to
# its connection and, on SQLite, lives in the temp database, so staging takes no lock on
# the store. The events themselves are checked as they are read (normalize_event).
_EVENT_IDS = Table(
    "_validate_event_ids",
    MetaData(),
    Column("event_id", String(64), primary_key=True),
    prefixes=["TEMPORARY"],
)
_COUNT_NEW = (
    select(func.count())
    .select_from(_EVENT_IDS)
    .where(~exists().where(Event.event_id == _EVENT_IDS.c.event_id))
)


def _dry_run_events(store: Store, opts: Options) -> ImportResult:
    """The events importer's readers and checks, with the event ids staged in a TEMP table
    that is rolled back and dropped: ``events`` and its aggregates are never written."""
    source = _event_source(opts)
    new = 0

    @contextmanager
    def connect() -> Iterator[Connection]:
        nonlocal new
        with store.engine.connect() as conn:
            _EVENT_IDS.drop(conn, checkfirst=True)  # left by a crashed run on this connection
            _EVENT_IDS.create(conn)
            try:
                yield conn
                new = conn.execute(_COUNT_NEW).scalar_one()
            finally:
                conn.rollback()
                _drop_event_ids(conn)

    def write(conn: Connection, batch: list[dict[str, Any]], result: ImportResult) -> list[Any]:
        insert_new(conn, _EVENT_IDS, [{"event_id": e["event_id"]} for e in batch], ["event_id"])
        result.rows += len(batch)
        result.add("events", len(batch))
        return []

    result = run(store, opts, "events", source, source, write, new=0, connect=connect)
    result.new = new
    return result


def _event_source(opts: Options) -> Any:
    """The reader the events importer would use for this file."""
    fmt = event_files._sniff(opts.path)
    if fmt == "csv":
        return event_files._CsvEvents(opts.path, opts.mapping, opts.currency)
    cls = event_files._JsonArray if fmt == "array" else event_files._JsonLines
    return cls(opts.path, opts.mapping, opts.currency)


def _drop_event_ids(conn: Connection) -> None:
    try:
        _EVENT_IDS.drop(conn, checkfirst=True)  # on SQLite the CREATE outlived the rollback
        conn.commit()  # commits the DROP, nothing else: the rest was rolled back
    except DBAPIError:
        conn.invalidate()  # a broken connection is not reused; its TEMP table goes with it
