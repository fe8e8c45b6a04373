"""``GET /v1/models``: the workspace's model versions, the data ``shopmind models list`` shows.

Regression test for the registry's review (issue 7): the API had no view of which versions
exist and which one serves, and what it lists must never answer 500, whatever the
``models/`` folder holds (a damaged pointer, a hand-edited manifest, odd folder names).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.cli import app as cli
from shopmind.models.registry import MANIFEST, Registry


@pytest.fixture
def api(api_workspace: tuple[TestClient, dict[str, str], Path]):
    """A running app on its own SQLite store: client, auth headers, the workspace."""
    return api_workspace


def publish(reg: Registry, text: str, metrics: dict) -> str:
    return reg.publish(lambda folder: (folder / "w.bin").write_text(text), metrics).id


def test_models_lists_what_the_cli_lists(api) -> None:
    client, headers, ws = api
    assert client.get("/v1/models", headers=headers).json() == {"models": []}
    linear = Registry(ws / "models", "reviews/linear", keep=10)
    for i in range(3):
        publish(linear, str(i), {"examples": 300 + i, "label_counts": {"negative": 40}})
    linear.rollback("v0002")
    publish(Registry(ws / "models", "recommend/sasrec"), "x", {"ndcg@10": 0.41})
    assert client.get("/v1/models").status_code == 401

    r = client.get("/v1/models", headers=headers)
    assert r.status_code == 200, r.text
    listed = r.json()["models"]
    assert [(m["name"], m["current"]) for m in listed] == [
        ("recommend/sasrec", "v0001"),
        ("reviews/linear", "v0002"),
    ]
    v2 = listed[1]["versions"][1]
    assert v2["id"] == "v0002" and v2["current"] and v2["complete"] and v2["size"] == 1
    assert v2["metrics"] == {"examples": 301, "label_counts": {"negative": 40}}
    assert v2["created_at"].endswith("Z") and v2["problem"] == ""
    result = CliRunner().invoke(cli, ["--workspace", str(ws), "models", "list", "--json"])
    cli_listed = json.loads(result.stdout)
    for entry in cli_listed:
        for version in entry["versions"]:
            del version["source"]  # host, pid and parameters stay out of the API
    assert cli_listed == listed


def test_models_never_fails_on_what_the_folder_holds(api) -> None:
    """A damaged pointer, manifests edited by hand (NaN, a lone surrogate, deep nesting,
    a bad file entry), a missing file and a folder that is no model name: all listed with
    their problem, 200 every time."""
    client, headers, ws = api
    models = ws / "models"
    linear = Registry(models, "reviews/linear")
    publish(linear, "1", {"loss": 0.5})
    publish(linear, "2", {"loss": 0.4})
    linear.pointer_path.write_bytes(b"\xff{garbage")
    odd = Registry(models, "recommend/sasrec", keep=10)
    for _ in range(4):
        publish(odd, "x", {})
    manifests = [odd.versions_dir / f"v000{i}" / MANIFEST for i in range(1, 5)]
    data = json.loads(manifests[0].read_text())
    manifests[0].write_text(
        json.dumps(data | {"metrics": {"loss": float("nan"), "note": "\ud800", "deep": [[[1]]]}})
    )
    manifests[1].write_text(json.dumps(data | {"files": {"w.bin": {"size": "1"}}}))
    manifests[2].write_text("[" * 100_000)
    (manifests[3].parent / "w.bin").unlink()
    (models / "my model").mkdir()
    (models / "my model" / "notes.txt").write_text("not a model")

    r = client.get("/v1/models", headers=headers)
    assert r.status_code == 200, r.text
    by_name = {m["name"]: m for m in r.json()["models"]}
    assert "invalid model name" in by_name["my model"]["problem"]
    damaged = by_name["reviews/linear"]
    assert damaged["current"] is None and "unreadable version pointer" in damaged["problem"]
    assert [v["complete"] for v in damaged["versions"]] == [True, True]
    versions = by_name["recommend/sasrec"]["versions"]
    assert versions[0]["metrics"] == {"loss": "NaN", "note": "\ufffd", "deep": [[[1]]]}
    assert versions[1]["problem"] == "manifest.json: bad entry for w.bin"
    assert "unreadable manifest.json" in versions[2]["problem"]
    assert versions[3]["problem"] == "w.bin is missing" and not versions[3]["complete"]
