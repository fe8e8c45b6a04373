"""Reading CSV exports: encoding and delimiter detection, columns found by header name.

A :class:`Row` hands out each cell by what it is: keys and codes as written
(:meth:`Row.text`), free text as plain text from :mod:`shopmind.safety`
(:meth:`Row.plain`, :meth:`Row.plain_list`, :meth:`Row.prose`), numbers, dates and flags
parsed. Which getter a field uses is the importers' text policy (docs/importers.md, "How
text is cleaned").
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from shopmind.safety import html_to_text, one_line
from shopmind.store.importers import values as v
from shopmind.store.importers.errors import ImportFileError, RowError, duplicate_column

FIELD_LIMIT = 32 * 1024 * 1024  # one cell may be long (HTML descriptions), not unbounded
_CHUNK = 1 << 20
_DELIMITERS = ",;\t|"
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when it is gzip-compressed."""
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def detect_encoding(path: Path, limit: int | None = None) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252, else Latin-1.

    The whole file is checked (in chunks, at C speed), so a stray Latin-1 byte deep in
    a big file is caught before any row is read. A preview checks only the first ``limit``
    bytes.
    """
    with open_binary(path) as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        for encoding in ("utf-8", "cp1252"):
            if _decodes(fh, head, encoding, limit):
                return encoding
            fh.seek(0)
            head = fh.read(4)
    return "latin-1"


def _decodes(fh: IO[bytes], head: bytes, encoding: str, limit: int | None = None) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    left = -1 if limit is None else max(0, limit - len(head))  # bytes left to check; -1: all
    try:
        decoder.decode(head)
        while left and (chunk := fh.read(_CHUNK if left < 0 else min(_CHUNK, left))):
            decoder.decode(chunk)
            left = left - len(chunk) if left > 0 else left
        # Cut short, the last character may be cut in two: only a whole file must end whole.
        decoder.decode(b"", final=left != 0)
    except UnicodeDecodeError:
        return False
    return True


def open_text(path: Path, limit: int | None = None) -> tuple[IO[str], str]:
    """A text stream over ``path`` in its detected encoding, and that encoding.

    With ``limit`` (a preview), only the first ``limit`` bytes decide the encoding, and a
    later byte that does not decode reads as U+FFFD instead of failing.
    """
    encoding = detect_encoding(path, limit)
    errors = "strict" if limit is None else "replace"
    stream = io.TextIOWrapper(open_binary(path), encoding=encoding, errors=errors, newline="")
    return stream, encoding


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``, ; TAB |`` outside quotes in the header line."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def key(name: str) -> str:
    """Header-name key: case, spaces and punctuation ignored (``Variant SKU`` = ``variant_sku``)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


@dataclass(frozen=True)
class Field:
    """One of our fields and the header names it goes by in exports."""

    name: str
    aliases: tuple[str, ...]
    required: bool = False


def F(name: str, *aliases: str, required: bool = False) -> Field:
    return Field(name, aliases or (name,), required)


class Columns:
    """Which column of the file holds each of our fields, found by header name."""

    def __init__(self, index: dict[str, int], header: Sequence[str]) -> None:
        self.index = index
        self.header = list(header)

    def __contains__(self, name: str) -> bool:
        return name in self.index

    def label(self, name: str) -> str:
        """The column's name as the file spells it (for error messages)."""
        return self.header[self.index[name]] if name in self.index else name


def found_columns(header: Sequence[str]) -> str:
    shown = ", ".join(repr(h) for h in header[:40])
    return shown + (f" … ({len(header)} columns)" if len(header) > 40 else "")


def resolve(
    path: Path, header: Sequence[str], fields: Sequence[Field], mapping: Mapping[str, str]
) -> Columns:
    """Map our fields to column positions by header name; ``mapping`` {field: column} wins.

    Raises ``ImportFileError`` naming the missing column and listing those found, or naming
    a column that is there twice (by header key) where it would fill one of our fields.
    """
    keys: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        keys.setdefault(key(name), []).append(i)

    def position(column: str) -> int:
        first, *more = keys[key(column)]
        if more:
            raise duplicate_column(path, header, first, more[0])
        return first

    known = {f.name for f in fields}
    index: dict[str, int] = {}
    for name, column in mapping.items():
        if name not in known:
            raise ImportFileError(
                path, None, None, f"--map names unknown field {name!r}; fields: {sorted(known)}"
            )
        if key(column) not in keys:
            raise ImportFileError(
                path, 1, column, f"mapped column not found (found: {found_columns(header)})"
            )
        index[name] = position(column)
    for f in fields:
        if f.name in index:
            continue
        alias = next((a for a in f.aliases if key(a) in keys), None)
        if alias is not None:
            index[f.name] = position(alias)
        elif f.required:
            raise ImportFileError(
                path, 1, f.aliases[0], f"missing required column (found: {found_columns(header)})"
            )
    return Columns(index, header)


class Row:
    """One data row, read through :class:`Columns`; typed getters raise ``RowError``."""

    __slots__ = ("cols", "line", "values")

    def __init__(self, line: int, values: list[str], cols: Columns) -> None:
        self.line = line
        self.values = values
        self.cols = cols

    def get(self, name: str) -> str:
        i = self.cols.index.get(name)
        if i is None or i >= len(self.values):
            return ""
        return self.values[i].strip()

    def check(self) -> None:
        """Refuse a row with more (non-empty) fields than the header has columns."""
        width = len(self.cols.header)
        if len(self.values) > width and any(x.strip() for x in self.values[width:]):
            raise RowError(None, f"{len(self.values)} fields but the header has {width}")

    def fail(self, name: str, message: str) -> RowError:
        return RowError(self.cols.label(name), message)

    def text(self, name: str, limit: int = 255, required: bool = False) -> str | None:
        """The cell as written (trimmed), for keys and codes: handles, SKUs, ids, e-mails,
        URLs, statuses. ``None`` when empty; longer than ``limit`` is a bad row."""
        value = self.get(name)
        if not value:
            if required:
                raise self.fail(name, "is empty")
            return None
        if len(value) > limit:
            raise self.fail(name, f"longer than {limit:,} characters")
        return value

    def plain(self, name: str, limit: int = 255, required: bool = False) -> str | None:
        """Free text as one line of plain text (:func:`shopmind.safety.one_line`): markup
        and control characters out, entities decoded, white space collapsed.

        ``limit`` counts the characters as written (cleaning never lengthens text), which
        also bounds the cleaning work. ``None`` when nothing is left; ``required`` makes
        that a bad row.
        """
        return self._cleaned(name, limit, required, one_line)

    def prose(self, name: str, limit: int, required: bool = False) -> str | None:
        """Free text that keeps its line breaks (review bodies), as plain text
        (:func:`shopmind.safety.html_to_text`); otherwise as :meth:`plain`."""
        return self._cleaned(name, limit, required, _prose)

    def plain_list(self, name: str, limit: int = 255) -> list[str]:
        """A comma-separated cell (tags) as a list of one-line plain texts, in order, each
        once; an item longer than ``limit`` as written is a bad row."""
        items = []
        for item in v.split_list(self.get(name)):
            if len(item) > limit:
                raise self.fail(name, f"has an item longer than {limit:,} characters")
            items.append(one_line(item))
        return list(dict.fromkeys(item for item in items if item))

    def _cleaned(
        self, name: str, limit: int, required: bool, clean: Callable[[str], str]
    ) -> str | None:
        written = self.text(name, limit, required)
        if written is None:
            return None
        text = clean(written)
        if not text and required:
            raise self.fail(name, "has no text once markup is removed")
        return text or None

    def _parse(self, name: str, parse: Any, required: bool) -> Any:
        value = self.get(name)
        if not value:
            if required:
                raise self.fail(name, "is empty")
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise self.fail(name, str(exc)) from None

    def money(self, name: str, required: bool = False, negative: bool = False) -> float | None:
        return self._parse(name, lambda s: v.parse_money(s, negative), required)

    def integer(self, name: str, required: bool = False) -> int | None:
        return self._parse(name, v.parse_int, required)

    def number(self, name: str, required: bool = False) -> float | None:
        return self._parse(name, v.parse_number, required)

    def date(self, name: str, required: bool = False) -> datetime | None:
        return self._parse(name, v.parse_datetime, required)

    def flag(self, name: str) -> bool | None:
        return self._parse(name, v.parse_bool, False)


def _prose(text: str) -> str:
    return html_to_text(text, keep_newlines=True)


class CsvTable:
    """A CSV file read as a stream: header first, then ``(line, values)`` per data row.

    ``line`` is the physical line where the record starts (the header is line 1), so
    quoted newlines inside cells do not throw the numbering off.
    """

    def __init__(self, path: Path, limit: int | None = None) -> None:
        self.path = path
        self.fh, self.encoding = open_text(path, limit)  # limit: see open_text
        first = self.fh.readline()
        if not first.strip():
            blank = not first or not any(line.strip() for line in self.fh)
            self.fh.close()
            if blank:
                raise ImportFileError(path, None, None, "file is empty")
            raise ImportFileError(path, 1, None, "the first line must be the header, not blank")
        self.delimiter = sniff_delimiter(first)
        lines = _without_nul(_chain(first, self.fh))
        self.reader = csv.reader(lines, delimiter=self.delimiter)
        self.header = [h.strip() for h in self._next() or []]
        self.rows_read = 0

    def _next(self) -> list[str] | None:
        try:
            return next(self.reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise ImportFileError(self.path, self.reader.line_num, None, str(exc)) from None

    def columns(self, fields: Sequence[Field], mapping: Mapping[str, str]) -> Columns:
        """Resolve our fields to columns; the file is closed if that fails."""
        try:
            return resolve(self.path, self.header, fields, mapping)
        except ImportFileError:
            self.close()
            raise

    def close(self) -> None:
        self.fh.close()

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """Data rows as ``(line, values)``; blank rows are skipped."""
        try:
            while True:
                line = self.reader.line_num + 1
                values = self._next()
                if values is None:
                    break
                if not any(values):
                    continue
                self.rows_read += 1
                yield line, values
        finally:
            self.fh.close()
        if not self.rows_read:
            raise ImportFileError(self.path, None, None, "no data rows (only a header)")


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def _without_nul(lines: Iterator[str]) -> Iterator[str]:
    """NUL characters mean nothing in a CSV and PostgreSQL refuses them in text."""
    for line in lines:
        yield line.replace("\x00", "") if "\x00" in line else line
