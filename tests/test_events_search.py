"""Site-search terms on events: read from the flat field or BigQuery's ``event_params``,
cleaned as typed text, stored by every write path (API, importer) on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.events import EventError, normalize_event, store_events
from shopmind.store.importers import import_file
from shopmind.store.models import Event

BASE = {"event_name": "search", "event_timestamp": 1714557600, "user_pseudo_id": "u-1"}


def _term(value: Any) -> str | None:
    return normalize_event({**BASE, "search_term": value})["search_term"]


def test_flat_search_term_is_stripped_with_its_case_kept() -> None:
    assert _term("  Linen   Dress\t") == "Linen Dress"
    assert _term("連衣裙 夏") == "連衣裙 夏"


def test_bigquery_event_params_give_the_search_term() -> None:
    raw = {
        **BASE,
        "event_params": [
            {"key": "ga_session_id", "value": {"int_value": 1714557000}},
            {"key": "search_term", "value": {"string_value": " wool  scarf "}},
        ],
    }
    assert normalize_event(raw)["search_term"] == "wool scarf"
    as_mapping = {**BASE, "event_params": {"search_term": "boots"}}
    assert normalize_event(as_mapping)["search_term"] == "boots"
    flat_wins = {**raw, "search_term": "flat"}
    assert normalize_event(flat_wins)["search_term"] == "flat"


def test_every_row_has_the_key_none_when_absent() -> None:
    assert normalize_event(BASE)["search_term"] is None
    view = {**BASE, "event_name": "view_item", "items": [{"item_id": "A"}]}
    row = normalize_event(view)
    assert "search_term" in row and row["search_term"] is None
    assert list(row)[-2:] == ["search_term", "event_id"]  # one column order for every row


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("shoes\x00\x07", "shoes"),  # control characters removed, not refused
        ("red\nsocks\r\n", "red socks"),  # line breaks are white space
        ("a\ud800b", "ab"),  # a lone surrogate (JSON's \\ud800) removed
        ("zero\u200bwidth", "zerowidth"),  # invisible format characters removed
        ("<b>bold</b> &amp; <script>x()</script>plain", "bold & plain"),  # markup out
        ("   ", None),
        ("<i></i>", None),  # nothing left once cleaned
        (42, "42"),
        ("", None),
        (None, None),
    ],
)
def test_search_term_is_cleaned_as_typed_text(sent: Any, stored: str | None) -> None:
    assert _term(sent) == stored


def test_long_search_term_is_cut_to_255_characters() -> None:
    term = _term("x" * 254 + " yz" + "w" * 5000)
    assert term == "x" * 254  # cut, then the trailing space trimmed
    assert len(_term("é" * 300) or "") == 255


def test_search_term_that_is_not_text_is_refused_naming_the_field() -> None:
    for value in ({"q": "x"}, ["x"]):
        with pytest.raises(EventError) as info:
            _term(value)
        assert info.value.field == "search_term"


def test_search_term_does_not_change_the_event_id() -> None:
    """Ids stay those of events stored before search terms were kept: re-importing an old
    file skips its search events instead of storing them twice."""
    assert (
        normalize_event({**BASE, "search_term": "boots"})["event_id"]
        == (normalize_event(BASE)["event_id"])
    )


def _stored(store: Store) -> dict[str, str | None]:
    with store.session() as s:
        return dict(s.execute(select(Event.name, Event.search_term)).all())


def test_search_term_is_stored_on_both_databases(store: Store) -> None:
    rows = [
        normalize_event({**BASE, "search_term": "Wrap Dress"}),
        normalize_event({**BASE, "event_name": "view_search_results", "search_term": "x" * 300}),
        normalize_event({**BASE, "event_name": "page_view"}),
    ]
    assert store_events(store, rows) == 3
    assert _stored(store) == {
        "search": "Wrap Dress",
        "view_search_results": "x" * 255,
        "page_view": None,
    }


def test_events_importer_reads_search_terms_from_csv_and_bigquery(
    store: Store, tmp_path: Path
) -> None:
    csv_file = tmp_path / "events.csv"
    csv_file.write_text(
        "event_name,event_timestamp,user_pseudo_id,Search Term\n"
        "search,2024-05-01T10:00:00Z,u-1,  linen shirt \n"
        "page_view,2024-05-01T10:00:05Z,u-1,\n",
        encoding="utf-8",
    )
    bigquery = tmp_path / "events.json"
    event = {
        "event_name": "view_search_results",
        "event_timestamp": "1714557620000000",
        "user_pseudo_id": "u-2",
        "event_params": [{"key": "search_term", "value": {"string_value": "Chelsea boot"}}],
    }
    bigquery.write_text(json.dumps([event]), encoding="utf-8")

    import_file(store, "events", csv_file)
    import_file(store, "events", bigquery)

    assert _stored(store) == {
        "search": "linen shirt",
        "page_view": None,
        "view_search_results": "Chelsea boot",
    }


def test_events_api_stores_the_search_term(api_workspace: Any) -> None:
    client, headers, _ = api_workspace
    raw = {**BASE, "event_params": [{"key": "search_term", "value": {"string_value": "tote"}}]}
    r = client.post("/v1/events", headers=headers, json={"events": [raw]})
    assert r.status_code == 200, r.text
    store = client.app.state.store
    assert _stored(store) == {"search": "tote"}
