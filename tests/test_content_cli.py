"""The content studio from the command line, and where its products come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.content import source
from shopmind.store import Store
from shopmind.store.models import Product, Variant

runner = CliRunner()


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_products_file_is_checked_line_by_line(tmp_path: Path) -> None:
    good = write(
        tmp_path / "ok.jsonl",
        '{"id": 1, "title": "Tee", "attributes": {"fit": "slim"}}',
        "",
        '{"id": "b", "title": "Cap", "description": "<p>Wool <b>cap</b></p>"}',
    )
    found = source.file_products(good)
    assert [p["id"] for p in found] == ["1", "b"] and found[1]["description"] == "Wool cap"
    cases = {
        '{"title": "no id"}': "line 2: field 'id'",
        '{"id": 2, "title": 5}': "line 2: field 'title' must be a string",
        '{"id": 2, "title": "x", "attributes": []}': "line 2: field 'attributes' must be an object",
        '{"id": 2, "title": "x", "price": "cheap"}': "line 2: field 'price' must be a number",
        "{not json": "line 2: not JSON",
        "[1, 2]": "line 2: a product must be a JSON object",
    }
    for line, message in cases.items():
        bad = write(tmp_path / "bad.jsonl", '{"id": 1, "title": "Tee"}', line)
        with pytest.raises(source.ProductsFileError, match=message):
            source.file_products(bad)


def test_a_stored_product_brings_its_variant_options_and_plain_text(store: Store) -> None:
    with store.session() as s:
        tee = Product(
            external_id="tee",
            title="Tee",
            description_html="<p>Soft <em>linen</em></p>",
            attributes={"material": "linen"},
        )
        tee.variants = [
            Variant(external_id="tee-s", title="S", options={"Size": "S"}),
            Variant(external_id="tee-m", title="M", options={"Size": "M"}),
        ]
        s.add(tee)
    found = source.store_product(store, "tee")
    assert found["description"] == "Soft linen" and found["options"] == {"Size": ["S", "M"]}
    assert source.store_product(store, f"#{found['product_id']}")["id"] == "tee"
    assert [p["id"] for p in source.store_products(store)] == ["tee"]
    with pytest.raises(LookupError, match="no product 'nope'"):
        source.store_product(store, "nope")


def test_generate_from_a_file_prints_the_result_shape(
    workspace: Path, tiny_llm_long: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPMIND_LLM_MODEL", str(tiny_llm_long))
    monkeypatch.setenv("SHOPMIND_THREADS", "1")
    products = write(tmp_path / "p.jsonl", '{"id": "tee", "title": "Linen tee"}')
    out = runner.invoke(
        app,
        [
            "-w",
            str(workspace),
            "content",
            "generate",
            "--task",
            "seo",
            "--products",
            str(products),
            "-n",
            "2",
            "--seed",
            "1",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    (result,) = json.loads(out.stdout)["results"]
    assert result["product_id"] == "tee" and result["task"] == "seo"
    assert len(result["variants"]) + len(result["dropped"]) >= 2  # random weights: dropped
    for variant in result["variants"]:
        assert len(variant["fields"]["title"]) <= 60


def test_the_facts_writer_alone_fills_a_catalogue_and_resumes(workspace: Path) -> None:
    from shopmind.config import load_settings
    from shopmind.store import content as drafts

    runner.invoke(app, ["-w", str(workspace), "db", "upgrade"])
    store = Store(load_settings(workspace).resolved_database_url)
    with store.session() as s:
        s.add_all([Product(external_id=f"p{i}", title=f"Oak stool {i}", brand="Hewn",
                           attributes={"finish": "oiled"}) for i in range(3)])  # fmt: skip
    args = ["-w", str(workspace), "content", "generate", "--task", "product-title", "--all",
            "--writer", "rules", "--json"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    results = json.loads(first.stdout)["results"]
    assert [r["variants"][0]["fields"]["title"] for r in results] == [
        f"Hewn Oak stool {i}, oiled" for i in range(3)
    ]
    assert {d.model for d in drafts.list_drafts(store)} == {"rules"}
    again = runner.invoke(app, args)  # every product done the same way: nothing to do
    assert again.exit_code == 0 and json.loads(again.stdout)["results"] == []
    store.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "seo", "--all", "--writer", "poet"], "--writer must be one of"),
        (["--task", "poem", "--all"], "unknown task 'poem'"),
        (["--task", "seo"], "give exactly one of"),
        (["--task", "seo", "--all", "--product", "x"], "give exactly one of"),
        (["--task", "seo", "--product", "nope"], "no product 'nope'"),
    ],
)
def test_generate_refuses_unclear_requests(workspace: Path, args: list[str], message: str) -> None:
    out = runner.invoke(app, ["-w", str(workspace), "content", "generate", *args])
    assert out.exit_code == 1 and message in out.output


def test_drafts_approve_and_reject(workspace: Path) -> None:
    from shopmind.config import load_settings
    from shopmind.store import content as drafts

    runner.invoke(app, ["-w", str(workspace), "db", "upgrade"])
    store = Store(load_settings(workspace).resolved_database_url)
    saved = drafts.save_run(
        store,
        product_key="tee",
        product_id=None,
        task="seo",
        language="en",
        variants=[({"title": "A", "meta_description": "B"}, {})],
        model="m",
        settings={},
    )
    store.dispose()
    ok = runner.invoke(app, ["-w", str(workspace), "content", "approve", str(saved[0].id)])
    assert ok.exit_code == 0 and "is approved" in ok.output
    listed = runner.invoke(app, ["-w", str(workspace), "content", "drafts", "--json"])
    assert [d["status"] for d in json.loads(listed.stdout)] == ["approved"]
    missing = runner.invoke(app, ["-w", str(workspace), "content", "reject", "999"])
    assert missing.exit_code == 1 and "no content draft 999" in missing.output
