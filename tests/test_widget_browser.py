"""The storefront widget in a real browser: a shop page served by a test server on one
origin, shopmind on another; the widget renders the placement with its reasons, records
the impression and the click, and refuses to work from an origin its key does not list.
Skipped without Chromium or playwright, unless SHOPMIND_REQUIRE_BROWSER=1."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from browser import DESKTOP, PHONE, chromium, need_browser, serve
from shopmind.config import init_workspace, load_settings
from shopmind.recommend.train import train
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.models import Event
from shopmind.store.publishable import create_publishable_key

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "images"


@contextmanager
def shop_server(pages: dict[str, str]) -> Iterator[str]:
    """A stand-in shop: ``pages`` by path, any other path a plain product page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0], f"<h1>product page {self.path}</h1>")
            data = f"<!doctype html><html lang='en'><body>{body}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):
    need_browser()
    ws = tmp_path_factory.mktemp("widget") / "ws"
    init_workspace(ws)
    settings = load_settings(ws, recommend_model="itemknn", threads=1)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, SimulationConfig(customers=300, days=20, products=16, seed=5, traffic=2.0))
    train(store, settings.models_dir, "itemknn")
    with store.session() as s:
        item = s.scalars(select(Event.item_id).where(Event.name == "purchase")).first()
    with serve(settings, store) as shopmind:
        yield shopmind, store, item
    store.dispose()


def events(store: Store, name: str, user: str) -> list[Event]:
    with store.session() as s:
        return list(s.scalars(select(Event).where(Event.name == name, Event.user_id == user)))


def wait_for(found, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = found()
        if got:
            return got
        time.sleep(0.2)
    return found()


def test_the_widget_renders_records_and_obeys_its_origins(shop) -> None:
    shopmind, store, item = shop
    tag = ('<script async src="{s}/widget.js" data-key="{k}" data-placement="together" '
           'data-item="{i}" data-user="{u}" data-title="Goes well with" data-n="3" '
           'data-target="#recs" data-product-url="/products/{{id}}"></script>')  # fmt: skip
    body = "<h1>A product</h1><div id='recs'></div>"
    pages: dict[str, str] = {}
    with shop_server(pages) as shop_url, chromium() as browser:
        mine = create_publishable_key(store, "this shop", [shop_url]).key
        elsewhere = create_publishable_key(store, "another shop", ["https://elsewhere.test"]).key
        pages["/p"] = body + tag.format(s=shopmind, k=mine, i=item, u="shopper-1")
        pages["/foreign"] = body + tag.format(s=shopmind, k=elsewhere, i=item, u="shopper-2")
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
        page = context.new_page()
        page.goto(shop_url + "/p")
        page.wait_for_selector(".sm-recs li", timeout=20_000)
        cards = page.locator(".sm-recs li")
        assert 1 <= cards.count() <= 3
        assert page.locator(".sm-recs h2").inner_text() == "Goes well with"
        first = cards.first.locator("a")
        assert first.locator(".sm-why").inner_text()  # a reason under every item
        clicked = first.get_attribute("data-item")
        shown = wait_for(lambda: events(store, "view_item_list", "shopper-1"))
        assert shown and shown[0].items[0]["item_list_id"] == "together"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("body").screenshot(path=str(SHOTS / "widget-desktop.png"))
        with page.expect_navigation():
            first.click()
        assert page.url.endswith(f"/products/{clicked}")
        picked = wait_for(lambda: events(store, "select_item", "shopper-1"))
        assert picked and picked[0].items[0]["item_id"] == clicked
        assert picked[0].items[0]["item_list_id"] == "together"
        # a key whose origins do not include this shop: nothing shown, nothing recorded
        page.goto(shop_url + "/foreign")
        page.wait_for_timeout(2500)
        assert page.locator(".sm-recs").count() == 0
        assert not events(store, "view_item_list", "shopper-2")
        phone = browser.new_context(viewport=PHONE, locale="en-US").new_page()
        phone.goto(shop_url + "/p")
        phone.wait_for_selector(".sm-recs li", timeout=20_000)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.locator("body").screenshot(path=str(SHOTS / "widget-phone.png"))
        context.close()
