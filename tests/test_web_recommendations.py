"""The Recommendations page over plain HTTP: a training job from the form, the models
with their metrics, the preview with reasons (English and Chinese), roles, rollback."""

from __future__ import annotations

import re

from shopmind.simulate import SimulationConfig, simulate
from shopmind.store.interactions import order_rows
from test_web import ADMIN, VIEWER, _wait_job, csrf, log_in, site  # noqa: F401 (fixture)

CONFIG = SimulationConfig(customers=250, days=20, products=25, seed=9, traffic=2.0)


def train(client, model: str) -> dict:
    started = client.post(
        "/recommendations/train",
        follow_redirects=False,
        data={"model": model, "csrf_token": csrf(client, "/recommendations")},
    )
    assert started.status_code == 303, started.text
    job = _wait_job(client, int(started.headers["location"].rsplit("/", 1)[1]))
    assert job["status"] == "done", job
    return job


def test_train_preview_and_roll_back_from_the_page(site):  # noqa: F811
    client, store, _ = site
    simulate(store, CONFIG)
    log_in(client, ADMIN)
    page = client.get("/recommendations")
    assert page.status_code == 200 and 'href="/recommendations"' in page.text
    assert "No recommender trained yet" in page.text
    popular = train(client, "popular")
    assert popular["summary"]["version"] == "v0001"
    knn = train(client, "itemknn")
    assert knn["summary"]["ndcg@10"] > 0
    page = client.get("/recommendations").text
    assert "recommend/itemknn" in page and "recommend/bought-together" in page and "serving" in page

    customer, item = next((u, i) for u, i, _, _ in order_rows(store))
    shown = client.get("/recommendations", params={"mode": "user", "ref": customer, "n": 3}).text
    # recommend_model = auto: the trained model that ranked the store's shoppers best
    best = max((popular, knn), key=lambda j: j["summary"]["valid_ndcg@10"])["summary"]["model"]
    assert shown.count('<td class="num">1</td>') == 1 and f"Model: {best}" in shown
    assert f"auto → {best}" in shown
    together = client.get("/recommendations", params={"mode": "together", "ref": item}).text
    assert "Often bought with" in together
    missing = client.get("/recommendations", params={"mode": "similar", "ref": "nope"})
    assert missing.status_code == 404 and "unknown item" in missing.text
    assert client.get("/recommendations", params={"mode": "poem", "ref": "x"}).status_code == 422

    again = train(client, "itemknn")
    assert again["summary"]["version"] == "v0002"
    rolled = client.post(
        "/recommendations/rollback",
        data={
            "name": "recommend/itemknn",
            "to": "v0001",
            "csrf_token": csrf(client, "/recommendations"),
        },
    )
    assert rolled.status_code == 200 and "recommend/itemknn → v0001" in rolled.text
    bad = client.post(
        "/recommendations/train",
        data={"model": "magic", "csrf_token": csrf(client, "/recommendations")},
    )
    assert bad.status_code == 409 and "model: must be one of" in bad.text


def test_viewers_preview_but_do_not_train_and_chinese_reads(site):  # noqa: F811
    client, store, _ = site
    simulate(store, CONFIG)
    log_in(client, VIEWER)
    page = client.get("/recommendations").text
    assert 'action="/recommendations/train"' not in page
    assert client.post("/recommendations/train", data={"model": "popular"}).status_code in (
        403,
        422,
    )
    client.cookies.set("shopmind_lang", "zh-CN")
    zh = client.get("/recommendations").text
    assert "推荐" in zh and "No recommender trained yet" not in zh


def test_publishable_keys_and_placements_on_the_page(site):  # noqa: F811
    from shopmind.store.events import normalize_event, store_events

    client, store, _ = site
    log_in(client, ADMIN)
    made = client.post(
        "/recommendations/keys",
        data={
            "name": "Theme",
            "origins": "https://shop.example.com\nhttp://localhost:8080",
            "csrf_token": csrf(client, "/recommendations"),
        },
    )
    assert made.status_code == 200 and "pk_" in made.text and "/widget.js" in made.text
    assert "https://shop.example.com, http://localhost:8080" in made.text
    bad = client.post(
        "/recommendations/keys",
        data={
            "name": "Bad",
            "origins": "https://*.example.com",
            "csrf_token": csrf(client, "/recommendations"),
        },
    )
    assert bad.status_code == 422 and "no path, no *" in bad.text
    page = client.get("/recommendations").text
    assert "No impressions yet" in page
    store_events(
        store,
        [
            normalize_event(
                {
                    "event_name": "view_item_list",
                    "event_timestamp": __import__("time").time(),
                    "user_pseudo_id": "u",
                    "items": [{"item_id": "a", "item_list_id": "for_you"}],
                }
            )
        ],
    )
    page = client.get("/recommendations").text
    assert "<td>for_you</td>" in page and "No impressions yet" not in page
    key_id = re.search(r"/recommendations/keys/(\d+)/revoke", page).group(1)
    revoked = client.post(
        f"/recommendations/keys/{key_id}/revoke",
        data={"csrf_token": csrf(client, "/recommendations")},
        follow_redirects=True,
    )
    assert revoked.status_code == 200 and "revoked" in revoked.text


def test_a_sasrec_job_chooses_its_epochs_then_trains_again(site):  # noqa: F811
    client, store, _ = site
    simulate(store, CONFIG)
    log_in(client, ADMIN)
    started = client.post(
        "/recommendations/train",
        follow_redirects=False,
        data={"model": "sasrec", "time_budget_s": "30",
              "csrf_token": csrf(client, "/recommendations")},
    )  # fmt: skip
    job = _wait_job(client, int(started.headers["location"].rsplit("/", 1)[1]), timeout=180)
    assert job["status"] == "done", job
    summary = job["summary"]
    assert summary["best_epoch"] >= 1 and summary["valid_ndcg@10"] > 0 and summary["ndcg@10"] > 0
    assert job["stage"].startswith("training again"), job  # the refit was the last step
    assert "recommend/sasrec" in client.get("/recommendations").text
