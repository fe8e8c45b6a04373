"""The storefront chat widget in a real browser: a shop page served by a test server on one
origin, shopmind on another. The launcher opens the chat, an answer streams in with its
source as a link, hostile text stays text, a person's reply arrives after a hand-over,
the Chinese strings and a phone's width hold. Writes ``docs/images/chat-widget-en.png``
and ``docs/images/chat-widget-zh-phone.png``. Skipped without Chromium or playwright,
unless SHOPMIND_REQUIRE_BROWSER=1."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from browser import DESKTOP, chromium, need_browser, serve
from shopmind.config import init_workspace, load_settings
from shopmind.store import Store
from shopmind.store import support as records
from shopmind.store.models import Page
from shopmind.store.publishable import create_publishable_key
from shopmind.store.writer import upsert
from shopmind.support.assistant import Assistant
from support_store import NOW, fill

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "images"
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 60_000
HOSTILE = '<img src=x onerror="window.__pwned=1">'
# A help page whose title carries markup and whose address is a script: both must stay text.
GIFT_CARDS = {
    "external_id": "help/gift-cards.md", "kind": "page", "title": f"Gift cards {HOSTILE}",
    "body": "Gift cards come in amounts from 10.00 to 200.00 and never expire. A gift card "
            "is sent by e-mail within minutes of the order.",
    "question": None, "url": "javascript:window.__pwned=2", "language": "en", "updated_at": NOW,
}  # fmt: skip
SHOP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Northway</title>
<style>
body{{margin:0;font-family:Georgia,serif;background:#faf7f2;color:#2b2118}}
header{{padding:18px 32px;background:#2b2118;color:#faf7f2;font-size:22px}}
main{{padding:32px;max-width:760px}} .price{{font-size:20px}}
.buy{{padding:10px 18px;background:#8a5a2b;color:#fff;border:0;border-radius:4px}}
{hostile_css}
</style></head><body>
<header>Northway Outfitters</header>
<main><h1>Alpine Shell Jacket</h1><p class="price">189.00 USD</p>
<p>A light shell for wet hikes. Taped seams keep the rain out.</p>
<button class="buy">Add to cart</button></main>
{tag}
</body></html>"""
# The shop's own CSS, as careless as a theme can be: none of it may reach the widget.
HOSTILE_CSS = ("button{background:#f0f !important;border:6px solid lime !important}"
               "*{font-family:'Comic Sans MS',cursive !important}li{display:none}")  # fmt: skip


@contextmanager
def shop_server(pages: dict[str, str]) -> Iterator[str]:
    """A stand-in shop serving ``pages`` (whole documents) by path."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = pages.get(self.path.split("?")[0], "<h1>not found</h1>").encode()
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
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    need_browser()
    ws = tmp_path_factory.mktemp("chat-widget") / "ws"
    init_workspace(ws)
    settings = load_settings(ws, threads=1)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    fill(store)
    with store.connect() as conn:
        upsert(conn, Page, [GIFT_CARDS])
    warm = Assistant(store, settings)  # fit the intents and index the pages once, here
    warm.classifier()
    warm.index()
    pages: dict[str, str] = {}
    with serve(settings, store) as shopmind, shop_server(pages) as shop, chromium() as browser:
        key = create_publishable_key(store, "theme", [shop]).key
        tag = ('<script async src="{s}/chat-widget.js" data-key="{k}" data-lang="{lang}" '
               'data-product="alpine-shell"></script>')  # fmt: skip
        for path, lang, css in (
            ("/en", "en", ""),
            ("/zh", "zh", ""),
            ("/hostile", "en", HOSTILE_CSS),
        ):
            pages[path] = SHOP_PAGE.format(tag=tag.format(s=shopmind, k=key, lang=lang),
                                           hostile_css=css)  # fmt: skip
        yield {"shop": shop, "store": store, "browser": browser}
    store.dispose()


def open_chat(site: dict[str, Any], path: str, **options: Any) -> Any:
    context = site["browser"].new_context(**{"viewport": DESKTOP, "locale": "en-US", **options})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(site["shop"] + path)
    return page


def ask(page: Any, text: str) -> Any:
    """Type ``text``, send it with Enter and wait for the answer; the answer's bubble."""
    answers = page.locator(".msg.assistant:not(.pending)")
    before = answers.count()
    page.locator("#sm-input").fill(text)
    with page.expect_response(lambda r: "/public/v1/support/chat" in r.url) as sent:
        page.locator("#sm-input").press("Enter")
    assert sent.value.status == 200
    assert sent.value.headers["content-type"].startswith("text/event-stream")
    page.wait_for_function(
        "n => document.querySelector('shopmind-chat').shadowRoot"
        ".querySelectorAll('.msg.assistant:not(.pending)').length > n && !document"
        ".querySelector('shopmind-chat').shadowRoot.querySelector('[aria-busy]')",
        arg=before,
    )
    return answers.last


def in_shadow(page: Any, script: str) -> Any:
    return page.evaluate(f"() => {{ const root = document.querySelector('shopmind-chat')"
                         f".shadowRoot; return {script}; }}")  # fmt: skip


def test_an_answer_streams_in_with_its_source(site: dict[str, Any]) -> None:
    page = open_chat(site, "/en")
    launcher = page.get_by_role("button", name="Open chat")
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.click()
    dialog = page.get_by_role("dialog", name="Questions? Ask us")
    assert dialog.is_visible()
    assert in_shadow(page, "root.activeElement && root.activeElement.id") == "sm-input"
    assert page.get_by_label("Your message").is_visible()
    answer = ask(page, "How long do I have to send something back?")
    assert "30 days" in answer.locator(".text").inner_text()
    link = answer.locator(".cites a")
    assert link.inner_text() == "Returns"
    assert link.get_attribute("href") == "https://shop.example/help/returns"
    assert link.get_attribute("rel") == "noopener noreferrer"
    session = page.evaluate("Object.values(sessionStorage)")
    assert session and '"session":"cs_' in session[0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat-widget-en.png"), animations="disabled")
    # the conversation follows the shopper to the next page of the shop
    page.reload()
    page.get_by_role("button", name="Open chat").click()
    page.wait_for_selector(".msg.assistant .cites a")
    assert "30 days" in page.locator(".msg.assistant").last.inner_text()
    page.keyboard.press("Escape")
    assert not page.get_by_role("dialog").is_visible()
    assert in_shadow(page, "root.activeElement && root.activeElement.className") == "launcher"
    page.context.close()


def test_hostile_text_stays_text_and_a_persons_reply_arrives(site: dict[str, Any]) -> None:
    page = open_chat(site, "/hostile")
    launcher = page.get_by_role("button", name="Open chat")
    colour = in_shadow(page, "getComputedStyle(root.querySelector('.launcher')).backgroundColor")
    assert colour == "rgb(31, 95, 191)"  # the shop's CSS does not reach the widget
    launcher.click()
    answer = ask(page, "Do gift cards expire?")
    source = answer.locator(".cites li", has_text="Gift cards")
    assert source.inner_text() == f"Gift cards {HOSTILE}"  # shown as text, not as an image
    assert answer.locator(".cites a").count() == 0  # a javascript: address is no link
    ask(page, f"hello {HOSTILE}")
    assert page.locator(".msg.shopper").last.inner_text() == f"hello {HOSTILE}"
    handed = ask(page, "I want to talk to a person")
    assert "person" in handed.inner_text()
    assert page.locator(".notice").last.is_visible()
    session = page.evaluate("JSON.parse(Object.values(sessionStorage)[0]).session")
    conv = records.find_conversation(site["store"], session)
    assert conv is not None and conv.status == "handover"
    records.agent_reply(site["store"], conv.id, f"Mia here. <b>Sure</b> {HOSTILE}", "mia@shop")
    agent = page.locator(".msg.agent")
    agent.wait_for(timeout=20_000)  # the widget polls every few seconds
    assert agent.locator(".text").inner_text() == f"Mia here. <b>Sure</b> {HOSTILE}"
    assert in_shadow(page, "root.querySelectorAll('img, b, script, iframe').length") == 0
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("window.__pwned") is None
    page.context.close()


def test_chinese_strings_on_a_phone(site: dict[str, Any]) -> None:
    page = open_chat(site, "/zh", viewport=PHONE, locale="zh-CN", device_scale_factor=2,
                     is_mobile=True, has_touch=True)  # fmt: skip
    page.get_by_role("button", name="打开在线客服").click()
    dialog = page.get_by_role("dialog", name="有问题？问我们")
    assert dialog.is_visible()
    assert page.locator("#sm-input").get_attribute("placeholder") == "请输入您的问题…"
    assert page.get_by_role("button", name="发送").is_visible()
    answer = ask(page, "退货期限是多久？")
    assert "30" in answer.locator(".text").inner_text()
    assert answer.locator(".cites").inner_text().startswith("来源")
    box = page.locator(".panel").bounding_box()
    assert box is not None
    assert box["x"] == 0 and box["width"] == PHONE["width"] and box["height"] == PHONE["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SHOTS / "chat-widget-zh-phone.png"), animations="disabled")
    page.context.close()
