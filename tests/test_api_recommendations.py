"""The recommendation routes over HTTP on a simulated store, and the CLI's JSON twin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.api.app import create_app
from shopmind.cli import app as cli
from shopmind.config import init_workspace, load_settings
from shopmind.recommend.train import train
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key
from shopmind.store.interactions import order_rows

CONFIG = SimulationConfig(customers=300, days=20, products=30, seed=4, traffic=2.0)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Store]]:
    ws = tmp_path_factory.mktemp("recs") / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{ws / 'shop.db'}", threads=1,
                             recommend_model="itemknn")  # fmt: skip
    store = Store(settings.resolved_database_url)
    store.upgrade()
    simulate(store, CONFIG)
    train(store, settings.models_dir, "popular")
    train(store, settings.models_dir, "itemknn")
    yield ws, store
    store.dispose()


@pytest.fixture
def api(shop: tuple[Path, Store]) -> Iterator[tuple[TestClient, dict[str, str], str, str]]:
    ws, store = shop
    settings = load_settings(ws, database_url=str(store.engine.url), threads=1,
                             recommend_model="itemknn")  # fmt: skip
    key = create_api_key(store, "recs")
    customer, item = next((u, i) for u, i, _, _ in order_rows(store))
    with TestClient(create_app(settings, store=store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, customer, item


def test_a_shopper_gets_items_with_reasons(api: Any) -> None:
    client, auth, customer, _ = api
    r = client.get(f"/v1/recommendations/users/{customer}", params={"n": 4}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "itemknn" and len(body["items"]) == 4 and body["fallback"] is None
    assert all(i["reason_text"] and i["reason"]["kind"] for i in body["items"])
    unknown = client.get("/v1/recommendations/users/nobody-here", headers=auth).json()
    assert "nobody-here" in unknown["fallback"]


def test_a_session_ignores_unknown_ids_and_follows_the_rules(api: Any) -> None:
    client, auth, _, item = api
    body = {"items": [item, "ghost"], "n": 5, "per_category": 1}
    r = client.post("/v1/recommendations/session", json=body, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["unknown"] == ["ghost"]
    assert item not in {i["item_id"] for i in r.json()["items"]}
    bad = client.post("/v1/recommendations/session", json={"items": []}, headers=auth)
    assert bad.status_code == 422
    prices = client.post("/v1/recommendations/session", headers=auth,
                         json={"items": [item], "min_price": 50, "max_price": 10})  # fmt: skip
    assert prices.status_code == 422 and "above max_price" in prices.text


def test_product_routes_and_their_errors(api: Any) -> None:
    client, auth, _, item = api
    similar = client.get(f"/v1/products/{item}/similar", params={"n": 3}, headers=auth)
    together = client.get(f"/v1/products/{item}/bought-together", headers=auth)
    assert similar.status_code == 200 and len(similar.json()["items"]) == 3
    assert together.status_code == 200 and item not in {
        i["item_id"] for i in together.json()["items"]
    }
    missing = client.get("/v1/products/no-such/similar", headers=auth)
    assert missing.status_code == 404 and "unknown item 'no-such'" in missing.json()["detail"]
    assert (
        client.get(f"/v1/products/{item}/similar", params={"n": 0}, headers=auth).status_code == 422
    )
    assert (
        client.get(f"/v1/products/{item}/similar", params={"colour": "x"}, headers=auth).status_code
        == 422
    )
    assert client.get(f"/v1/products/{item}/similar").status_code == 401


def test_the_cli_prints_the_same_shape(shop: tuple[Path, Store], api: Any) -> None:
    ws, store = shop
    _, _, customer, item = api
    env = {"SHOPMIND_DATABASE_URL": str(store.engine.url), "SHOPMIND_RECOMMEND_MODEL": "itemknn"}
    runner = CliRunner()
    out = runner.invoke(cli, ["--workspace", str(ws), "recommend", "user", customer, "-n", "3",
                              "--json"], env=env)  # fmt: skip
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.stdout)["items"]) == 3
    out = runner.invoke(cli, ["--workspace", str(ws), "recommend", "similar", item, "--together",
                              "--json"], env=env)  # fmt: skip
    assert out.exit_code == 0 and json.loads(out.stdout)["items"]
    out = runner.invoke(cli, ["--workspace", str(ws), "recommend", "similar", "ghost"], env=env)
    assert out.exit_code == 1 and "unknown item 'ghost'" in out.output


def test_evaluate_prints_the_protocols_numbers_and_names_bad_lines(tmp_path: Path) -> None:
    lines = [f"u{u} " + " ".join(f"i{(u + t) % 9}" for t in range(5)) for u in range(40)]
    good = tmp_path / "seqs.txt"
    good.write_text("\n".join([*lines, "lonely i3"]) + "\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(cli, ["recommend", "evaluate", "--sequences", str(good),
                              "--model", "itemknn", "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert list(got)[:6] == ["model", "users", "items", "hr@10", "ndcg@10", "train_seconds"]
    assert got["users"] == 41 and got["items"] == 9 and got["evaluated_users"] == 40
    assert got["hr@10"] == 1.0  # nine items, history left out: the target is always in the top 10
    bad = tmp_path / "bad.txt"
    bad.write_text("u1 a b c\nu2\n", encoding="utf-8")
    out = runner.invoke(cli, ["recommend", "evaluate", "--sequences", str(bad)])
    assert out.exit_code == 1 and "line 2" in out.output
    out = runner.invoke(cli, ["recommend", "evaluate", "--sequences", str(good), "--model",
                              "sasrec", "--params", '{"hiden": 8}'])  # fmt: skip
    assert out.exit_code == 1 and "hiden" in out.output
    out = runner.invoke(cli, ["recommend", "evaluate", "--sequences", str(good), "--model", "x"])
    assert out.exit_code == 1 and "unknown model" in out.output


def test_pins_and_boosts_from_the_request_and_the_settings(api: Any, shop: Any) -> None:
    client, auth, _, item = api
    r = client.get(f"/v1/products/{item}/similar", headers=auth,
                   params={"n": 3, "pin": "P-none", "boost": [f"{item}:3"]})  # fmt: skip
    assert r.status_code == 200
    others = client.get(f"/v1/products/{item}/similar", headers=auth).json()["items"]
    last = others[-1]["item_id"]
    pinned = client.get(f"/v1/products/{item}/similar", headers=auth,
                        params={"pin": last}).json()["items"]  # fmt: skip
    assert pinned[0]["item_id"] == last and pinned[0]["reason_text"] == "Featured"
    bad = client.get(f"/v1/products/{item}/similar", headers=auth, params={"boost": "x"})
    assert bad.status_code == 422 and "PRODUCT_ID:FACTOR" in bad.text
    from shopmind.recommend.service import RecommendService

    ws, store = shop
    settings = load_settings(ws, database_url=str(store.engine.url), recommend_model="itemknn",
                             recommend_pinned=last)  # fmt: skip
    served = RecommendService.from_settings(settings, store).similar(item, n=3)
    assert served["items"][0]["item_id"] == last
