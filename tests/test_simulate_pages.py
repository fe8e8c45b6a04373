"""The simulated help centre: pages, FAQ pairs, support ground truth, and the store."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from random import Random

import pytest
from sqlalchemy import select

from shopmind.simulate import Simulation, SimulationConfig, simulate
from shopmind.simulate.catalog import build_catalog
from shopmind.simulate.pages import HelpCentre, help_centre, support_truth
from shopmind.store import Store
from shopmind.store.models import Page

CONFIG = SimulationConfig(customers=60, days=3, products=40, seed=7)
CJK = re.compile(r"[\u4e00-\u9fff]")
MARKUP = re.compile(r"<[a-zA-Z/!]|&[a-z]+;|&#\d+;|\*\*|__|\]\(|^\s*(#|[-*] )|`", re.M)
# a word each unanswerable question hinges on; no help page may speak of it
ABSENT = (
    "physical", "gift", "lower price", "discount", "loyalty", "points", "hiring", "job",
    "wholesale", "affiliate", "influencer", "styling", "engrav", "monogram", "shorten",
    r"\brent", "resale", "buy back", "pet ", "founded", "back in stock", "download", "charity",
    "实体店", "礼品", "学生", "优惠",
)  # fmt: skip


def bodies(centre: HelpCentre) -> dict[str, str]:
    return {p["external_id"]: p["body"] for p in centre.pages}


def test_same_seed_same_help_centre() -> None:
    first, second = help_centre(CONFIG), help_centre(CONFIG)
    assert first == second
    assert help_centre(CONFIG, CONFIG.seed) == first  # the default seed is the config's
    assert Simulation(CONFIG).help_centre == first
    assert support_truth(CONFIG) == first.truth()
    again = help_centre(dataclasses.replace(CONFIG, customers=500, days=30))
    assert again == first  # only the seed and the catalog's categories shape it


def test_shipping_rates_are_those_the_checkout_charges() -> None:
    from shopmind.simulate.sessions import FREE_SHIPPING, SHIPPING_FEE

    for seed in range(3):
        policy = help_centre(dataclasses.replace(CONFIG, seed=seed)).policy
        assert (policy["free_shipping"], policy["standard_price"]) == (FREE_SHIPPING, SHIPPING_FEE)


def test_different_seed_different_numbers_and_wording() -> None:
    centres = [help_centre(dataclasses.replace(CONFIG, seed=s)) for s in range(8)]
    policies = [json.dumps(c.policy, sort_keys=True) for c in centres]
    assert len(set(policies)) == len(policies)
    for key in ("express_price", "return_days", "cancel_hours", "warranty_months"):
        assert len({c.policy[key] for c in centres}) > 1, key

    def wording(c: HelpCentre) -> str:  # the text with every number and value masked
        text = "\n".join(p["body"] for p in c.pages)
        for value in c.policy.values():
            for v in value if isinstance(value, list) else [value]:
                text = text.replace(str(v), "#")
        return re.sub(r"[\d.$€£]+", "#", text)

    assert len({wording(c) for c in centres}) > 4
    assert len({q["question"] for c in centres for q in c.questions}) > 1.3 * len(
        centres[0].questions
    )


def test_sizes_kinds_and_keys() -> None:
    centre = help_centre(SimulationConfig(seed=2))
    docs = [p for p in centre.pages if p["kind"] != "faq"]
    faqs = [p for p in centre.pages if p["kind"] == "faq"]
    english = [p for p in docs if p["language"] == "en"]
    assert 10 <= len(english) <= 14 and {p["kind"] for p in docs} == {"page", "policy"}
    assert 20 <= sum(p["language"] == "en" for p in faqs) <= 30
    assert 3 <= sum(p["language"] == "zh" for p in centre.pages) <= 4
    assert len({p["external_id"] for p in centre.pages}) == len(centre.pages)
    for p in docs:
        assert re.fullmatch(r"help/(zh/)?[a-z-]+\.md", p["external_id"])
        name = p["external_id"].split("/")[-1].removesuffix(".md")
        prefix = "zh/" if p["language"] == "zh" else ""
        assert p["url"] == f"https://shop.example/{prefix}help/{name}"
        assert p["title"] and p["question"] is None and p["body"].count("\n\n") >= 3
    for p in english:
        assert 150 <= len(p["body"].split()) <= 400, p["external_id"]
    for p in faqs:
        assert re.fullmatch(r"faq:[a-z-]+", p["external_id"])
        assert p["question"] == p["title"] and p["body"] and p["url"].startswith("https://")
    assert 60 <= len(centre.questions) <= 100
    assert 8 <= sum(q["language"] == "zh" for q in centre.questions) <= 14
    assert len(centre.unanswerable) >= 15


@pytest.mark.parametrize(
    "config",
    [
        SimulationConfig(seed=s, products=n, currency=cur)
        for s, n, cur in [(0, 200, "USD"), (1, 1, "EUR"), (2, 5, "GBP"), (3, 30, "JPY")]
        + [(s, 200, "USD") for s in range(4, 12)]
    ],
    ids=lambda c: f"seed{c.seed}-{c.products}p-{c.currency}",
)
def test_every_question_is_answered_where_it_says(config: SimulationConfig) -> None:
    centre = help_centre(config)
    text = bodies(centre)
    for q in centre.questions:
        assert q["page"] in text and set(q["also"]) <= set(text), q
        assert q["language"] in ("en", "zh") and q["question"].strip()
        if q["fact"] is not None:
            for page in [q["page"], *q["also"]]:
                assert q["fact"] in text[page], (q, page)
    english = [q["question"] for q in centre.questions if q["language"] == "en"]
    assert len(set(english)) == len(english)


def test_questions_paraphrase_rather_than_quote() -> None:
    centre = help_centre(CONFIG)
    text = bodies(centre)
    faq_questions = {p["question"].casefold() for p in centre.pages if p["kind"] == "faq"}
    for q in centre.questions:
        asked = q["question"].casefold()
        assert asked not in faq_questions and asked.rstrip("?？") not in text[q["page"]].casefold()
    # most questions name no value: the answer must come from the page
    named = [q for q in centre.questions if q["fact"] and q["fact"] in q["question"]]
    assert len(named) <= 6


def test_unanswerable_questions_are_not_covered() -> None:
    for seed in range(4):
        centre = help_centre(dataclasses.replace(CONFIG, seed=seed, products=200))
        everything = "\n".join(f"{p['title']}\n{p['body']}" for p in centre.pages).casefold()
        for word in ABSENT:
            assert not re.search(word, everything), word
        asked = [q["question"] for q in centre.unanswerable]
        assert len(set(asked)) == len(asked)
        assert {q["language"] for q in centre.unanswerable} == {"en", "zh"}
        assert all(any(re.search(w, a.casefold()) for w in ABSENT) for a in asked), asked


def test_languages_and_no_markup() -> None:
    centre = help_centre(CONFIG)
    for p in centre.pages:
        for field in ("title", "body", "question"):
            assert not MARKUP.search(p[field] or ""), (p["external_id"], field)
        chinese = len(CJK.findall(p["body"]))
        if p["language"] == "zh":
            assert chinese > 0.5 * len(re.sub(r"\s", "", p["body"])), p["external_id"]
            assert CJK.search(p["title"])
        else:
            assert chinese == 0, p["external_id"]
    for q in centre.questions + centre.unanswerable:
        assert bool(CJK.search(q["question"])) == (q["language"] == "zh"), q


def test_policy_values_are_used_consistently() -> None:
    centre = help_centre(CONFIG)
    text, p = bodies(centre), centre.policy
    assert p["email"].startswith("support@") and p["email"].endswith(".example")
    assert all(p["email"] in text[k] for k in ("help/contact.md", "help/shipping.md"))
    assert f"{p['return_days']} days" in text["help/returns.md"]
    assert f"{p['return_days']}天" in text["help/zh/returns.md"]
    assert all(m in text["help/payments.md"] for m in p["payment_methods"])
    assert all(c in text["help/shipping.md"] for c in p["countries"])
    assert all(c in text["help/zh/shipping.md"] for c in p["countries_zh"])
    assert p["express_days"][1] < p["standard_days"][1]


def test_catalog_categories_shape_size_and_care_advice() -> None:
    full = bodies(help_centre(dataclasses.replace(CONFIG, products=200)))
    tiny = bodies(help_centre(dataclasses.replace(CONFIG, products=1)))  # dresses only
    assert "EU 36" in full["help/size-guide.md"] and "EU 36" not in tiny["help/size-guide.md"]
    assert "Boots:" in full["help/care.md"] and "Boots:" not in tiny["help/care.md"]
    assert "Dresses:" in tiny["help/care.md"] and "faq:shoe-size" not in tiny


def test_help_centre_leaves_the_rest_of_the_simulation_unchanged() -> None:
    """Regression: the help centre draws from its own generator, not the catalog's."""
    sim = Simulation(CONFIG)
    alone = build_catalog(CONFIG, Random(CONFIG.seed))
    assert [p.title for p in sim.catalog] == [p.title for p in alone]
    assert help_centre(CONFIG, Random(1)) != help_centre(CONFIG)


def test_pages_land_in_the_store_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    result = simulate(store, CONFIG, truth_path=path)
    centre = help_centre(CONFIG)
    assert store.stats()["pages"] == result.counts["pages"] == len(centre.pages)
    assert "help pages" in result.summary()
    with store.session() as s:
        rows = {p.external_id: p for p in s.scalars(select(Page))}
    for page in centre.pages:
        row = rows[page["external_id"]]
        assert (row.kind, row.title, row.body, row.language, row.url, row.question) == (
            page["kind"], page["title"], page["body"], page["language"], page["url"],
            page["question"],
        )  # fmt: skip
    truth = json.loads(path.read_text(encoding="utf-8"))
    assert truth["support"] == json.loads(json.dumps(centre.truth()))
    before = store.stats()
    again = simulate(store, CONFIG)
    assert store.stats() == before and again.counts == result.counts
