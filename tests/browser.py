"""The browser tests' helpers: a real server on a simulated store, Chromium, screenshots.

- :func:`running_site` builds a fresh workspace (SQLite in a temporary folder, a small
  simulated store, an admin and a viewer, a trained ``linear`` review model with the
  reviews scored) and serves ``create_app(settings)`` with uvicorn on 127.0.0.1 and a
  free port, in a thread of this process.
- :func:`chromium` is Debian's Chromium (``/usr/bin/chromium``, ``apt-get install
  chromium``) driven by pip's ``playwright``. ``playwright install`` is never run: it
  would download a browser. Where either is missing the browser tests are skipped
  (:func:`need_browser`), unless ``SHOPMIND_REQUIRE_BROWSER=1`` (CI), which makes that a
  failure.
- :func:`take_screenshots` writes ``dashboard-<page>.png`` of every page; the pictures
  in ``docs/dashboard.md`` come from it::

      .venv/bin/python -m tests.browser              # writes docs/images/dashboard-*.png
      .venv/bin/python -m tests.browser --out /tmp/shots

  Chinese text needs a CJK font in the machine (Debian: ``fonts-noto-cjk``).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopmind.config import Settings, init_workspace, load_settings
from shopmind.store import Store, users

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("SHOPMIND_REQUIRE_BROWSER") == "1"
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
ADMIN = ("owner@example.com", "correct horse battery staple")
VIEWER = ("clerk@example.com", "another long secret")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
TIMEOUT_MS = 60_000  # one step of a page (a job's end is waited for longer)
JOB_TIMEOUT_MS = 300_000
# The tests' store, small and fast to build: 60 days, so a 28-day overview has a period
# before it, and enough reviews that products have review intelligence to show.
SIMULATION = {"customers": 800, "days": 60, "products": 24, "seed": 7, "review_rate": 1.0,
              "traffic": 1.5}  # fmt: skip
# The screenshots' store: enough reviews (about 700) for a linear model whose pros and
# cons read right, and a product with an alert.
SHOWCASE = {**SIMULATION, "customers": 3000, "traffic": 2.0}
# A products file with one broken row (line 3: its price): what a merchant might upload.
PRODUCTS_CSV = (
    b"Handle,Title,Vendor,Product Type,Variant SKU,Variant Price,Variant Inventory Qty\n"
    b"linen-shirt,Linen shirt,North Loom,Shirts,LS-01,39.00,12\n"
    b"wool-scarf,Wool scarf,North Loom,Scarves,WS-01,twenty,8\n"
    b"canvas-tote,Canvas tote,Harbour & Co,Bags,CT-01,18.50,30\n"
    b"rain-jacket,Rain jacket,Harbour & Co,Jackets,RJ-01,89.00,5\n"
)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def need_browser() -> None:
    """Skip the calling test without a browser; fail instead under SHOPMIND_REQUIRE_BROWSER=1."""
    import pytest

    reason = browser_missing()
    if reason is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"SHOPMIND_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


# --- the server ----------------------------------------------------------------------------


@dataclass
class Site:
    """A served workspace: its address, settings and store (for checks in SQL)."""

    url: str
    settings: Settings
    store: Store


def build_store(root: Path, simulation: dict[str, Any] = SIMULATION) -> tuple[Settings, Store]:
    """A fresh workspace under ``root``: simulated store, two users, a scored linear model."""
    from shopmind.reviews.service import analyze, aspect_config, load_model, train
    from shopmind.simulate import SimulationConfig, simulate

    workspace = root / "workspace"
    init_workspace(workspace)
    settings = load_settings(workspace)
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, SimulationConfig(**simulation))
    users.add_user(store, *ADMIN, "admin")
    users.add_user(store, *VIEWER, "viewer")
    train(store, settings.models_dir, "linear")
    model = load_model(settings.models_dir, "linear")
    analyze(store, model, aspects=aspect_config(workspace))
    return settings, store


@contextmanager
def serve(settings: Settings, store: Store) -> Iterator[str]:
    """Serve the dashboard and API with uvicorn on 127.0.0.1 and a free port; yields the
    base URL. The socket is bound before the server starts, so no other process can take
    the port in between."""
    import uvicorn

    from shopmind.api.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, store=store), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


@contextmanager
def running_site(root: Path, simulation: dict[str, Any] = SIMULATION) -> Iterator[Site]:
    settings, store = build_store(root, simulation)
    try:
        with serve(settings, store) as url:
            yield Site(url, settings, store)
    finally:
        store.dispose()


# --- the browser ---------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, site: Site, **options: Any) -> BrowserContext:
    """A fresh browser (no cookies) on the site: English, desktop width unless told."""
    options.setdefault("locale", "en-US")
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(base_url=site.url, accept_downloads=True, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def log_in(page: Page, who: tuple[str, str], next_url: str = "/") -> None:
    """Fill and send the log-in form (the caller checks where it led)."""
    if "/login" not in page.url:
        page.goto(f"/login?next={next_url}")
    page.fill("#email", who[0])
    page.fill("#password", who[1])
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")


def job_status(page: Page) -> Any:
    """The status badge of the job a job page shows."""
    return page.locator("main [data-job] [data-field=status]").first


def wait_for_job(page: Page, status: str = "done") -> None:
    """Wait on a job page until its badge reads ``status``; the page's own script polls
    and reloads, the test never does."""
    from playwright.sync_api import expect

    expect(job_status(page)).to_have_text(status, timeout=JOB_TIMEOUT_MS)


def upload(page: Page, kind: str, name: str, data: bytes) -> str:
    """Upload a file through the Imports page; returns the preview page's address."""
    page.goto("/imports")
    page.select_option("select[name=kind]", kind)
    page.set_input_files(
        "input[type=file][name=file]", files={"name": name, "mimeType": "text/csv", "buffer": data}
    )
    page.click("form[action='/imports/upload'] button[type=submit]")
    page.wait_for_url("**/imports/*?kind=*")
    return page.url


def start_import(page: Page, preview_url: str, skip_bad_rows: bool) -> None:
    """From the preview page: import (accepting the confirm dialog); lands on the job."""
    page.goto(preview_url)
    if skip_bad_rows:
        page.check("input[name=skip_bad_rows]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/import'] button[type=submit]")
    page.wait_for_url("**/jobs/*")


def write_copy(
    page: Page, task: str, writer: str, every: bool = False, products: tuple[str, ...] = ()
) -> int:
    """Start a writing job from the Content page and wait for it; its id."""
    page.goto("/content")
    page.select_option("form[action='/content/generate'] select[name=task]", task)
    page.select_option("form[action='/content/generate'] select[name=writer]", writer)
    if every:
        page.check("form[action='/content/generate'] input[name=scope][value=all]")
    for product in products:
        page.check(f"form[action='/content/generate'] input[name=product_ids][value='{product}']")
    page.click("form[action='/content/generate'] button[type=submit]")
    page.wait_for_url("**/jobs/*")
    wait_for_job(page)
    return int(page.url.rsplit("/", 1)[1])


# --- screenshots ---------------------------------------------------------------------------


def screenshot(page: Page, name: str, out: Path, max_height: int = 2000) -> Path:
    """``out/dashboard-<name>.png``: the whole page, cut at ``max_height`` pixels."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"dashboard-{name}.png"
    width, height = page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height)}
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")
    return path


def _showcase_product(store: Store) -> int:
    """A product with an alert, else the one with the most reviews."""
    from sqlalchemy import select

    from shopmind.store.models import ProductReviewInsight as Insight

    with store.session() as s:
        query = select(Insight.product_id).order_by(
            Insight.alert.desc(), Insight.reviews.desc(), Insight.product_id
        )
        return int(s.scalars(query.limit(1)).one())


def take_screenshots(browser: Browser, site: Site, out: Path) -> list[Path]:
    """Every page in English at 1280 pixels, and the overview in Chinese and on a phone.

    Uploads :data:`PRODUCTS_CSV`, checks it and imports it skipping its bad row, so the
    Imports page has a preview, a job and a history to show."""
    shots: list[Path] = []
    context = new_context(browser, site)
    page = context.new_page()
    page.goto("/login")
    shots.append(screenshot(page, "login", out))
    log_in(page, ADMIN)
    for name, path, height in (
        ("overview", "/", 2000),
        ("products", "/products", 2000),
        ("product", f"/products/{_showcase_product(site.store)}", 3200),
        ("reviews", "/reviews", 2000),
    ):
        page.goto(path)
        shots.append(screenshot(page, name, out, max_height=height))
    preview = upload(page, "shopify-products", "products_export.csv", PRODUCTS_CSV)
    shots.append(screenshot(page, "import-preview", out, max_height=3000))
    page.click("form[action$='/validate'] button[type=submit]")
    page.wait_for_url("**/jobs/*")
    wait_for_job(page)
    shots.append(screenshot(page, "job", out))
    start_import(page, preview, skip_bad_rows=True)
    wait_for_job(page)
    page.goto("/settings")
    page.fill("form[action='/settings/keys'] input[name=name]", "storefront")
    with page.expect_navigation():
        page.click("form[action='/settings/keys'] button[type=submit]")
    for name, path in (("imports", "/imports"), ("jobs", "/jobs"), ("settings", "/settings")):
        page.goto(path)
        shots.append(screenshot(page, name, out))
    write_copy(page, task="seo", writer="rules", every=True)
    page.goto("/content?task=seo")
    shots.append(screenshot(page, "content", out, max_height=2400))
    shopper = _recommendations(site)
    page.goto(f"/recommendations?mode=user&ref={shopper}&n=6")
    shots.append(screenshot(page, "recommendations", out, max_height=3000))
    context.close()

    phone = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True}
    for name, path, options in (
        ("overview-zh", "/", {"locale": "zh-CN"}),
        ("overview-phone", "/", phone),
        ("content-zh", "/content?task=seo", {"locale": "zh-CN"}),
        ("content-phone", "/content?task=seo", phone),
        (
            "recommendations-zh",
            f"/recommendations?mode=user&ref={shopper}&n=6",
            {"locale": "zh-CN"},
        ),
        ("recommendations-phone", f"/recommendations?mode=user&ref={shopper}&n=4", phone),
    ):
        context = new_context(browser, site, **options)
        page = context.new_page()
        log_in(page, ADMIN)
        page.goto(path)
        shots.append(screenshot(page, name, out, max_height=1600))
        context.close()
    return shots


def _recommendations(site: Site) -> str:
    """Train popular, itemknn and a time-boxed sasrec (the serving model), make a
    publishable key and record a few widget impressions, clicks and purchases; returns a
    shopper with orders."""
    from shopmind.recommend.train import train
    from shopmind.store.events import normalize_event, store_events
    from shopmind.store.interactions import order_rows
    from shopmind.store.publishable import create_publishable_key, list_publishable_keys

    models = site.settings.models_dir
    train(site.store, models, "popular")
    train(site.store, models, "itemknn")
    train(site.store, models, "sasrec", {"time_budget_s": 40.0, "threads": 2})
    if not list_publishable_keys(site.store):
        create_publishable_key(site.store, "Theme", ["https://shop.example.com"])
    shopper, item = next((u, i) for u, i, _, _ in order_rows(site.store))
    now = time.time()
    rows = []
    visits = [("for_you", f"w{j}") for j in range(40)] + [("similar", f"v{j}") for j in range(25)]
    for k, (placement, user) in enumerate(visits):
        shown = [{"item_id": item, "item_list_id": placement}]
        rows.append(
            {
                "event_name": "view_item_list",
                "event_timestamp": now - 3600 + k,
                "user_pseudo_id": user,
                "items": shown,
            }
        )
        if k % 6 == 0:
            rows.append(
                {
                    "event_name": "select_item",
                    "event_timestamp": now - 3000 + k,
                    "user_pseudo_id": user,
                    "items": shown,
                }
            )
        if k % 12 == 0:
            rows.append(
                {
                    "event_name": "purchase",
                    "event_timestamp": now - 2000 + k,
                    "user_pseudo_id": user,
                    "items": [{"item_id": item, "price": 39.0}],
                }
            )
    store_events(site.store, [normalize_event(r) for r in rows])
    return shopper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.browser", description="Screenshots of every dashboard page."
    )
    parser.add_argument("--out", type=Path, default=IMAGES, help="folder (default docs/images)")
    args = parser.parse_args(argv)
    reason = browser_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    with (
        tempfile.TemporaryDirectory(prefix="shopmind-shots-") as tmp,
        running_site(Path(tmp), SHOWCASE) as site,
        chromium() as browser,
    ):
        for path in take_screenshots(browser, site, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
