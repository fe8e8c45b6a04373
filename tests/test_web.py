"""The dashboard over plain HTTP: log-in, sessions, roles, CSRF, escaping, languages, pages.

The browser tests (``test_web_browser.py``) drive the same pages in Chromium where a
browser adds something (scripts, uploads, screenshots); these check the rules."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopmind.api.app import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store, users
from shopmind.store.models import Product

ADMIN = ("owner@example.com", "correct horse battery")
VIEWER = ("clerk@example.com", "another long secret")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, Store, Path]]:
    ws = tmp_path / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{tmp_path / 'web.db'}",
                             login_lockout_seconds=30)  # fmt: skip
    store = Store(settings.resolved_database_url)
    store.upgrade()
    users.add_user(store, ADMIN[0], ADMIN[1], "admin")
    users.add_user(store, VIEWER[0], VIEWER[1], "viewer")
    with TestClient(create_app(settings, store=store), base_url="http://shop.test") as client:
        yield client, store, ws
    store.dispose()


def login_token(client: TestClient, next_url: str = "/") -> str:
    page = client.get(f"/login?next={next_url}")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def log_in(client: TestClient, who: tuple[str, str], next_url: str = "/"):
    token = login_token(client, next_url)
    return client.post(
        "/login",
        data={"email": who[0], "password": who[1], "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )


def csrf(client: TestClient, path: str = "/jobs") -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_every_page_but_login_redirects_when_logged_out(site):
    client, _, _ = site
    for path in ("/", "/products", "/reviews", "/imports", "/jobs", "/settings", "/products/1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/login?next=" + path
    assert client.get("/jobs/1.json").status_code == 401
    page = client.get("/login")
    assert (
        page.status_code == 200 and 'name="email"' in page.text and 'name="password"' in page.text
    )
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_log_in_sets_a_safe_cookie_and_log_out_ends_the_session(site):
    client, _, _ = site
    answer = log_in(client, ADMIN, "/products")
    assert answer.status_code == 303 and answer.headers["location"] == "/products"
    cookie = answer.headers["set-cookie"]
    assert "shopmind_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # plain http here
    for path in ("/", "/products", "/reviews", "/imports", "/jobs", "/settings"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert ADMIN[0] in page.text
    bye = client.post("/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert bye.status_code == 303 and bye.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_over_https(site):
    client, _, _ = site
    secure = TestClient(client.app, base_url="https://shop.test")
    token = login_token(secure)
    answer = secure.post("/login", data={"email": ADMIN[0], "password": ADMIN[1],
                                         "csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_wrong_password_then_lock_out_with_retry_after(site):
    client, _, _ = site
    bad = log_in(client, (ADMIN[0], "not the password"))
    assert bad.status_code == 401 and "Invalid e-mail or password" in bad.text
    for _ in range(4):
        log_in(client, (ADMIN[0], "still wrong"))
    locked = log_in(client, ADMIN)  # the right password, but locked
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "Too many failed attempts" in locked.text
    assert client.get("/", follow_redirects=False).status_code == 303
    unknown = log_in(client, ("nobody@example.com", "whatever it is"))
    assert unknown.status_code == 401


def test_log_in_refuses_a_missing_csrf_token_and_foreign_next(site):
    client, _, _ = site
    client.get("/login")
    no_token = client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1]},
                           follow_redirects=False)  # fmt: skip
    assert no_token.status_code == 403
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        answer = log_in(client, ADMIN, target)
        assert answer.status_code == 303 and answer.headers["location"] == "/", target


def test_state_changing_posts_need_the_csrf_token(site):
    client, _, _ = site
    log_in(client, ADMIN)
    for path, data in (
        ("/logout", {}),
        ("/reviews/train", {"tier": "linear"}),
        ("/reviews/analyze", {}),
        ("/settings/keys", {"name": "x"}),
        ("/language", {"locale": "zh_CN"}),
    ):
        assert client.post(path, data=data).status_code == 403, path
        wrong = client.post(path, data={**data, "csrf_token": "forged"})
        assert wrong.status_code == 403, path
    assert client.get("/").status_code == 200  # still logged in


def test_a_viewer_reads_but_cannot_act(site):
    client, _, _ = site
    log_in(client, VIEWER)
    assert client.get("/reviews").status_code == 200
    token = csrf(client)
    refused = client.post("/reviews/train", data={"tier": "linear", "csrf_token": token})
    assert refused.status_code == 403 and "admin" in refused.text.lower()
    assert client.post("/settings/keys", data={"name": "k", "csrf_token": token}).status_code == 403
    assert client.get("/imports/" + "0" * 24 + "?kind=orders").status_code == 403
    assert "Create a key" not in client.get("/settings").text


def test_shop_text_is_escaped_everywhere(site):
    client, store, _ = site
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with store.session() as s:
        s.add(Product(external_id="evil-1", title=hostile, currency="USD", price=9.5))
    log_in(client, ADMIN)
    for path in ("/products", "/products?q=script", "/products/1"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(" in page, path


def test_chinese_interface_from_the_browser_or_the_choice(site):
    client, _, _ = site
    log_in(client, ADMIN)
    english = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and ">Products<" in english.text
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in chinese.text and ">商品<" in chinese.text
    changed = client.post("/language", data={"locale": "zh_CN", "csrf_token": csrf(client),
                                             "back": "/jobs"}, follow_redirects=False)  # fmt: skip
    assert changed.status_code == 303 and changed.headers["location"] == "/jobs"
    page = client.get("/jobs", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in page.text


def test_overview_figures_come_from_the_store(site):
    client, store, _ = site
    simulate(store, SimulationConfig(customers=300, days=30, products=25, seed=5))
    log_in(client, ADMIN)
    page = client.get("/?days=28")
    assert page.status_code == 200
    assert "<svg" in page.text and "Revenue and sessions per day" in page.text
    assert page.text.count("<table") >= 3  # each chart's data table and the two lists


def _wait_job(client: TestClient, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}.json").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def test_upload_preview_check_and_import_with_a_reject_file(site, tmp_path):
    client, store, _ = site
    log_in(client, ADMIN)
    rows = ["Handle,Title,Variant Price", "tee,Plain tee,12.50", "mug,Mug,not-a-price",
            "cap,Cap,9.00"]  # fmt: skip
    csv = ("\n".join(rows) + "\n").encode()
    token = csrf(client, "/imports")
    up = client.post(
        "/imports/upload",
        data={"kind": "shopify-products", "csrf_token": token},
        files={"file": ("my products.csv", csv, "text/csv")},
        follow_redirects=False,
    )
    assert up.status_code == 303, up.text
    preview = client.get(up.headers["location"])
    assert (
        preview.status_code == 200
        and "Plain tee" in preview.text
        and "Variant Price" in preview.text
    )
    upload_id = re.search(r"/imports/([0-9a-f]{24})", up.headers["location"]).group(1)
    check = client.post(f"/imports/{upload_id}/validate",
                        data={"kind": "shopify-products", "csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    job = _wait_job(client, int(check.headers["location"].rsplit("/", 1)[1]))
    assert job["status"] == "done" and job["summary"]["error_count"] == 1
    (error,) = job["summary"]["errors"]
    assert error["line"] == 3 and "price" in error["field"].lower()
    assert store.stats()["products"] == 0
    strict = client.post(f"/imports/{upload_id}/import",
                         data={"kind": "shopify-products", "csrf_token": token},
                         follow_redirects=False)  # fmt: skip
    failed = _wait_job(client, int(strict.headers["location"].rsplit("/", 1)[1]))
    assert failed["status"] == "failed" and "line 3" in failed["error"]
    assert store.stats()["products"] == 0
    lenient = client.post(f"/imports/{upload_id}/import",
                          data={"kind": "shopify-products", "csrf_token": token,
                                "skip_bad_rows": "on"}, follow_redirects=False)  # fmt: skip
    job_id = int(lenient.headers["location"].rsplit("/", 1)[1])
    done = _wait_job(client, job_id)
    assert done["status"] == "done" and done["summary"]["rejected"] == 1, done["error"]
    assert store.stats()["products"] == 2
    rejects = client.get(f"/imports/rejects/{job_id}")
    assert rejects.status_code == 200 and "not-a-price" in rejects.text
    history = client.get("/imports").text
    assert "my_products.csv" in history or "my products.csv" in history


def test_a_store_imported_before_the_aggregates_is_rebuilt_from_the_overview(site):
    """Aggregates empty while the store holds events and orders: the overview says its
    figures are incomplete, a viewer is told to ask, an admin rebuilds them as a job."""
    from sqlalchemy import text

    from shopmind.store import daily

    client, store, _ = site
    simulate(store, SimulationConfig(customers=200, days=20, products=20, seed=6))
    end = daily.last_day(store)
    before = daily.overview(store, end - timedelta(days=27), end)
    with store.connect() as conn:
        for table in ("traffic_sessions", "daily_traffic", "daily_sales", "daily_products"):
            conn.execute(text(f"DELETE FROM {table}"))
    log_in(client, VIEWER)
    seen = client.get("/").text
    assert "incomplete until they are rebuilt" in seen and "Ask an admin" in seen
    client.post("/logout", data={"csrf_token": csrf(client)})
    log_in(client, ADMIN)
    answer = client.post("/overview/rebuild", data={"csrf_token": csrf(client, "/")},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    job = _wait_job(client, int(answer.headers["location"].rsplit("/", 1)[1]))
    assert job["status"] == "done", job
    assert "incomplete until they are rebuilt" not in client.get(f"/?end={end}").text
    assert daily.overview(store, before.start, before.end) == before
