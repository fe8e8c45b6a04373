"""Review intelligence end to end: store → train → analyze → insights, CLI and REST."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.api.app import create_app
from shopmind.cli import app as cli
from shopmind.config import load_settings
from shopmind.reviews.base import stars_to_label
from shopmind.reviews.service import (
    ReviewsError,
    analyze,
    insights,
    load_model,
    score_file,
    train,
)
from shopmind.simulate import SimulationConfig, simulate
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key
from shopmind.store.reviews import iter_reviews, review_results

CONFIG = SimulationConfig(
    customers=1200, days=45, products=25, seed=5, review_rate=1.0, traffic=2.0
)


@pytest.fixture
def reviewed(store: Store) -> Store:
    simulate(store, CONFIG)
    return store


def test_analyze_writes_sentiments_aspects_and_insights(reviewed: Store, tmp_path: Path) -> None:
    store = reviewed
    n = store.stats()["reviews"]
    assert n > 100
    report = train(store, tmp_path / "models", "linear")
    assert report.examples == n and sum(report.label_counts.values()) == n
    model = load_model(tmp_path / "models", "linear")
    result = analyze(store, model, batch_size=64)
    assert result.reviews == n and result.mentions > 0 and result.products > 0
    # Known answer: the simulator's stars follow the text, so labels agree with stars.
    agree = total = 0
    by_id = {r.id: r.rating for batch in iter_reviews(store) for r in batch}
    for product in range(1, 26):
        for row in review_results(store, product):
            total += 1
            agree += (
                row["label"]
                == ("negative", "neutral", "positive")[stars_to_label(by_id[row["id"]])]
            )
    assert total == n
    assert agree / total > 0.8
    data = insights(store, "SIM-P00001")
    assert data["external_id"] == "SIM-P00001"
    assert sum(data["shares"].values()) == pytest.approx(1.0, abs=1e-3)
    assert data["aspects"], "simulated reviews speak of aspects"
    again = analyze(store, model, batch_size=64)  # re-analysis replaces, never duplicates
    assert again.mentions == result.mentions


def test_untrained_tier_and_unknown_product_are_clear(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ReviewsError, match="shopmind reviews train --model linear"):
        load_model(tmp_path / "models", "linear")
    with pytest.raises(ReviewsError, match="no product"):
        insights(store, "nope")
    with pytest.raises(ReviewsError, match="at least two kinds"):
        train(store, tmp_path / "models", "linear")


def test_score_file_adds_columns_and_refuses_missing_column(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "id;comment\n1;Terrible quality, it fell apart after one wash.\n"
        "2;Absolutely love it, great fabric!\n3;\n4;<b>Fine</b> 👍\n",
        encoding="utf-8-sig",
    )
    out = tmp_path / "out.csv"
    model = load_model(tmp_path, "lexicon")
    assert score_file(model, src, "comment", out) == 4
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["label"] for r in rows[:3]] == ["negative", "positive", "neutral"]
    assert "quality" in rows[0]["aspects"]
    with pytest.raises(ReviewsError, match="no column 'text'"):
        score_file(model, src, "text", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_cli_and_rest(workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ws = ["--workspace", str(workspace)]
    store = Store.open(workspace)
    store.upgrade()
    simulate(store, CONFIG)
    result = runner.invoke(cli, [*ws, "reviews", "analyze", "--model", "lexicon"])
    assert result.exit_code == 0, result.output
    assert "scored" in result.output
    result = runner.invoke(cli, [*ws, "reviews", "insights", "SIM-P00002", "--json"])
    assert result.exit_code == 0 and '"external_id": "SIM-P00002"' in result.stdout
    result = runner.invoke(cli, [*ws, "reviews", "analyze", "--model", "transformer"])
    assert result.exit_code == 1 and "train one with" in result.output
    key = create_api_key(store, "t")
    with TestClient(create_app(load_settings(workspace), store=store)) as client:
        h = {"Authorization": f"Bearer {key}"}
        r = client.post(
            "/v1/reviews/score",
            json={"texts": ["Awful, broke in a day.", "质量很好，非常满意"], "model": "lexicon"},
            headers=h,
        )
        assert r.status_code == 200, r.text
        labels = [x["label"] for x in r.json()["results"]]
        languages = [x["language"] for x in r.json()["results"]]
        assert labels == ["negative", "positive"] and languages == ["en", "zh"]
        assert client.post("/v1/reviews/score", json={"texts": []}, headers=h).status_code == 422
        r = client.get("/v1/products/SIM-P00002/review-insights", headers=h)
        assert r.status_code == 200 and r.json()["external_id"] == "SIM-P00002"
        assert client.get("/v1/products/nope/review-insights", headers=h).status_code == 404
        assert client.get("/v1/products/1/review-insights").status_code == 401


@pytest.mark.slow
def test_cli_trains_the_transformer_within_a_budget(tmp_path: Path, monkeypatch) -> None:
    """The shipped MiniLM path end to end from the CLI, kept small by its options."""
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHOPMIND_THREADS", "1")
    ws = ["--workspace", str(tmp_path / "ws")]
    runner = CliRunner()
    small = SimulationConfig(customers=300, days=20, products=10, seed=2, review_rate=1.0)
    assert runner.invoke(cli, [*ws, "init"]).exit_code == 0
    store = Store.open(tmp_path / "ws")
    simulate(store, small)
    args = ["reviews", "train", "--model", "transformer", "--time-budget", "20"]
    result = runner.invoke(cli, [*ws, *args, "--epochs", "1", "--max-examples", "40"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ws" / "models" / "reviews" / "transformer").is_dir()
    result = runner.invoke(cli, [*ws, "reviews", "analyze"])  # best tier: the transformer
    assert result.exit_code == 0, result.output
    assert "with transformer" in result.output


def test_workspace_aspects_file_extends_and_errors_clearly(tmp_path: Path) -> None:
    from shopmind.reviews.service import aspect_config, score_texts

    model = load_model(tmp_path, "lexicon")
    text = ["The scent is lovely and lasts all day."]
    assert not score_texts(model, text, aspects=aspect_config(tmp_path))[0]["aspects"]
    (tmp_path / "aspects.toml").write_text(
        '[reviews.aspects.aspects.scent]\nen = ["scent", "smell"]\nzh = ["香味"]\n'
    )
    found = score_texts(model, text, aspects=aspect_config(tmp_path))[0]["aspects"]
    assert [a["aspect"] for a in found] == ["scent"]
    (tmp_path / "aspects.toml").write_text('[reviews.aspects]\nremov = ["quality"]\n')
    with pytest.raises(ReviewsError, match=r"aspects\.toml.*unknown key 'remov'"):
        aspect_config(tmp_path)
