"""The dashboard in a real browser: Chromium (Debian's) through Playwright, against a real
uvicorn server on a simulated store (``browser.py`` builds both, once for the module).

Only what a browser adds is checked here — the page's scripts (job polling, the confirm
dialog, the language switch), uploads and downloads, cookies a script cannot read, layout
at phone width — plus the end-to-end stories of the issue. The rules themselves (CSRF,
roles, escaping, lock-out arithmetic) are checked over plain HTTP in ``test_web.py``.
Skipped without /usr/bin/chromium or playwright, unless SHOPMIND_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from browser import (
    ADMIN,
    PHONE,
    VIEWER,
    Site,
    chromium,
    job_status,
    log_in,
    need_browser,
    new_context,
    running_site,
    start_import,
    take_screenshots,
    upload,
    wait_for_job,
    write_copy,
)
from shopmind.reviews.service import registry
from shopmind.store import content as drafts
from shopmind.store import jobs as jobstore
from shopmind.store import users
from shopmind.store.models import ApiKey, Job, Order, Product


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    need_browser()
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("browser-site")) as s:
        yield s


@pytest.fixture
def page(browser, site: Site):
    context = new_context(browser, site)
    yield context.new_page()
    context.close()


def admin_page(page):
    log_in(page, ADMIN)
    assert page.url.endswith("/"), page.url
    return page


def count(site: Site, query) -> int:
    with site.store.session() as s:
        return int(s.scalar(query))


def test_log_in_and_out(page, site: Site) -> None:
    page.goto("/products")
    assert re.search(r"/login\?next=/products$", page.url), page.url
    log_in(page, ADMIN)
    assert page.url == site.url + "/products"
    assert ADMIN[0] in page.inner_text("header")
    # The session cookie is there but out of the page scripts' reach (HttpOnly).
    names = {c["name"] for c in page.context.cookies()}
    assert "shopmind_session" in names
    assert "shopmind_session" not in page.evaluate("document.cookie")
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert page.url == site.url + "/login"
    assert "shopmind_session" not in {c["name"] for c in page.context.cookies()}
    page.goto("/")
    assert "/login?next=/" in page.url


def test_wrong_passwords_lock_the_account_and_say_to_wait(page, site: Site) -> None:
    who = ("locked@example.com", "the right password")
    users.add_user(site.store, *who, "viewer")
    page.goto("/login")
    for attempt in range(site.settings.login_max_failures):
        log_in(page, (who[0], f"wrong password {attempt}"))
        if attempt == 0:
            assert "Invalid e-mail or password." in page.inner_text("main")
    log_in(page, who)  # the right password, refused while locked
    message = page.inner_text("[role=alert]")
    seconds = re.search(r"Too many failed attempts; try again in (\d+) seconds\.", message)
    assert seconds and int(seconds.group(1)) > 0, message
    assert page.url.startswith(site.url + "/login")
    page.goto("/")
    assert "/login" in page.url  # no session was made


def test_a_viewer_sees_no_admin_buttons_and_is_refused_an_admin_action(page, site: Site) -> None:
    log_in(page, VIEWER)
    nav = page.inner_text("header nav")
    assert "Products" in nav and "Imports" not in nav
    page.goto("/reviews")
    assert page.locator("form[action='/reviews/train']").count() == 0
    assert page.locator("form[action='/reviews/analyze']").count() == 0
    page.goto("/settings")
    assert page.locator("form[action='/settings/keys']").count() == 0
    assert page.locator("form[action='/settings/users']").count() == 0
    page.goto("/imports")
    assert page.locator("input[type=file]").count() == 0
    # The viewer forges the train form with its own valid CSRF token: refused by role.
    page.goto("/reviews")
    with page.expect_navigation() as answer:
        page.evaluate(
            """() => {
              const form = document.createElement("form");
              form.method = "post"; form.action = "/reviews/train";
              for (const [name, value] of [["tier", "linear"], ["csrf_token",
                  document.querySelector("input[name=csrf_token]").value]]) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.append(input);
              }
              document.body.append(form); form.submit();
            }"""
        )
    assert answer.value.status == 403
    assert page.inner_text("h1") == "Not allowed"
    assert "admin" in page.inner_text("main").lower()
    assert count(site, select(func.count()).where(Job.created_by == VIEWER[0])) == 0


def test_upload_one_broken_row_check_refuse_then_skip_and_download_rejects(
    page, site: Site
) -> None:
    admin_page(page)
    csv = (
        b"Handle,Title,Variant Price\n"
        b"browser-tee,Browser tee,12.50\n"
        b"browser-mug,Browser mug,not-a-price\n"
        b"browser-cap,Browser cap,9.00\n"
    )
    preview = upload(page, "shopify-products", "browser products.csv", csv)
    table = page.inner_text("main")
    assert "Browser tee" in table and "Variant Price" in table
    products = select(func.count()).select_from(Product)
    ours = select(func.count()).where(Product.title.like("Browser %"))
    before = count(site, products)

    # Check without writing: the job lists line 3 and the price field.
    page.click("form[action$='/validate'] button[type=submit]")
    page.wait_for_url("**/jobs/*")
    wait_for_job(page, "done")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1
    line, field, _problem = rows.first.locator("td").all_inner_texts()
    assert line == "3" and "price" in field.lower()
    assert count(site, products) == before

    # Importing without skipping fails on that row and stores nothing.
    start_import(page, preview, skip_bad_rows=False)
    wait_for_job(page, "failed")
    assert "line 3" in page.inner_text("pre.error")
    assert count(site, products) == before and count(site, ours) == 0

    # Skipping bad rows imports the other two; the reject file holds the bad one.
    start_import(page, preview, skip_bad_rows=True)
    wait_for_job(page, "done")
    assert count(site, products) == before + 2 and count(site, ours) == 2
    with page.expect_download() as download:
        page.click("a[href^='/imports/rejects/']")
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert "not-a-price" in saved and "browser-mug" in saved
    assert "browser-tee" not in saved
    assert download.value.suggested_filename.endswith(".csv")
    page.goto("/imports")
    assert "browser_products.csv" in page.inner_text("main")


def test_a_training_job_started_on_the_reviews_page_is_followed_to_done(page, site: Site) -> None:
    admin_page(page)
    page.goto("/reviews")
    page.click("form[action='/reviews/train']:has(input[value=linear]) button")
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    first = job_status(page).inner_text()
    assert first in ("queued", "running"), first  # the worker process is still starting
    wait_for_job(page, "done")  # the page's script, never a reload by the test
    job = jobstore.get_job(site.store, job_id)
    assert job.status == "done" and job.kind == "reviews.train"
    current = registry(site.settings.models_dir, "linear").current()
    assert current is not None and current.id == job.summary["version"]
    page.goto("/reviews")
    row = page.locator("main tr", has_text=current.id)
    assert "serving" in row.inner_text()


def _kpi(page, label: str) -> str:
    box = page.locator(".kpi", has=page.locator(".label", has_text=re.compile(f"^{label}$")))
    return box.locator(".value").inner_text()


def _money(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def _sums(site: Site, start: date, end: date) -> tuple[int, float]:
    """Orders and revenue of ``start``..``end`` straight from the orders table."""
    query = select(func.count(), func.coalesce(func.sum(Order.total), 0)).where(
        Order.cancelled_at.is_(None),
        Order.created_at >= datetime.combine(start, time()),
        Order.created_at < datetime.combine(end + timedelta(days=1), time()),
    )
    with site.store.session() as s:
        orders, revenue = s.execute(query).one()
    return int(orders), round(float(revenue), 2)


def test_overview_figures_equal_the_stores_own_sums(page, site: Site) -> None:
    admin_page(page)
    days = int(page.input_value("select[name=days]"))
    end = date.fromisoformat(page.input_value("input[name=end]"))
    start = end - timedelta(days=days - 1)
    orders, revenue = _sums(site, start, end)
    assert orders > 0, "the simulated store sold something in the period"
    assert int(re.sub(r"\D", "", _kpi(page, "Orders"))) == orders
    assert _money(_kpi(page, "Revenue")) == revenue
    assert _money(_kpi(page, "Average order value")) == round(revenue / orders, 2)
    # The change against the period before, from the same table.
    _, before = _sums(site, start - timedelta(days=days), start - timedelta(days=1))
    change = page.locator(".kpi", has_text="Revenue").locator(".change").inner_text()
    shown = float(re.search(r"([0-9.]+)%", change).group(1))
    assert shown == pytest.approx(abs(revenue - before) / before * 100, abs=0.051)
    assert ("▲" in change) == (revenue >= before)
    # Another period, chosen in the form.
    page.select_option("select[name=days]", "7")
    with page.expect_navigation():
        page.click("form[action='/'] button[type=submit]")
    orders7, revenue7 = _sums(site, end - timedelta(days=6), end)
    assert int(re.sub(r"\D", "", _kpi(page, "Orders"))) == orders7
    assert _money(_kpi(page, "Revenue")) == revenue7


def test_a_post_without_the_csrf_token_is_refused(page, site: Site) -> None:
    admin_page(page)
    page.goto("/settings")
    post = """async ([name, withToken]) => {
      const body = new URLSearchParams({name});
      if (withToken) body.set("csrf_token",
          document.querySelector("input[name=csrf_token]").value);
      const answer = await fetch("/settings/keys", {method: "POST", body});
      return answer.status;
    }"""
    keys = select(func.count()).select_from(ApiKey)
    before = count(site, keys)
    assert page.evaluate(post, ["browser-no-token", False]) == 403
    assert count(site, keys) == before
    assert page.evaluate(post, ["browser-with-token", True]) == 200  # the same, with it
    assert count(site, keys) == before + 1


def test_the_chinese_interface_and_the_language_switch(browser, site: Site) -> None:
    who = ("zh@example.com", "a long chinese secret")
    users.add_user(site.store, *who, "viewer")
    context = new_context(browser, site, locale="zh-CN")
    page = context.new_page()
    page.goto("/login")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("h1") == "登录"
    log_in(page, who)
    nav = page.inner_text("header nav")
    assert "商品" in nav and "概览" in nav and "Products" not in nav
    assert page.inner_text("h1") == "概览"
    with page.expect_navigation():
        page.select_option("#locale", "en")  # the page's script submits the choice
    assert page.get_attribute("html", "lang") == "en"
    assert "Products" in page.inner_text("header nav")
    with page.expect_navigation():
        page.select_option("#locale", "zh_CN")
    assert "商品" in page.inner_text("header nav")
    page.goto("/products")
    assert page.inner_text("h1") == "商品"
    context.close()


def test_copy_written_from_the_content_page_is_approved_there(page, site: Site) -> None:
    admin_page(page)
    page.goto("/content")
    ids = page.locator("input[name=product_ids]").evaluate_all("els => els.map(e => e.value)")
    job_id = write_copy(page, task="product-title", writer="rules", products=tuple(ids[:2]))
    page.click(f"a[href='/content?job={job_id}']")
    cards = page.locator("article.draft")
    assert cards.count() >= 2
    first = cards.first
    title = first.locator("dd").first.inner_text()
    first.locator("form[action$='/decide']:has(input[value=approved]) button").click()
    page.wait_for_url(re.compile(rf"/content\?job={job_id}$"))
    approved = drafts.list_drafts(site.store, status="approved", job_id=job_id)
    assert [d.fields["title"] for d in approved] == [title.strip()]
    assert "approved" in page.locator("article.draft", has_text=title.strip()).first.inner_text()


@pytest.mark.parametrize("path", ["/", "/products", "/content"])
def test_phone_width_pages_do_not_scroll_sideways(browser, site: Site, path: str) -> None:
    context = new_context(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto("/login")
    log_in(page, ADMIN)
    page.goto(path)
    fits = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    assert page.evaluate(fits), page.evaluate("document.documentElement.scrollWidth")
    for label in ("Overview", "Products", "Reviews", "Settings"):
        link = page.locator("header nav a", has_text=label)
        box = link.bounding_box()
        assert link.is_visible() and box and box["x"] + box["width"] <= PHONE["width"], label
    assert page.locator("form[action='/logout'] button").is_visible()
    target = "/reviews" if path == "/products" else "/products"
    with page.expect_navigation():
        page.locator(f"header nav a[href='{target}']").click()
    assert page.url == site.url + target
    context.close()


def test_screenshots_of_every_page(browser, site: Site, tmp_path: Path) -> None:
    """The helper behind docs/images/dashboard-*.png still reaches every page."""
    shots = take_screenshots(browser, site, tmp_path)
    names = {p.name for p in shots}
    expected = {"login", "overview", "products", "product", "reviews", "import-preview", "job",
                "imports", "jobs", "settings", "overview-zh", "overview-phone", "content",
                "content-zh", "content-phone", "recommendations", "recommendations-zh",
                "recommendations-phone"}  # fmt: skip
    assert names == {f"dashboard-{n}.png" for n in expected}
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
