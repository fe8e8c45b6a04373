"""LoRA tuning to the store's voice, proven on a store whose descriptions follow one
pattern: after tuning, the held-out products' real descriptions cost the model fewer nats
a token; the adapter is a registry version the writers put back on the same base model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopmind.content.tune import TuneError, load_tuned, pairs, registry, rouge_l, tune

COLOURS = ["sage", "rust", "navy", "ochre", "plum", "slate", "cream", "olive", "teal", "coal"]
ITEMS = ["shirt", "scarf", "apron", "tote", "cap", "sock", "glove", "robe"]


def store_products(n: int = 24) -> list[dict]:
    """Descriptions in one house pattern, from each product's own attributes."""
    out = []
    for i in range(n):
        colour, item = COLOURS[i % len(COLOURS)], ITEMS[i % len(ITEMS)]
        out.append({
            "id": f"p{i}", "title": f"{colour.title()} linen {item}",
            "attributes": {"colour": colour, "material": "linen"},
            "description": f"Our {colour} {item} is cut from washed linen. It softens with "
                           f"every wash, and the {colour} dye is made to last.",
        })  # fmt: skip
    return out


def test_rouge_l_by_hand() -> None:
    assert rouge_l("the cat sat", "the cat sat") == 1.0
    # LCS of "a b c d" and "a c d e" is "a c d": P = R = 3/4
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l("", "a") == 0.0 and rouge_l("x y", "a b") == 0.0


def test_pairs_hide_the_description_from_the_prompt() -> None:
    (prompt, answer), *_ = pairs(store_products(4))
    assert answer.startswith("Our sage shirt is cut from washed linen.")
    assert (
        "washed linen" not in prompt[-1]["content"] and "Sage linen shirt" in prompt[-1]["content"]
    )
    assert pairs([{"id": 1, "title": "x", "description": "too short"}]) == []


@pytest.fixture(scope="module")
def small_llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random chat model (64 wide, 2 layers): room to learn a house pattern."""
    from llm_tiny import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("small-llm"), context=2048, hidden=64,
                                 layers=2)  # fmt: skip


def test_tuning_brings_the_held_out_descriptions_closer(
    tmp_path: Path, small_llm: Path, tiny_llm_long: Path
) -> None:
    models = tmp_path / "models"
    report = tune(store_products(), models, model=str(small_llm), epochs=6, rank=8,
                  learning_rate=1e-2, held_out=4, generate=False, seed=1, threads=1)  # fmt: skip
    assert report.held_out == 4 and report.train == 20 and report.version == "v0001"
    # held-out products, never trained on: their real descriptions became likelier
    assert report.held_out_loss_after < 0.95 * report.held_out_loss_before, report
    version = registry(models).current()
    assert version is not None and (version.path / "adapter_model.safetensors").is_file()
    assert json.loads((version.path / "adapter_config.json").read_text())["r"] == 8
    assert version.metrics["base_model"] == report.base_model
    tuned = load_tuned(models, str(small_llm))
    assert tuned is not None and tuned.model_id.endswith("content/lora@v0001")
    (answer,) = tuned.generate([{"role": "user", "content": "hi"}], n=1, max_tokens=4,
                               temperature=0.0)  # fmt: skip
    assert isinstance(answer.text, str)
    assert load_tuned(models, str(tiny_llm_long)) is None  # trained on another base model
    with pytest.raises(TuneError, match="at least 4 products"):
        tune(store_products()[:2], models, model=str(small_llm))


def test_tune_from_the_command_line(
    workspace: Path, tiny_llm_long: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopmind.cli import app
    from shopmind.config import load_settings
    from shopmind.store import Store
    from shopmind.store.models import Product

    monkeypatch.setenv("SHOPMIND_LLM_MODEL", str(tiny_llm_long))
    monkeypatch.setenv("SHOPMIND_THREADS", "1")
    runner = CliRunner()
    runner.invoke(app, ["-w", str(workspace), "db", "upgrade"])
    store = Store(load_settings(workspace).resolved_database_url)
    with store.session() as s:
        s.add_all([Product(external_id=p["id"], title=p["title"], attributes=p["attributes"],
                           description=p["description"]) for p in store_products(12)])  # fmt: skip
    store.dispose()
    out = runner.invoke(app, ["-w", str(workspace), "content", "tune", "--epochs", "1",
                              "--no-generate", "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["version"] == "v0001" and report["held_out"] == 2


def test_the_tuning_job_checks_its_parameters() -> None:
    from shopmind.jobs import JobError, check_params

    assert check_params("content.tune", {}) == {"epochs": 2.0, "held_out": 8, "generate": True}
    for bad, message in (({"epochs": 0}, "epochs"), ({"held_out": 0.5}, "held_out"),
                         ({"generate": "yes"}, "generate"), ({"rank": 4}, "rank")):  # fmt: skip
        with pytest.raises(JobError, match=message):
            check_params("content.tune", bad)
