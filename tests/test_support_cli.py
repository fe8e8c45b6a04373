"""``shopmind support …``: a multi-turn conversation, intents for a file, the index; pages
imported through the importer and re-imported into the index."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.config import init_workspace

runner = CliRunner()


def invoke(ws: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def _help_centre(folder: Path, days: int = 30) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "returns.md").write_text(
        "---\ntitle: Returns\nurl: https://shop.example/help/returns\n---\n"
        f"You can send items back within {days} days of delivery for a full refund. "
        "The return label is free.\n",
        encoding="utf-8",
    )
    (folder / "shipping.md").write_text(
        "# Shipping\n\nWe ship to Canada and the United States. Standard delivery takes 3 to "
        "5 business days.\n",
        encoding="utf-8",
    )
    return folder


def test_ask_a_conversation_and_reindex_after_a_reimport(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    monkeypatch.setattr("shopmind.support.assistant.FRESH_S", 0.0)  # one process plays many
    ws = tmp_path / "ws"
    init_workspace(ws)
    pages = _help_centre(tmp_path / "help")
    invoke(ws, "import", "pages", str(pages))
    built = json.loads(invoke(ws, "support", "index", "--json"))
    assert built["by_source"] == {"page": 2}
    first = json.loads(invoke(ws, "support", "ask", "Can I send back what I bought?", "--json"))
    assert set(first) >= {"answer", "citations", "intent", "confidence", "handover",
                          "handover_reason", "session"}  # fmt: skip
    assert "30 days" in first["answer"] and first["citations"][0]["title"] == "Returns"
    follow = json.loads(invoke(ws, "support", "ask", "and do you deliver to Canada?",
                               "--session", first["session"], "--json"))  # fmt: skip
    assert follow["session"] == first["session"] and "Canada" in follow["answer"]
    # the merchant changes the policy and imports again: the next answer follows it
    _help_centre(pages, days=60)
    invoke(ws, "import", "pages", str(pages))
    again = json.loads(invoke(ws, "support", "ask", "How long do I have to return an item?",
                              "--json"))  # fmt: skip
    assert "60 days" in again["answer"] and "30 days" not in again["answer"]
    plain = invoke(ws, "support", "ask", "hello")
    assert "Hello" in plain


def test_intents_label_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    ws = tmp_path / "ws"
    init_workspace(ws)
    src = tmp_path / "tickets.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "body"])
        w.writerows([[1, "where is my package, it's been a week"],
                     [2, "I want my money back for the broken lamp"],
                     [3, "=cmd|' /C calc'!A0 cancel my order now"],
                     [4, "我的快递到哪里了"]])  # fmt: skip
    out = tmp_path / "labelled.csv"
    invoke(ws, "support", "intents", "--input", str(src), "--text-column", "body",
           "--output", str(out))  # fmt: skip
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["predicted_intent"] == "track_order"
    assert rows[1]["predicted_intent"] == "get_refund"
    assert rows[3]["predicted_intent"] == "track_order"
    assert rows[2]["body"].startswith("'=")  # spreadsheet-safe
    assert all(0 <= float(r["confidence"]) <= 1 for r in rows)
    bad = invoke(ws, "support", "intents", "--input", str(src), "--text-column", "text",
                 "--output", str(tmp_path / "x.csv"), code=1)  # fmt: skip
    assert "tickets.csv" in bad and "'text'" in bad and "body" in bad
    assert not (tmp_path / "x.csv").exists()
