from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from shopmind.demo import run_demo


def test_demo_end_to_end_and_rerun(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPMIND_DATABASE_URL", raising=False)
    out = io.StringIO()
    console = Console(file=out, width=120)
    ctx = run_demo(
        tmp_path / "demo", customers=400, days=14, seed=3, console=console, sasrec_budget_s=5
    )
    summary = ctx.results["summary"]
    assert summary.counts["events"] > 1000 and summary.orders > 0
    assert summary.revenue > 0
    text = out.getvalue()
    assert "Conversion by traffic source" in text and "true rate" in text
    # The measured and true rates sit side by side for every simulated channel.
    truth = ctx.results["simulation"].channels
    assert {f"{c.source} / {c.medium}" for c in summary.channels} <= set(truth)
    # issue 7: the published model version is listed; the thin-language clause is scored
    # by the lexicon (positive), and decoded markup never reaches the output
    assert "reviews/linear" in text and "v0001 *" in text
    assert "性价比很高，这个价格很值 → positive" in text and "lexicon" in text
    assert "<script" not in text.split("model versions and hostile text")[1]
    # issue 8: the dashboard's figures and how to log in (a password shown once)
    dashboard = text.split("model versions and hostile text")[1]
    assert "last 28 days" in dashboard and "revenue" in dashboard
    assert "with password" in dashboard and "http://127.0.0.1:8000/" in dashboard
    # issue 9: the facts writer covers the catalogue; the model's titles are guarded and the
    # instruction hidden in a product title is removed before the model reads it
    content = ctx.results["content"]
    assert content["rules"]["written"] == ctx.products or content["rules"]["written"] > 0
    model = content["model"]
    assert model["ignored_instructions"] == ["title"] and model["variants"]
    for variant in model["variants"]:
        assert "waterproof" not in variant["fields"]["title"].lower()
        assert "award" not in variant["fields"]["title"].lower()
    assert "content generate" in text
    # issue 10: three recommenders measured the same way; a shopper's items with reasons
    recs = ctx.results["recommend"]
    assert set(recs) == {"popular", "itemknn", "sasrec"}
    assert all(0 < r["ndcg@10"] <= r["hr@10"] for r in recs.values())
    assert "next item, full ranking" in text and "for shopper" in text and "bought with" in text
    assert "recommend user ID" in text
    # issue 11: an answer with its source, an order only after verification, a cancellation
    # queued (not done), an injection refused, a hand-over — one stored conversation
    support = ctx.results["support"]
    outcomes = [r["outcome"] for r in support]
    assert outcomes[:2] == ["answered", "answered"] and support[0]["citations"]
    assert outcomes[2:6] == ["verify", "order_status", "queued", "refused"]
    assert support[6]["handover"] and support[6]["handover_reason"] == "asked_for_person"
    assert len({r["session"] for r in support}) == 1 and "support ask" in text
    # issue 12: channel conversion beside the simulator's true rates, and the growth report
    insights = text.split("growth insights and report")[1]
    assert "true channel rates inside their interval" in insights
    report = ctx.results["report"]
    html = report.read_text(encoding="utf-8")
    assert report.with_suffix(".json").exists() and "<svg" in html and "<script" not in html
    first = len(text)
    again = run_demo(
        tmp_path / "demo", customers=400, days=14, seed=3, console=console, sasrec_budget_s=5
    )
    assert again.results["summary"].counts == summary.counts  # re-running adds nothing
    rerun = out.getvalue()[first:]
    assert "with password" not in rerun and "users set-password" in rerun
    assert "(0 drafts for 0 products" in rerun.replace("SEO titles and meta descriptions by the "
                                                        "facts writer: ", "(")  # fmt: skip
