"""The Support inbox page over HTTP (the app's own client), and once in Chromium for its
layout and the screenshots in docs/dashboard.md.

One shop for the module: ``support_store.fill``'s pages, FAQs, products and orders, and
conversations the assistant itself held (``Assistant.chat``): a legal threat and a request
for a person (hand-overs), answers with citations, two cancellations and an address
change queued for a person, and questions it could not answer. The tests that change
things each use a conversation or request of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopmind.api.app import create_app
from shopmind.config import Settings, init_workspace, load_settings
from shopmind.store import Store, users
from shopmind.store import support as records
from shopmind.support.assistant import Assistant
from support_store import fill
from test_web import ADMIN, VIEWER, _wait_job, csrf, log_in

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
PHONE = {"width": 390, "height": 844}
# name -> the shopper's messages, one conversation each, oldest first. The hand-overs come
# first so that newer, open conversations would come before them if time alone decided.
TALKS = {
    "lawyer": ["My lawyer will hear about this"],
    "person": ["I want to talk to a real person"],
    "returns": ["How long do I have to send something back?"],
    "cancel": ["Please cancel my order", "#1002 bo@example.com",
               "I also need to change the delivery address"],
    "paris": ["Do you have a physical shop in Paris I could visit?"],
    "paris2": ["Is there a physical store in Paris I can visit?"],
    "zh": ["退货期限是多久？", "我想取消我的订单", "订单号 #1001，邮箱 ana@example.com"],
    "jacket": ["Is the Alpine Shell Jacket waterproof?"],
}  # fmt: skip


@dataclass
class Shop:
    settings: Settings
    store: Store
    ids: dict[str, int]  # TALKS name -> conversation id


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("support-web")
    ws = root / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{root / 'web.db'}")
    store = Store(settings.resolved_database_url)
    store.upgrade()
    fill(store)
    users.add_user(store, ADMIN[0], ADMIN[1], "admin")
    users.add_user(store, VIEWER[0], VIEWER[1], "viewer")
    bot = Assistant(store, settings)
    ids = {}
    for name, messages in TALKS.items():
        session = None
        for message in messages:
            session = bot.chat(message, session=session).session
        found = records.find_conversation(store, session)
        assert found is not None
        ids[name] = found.id
    yield Shop(settings, store, ids)
    store.dispose()


@pytest.fixture
def client(shop: Shop) -> Iterator[TestClient]:
    with TestClient(create_app(shop.settings, store=shop.store), base_url="http://shop.test") as c:
        yield c


def admin(client: TestClient) -> TestClient:
    assert log_in(client, ADMIN).status_code == 303
    return client


def queued(shop: Shop, name: str) -> list[dict]:
    return [r for r in records.conversation_detail(shop.store, shop.ids[name])["requests"]
            if r["status"] == "queued"]  # fmt: skip


def test_the_shops_conversations_are_what_the_tests_expect(shop: Shop) -> None:
    """Guards the scenario: if the assistant's behaviour changes, say so here first."""
    detail = {n: records.conversation_detail(shop.store, i) for n, i in shop.ids.items()}
    assert detail["lawyer"]["status"] == "handover"
    assert detail["lawyer"]["handover_reason"] == "legal"
    assert detail["person"]["handover_reason"] == "asked_for_person"
    assert [r["kind"] for r in detail["cancel"]["requests"]] == ["cancel_order", "change_address"]
    assert [r["kind"] for r in detail["zh"]["requests"]] == ["cancel_order"]
    assert detail["zh"]["language"] == "zh" and detail["zh"]["order"] == "#1001"
    assert detail["returns"]["messages"][1]["citations"][0]["ref"] == "help/returns.md"


def test_the_inbox_lists_conversations_needing_a_person_first(client, shop: Shop) -> None:
    log_in(client, VIEWER)
    page = client.get("/support")
    assert page.status_code == 200 and 'href="/support" aria-current="page"' in page.text
    text = page.text
    # newest first within a status, but every hand-over before any open conversation
    lawyer = text.index(f'href="/support/conversations/{shop.ids["lawyer"]}"')
    person = text.index(f'href="/support/conversations/{shop.ids["person"]}"')
    returns = text.index(f'href="/support/conversations/{shop.ids["returns"]}"')
    assert person < lawyer < returns
    assert text.index("Needs a person") < text.index("Open</h2>") < text.index("Closed</h2>")
    assert "threatens legal action" in text and "asked for a person" in text
    row = re.search(rf'conversations/{shop.ids["cancel"]}">(.*?)</tr>', text, re.S).group(1)
    assert "I also need to change the delivery address" in row  # the last shopper message
    assert ">api<" in row and "English" in row
    assert '<td data-label="Verified order">yes</td>' in row
    assert '<span class="badge queued">2</span>' in row
    assert "Dec" in row or "UTC" in row  # the updated time, formatted
    only = client.get("/support", params={"status": "handover"}).text
    assert f"conversations/{shop.ids['lawyer']}" in only
    assert f"conversations/{shop.ids['returns']}" not in only


def test_a_conversation_shows_the_transcript_with_citations(client, shop: Shop) -> None:
    log_in(client, VIEWER)
    page = client.get(f"/support/conversations/{shop.ids['returns']}")
    assert page.status_code == 200
    text = page.text
    assert '<li class="bubble shopper">' in text and 'class="bubble assistant"' in text
    assert "How long do I have to send something back?" in text and "30 days" in text
    assert '<a href="https://shop.example/help/returns" rel="noreferrer">Returns</a>' in text
    assert re.search(r"intent <code>\w+</code> · confidence \d+%", text)
    assert "answered" in text
    jacket = client.get(f"/support/conversations/{shop.ids['jacket']}").text
    assert '<a href="/products?q=alpine-shell"' in jacket  # a product cites the product
    assert 'action="/support/conversations' not in text  # a viewer gets no forms
    assert client.get("/support/conversations/999999").status_code == 404


def test_a_reply_from_the_page_is_redacted_and_appears_in_the_transcript(
    client, shop: Shop
) -> None:
    admin(client)
    path = f"/support/conversations/{shop.ids['person']}"
    sent = client.post(
        f"{path}/reply",
        data={"text": "Hello, I'm Sam. Write to sam.jones@shop.example or call +1 415 555 0132.",
              "csrf_token": csrf(client, path)},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["location"] == f"{path}#latest"
    page = client.get(path).text
    assert "Write to [email] or call [phone]." in page and "sam.jones@" not in page
    assert '<li class="bubble agent" id="latest">' in page and ADMIN[0] in page
    stored = records.conversation_detail(shop.store, shop.ids["person"])["messages"][-1]
    assert stored["role"] == "agent" and "[email]" in stored["text"]
    assert stored["author"] == ADMIN[0]
    empty = client.post(f"{path}/reply", data={"text": "  ", "csrf_token": csrf(client, path)})
    assert empty.status_code == 422 and "write the answer first" in empty.text


def test_deciding_a_request_changes_its_status(client, shop: Shop) -> None:
    admin(client)
    path = f"/support/conversations/{shop.ids['cancel']}"
    cancel, address = queued(shop, "cancel")
    done = client.post(
        f"/support/requests/{cancel['id']}",
        data={"status": "done", "note": "cancelled in the shop", "back": f"{path}#requests",
              "csrf_token": csrf(client, path)},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"{path}#requests"
    page = client.get(path).text
    assert '<span class="badge done">done</span>' in page and "cancelled in the shop" in page
    # from the requests tab, which lists the queued requests of every conversation
    listed = client.get("/support", params={"tab": "requests"}).text
    assert f'action="/support/requests/{address["id"]}"' in listed
    assert f'action="/support/requests/{cancel["id"]}"' not in listed
    assert "Change the delivery address" in listed and "#1002" in listed
    declined = client.post(
        f"/support/requests/{address['id']}",
        data={"status": "declined", "back": "https://evil.example/",
              "csrf_token": csrf(client, "/support?tab=requests")},
        follow_redirects=False,
    )  # fmt: skip
    assert declined.headers["location"] == "/support?tab=requests"  # never off the site
    decided = {r["id"]: r for r in records.list_requests(shop.store, None)}
    assert decided[cancel["id"]]["status"] == "done"
    assert decided[cancel["id"]]["decided_by"] == ADMIN[0]
    assert decided[address["id"]]["status"] == "declined"
    all_tab = client.get("/support", params={"tab": "requests", "status": "declined"}).text
    assert '<span class="badge declined">declined</span>' in all_tab
    bad = client.post(f"/support/requests/{address['id']}",
                      data={"status": "maybe", "csrf_token": csrf(client, path)})  # fmt: skip
    assert bad.status_code == 422


def test_close_and_reopen(client, shop: Shop) -> None:
    admin(client)
    path = f"/support/conversations/{shop.ids['jacket']}"
    closed = client.post(f"{path}/status", data={"status": "closed",
                                                 "csrf_token": csrf(client, path)})  # fmt: skip
    assert closed.status_code == 200 and "Reopen" in closed.text
    inbox = client.get("/support").text
    assert inbox.index(f'conversations/{shop.ids["jacket"]}"') > inbox.index("Closed</h2>")
    client.post(f"{path}/status", data={"status": "open", "csrf_token": csrf(client, path)})
    assert records.conversation_detail(shop.store, shop.ids["jacket"])["status"] == "open"


def test_posts_need_the_csrf_token_and_an_admin(client, shop: Shop) -> None:
    conv = f"/support/conversations/{shop.ids['zh']}"
    (request,) = queued(shop, "zh")
    posts = [(f"{conv}/reply", {"text": "hi"}), (f"{conv}/status", {"status": "closed"}),
             (f"/support/requests/{request['id']}", {"status": "done"}),
             ("/support/index", {})]  # fmt: skip
    before = records.conversation_detail(shop.store, shop.ids["zh"])
    admin(client)
    for path, data in posts:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    client.cookies.clear()
    log_in(client, VIEWER)
    page = client.get(conv).text
    assert "<form" not in page.split('<main id="main">')[1]  # no buttons for a viewer
    knowledge = client.get("/support", params={"tab": "knowledge"}).text
    assert 'action="/support/index"' not in knowledge
    token = csrf(client, conv)
    for path, data in posts:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert records.conversation_detail(shop.store, shop.ids["zh"]) == before


def test_the_chinese_pages(client, shop: Shop) -> None:
    log_in(client, VIEWER)
    client.cookies.set("shopmind_lang", "zh-CN")
    page = client.get("/support").text
    for words in ("客服收件箱", "需要人工", "威胁采取法律行动", "顾客最后一条消息", "未解答的问题"):
        assert words in page, words
    assert "Needs a person" not in page and "Last shopper message" not in page
    assert ">客服</a>" in page  # the navigation
    conv = client.get(f"/support/conversations/{shop.ids['zh']}").text
    assert "对话记录" in conv and "取消订单" in conv and "退货期限是多久？" in conv
    assert "Transcript" not in conv


def test_unanswered_questions_are_grouped_with_the_hint(client, shop: Shop) -> None:
    log_in(client, VIEWER)
    page = client.get("/support", params={"tab": "unanswered"})
    assert page.status_code == 200
    text = page.text
    assert "Write a help page for this" in text and "Asked 2 times" in text
    group = text[text.index("Asked 2 times") - 300 :]
    assert "Paris" in group.split("</article>")[0]


def test_knowledge_lists_the_index_and_re_index_starts_a_job(client, shop: Shop) -> None:
    admin(client)
    page = client.get("/support", params={"tab": "knowledge"}).text
    link = '<a href="https://shop.example/help/shipping" rel="noreferrer">Shipping and delivery</a>'
    assert link in page
    assert "Do you offer gift wrapping?" in page and "Alpine Shell Jacket" in page
    products = client.get("/support", params={"tab": "knowledge", "source": "product"}).text
    assert "Alpine Shell Jacket" in products and "Shipping and delivery" not in products
    started = client.post("/support/index", data={"csrf_token": csrf(client, "/support")},
                          follow_redirects=False)  # fmt: skip
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    job = _wait_job(client, job_id)
    assert job["kind"] == "support.index" and job["status"] == "done", job
    assert job["summary"]["passages"] > 0
    after = client.get("/support", params={"tab": "knowledge"}).text
    assert f'href="/jobs/{job_id}"' in after and 'data-job="' in after


def test_a_labelled_file_uploaded_on_the_page_starts_training(client, shop: Shop) -> None:
    """The upload reaches the ``support.train`` job; a file without an intent column
    fails there, naming what is missing (a good file trains for minutes: the CLI's test)."""
    admin(client)
    started = client.post(
        "/support/train",
        data={"csrf_token": csrf(client, "/support")},
        files={"file": ("labels.csv", b"text,label\nwhere is my parcel,track_order\n", "text/csv")},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    job = _wait_job(client, int(started.headers["location"].rsplit("/", 1)[1]))
    assert job["kind"] == "support.train" and job["params"]["file_name"] == "labels.csv"
    assert job["status"] == "failed" and "no column 'intent'" in job["error"]


def test_bad_filters_are_refused(client, shop: Shop) -> None:
    log_in(client, VIEWER)
    assert client.get("/support", params={"tab": "poems"}).status_code == 422
    assert client.get("/support", params={"status": "done"}).status_code == 422
    assert client.get("/support", params={"tab": "requests", "status": "open"}).status_code == 422
    assert client.get("/support", params={"tab": "knowledge", "source": "x"}).status_code == 422


def test_in_a_browser_desktop_and_phone_with_screenshots(shop: Shop) -> None:
    """Layout at 1280 and 390 pixels (nothing scrolls sideways), the reply form in a real
    browser, and docs/images/support-inbox-en.png, support-conversation-zh-phone.png."""
    from browser import Site, chromium, need_browser, new_context, serve
    from browser import log_in as browser_log_in

    need_browser()
    with serve(shop.settings, shop.store) as url, chromium() as browser:
        site = Site(url, shop.settings, shop.store)
        context = new_context(browser, site)
        page = context.new_page()
        browser_log_in(page, ADMIN, f"/support/conversations/{shop.ids['paris2']}")
        with page.expect_navigation():
            page.click("form[action$='/status'] button:has-text('Close')")
        page.goto("/support")
        closed = page.locator("#section-closed + .table-wrap")
        assert "Is there a physical store in Paris" in closed.inner_text()
        shot(page, "support-inbox-en")
        context.close()

        zh = f"/support/conversations/{shop.ids['zh']}"
        phone = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True,
                 "has_touch": True, "locale": "zh-CN"}  # fmt: skip
        context = new_context(browser, site, **phone)
        page = context.new_page()
        browser_log_in(page, ADMIN, zh)
        page.fill("#reply-text", "您好，订单 #1001 已为您取消，退款会在 5 到 7 个工作日内到账。")
        with page.expect_navigation():
            page.click("form.reply button[type=submit]")
        assert "退款会在" in page.inner_text(".bubble.agent")
        fits = "document.documentElement.scrollWidth <= window.innerWidth + 1"
        for path in ("/support", "/support?tab=requests&status=all", "/support?tab=unanswered",
                     "/support?tab=knowledge", zh):  # fmt: skip
            page.goto(path)
            assert page.evaluate(fits), (path, page.evaluate("document.body.scrollWidth"))
        shot(page, "support-conversation-zh-phone")
        context.close()


def shot(page, name: str, max_height: int = 2400) -> Path:
    width, height = page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    path = IMAGES / f"{name}.png"
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height)}
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    return path
