"""GA4-style events from CSV, JSON lines and BigQuery-export JSON."""

from __future__ import annotations

import csv
import gzip
import json
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from shopmind.store import Store
from shopmind.store.events import normalize_event
from shopmind.store.importers import ImportFileError, import_file
from shopmind.store.models import Event
from shopmind.store.writer import insert_new

DATA = Path(__file__).parent / "data" / "importers"


def _events(store: Store) -> list[Event]:
    with store.session() as s:
        return list(s.scalars(select(Event).order_by(Event.ts, Event.name)))


def test_flat_csv_events(store: Store) -> None:
    result = import_file(store, "events", DATA / "events_flat.csv")

    assert (result.rows, result.new, result.rejected) == (8, 8, 0)
    events = _events(store)
    assert [e.name for e in events[:5]] == [
        "session_start",
        "view_item",
        "add_to_cart",
        "begin_checkout",
        "purchase",
    ]
    purchase = events[4]
    assert purchase.ts == datetime(2024, 3, 1, 10, 5, 30)
    assert (purchase.user_id, purchase.customer_id, purchase.session_id) == (
        "u-100",
        "cust-7",
        "s-1",
    )
    assert (purchase.value, purchase.currency, purchase.transaction_id) == (161.32, "USD", "#1001")
    assert purchase.items == [
        {"item_id": "LCS-S-SAND", "price": 68.0, "quantity": 2},
        {"item_id": "MUG-350", "price": 18.0, "quantity": 1},
    ]
    add = events[2]
    assert (add.item_id, add.items, add.value) == (
        "LCS-S-SAND",
        [{"item_id": "LCS-S-SAND", "price": 68.0, "quantity": 2}],
        136.0,
    )
    assert (add.source, add.medium, add.device) == ("google", "organic", "mobile")
    assert events[5].campaign == "spring_sale"


def test_json_lines_events_and_idempotent_reimport(store: Store) -> None:
    first = import_file(store, "events", DATA / "events.jsonl")
    again = import_file(store, "events", DATA / "events.jsonl")

    assert (first.rows, first.new) == (4, 4)
    assert (again.rows, again.new) == (4, 0)
    assert store.stats()["events"] == 4
    events = _events(store)
    assert events[0].ts == datetime(2024, 3, 1, 10)  # GA4 microseconds
    assert events[1].currency == "USD" and events[1].items[0]["item_name"] == "Trail Runner GTX"
    assert "evt-remove-1" in {e.event_id for e in events}


def test_bigquery_export_array_and_ndjson_give_the_same_events(
    store: Store, tmp_path: Path
) -> None:
    result = import_file(store, "events", DATA / "events_bigquery.json")
    assert (result.rows, result.new) == (3, 3)
    view, purchase, start = _events(store)
    assert view.session_id == "1709287100"
    assert view.page == "https://shop.example.com/products/linen-camp-shirt"
    assert (purchase.user_id, purchase.customer_id) == ("1234567.8901234", "cust-42")
    assert (purchase.value, purchase.currency, purchase.transaction_id) == (136.0, "EUR", "T-9001")
    assert (purchase.source, purchase.medium, purchase.campaign, purchase.device) == (
        "google",
        "cpc",
        "spring_sale",
        "mobile",
    )
    assert (start.name, start.device, start.source) == ("session_start", "desktop", "(direct)")

    records = json.loads((DATA / "events_bigquery.json").read_text(encoding="utf-8"))
    ndjson = tmp_path / "export.json.gz"  # BigQuery writes newline-delimited JSON, often gzipped
    with gzip.open(ndjson, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    again = import_file(store, "events", ndjson)
    assert (again.rows, again.new) == (3, 0)


def test_csv_headers_nest_and_map(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.tsv"
    path.write_text(
        "Event Name\tWhen\tVisitor\ttraffic_source.source\ttraffic_source.medium\tdevice.category\n"
        "view_item\t2024-05-01 12:00:00\tv1\tbing\tcpc\ttablet\n",
        encoding="utf-8",
    )
    import_file(
        store, "events", path, mapping={"event_timestamp": "When", "user_pseudo_id": "visitor"}
    )
    (event,) = _events(store)
    assert (event.name, event.ts, event.user_id) == ("view_item", datetime(2024, 5, 1, 12), "v1")
    assert (event.source, event.medium, event.device) == ("bing", "cpc", "tablet")


def test_json_array_is_streamed_across_chunks(store: Store, tmp_path: Path) -> None:
    n = 3000
    events = [
        {
            "event_name": "view_item",
            "event_timestamp": 1709287200 + i,
            "user_pseudo_id": f"u{i % 97}",
            "page_location": "https://shop.example.com/p/" + "x" * 800,
        }
        for i in range(n)
    ]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(events, indent=1), encoding="utf-8")
    assert path.stat().st_size > 2 * (1 << 20)  # crosses the 1 MiB read chunks
    seen: list[int] = []

    result = import_file(store, "events", path, batch_size=700, progress=seen.append)

    assert (result.rows, result.new) == (n, n)
    assert seen == sorted(seen) and seen[-1] == n and len(seen) >= n // 700
    with store.session() as s:
        assert s.scalar(select(func.count(func.distinct(Event.user_id)))) == 97


def test_bad_event_in_a_json_array_names_its_line(store: Store, tmp_path: Path) -> None:
    text = (DATA / "events_bigquery.json").read_text(encoding="utf-8")
    lines = text.splitlines()
    third = [i for i, line in enumerate(lines, start=1) if line == "  {"][2]
    path = tmp_path / "bad.json"
    path.write_text(text.replace('"1709373600000000"', '"soon"'), encoding="utf-8")

    with pytest.raises(ImportFileError) as info:
        import_file(store, "events", path)

    assert (info.value.line, info.value.field) == (third, "event_timestamp")
    assert (
        str(info.value) == f"{path}, line {third}, field 'event_timestamp': not a timestamp: 'soon'"
    )
    assert store.stats()["events"] == 0


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('{"event_timestamp": 1709287200, "user_pseudo_id": "u"}', "event_name", "is missing"),
        (
            '{"event_name": "view item", "event_timestamp": 1, "user_pseudo_id": "u"}',
            "event_name",
            "not a valid event name",
        ),
        (
            '{"event_name": "view_item", "event_timestamp": 1709287200}',
            "user_pseudo_id",
            "is missing",
        ),
        (
            '{"event_name": "view_item", "event_timestamp": 1709287200, '
            '"user_pseudo_id": "u", "items": [{"price": 1}]}',
            "items[0].item_id",
            "is missing",
        ),
        ('{"event_name": "view_item", ', None, "not valid JSON"),
        ("[1, 2]", None, "not a JSON object"),
    ],
)
def test_bad_json_line_is_refused_with_line_and_field(
    store: Store, tmp_path: Path, line: str, field: str | None, message: str
) -> None:
    good = (DATA / "events.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([*good[:2], line, *good[2:]]) + "\n", encoding="utf-8")

    with pytest.raises(ImportFileError) as info:
        import_file(store, "events", path, batch_size=1)

    assert (info.value.line, info.value.field) == (3, field)
    assert message in str(info.value)
    assert store.stats()["events"] == 0  # the batches before line 3 were rolled back


def test_skip_bad_event_rows_writes_json_rejects(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        (DATA / "events.jsonl").read_text(encoding="utf-8") + '{"event_name": "x"}\n',
        encoding="utf-8",
    )
    result = import_file(store, "events", path, skip_bad_rows=True)

    assert (result.rows, result.rejected) == (4, 1)
    with result.reject_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [
        {"record": '{"event_name": "x"}', "reason": "line 6, field 'event_timestamp': is missing"}
    ]


def test_real_clickstream_file_with_mapping(
    store: Store, shared_data: Path, tmp_path: Path
) -> None:
    """A public synthetic clickstream (gzipped CSV, non-GA4 headers) imported via --map."""
    source = shared_data / "analytics" / "synthetic-ecom" / "ecom.csv.gz"
    if not source.exists():
        pytest.skip(f"{source} not found")
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    distinct = {(r["user_id"], r["timestamp"], r["event"], r["session_id"]) for r in rows}

    mapping = {
        "event_name": "event",
        "event_timestamp": "timestamp",
        "device_category": "platform",
        "source": "acquisition_channel",
    }
    result = import_file(store, "events", source, mapping=mapping)

    assert result.rows == len(rows) and result.new == len(distinct)
    with store.session() as s:
        purchases = s.scalar(select(func.count()).where(Event.name == "purchase"))
        channels = set(s.scalars(select(Event.source).distinct()))
    expected = {(u, t, e, sid) for u, t, e, sid in distinct if e == "purchase"}
    assert purchases == len(expected)
    assert channels == {r["acquisition_channel"] for r in rows}


def test_nul_characters_in_json_events_are_dropped(store: Store, tmp_path: Path) -> None:
    event = {"event_name": "view_item", "event_timestamp": 1709287200, "user_pseudo_id": "u\x001"}
    lines = tmp_path / "nul.jsonl"
    lines.write_text(json.dumps(event) + "\n", encoding="utf-8")
    array = tmp_path / "nul.json"
    array.write_text(json.dumps([{**event, "event_name": "add_to_cart"}]), encoding="utf-8")

    import_file(store, "events", lines)
    import_file(store, "events", array)

    assert [(e.name, e.user_id) for e in _events(store)] == [
        ("add_to_cart", "u1"),
        ("view_item", "u1"),
    ]


def test_other_writers_are_not_blocked_while_an_events_file_is_read(
    store: Store, tmp_path: Path
) -> None:
    """Regression: on SQLite an events import held the database write lock from its first
    batch to the end of the file, so a REST API writer waited out its busy timeout and failed.
    Rows are now staged in a TEMP table and copied into events in one short transaction."""
    n = 3000
    path = tmp_path / "events.jsonl"
    events = (
        {
            "event_name": "view_item",
            "event_timestamp": 1709287200 + i,
            "user_pseudo_id": f"u{i % 7}",
        }
        for i in range(n)
    )
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    paused, resume = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def progress(_rows: int) -> None:  # the first batch is written; reading goes on after
        if not paused.is_set():
            paused.set()
            resume.wait(30)

    def run() -> None:
        try:
            outcome["result"] = import_file(
                store, "events", path, batch_size=500, progress=progress
            )
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert paused.wait(30)
        other = Store(store.url)  # another process's connection, waiting at most a second
        wait = (
            "PRAGMA busy_timeout = 1000" if store.dialect == "sqlite" else "SET lock_timeout = 1000"
        )
        row = normalize_event(
            {"event_name": "page_view", "event_timestamp": 1709287200, "user_pseudo_id": "api",
             "event_id": "api-1"}
        )  # fmt: skip
        with other.connect() as conn:
            conn.execute(text(wait))
            assert insert_new(conn, Event, [row], ["event_id"], count=True) == 1
        other.dispose()
    finally:
        resume.set()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].new == n  # type: ignore[attr-defined]
    assert store.stats()["events"] == n + 1
