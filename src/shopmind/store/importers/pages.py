"""Help-centre pages: a folder of Markdown / HTML / text files, or a CSV of FAQ pairs.

A document's key is its path inside the folder; its title comes from front matter, the
first heading or ``<title>``, else the file name. Names that mention refunds, returns,
shipping, privacy or terms make it a ``policy``. FAQ rows are keyed by their id column
or a hash of the question, so re-imports update in place.

Every text field (body, title, FAQ question and answer) goes through
:mod:`shopmind.safety`, so none is stored with markup in it, and a link that is not
http(s), mailto or relative (``javascript:``, ``data:``) makes the row a bad row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from shopmind.safety import (
    front_matter,
    html_to_text,
    markdown_to_text,
    one_line,
    parse_html,
    safe_url,
)
from shopmind.store.db import Store
from shopmind.store.importers.common import (
    ImportFileError,
    ImportResult,
    Options,
    Rejected,
    RowError,
    import_csv,
    merge_repeats,
    run,
)
from shopmind.store.importers.reading import Columns, CsvTable, F, Row, detect_encoding
from shopmind.store.importers.values import detect_language
from shopmind.store.models import Page
from shopmind.store.writer import upsert

MAX_BYTES = 5 * 1024 * 1024
HTML = {".html", ".htm"}
MARKDOWN = {".md", ".markdown", ".mdown"}
TEXT = {".txt", ".text"}
_POLICY = re.compile(
    r"refund|return|shipping|delivery|privacy|terms|policy|policies|cookie|warranty|legal"
)
FAQ_FIELDS = [
    F("question", "question", "q", "faq question", required=True),
    F("answer", "answer", "a", "response", "faq answer", required=True),
    F("id", "id", "faq_id", "question_id"),
    F("url", "url", "link"),
    F("language", "language", "lang", "locale"),
]


def import_pages(store: Store, opts: Options) -> ImportResult:
    path = opts.path
    suffix = path.suffix.lower()
    write = partial(_write, seen=set())
    if path.is_file() and suffix in (".csv", ".tsv"):
        return import_csv(store, opts, "pages", FAQ_FIELDS, _faq_rows, write)
    if path.is_file() and suffix not in HTML | MARKDOWN | TEXT:
        raise ImportFileError(path, None, None, "expected a folder, a document or a FAQ CSV")
    docs = _Documents(path)
    return run(store, opts, "pages", docs, docs, write)


def _write(
    conn: Connection, batch: list[dict[str, Any]], result: ImportResult, seen: set[str]
) -> list[Rejected]:
    upsert(conn, Page, merge_repeats(batch, seen, result, "pages"))
    return []


class _Documents:
    """The documents under a folder (hidden files and symlinks skipped), one row each."""

    header = ("path",)  # of the reject file
    delimiter = ","

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows_read = 0

    def _files(self) -> Iterator[Path]:
        if self.root.is_file():
            yield self.root
            return
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if any(p.startswith(".") for p in rel.parts) or path.is_symlink():
                continue
            if path.is_file() and path.suffix.lower() in HTML | MARKDOWN | TEXT:
                yield path

    def __iter__(self) -> Iterator[dict[str, Any] | Rejected]:
        for path in self._files():
            self.rows_read += 1
            rel = path.name if path == self.root else path.relative_to(self.root).as_posix()
            try:
                yield document(path, rel)
            except RowError as exc:
                yield Rejected(None, None, f"{rel}: {exc.message}", [[rel]])
        if not self.rows_read:
            raise ImportFileError(self.root, None, None, "no pages found (.md, .html or .txt)")


def document(path: Path, external_id: str) -> dict[str, Any]:
    """One help-centre document → a ``pages`` row."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise RowError("file", f"larger than {MAX_BYTES // 1024 // 1024} MB")
    text = path.read_bytes().decode(detect_encoding(path)).replace("\x00", "")
    suffix = path.suffix.lower()
    meta: dict[str, str] = {}
    if suffix in HTML:
        title, body = parse_html(text)
    elif suffix in MARKDOWN:
        meta, text = front_matter(text)
        title, body = markdown_to_text(text)
    else:  # plain text: markup in it is still not stored as markup
        title, body = "", html_to_text(text, keep_newlines=True)
    if not body:
        raise RowError("file", "has no text")
    title = one_line(meta.get("title", "")) or title or one_line(_title_from_name(path))
    kind = meta.get("kind", "")
    if kind not in ("page", "policy", "faq"):
        kind = "policy" if _POLICY.search(external_id.lower()) else "page"
    return {
        "external_id": external_id[:512],
        "kind": kind,
        "title": title[:512],
        "body": body,
        "question": None,
        "url": _url(meta.get("url")),
        "language": (
            one_line(meta.get("language") or meta.get("lang") or "") or detect_language(body)
        )[:16],
        "updated_at": datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None),
    }


def _url(value: str | None, field: str = "url") -> str | None:
    """A page's link: http(s), mailto or relative; anything else is a bad value."""
    if not value or not value.strip():
        return None
    url = safe_url(value)
    if url is None:
        raise RowError(field, f"link {value[:200]!r} is not http(s), mailto or relative")
    return url[:2048]


def _title_from_name(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:]


def _faq_rows(table: CsvTable, cols: Columns) -> Iterator[dict[str, Any] | Rejected]:
    now = datetime.now(UTC).replace(tzinfo=None)
    for line, values in table:
        row = Row(line, values, cols)
        try:
            row.check()
            yield _faq(row, now)
        except RowError as exc:
            yield Rejected(row.line, exc.field, exc.message, [row.values])


def _faq(row: Row, now: datetime) -> dict[str, Any]:
    asked = row.text("question", 10_000, required=True) or ""
    question = one_line(asked)
    if not question:
        raise row.fail("question", "has no text once markup is removed")
    answer = html_to_text(row.text("answer", 1_000_000, required=True) or "")
    if not answer:
        raise row.fail("answer", "has no text once markup is removed")
    ident = row.text("id", 200)
    if ident is None:  # the question as written: keys stay those of earlier imports
        normal = " ".join(asked.casefold().split())
        ident = hashlib.sha256(normal.encode()).hexdigest()[:24]
    return {
        "external_id": f"faq:{ident}",
        "kind": "faq",
        "title": question[:512],
        "body": answer,
        "question": question,
        "url": _url(row.text("url", 2048), row.cols.label("url")),
        "language": (row.text("language", 16) or detect_language(f"{question} {answer}")).lower(),
        "updated_at": now,
    }
