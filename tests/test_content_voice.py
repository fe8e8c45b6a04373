"""The store's voice: banned words refused wherever they appear, and examples of the
store's own copy found by MiniLM for the long texts."""

from __future__ import annotations

from shopmind.content.generate import Options, generate_copy
from shopmind.content.prompts import Voice
from shopmind.content.run import write_copy
from shopmind.content.voice import ExampleBank, banned_in, needs_examples, split_words
from test_content_generate import TEE, Scripted

SHIRT = "A breezy linen shirt with a camp collar and coconut buttons, cut loose for hot days."
MUG = "A hand-thrown stoneware mug that holds a generous pour and keeps coffee warm for long."
BEANIE = "A ribbed merino beanie knitted to fold at the cuff, soft and warm on cold mornings."
CATALOGUE = [
    {"id": "shirt", "title": "Linen camp shirt", "description": SHIRT},
    {"id": "mug", "title": "Stoneware mug", "description": MUG},
    {"id": "beanie", "title": "Merino beanie", "description": BEANIE},
    {"id": "short", "title": "Gift card", "description": "A gift card."},  # too short
]


def test_word_lists_and_banned_words() -> None:
    assert split_words("cheap, Cheap ,\nbest-in-class；, 便宜、") == (
        "cheap", "Cheap", "best-in-class", "便宜",
    )  # fmt: skip
    assert split_words("cheap, deal; bargain") == ("cheap", "deal", "bargain")
    assert banned_in("A CHEAP tee", ["cheap"]) == ["cheap"]
    assert banned_in("Cheapest tee", ["cheap"]) == []  # whole words only
    assert banned_in("这件T恤很便宜", ["便宜"]) == ["便宜"]


def test_a_banned_word_is_refused_in_the_models_answers_and_the_facts_writers() -> None:
    voice = Voice(banned_words=("relaxed",))
    model = Scripted("product-title", {"title": [["Relaxed washed linen tee",
                                                   "Washed linen tee by Mara"]]})  # fmt: skip
    result = generate_copy(model, "product-title", TEE, Options(n=3, retries=0, voice=voice))
    titles = [v["fields"]["title"] for v in result["variants"]]
    assert "Washed linen tee by Mara" in titles
    assert all("relaxed" not in t.lower() for t in titles)  # the facts writer's too
    refused = [d for d in result["dropped"] if d["reason"] == "banned-word"]
    assert refused and "relaxed" in refused[0]["details"][0]["message"].lower()


def test_examples_are_the_store_copy_most_like_the_product() -> None:
    bank = ExampleBank.from_products(CATALOGUE)
    assert bank.ids == ["shirt", "mug", "beanie"] and bank.vectors.shape == (3, 384)
    trousers = {"id": "trousers", "title": "Linen trousers", "attributes": {"material": "linen"}}
    assert bank.examples(trousers, k=1) == [SHIRT]
    assert bank.examples({"id": "cup", "title": "Espresso cup", "category": "Kitchen"}, k=1) == [
        MUG
    ]
    assert SHIRT not in bank.examples(CATALOGUE[0], k=3)  # never its own copy
    assert bank.examples(trousers, k=0) == []


def test_examples_reach_the_long_texts_only() -> None:
    bank = ExampleBank.from_products(CATALOGUE)
    model = Scripted("product-description", {"description": [["A washed linen tee."]]})
    linen = {**TEE, "id": "tee", "title": "Washed linen shirt"}
    write_copy(None, model, "product-description", linen, Options(n=1, retries=0), bank=bank)
    assert SHIRT in model.calls[0]["messages"][0]["content"]
    assert needs_examples("product-description") and not needs_examples("seo")
