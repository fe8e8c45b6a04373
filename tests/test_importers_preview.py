"""The Imports page's library: previewing the start of a file, and validating a whole file
by the importers' own checks without writing anything (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.events import normalize_event
from shopmind.store.importers import (
    IMPORTERS,
    ImportFileError,
    Problem,
    import_file,
    preview_file,
    validate_file,
)
from shopmind.store.importers.preview import CELL_CHARS, EVENT_FIELDS
from shopmind.store.models import Base, Product

DATA = Path(__file__).parent / "data" / "importers"
PRODUCTS = "Handle,Title,Body (HTML),Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
ORDERS = "order_id,created_at,email,sku,title,quantity,price\n"
EVENTS = "event_name,event_timestamp,user_pseudo_id,session_id,value\n"
REVIEW_MAP = {
    "external_id": "review_ref",
    "product": "item",
    "rating": "stars",
    "title": "headline",
    "body": "text",
    "author": "reviewer",
    "created_at": "posted",
}


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def _snapshot(store: Store) -> dict[str, list[str]]:
    """Every row of every table, so that any write shows."""
    with store.engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def _catalog(store: Store, folder: Path) -> None:
    """A store holding products, an order and events, for files to clash with."""
    folder.mkdir()
    orders = _write(folder, "orders.csv", ORDERS + "1001,2024-03-01,a@x.com,LCS-S-SAND,,1,68\n")
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    import_file(store, "orders", orders)
    import_file(store, "events", DATA / "events_flat.csv")


# --- validate: one broken row, nothing written ------------------------------------------

# kind, file name, text, mapping, the bad row's (line, field, message), records stored
CASES: list[tuple[str, str, str, dict[str, str] | None, tuple[int, str | None, str], int]] = [
    (
        "shopify-products",
        "products.csv",
        PRODUCTS
        + "linen-camp-shirt,Renamed shirt,,Size,S,LCS-NEW,70\n"
        + "tee,Tee,,Size,S,T-S,10\n"
        + "tee,,,,M,T-M,abc\n"
        + "mug,Mug,,,,MUG,5\n",
        None,
        (4, "Variant Price", "not a number: 'abc'"),
        2,
    ),
    (
        "orders",
        "orders.csv",
        ORDERS
        + "1001,2024-03-02,a@x.com,LCS-S-SAND,,3,60\n"
        + "1002,13/01/2024,b@x.com,LCS-S-SAND,,1,68\n"
        + "1003,2024-03-04,c@x.com,,Gift card,1,25\n",
        None,
        (3, "created_at", "not a date: '13/01/2024'"),
        2,
    ),
    (
        "events",
        "events.csv",
        EVENTS
        + "page_view,2024-05-01T10:00:00Z,u-1,s-1,\n"
        + "purchase,2024-05-01T10:05:00Z,u-1,s-1,twelve\n"
        + "page_view,2024-05-01T10:06:00Z,u-2,s-2,\n",
        None,
        (3, "value", "not a number: 'twelve'"),
        2,
    ),
    (
        "events",
        "events.jsonl",
        '{"event_name": "page_view", "event_timestamp": 1714557600, "user_pseudo_id": "u-9"}\n'
        '{"event_name": "page_view", "event_timestamp": "03/01/2024", "user_pseudo_id": "u-9"}\n',
        None,
        (2, "event_timestamp", "not a timestamp: '03/01/2024'"),
        1,
    ),
    (
        "reviews",
        "reviews.csv",
        "review_ref;item;stars;headline;text;reviewer;posted\n"
        "r-1;linen-camp-shirt;5;Great;Light and breathable.;Ada;2024-03-10\n"
        "r-2;no-such-product;4;Fine;Fits well.;Omar;2024-03-11\n"
        "r-3;LCS-M-NAVY;3;Meh;Wrinkles.;Lin;2024-03-12\n",
        REVIEW_MAP,
        (3, "item", "no product with key or SKU 'no-such-product' in the store"),
        2,
    ),
    (
        "pages",
        "faq.csv",
        "question,answer,url\n"
        + "Shipping?,Two days.,/faq#ship\n"
        + "Returns?,30 days.,javascript:alert(1)\n",
        None,
        (3, "url", "link 'javascript:alert(1)' is not http(s), mailto or relative"),
        1,
    ),
]


@pytest.mark.parametrize(
    ("kind", "name", "text", "mapping", "bad", "stored"),
    CASES,
    ids=[name for _, name, *_ in CASES],
)
def test_validate_reports_the_bad_row_and_leaves_the_store_as_it_was(
    store: Store,
    tmp_path: Path,
    kind: str,
    name: str,
    text: str,
    mapping: dict[str, str] | None,
    bad: tuple[int, str, str],
    stored: int,
) -> None:
    _catalog(store, tmp_path / "base")
    path = _write(tmp_path, name, text)
    before, files = _snapshot(store), sorted(tmp_path.iterdir())

    result = validate_file(store, kind, path, mapping=mapping, batch_size=1)

    assert result.errors == [Problem(*bad)]
    assert (result.error_count, result.stored, result.ok) == (1, stored, False)
    assert _snapshot(store) == before
    assert sorted(tmp_path.iterdir()) == files  # no reject file, no temporary file
    # The import refuses the same row, and with --skip-bad-rows stores what validate counted.
    with pytest.raises(ImportFileError) as refused:
        import_file(store, kind, path, mapping=mapping)
    assert (refused.value.line, refused.value.field, refused.value.message) == bad
    imported = import_file(store, kind, path, mapping=mapping, skip_bad_rows=True)
    assert (imported.rows, imported.rejected) == (result.stored, result.rejected_rows)


def test_validate_leaves_rows_it_would_update_untouched(store: Store, tmp_path: Path) -> None:
    import_file(store, "shopify-products", DATA / "shopify_products.csv")
    path = _write(tmp_path, "p.csv", PRODUCTS + "linen-camp-shirt,Renamed,,Size,S,LCS-NEW,70\n")
    before = _snapshot(store)

    result = validate_file(store, "shopify-products", path)

    assert (result.ok, result.counts) == (True, {"products": 1, "variants": 1})
    assert _snapshot(store) == before  # the title kept, the other variants not deleted
    with store.session() as s:
        title = s.execute(select(Product.title).where(Product.external_id == "linen-camp-shirt"))
        assert title.scalar_one() == "Linen Camp Shirt"


def test_validate_counts_every_bad_row_and_keeps_the_first(store: Store, tmp_path: Path) -> None:
    rows = "".join(
        f"{n},2024-03-0{n},a@x.com,S,Item,1,{'x' if n % 2 else '5'}\n" for n in range(1, 8)
    )
    path = _write(tmp_path, "orders.csv", ORDERS + rows)

    result = validate_file(store, "orders", path, max_errors=2, batch_size=2)

    assert (result.error_count, result.rejected_rows, result.stored) == (4, 4, 3)
    assert result.errors == [
        Problem(2, "price", "not a number: 'x'"),
        Problem(4, "price", "not a number: 'x'"),
    ]
    assert "4 rows would be rejected (4 errors, first line 2, field 'price'" in result.summary()
    json.dumps(result.to_dict())


def test_validate_events_counts_new_and_already_stored(store: Store, tmp_path: Path) -> None:
    import_file(store, "events", DATA / "events_flat.csv")
    stored = (DATA / "events_flat.csv").read_text(encoding="utf-8")
    header, first = stored.splitlines()[:2]
    new = "page_view,2024-06-01T00:00:00Z,u-7,s-7" + "," * (header.count(",") - 3)
    path = _write(tmp_path, "ev.csv", "\n".join([header, first, new, new, ""]))
    before = _snapshot(store)

    result = validate_file(store, "events", path)

    assert (result.stored, result.new, result.ok) == (3, 1, True)
    assert "(1 new, 2 already stored)" in result.summary()
    assert _snapshot(store) == before
    again = validate_file(store, "events", path)  # the staging table was dropped
    assert (again.stored, again.new) == (3, 1)


@pytest.mark.parametrize(
    ("kind", "name", "text"),
    [
        (
            "shopify-products",
            "p.csv",
            PRODUCTS + "".join(f"p{n},P{n},,,,S{n},1\n" for n in range(5)),
        ),
        ("events", "e.csv", EVENTS + "".join(f"x,2024-05-01,u{n},s,\n" for n in range(5))),
    ],
)
def test_validate_never_keeps_the_sqlite_write_lock_between_batches(
    store: Store, tmp_path: Path, kind: str, name: str, text: str
) -> None:
    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL does not block other writers")
    path = _write(tmp_path, name, text)
    other = sqlite3.connect(store.engine.url.database or "", timeout=0, isolation_level=None)
    taken: list[int] = []

    def another_writer(rows_read: int) -> None:
        other.execute("BEGIN IMMEDIATE")  # 'database is locked' if validate holds the lock
        other.execute("ROLLBACK")
        taken.append(rows_read)

    validate_file(store, kind, path, batch_size=2, progress=another_writer)

    other.close()
    assert len(taken) == 3 and taken[-1] == 5  # two full batches and the last one


# --- the same refusals as the import ----------------------------------------------------


def _bad_inputs(tmp_path: Path) -> list[tuple[str, Path, dict[str, str]]]:
    (tmp_path / "folder").mkdir()
    return [
        ("shopify-products", tmp_path / "missing.csv", {}),
        ("shopify-products", tmp_path / "folder", {}),
        ("shopify-products", _write(tmp_path, "empty.csv", ""), {}),
        ("shopify-products", _write(tmp_path, "blank.csv", "\n\nHandle,Title\n"), {}),
        ("shopify-products", _write(tmp_path, "header.csv", PRODUCTS), {}),
        ("shopify-products", _write(tmp_path, "p.csv", PRODUCTS), {"colour": "Title"}),
        ("events", _write(tmp_path, "empty.jsonl", "  \n"), {}),
        ("events", _write(tmp_path, "empty.json", "[]"), {}),
        ("pages", _write(tmp_path, "notes.pdf", "%PDF"), {}),
        ("pages", tmp_path / "folder", {}),
    ]


def test_preview_and_validate_refuse_a_file_as_the_import_does(
    store: Store, tmp_path: Path
) -> None:
    for kind, path, mapping in _bad_inputs(tmp_path):
        with pytest.raises(ImportFileError) as imported:
            import_file(store, kind, path, mapping=mapping)
        with pytest.raises(ImportFileError) as validated:
            validate_file(store, kind, path, mapping=mapping)
        with pytest.raises(ImportFileError) as previewed:
            preview_file(kind, path, mapping=mapping)
        assert str(validated.value) == str(previewed.value) == str(imported.value)
    with pytest.raises(ValueError, match="unknown import kind 'csv'"):
        preview_file("csv", DATA / "faq.csv")


def test_a_file_that_is_not_utf8_reads_as_the_import_reads_it(store: Store, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "excel.csv", PRODUCTS.replace(",", ";") + "sol;Soleil d'été;;;;SO;12\n", "cp1252"
    )
    preview = preview_file("shopify-products", path)
    assert (preview.encoding, preview.delimiter, preview.rows[0][1]) == (
        "cp1252",
        ";",
        "Soleil d'été",
    )
    import_file(store, "shopify-products", path)
    with store.session() as s:
        assert s.execute(select(Product.title)).scalar_one() == "Soleil d'été"

    binary = _write(tmp_path, "image.csv", "\x89PNG\r\n\x1a\n\x00\x00", "latin-1")
    with pytest.raises(ImportFileError) as imported:
        import_file(store, "shopify-products", binary)
    preview = preview_file("shopify-products", binary)
    assert str(imported.value).endswith(str(preview.problems[0]))
    assert preview.missing == ["handle", "title"]


# --- preview ----------------------------------------------------------------------------


def test_preview_of_renamed_columns_and_a_mapping(tmp_path: Path) -> None:
    path = DATA / "reviews.csv"

    bare = preview_file("reviews", path, rows=2)
    assert bare.columns == ["review_ref", "item", "stars", "headline", "text", "reviewer", "posted"]
    assert (bare.delimiter, bare.lines, bare.more) == (";", [2, 3], True)
    assert bare.rows[0][:3] == ["r-1", "linen-camp-shirt", "5"]
    assert bare.missing == ["product"]
    assert [str(p) for p in bare.problems] == [
        "line 1, field 'product_id': missing required column (found: 'review_ref', 'item', "
        "'stars', 'headline', 'text', 'reviewer', 'posted')"
    ]

    mapped = preview_file("reviews", path, rows=2, mapping=REVIEW_MAP)
    columns = {m.field: m.column for m in mapped.fields}
    assert columns == {**REVIEW_MAP, "email": None, "language": None, "verified": None}
    assert (mapped.missing, mapped.problems) == ([], [])
    product = next(m for m in mapped.fields if m.field == "product")
    assert (product.required, product.names[:2]) == (True, ("product_id", "product"))
    json.dumps(mapped.to_dict())


def test_preview_mapping_wins_and_column_problems_match_the_import(
    store: Store, tmp_path: Path
) -> None:
    path = _write(tmp_path, "r.csv", "product,rating,stars,body,Body\nmug,4,5,Nice,Nice\n")
    preview = preview_file("reviews", path, mapping={"rating": "stars", "title": "headline"})
    columns = {m.field: m.column for m in preview.fields}
    assert (columns["product"], columns["rating"], columns["title"]) == ("product", "stars", None)
    with pytest.raises(ImportFileError) as imported:
        import_file(store, "reviews", path, mapping={"rating": "stars"})
    assert [str(p) for p in preview.problems] == [
        "line 1, field 'headline': mapped column not found (found: 'product', 'rating', "
        "'stars', 'body', 'Body')",
        str(imported.value).removeprefix(f"{path}, "),  # the repeated body column
    ]
    assert "duplicate column: 'body' is column 4 and 'Body' column 5" in str(imported.value)

    orders = preview_file(
        "orders", _write(tmp_path, "o.csv", "order_id,created_at\n1,2024-01-01\n")
    )
    assert [str(p) for p in orders.problems] == [
        "line 1, field 'total': missing column: need an order total or a line price column"
    ]


def test_preview_cuts_long_cells_and_pads_short_rows(tmp_path: Path) -> None:
    body = "<p>" + "long " * 100 + "</p>"
    path = _write(tmp_path, "p.csv", PRODUCTS + f'tee,Tee,"{body}"\n')
    row = preview_file("shopify-products", path).rows[0]
    assert len(row[2]) == CELL_CHARS and row[2].endswith("…") and body.startswith(row[2][:-1])
    assert row[3:] == ["", "", "", ""]


def test_preview_events_csv_json_lines_and_bigquery(tmp_path: Path) -> None:
    csv_file = _write(
        tmp_path,
        "ev.csv",
        "Event,When,Visitor,traffic_source.source,device\nview_item,2024-05-01,u-1,google,mobile\n",
    )
    preview = preview_file("events", csv_file, mapping={"event_name": "Event", "ts": "When"})
    columns = {m.field: m.column for m in preview.fields if m.column}
    assert columns == {
        "event_name": "Event",
        "event_timestamp": "When",
        "source": "traffic_source.source",
        "device_category": "device",
    }
    assert (preview.format, preview.missing) == ("csv", ["user_pseudo_id"])

    lines = _write(
        tmp_path,
        "ev.jsonl",
        '{"name": "page_view", "ts": 1714557600, "client_id": "c-1", "items": [{"item_id": "A"}]}\n'
        "\n"
        "{not json\n"
        '["not", "an", "object"]\n'
        '{"name": "page_view", "ts": 1714557601, "client_id": "c-2"}\n',
    )
    preview = preview_file("events", lines, rows=3)
    assert (preview.format, preview.lines, preview.more) == ("json lines", [1], True)
    assert preview.columns == ["name", "ts", "client_id", "items"]
    assert preview.rows == [["page_view", "1714557600", "c-1", '[{"item_id": "A"}]']]
    assert [str(p) for p in preview.problems] == [
        "line 3: not valid JSON: Expecting property name enclosed in double quotes",
        "line 4: not a JSON object",
    ]
    assert preview.missing == []

    bigquery = preview_file("events", DATA / "events_bigquery.json", rows=1)
    columns = {m.field: m.column for m in bigquery.fields if m.column}
    assert bigquery.format == "json array"
    assert columns["campaign"] == "traffic_source.name"
    assert columns["device_category"] == "device.category"
    assert columns["session_id"].startswith("event_params[")


def test_preview_of_a_pages_folder_shows_its_first_documents(tmp_path: Path) -> None:
    preview = preview_file("pages", DATA / "pages", rows=2)
    assert (preview.format, preview.columns, preview.more) == (
        "documents",
        ["path", "title", "kind", "language", "text"],
        True,
    )
    assert [row[0] for row in preview.rows] == ["help/about-us.md", "help/sizing_guide.txt"]
    assert (preview.fields, preview.missing) == ([], [])

    docs = tmp_path / "docs"
    docs.mkdir()
    _write(docs, "empty.md", "<script>x</script>")
    _write(docs, "refund-policy.md", "# Refunds\n\n30 days.\n")
    preview = preview_file("pages", docs)
    assert preview.rows == [["refund-policy.md", "Refunds", "policy", "en", "Refunds\n\n30 days."]]
    assert [str(p) for p in preview.problems] == ["empty.md: has no text"]
    faq = preview_file("pages", DATA / "faq.csv")
    assert (faq.format, faq.missing) == ("csv", [])


def test_every_import_kind_can_be_previewed() -> None:
    files = {
        "shopify-products": "shopify_products.csv",
        "woocommerce-products": "woocommerce_products.csv",
        "shopify-orders": "shopify_orders.csv",
        "orders": "orders_generic.csv",
        "reviews": "reviews.csv",
        "events": "events.jsonl",
        "pages": "pages",
        "ad-spend": "../ad_spend.csv",
    }
    assert set(files) == set(IMPORTERS)
    for kind, name in files.items():
        preview = preview_file(kind, DATA / name, rows=1)
        assert len(preview.rows) == 1, kind
        assert preview.fields or kind == "pages", kind


# field: (the row's column, a value as sent, the value stored)
EVENT_SAMPLES: dict[str, tuple[str, Any, Any]] = {
    "event_name": ("name", "add_to_cart", "add_to_cart"),
    "event_timestamp": ("ts", 1714557600, datetime(2024, 5, 1, 10, 0)),
    "user_pseudo_id": ("user_id", "u-2", "u-2"),
    "session_id": ("session_id", "s-1", "s-1"),
    "transaction_id": ("transaction_id", "T-1", "T-1"),
    "value": ("value", "12.5", 12.5),
    "currency": ("currency", "EUR", "EUR"),
    "items": ("item_id", [{"item_id": "A"}], "A"),
    "source": ("source", "google", "google"),
    "medium": ("medium", "cpc", "cpc"),
    "campaign": ("campaign", "spring", "spring"),
    "device_category": ("device", "mobile", "mobile"),
    "page_location": ("page", "https://shop.example.com/", "https://shop.example.com/"),
    "search_term": ("search_term", " linen  dress ", "linen dress"),
    "event_id": ("event_id", "e-1", "e-1"),
}


@pytest.mark.parametrize("spec", EVENT_FIELDS, ids=lambda f: f.name)
def test_event_fields_name_the_keys_the_importer_reads(spec: Any) -> None:
    """Every key the preview looks for fills its field when normalize_event reads it."""
    base = {"event_name": "view_item", "event_timestamp": 1714557601, "user_pseudo_id": "u-1"}
    column, sent, stored = EVENT_SAMPLES[spec.name]
    for key in spec.aliases:
        raw = {k: v for k, v in base.items() if k != spec.name}
        raw[key] = "A" if key == "item_id" else sent
        assert normalize_event(raw)[column] == stored, key


# --- a huge file ------------------------------------------------------------------------


def _bytes_read() -> int | None:
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(text.split("rchar:")[1].split()[0])


@pytest.mark.parametrize("kind", ["shopify-products", "events"])
def test_preview_reads_only_the_start_of_a_huge_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "huge"
    with path.open("wb") as fh:
        if kind == "events":
            fh.write(b'[{"event_name": "view_item", "ts": 1714557600, "user_id": "Caf\xc3\xa9"}')
            row = b',\n{"event_name": "view_item", "ts": 1714557600, "user_id": "u-%d"}'
            fh.writelines(row % n for n in range(200_000))
            fh.write(b"\xe9]")  # not UTF-8: had the whole file been checked, cp1252
        else:
            fh.write(PRODUCTS.encode() + "cafe,Café,,,,C,1\n".encode())
            fh.writelines(b"p%d,Product %d,,,,S%d,1\n" % (n, n, n) for n in range(200_000))
            fh.write(b"last,Caf\xe9,,,,L,1\n")
    size = path.stat().st_size
    before = _bytes_read()

    preview = preview_file(kind, path, rows=5)

    read = _bytes_read()
    assert (preview.encoding, preview.more, len(preview.rows)) == ("utf-8", True, 5)
    assert "Café" in preview.rows[0]
    if before is not None and read is not None:
        assert read - before < size // 4, (read - before, size)
    assert size > 5_000_000
