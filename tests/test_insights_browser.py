"""The Insights pages in Chromium: at desktop (1280) and phone (390) width, in English and
Chinese, nothing scrolls the page sideways — wide tables and charts scroll inside their
own boxes. Skipped without /usr/bin/chromium or playwright, unless
SHOPMIND_REQUIRE_BROWSER=1. The rules themselves are in ``test_web_insights.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from browser import ADMIN, Site, chromium, log_in, need_browser, new_context, serve
from shopmind.config import init_workspace, load_settings
from shopmind.simulate import simulate
from shopmind.store import Store, users
from test_web_insights import STORE

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PAGES = ("/insights", "/insights/funnel?by=day")
FITS = "document.scrollingElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    need_browser()
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root: Path = tmp_path_factory.mktemp("insights-browser")
    init_workspace(root / "ws")
    settings = load_settings(root / "ws", database_url=f"sqlite:///{root / 'web.db'}")
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, STORE)
    users.add_user(store, *ADMIN, "admin")
    with serve(settings, store) as url:
        yield Site(url, settings, store)
    store.dispose()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_overview_and_funnel_fit_the_screen(
    browser: object, site: Site, width: str, locale: str
) -> None:
    phone = width == "phone"
    context = new_context(browser, site, viewport=WIDTHS[width], locale=locale,
                          is_mobile=phone, has_touch=phone)  # fmt: skip
    page = context.new_page()
    log_in(page, ADMIN, PAGES[0])
    for path in PAGES:
        page.goto(path)
        assert page.locator("main h1").count() == 1
        assert page.locator("figure.chart svg").count() >= 1, path
        sizes = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert page.evaluate(FITS), (path, width, locale, sizes)
    context.close()


# --- the pictures in docs/dashboard.md -------------------------------------------------------

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
HILLSTROM = Path(__file__).resolve().parents[2] / "shared" / "data" / "analytics" / "hillstrom"
SHOTS = (  # name, address, height on a desktop and on a phone (pixels)
    ("overview", "/insights?end={end}", 1960, 2600),
    ("funnel", "/insights/funnel?by=device&end={end}", 1800, 2400),
    ("acquisition", "/insights/acquisition?end={end}", 1800, 2600),
    ("cohorts", "/insights/cohorts?end={end}", 1200, 1200),
    ("segments", "/insights/segments?end={end}", 1800, 2000),
    ("clv", "/insights/clv?end={end}", 1800, 2800),
    ("anomalies", "/insights/anomalies?end={end}", 2200, 3200),
)


def shot(page: object, name: str, out: Path, max_height: int) -> Path:
    """``out/insights-<name>.png``: the page from its top, cut at ``max_height`` pixels."""
    width, height = page.evaluate(  # type: ignore[attr-defined]
        "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    path = out / f"insights-{name}.png"
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height)}
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled")  # type: ignore[attr-defined]
    return path


def take_screenshots(browser: object, site: Site, out: Path = IMAGES) -> list[Path]:
    """Every Insights page in English at 1280 pixels and in Chinese on a phone; the
    experiment is the Hillstrom e-mail test (visits by arm) uploaded through the form."""
    from datetime import date, timedelta

    from shopmind.insights.service import Insights

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    # A simulated store's last day holds only the minutes after midnight of sessions begun
    # the day before: its figures would read as an outage. The pictures end a day earlier.
    last = Insights(site.store, site.settings).span()["last"]
    end = date.fromisoformat(last) - timedelta(days=1)
    phone = {"viewport": WIDTHS["phone"], "is_mobile": True, "has_touch": True,
             "locale": "zh-CN"}  # fmt: skip
    for suffix, options in (("", {}), ("-zh-phone", phone)):
        context = new_context(browser, site, **options)
        page = context.new_page()
        log_in(page, ADMIN, "/insights")
        for name, path, desktop, on_phone in SHOTS:
            page.goto(path.format(end=end))
            if name == "overview":  # one recommendation's evidence, opened
                page.click("ol.recs details summary >> nth=0")
            shots.append(shot(page, name + suffix, out, on_phone if suffix else desktop))
        page.goto("/insights/experiments")
        page.set_input_files("input[name=file]", str(HILLSTROM / "hillstrom.csv"))
        page.fill("input[name=arm_column]", "segment")
        page.fill("input[name=metric]", "visit")
        page.fill("input[name=covariate]", "history")
        with page.expect_navigation():
            page.click("form.experiment button[type=submit]")
        shots.append(shot(page, "experiments" + suffix, out, 2000 if not suffix else 3600))
        context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    """``python tests/test_insights_browser.py WORKSPACE``: the pictures, from a workspace
    holding an admin ``owner@example.com`` (see docs/dashboard.md, Screenshots)."""
    import argparse

    parser = argparse.ArgumentParser(description="Screenshots of the Insights pages.")
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args(argv)
    settings = load_settings(args.workspace)
    store = Store(settings.resolved_database_url)
    with serve(settings, store) as url, chromium() as browser:
        for path in take_screenshots(browser, Site(url, settings, store), args.out):
            print(path, path.stat().st_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
