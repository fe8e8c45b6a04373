"""Values the store keeps that the dashboard writes in the interface language: a review
alert's reason (stored as a code and its numbers, beside the English sentence the API
keeps) and times (stored as naive UTC, shown marked UTC in the locale's way)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopmind.api.app import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.reviews.insights import product_insights
from shopmind.store import Store, users
from shopmind.store.apikeys import create_api_key
from shopmind.store.models import Product
from shopmind.store.reviews import write_product_insights
from shopmind.web import i18n

ADMIN = ("owner@example.com", "correct horse battery")
NOW = dt.datetime(2026, 6, 30, 12, 0)
ENGLISH_REASON = "negative share 50% in the last 30 days (10 of 20 reviews) vs 11% normally"
CHINESE_REASON = "近 30 天差评占比 50%（20 条评价中有 10 条），通常为 11%（上限 31%）"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    ws = tmp_path / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{tmp_path / 'web.db'}")
    store = Store(settings.resolved_database_url)
    store.upgrade()
    users.add_user(store, ADMIN[0], ADMIN[1], "admin")
    with TestClient(create_app(settings, store=store), base_url="http://shop.test") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1],
                                    "csrf_token": token})  # fmt: skip
        yield client, store
    store.dispose()


def review(label: str, days_ago: float) -> dict:
    return {"label": label, "score": 0.9, "created_at": NOW - dt.timedelta(days=days_ago)}


def store_alerting_product(store: Store, *, older: bool = False) -> int:
    """A product whose insights hold an active alert: 12 of 120 reviews negative before
    the last 30 days, 10 of 20 in them (the case of test_reviews_insights). ``older``:
    the insight as stored before alerts had a code."""
    with store.session() as s:
        product = Product(external_id="tee", title="Linen tee", currency="USD", price=29.0)
        s.add(product)
        s.flush()
        product_id = product.id
    rows = [review("negative" if i % 10 == 0 else "positive", 40 + 300 * i / 120)
            for i in range(120)]  # fmt: skip
    rows += [review("negative" if i < 10 else "positive", 29 * i / 20) for i in range(20)]
    payload = json.loads(json.dumps(product_insights(rows, [], now=NOW), default=str))
    if older:
        del payload["alert"]["reason_code"], payload["alert"]["reason_params"]
    write_product_insights(
        store,
        [{"product_id": product_id, "model": "lexicon", "reviews": payload["reviews"],
          "negative_share": payload["negative_share"], "alert": True, "payload": payload,
          "computed_at": NOW}],
    )  # fmt: skip
    return product_id


@pytest.mark.parametrize("older", [False, True], ids=["coded", "stored-before-codes"])
def test_the_chinese_product_page_gives_the_alert_reason_in_chinese(site, older: bool) -> None:
    """Regression: the reason was the stored English sentence in every language."""
    client, store = site
    product_id = store_alerting_product(store, older=older)
    chinese = client.get(f"/products/{product_id}", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 200
    assert CHINESE_REASON in chinese.text and "negative share" not in chinese.text
    english = client.get(f"/products/{product_id}", headers={"Accept-Language": "en"})
    assert ENGLISH_REASON + " (upper limit 31%)" in english.text
    flagged = client.get("/reviews", headers={"Accept-Language": "zh-CN"})
    assert CHINESE_REASON in flagged.text


def test_the_api_keeps_the_english_reason_and_adds_its_code(site) -> None:
    client, store = site
    product_id = store_alerting_product(store)
    key = create_api_key(store, "t")
    answer = client.get(f"/v1/products/{product_id}/review-insights",
                        headers={"X-API-Key": key})  # fmt: skip
    alert = answer.json()["alert"]
    assert alert["reason"].startswith(ENGLISH_REASON)
    assert alert["reason_code"] == "negative_share_high"
    assert alert["reason_params"] == {"share": 0.5, "window_days": 30, "negative": 10,
                                      "reviews": 20, "normal_share": 0.1066,
                                      "upper": 0.3135}  # fmt: skip


def test_times_name_their_zone_in_the_locales_way() -> None:
    moment = dt.datetime(2024, 3, 7, 15, 4)  # stored: naive UTC
    assert i18n.format_datetime(moment, "en", zone=True) == "Mar 7, 2024, 3:04:00\u202fPM UTC"
    assert i18n.format_datetime(moment, "zh_CN", zone=True) == "2024年3月7日 UTC 15:04:00"
    shanghai = i18n.format_datetime(moment, "zh_CN", tz="Asia/Shanghai", zone=True)
    assert shanghai.startswith("2024年3月7日 ") and shanghai.endswith(" 23:04:00")
    assert i18n.format_datetime(moment, "en") == "Mar 7, 2024, 3:04:00\u202fPM"  # unchanged


def test_dashboard_times_are_marked_utc(site) -> None:
    """Regression: key, log-in and job times were shown without a zone."""
    from shopmind.store import jobs

    client, store = site
    create_api_key(store, "storefront")
    job_id = jobs.create_job(store, "reviews.analyze", {}, created_by="test")
    stamp = r"\d{1,2}:\d{2}:\d{2}\u202f[AP]M UTC"
    for path in ("/settings", "/jobs", f"/jobs/{job_id}"):
        english = client.get(path, headers={"Accept-Language": "en"}).text
        assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, " + stamp, english), path
        chinese = client.get(path, headers={"Accept-Language": "zh-CN"}).text
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 UTC \d{2}:\d{2}:\d{2}", chinese), path
    settings = client.get("/settings", headers={"Accept-Language": "en"}).text
    assert len(re.findall(stamp, settings)) == 2  # the key's creation, the admin's log-in
