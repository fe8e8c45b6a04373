"""The content studio over HTTP: generate for stored and given products, review drafts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.api.app import create_app
from shopmind.config import init_workspace, load_settings
from shopmind.store import Store
from shopmind.store import content as drafts
from shopmind.store.apikeys import create_api_key
from shopmind.store.models import Product


@pytest.fixture
def api(tmp_path: Path, tiny_llm_long: Path) -> Iterator[tuple[TestClient, dict[str, str], Store]]:
    ws = tmp_path / "ws"
    init_workspace(ws)
    settings = load_settings(
        ws, database_url=f"sqlite:///{tmp_path / 'c.db'}", llm_model=str(tiny_llm_long), threads=1
    )
    store = Store(settings.resolved_database_url)
    store.upgrade()
    with store.session() as s:
        s.add(Product(external_id="tee", title="Linen tee", attributes={"material": "linen"}))
    key = create_api_key(store, "t")
    with TestClient(create_app(settings, store=store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, store
    store.dispose()


def test_generate_answers_the_cli_shape_for_stored_and_given_products(api: Any) -> None:
    client, auth, _ = api
    body = {
        "task": "seo",
        "product_ids": ["tee"],
        "n": 2,
        "seed": 1,
        "products": [{"id": "cap", "title": "Wool cap", "attributes": {"material": "wool"}}],
    }
    answer = client.post("/v1/content/generate", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["product_id"] for r in results] == ["tee", "cap"]
    for r in results:
        assert r["task"] == "seo" and r["model"].startswith("local:")
        assert len(r["variants"]) + len(r["dropped"]) >= 2
        for v in r["variants"]:
            assert len(v["fields"]["title"]) <= 60 and "draft_id" in v


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"task": "poem", "product_ids": ["tee"]}, 422, "unknown task 'poem'"),
        ({"task": "seo"}, 422, "give product_ids"),
        ({"task": "seo", "product_ids": ["nope"]}, 404, "no product 'nope'"),
        ({"task": "seo", "product_ids": ["tee"] * 11}, 422, ""),
        ({"task": "seo", "product_ids": ["tee"], "n": 9}, 422, ""),
        ({"task": "seo", "products": [{"id": "x", "title": "t", "run": "rm"}]}, 422, ""),
    ],
)
def test_bad_generate_requests_are_refused(api: Any, body: dict, code: int, message: str) -> None:
    client, auth, _ = api
    answer = client.post("/v1/content/generate", json=body, headers=auth)
    assert answer.status_code == code and message in answer.text
    assert client.post("/v1/content/generate", json=body).status_code == 401


def test_drafts_are_listed_approved_and_edited_within_the_channel_rules(api: Any) -> None:
    client, auth, store = api
    (saved,) = drafts.save_run(
        store,
        product_key="tee",
        product_id=None,
        task="seo",
        language="en",
        variants=[({"title": "A", "meta_description": "B"}, {})],
        model="m",
        settings={},
    )
    listed = client.get("/v1/content/drafts?status=draft", headers=auth).json()
    assert [d["id"] for d in listed] == [saved.id]
    too_long = {"fields": {"title": "x" * 61, "meta_description": "B"}}
    refused = client.patch(f"/v1/content/drafts/{saved.id}", json=too_long, headers=auth)
    assert refused.status_code == 422 and "at most 60" in refused.text
    ok = client.patch(
        f"/v1/content/drafts/{saved.id}",
        headers=auth,
        json={"fields": {"title": "Linen tee", "meta_description": "Cool."}, "status": "approved"},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["edited"]
    assert (
        client.patch(
            "/v1/content/drafts/999", json={"status": "rejected"}, headers=auth
        ).status_code
        == 404
    )
