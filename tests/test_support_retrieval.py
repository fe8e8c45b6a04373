"""The support assistant's knowledge and retrieval, with the real MiniLM and e5 encoders.

A small hand-written help centre (shipping, returns, refunds, payment, sizing, tracking,
account, gift cards, two Chinese pages, one product) is indexed once per module; the
questions asked of it share few words with the passage that answers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.models import Page, Product
from shopmind.support import knowledge
from shopmind.support.knowledge import (
    KnowledgeIndex,
    Passage,
    chunk_text,
    ensure_index,
    index_registry,
    page_passages,
    product_passage,
    rebuild_index,
    store_fingerprint,
    store_passages,
)
from shopmind.support.retrieve import is_follow_up, query_encoder, rewrite, search
from shopmind.support.text import is_chinese, search_tokens, sentences, stem


def _page(ref: str, title: str, body: str, language: str = "en") -> dict[str, object]:
    return {"external_id": ref, "kind": "policy", "title": title, "body": body,
            "url": f"https://shop.example.com/{ref}", "language": language}  # fmt: skip


PAGES = [
    _page("shipping.md", "Shipping times", "Orders within the United States arrive in 3 to 5 "
          "business days with standard delivery. Express delivery takes 1 to 2 business days. "
          "International parcels to Canada, Europe and Australia usually arrive in 7 to 14 "
          "business days."),
    _page("returns.md", "Returns policy", "You may return unworn items within 30 days of "
          "delivery for a full refund. Items must have their original tags attached. Swimwear "
          "and earrings cannot be returned for hygiene reasons."),
    _page("refunds.md", "Refunds", "Once the warehouse receives and inspects your parcel, the "
          "money goes back to your original payment method within 5 to 10 business days. "
          "Shipping fees are not refunded."),
    _page("payment.md", "Payment methods", "We accept Visa, Mastercard, American Express, "
          "PayPal, Apple Pay and Klarna. Card details are processed by our payment provider "
          "and never stored on our servers."),
    _page("sizing.md", "Size guide", "Our clothes follow standard EU sizing. Measure your "
          "chest, waist and hips and compare them with the chart on each product page. If you "
          "are between two sizes, choose the larger one."),
    _page("tracking.md", "Order tracking", "When your parcel leaves our warehouse we email you "
          "a tracking number. Follow the link in that email to see where your package is at "
          "any time."),
    {"external_id": "faq:account", "kind": "faq", "title": "How do I change my password?",
     "question": "How do I change my password?", "body": "Open Account settings and choose "
     "Reset password. We send you a link that stays valid for 24 hours.", "url": None,
     "language": "en"},
    {"external_id": "faq:gift-cards", "kind": "faq", "title": "Do gift cards expire?",
     "question": "Do gift cards expire?", "body": "Gift cards are delivered by email and never "
     "expire. They can be used for any purchase but cannot be exchanged for cash.",
     "url": None, "language": "en"},
    _page("zh/exchange.md", "换货说明", "如需更换尺码或颜色，请在收到商品后十五天内联系客服。"
          "换货的运费由我们承担，每个订单只能免费换货一次。", "zh"),
    _page("zh/invoice.md", "发票", "我们可以为企业客户开具增值税发票。请在下单时填写公司名称和"
          "税号，发票会在发货后七天内通过电子邮件发送。", "zh"),
]  # fmt: skip
SHIRT = {
    "external_id": "linen-shirt",
    "title": "Linen Summer Shirt",
    "brand": "Nordwear",
    "category": "Men > Shirts",
    "price": 49.0,
    "compare_at_price": 59.0,
    "currency": "EUR",
    "attributes": {"material": "100% linen", "fit": "relaxed"},
    "tags": ["summer", "breathable"],
    "description": "A light shirt woven from European flax that keeps you cool on hot days. "
    "Machine washable at 30 degrees.",
}


def _passages() -> list[Passage]:
    return [p for page in PAGES for p in page_passages(page)] + [product_passage(SHIRT)]


@pytest.fixture(scope="module")
def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(_passages())


def _refs(hits: list) -> list[str]:
    return [h.passage.ref for h in hits]


# -- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "stem_"),
    [
        (("ship", "ships", "shipped", "shipping"), "ship"),
        (("return", "returns", "returned", "returning"), "return"),
        (("size", "sizes", "sized", "sizing"), "siz"),
        (("policy", "policies"), "policy"),
        (("address", "addresses"), "address"),
        (("box", "boxes"), "box"),
        (("order", "orders", "ordered", "ordering"), "order"),
    ],
)
def test_stem_folds_plurals_and_verb_endings(words: tuple[str, ...], stem_: str) -> None:
    assert {stem(w) for w in words} == {stem_}


@pytest.mark.parametrize(
    "word", ["status", "this", "thing", "string", "need", "speed", "free", "fall", "bus"]
)
def test_stem_is_conservative(word: str) -> None:
    """Words that only look suffixed (or are too short to judge) keep their letters."""
    assert stem(word) == word


def test_search_tokens_drop_stop_words_and_keep_numbers() -> None:
    tokens = search_tokens("What's the return window? It costs $4.99, e.g. for 30 DAYS.")
    assert tokens == ["return", "window", "cost", "4.99", "30", "day"]


def test_search_tokens_cut_chinese_and_mixed_text() -> None:
    assert search_tokens("我的订单要多久？") == ["订单"]  # question words name no topic
    assert search_tokens("信用卡 refunds") == ["信用", "信用卡", "refund"]
    assert search_tokens("可以用PayPal付款吗") == ["用", "paypal", "付款"]


def test_is_chinese_needs_a_real_share_of_han() -> None:
    assert is_chinese("退货要多久？")
    assert is_chinese("iPhone很好用")
    assert not is_chinese("Where is my 订单")  # two characters among twelve letters
    assert not is_chinese("How long does shipping take?")
    assert not is_chinese("12345 ?!")


def test_sentences_split_english_and_chinese_but_not_decimals_or_abbreviations() -> None:
    text = "Prices start at $4.99. We ship e.g. to Canada! Really?\nYes 退货要30天。然后呢？好的"
    assert sentences(text) == [
        "Prices start at $4.99.",
        "We ship e.g. to Canada!",
        "Really?",
        "Yes 退货要30天。",
        "然后呢？",
        "好的",
    ]


# -- passages -----------------------------------------------------------------------------

SENTENCE = "Parcels leave the warehouse within two working days of the order being placed."


def test_long_pages_are_cut_into_windows_between_sentences() -> None:
    paragraphs = [" ".join([SENTENCE] * k) for k in (3, 9, 2, 5)]  # 13 words a sentence
    page = _page("long.md", "Delivery", "\n\n".join(paragraphs))
    passages = page_passages(page)
    assert [p.id for p in passages] == [f"long.md#{n}" for n in range(len(passages))]
    assert all(p.title == "Delivery" and p.source == "page" for p in passages)
    sizes = [len(p.text.split()) for p in passages]
    assert len(passages) > 1 and all(60 <= n <= 120 for n in sizes), sizes
    assert all(p.text.endswith(".") for p in passages)
    assert " ".join(p.text for p in passages).split() == page["body"].split()


def test_chinese_pages_are_cut_by_characters() -> None:
    sentence = "我们会在收到订单后的两个工作日内从仓库发货。"  # 22 characters
    windows = chunk_text("\n\n".join(sentence * k for k in (4, 12, 6)))
    assert len(windows) > 1 and all(150 <= len(w) <= 250 for w in windows)
    assert all(w.endswith("。") for w in windows)


def test_a_faq_row_is_one_passage_with_its_question_as_title() -> None:
    (passage,) = page_passages(PAGES[6])
    question = "How do I change my password?"
    body = str(PAGES[6]["body"])
    assert passage == Passage("faq:account#0", "faq", "faq:account", question, body, None, "en")


def test_a_product_passage_states_its_facts() -> None:
    passage = product_passage(SHIRT)
    assert (passage.id, passage.source, passage.ref, passage.url) == (
        "product:linen-shirt", "product", "linen-shirt", None)  # fmt: skip
    for fact in ("Linen Summer Shirt.", "Brand: Nordwear.", "Category: Men > Shirts.",
                 "Price: 49.00 EUR (was 59.00 EUR).", "Material: 100% linen.", "Fit: relaxed.",
                 "Tags: summer, breathable.", "woven from European flax"):  # fmt: skip
        assert fact in passage.text


# -- search -------------------------------------------------------------------------------

PARAPHRASES = [
    ("how many days until my package gets here", "shipping.md"),
    ("when will I get my money back", "refunds.md"),
    ("do you take credit cards", "payment.md"),
    ("what if I'm between sizes", "sizing.md"),
    ("where is my parcel right now", "tracking.md"),
    ("I forgot my login", "faq:account"),
    ("do vouchers run out", "faq:gift-cards"),
    ("is it too late to give back a sweater I bought three weeks ago", "returns.md"),
    ("is the shirt made of cotton", "linen-shirt"),
    ("我想换一个大一点的尺码", "zh/exchange.md"),
]


@pytest.mark.parametrize(("question", "ref"), PARAPHRASES)
def test_a_paraphrased_question_finds_its_passage(
    index: KnowledgeIndex, question: str, ref: str
) -> None:
    assert ref in _refs(search(index, question, k=3))


@pytest.mark.parametrize(
    ("question", "ref"),
    [("退货后多久能收到退款？", "refunds.md"), ("礼品卡会过期吗", "faq:gift-cards"),
     ("运送到加拿大需要几天", "shipping.md"), ("我忘记密码了", "faq:account")],
)  # fmt: skip
def test_a_chinese_question_finds_the_english_passage(
    index: KnowledgeIndex, question: str, ref: str
) -> None:
    """e5 reads both languages. It ranks Chinese passages high for any Chinese question
    (a language bias), so the check is on the best English passage, and in the top 3."""
    assert query_encoder(question) == "e5"
    hits = search(index, question, k=3)
    english = [h for h in hits if h.passage.language == "en"]
    assert english[0].passage.ref == ref and english[0].embed_rank is not None


def test_bm25_alone_misses_paraphrases_that_the_embeddings_find(index: KnowledgeIndex) -> None:
    """Why the fusion: no word of these questions is in the passage that answers them."""
    for question, ref in [("I forgot my login", "faq:account"),
                          ("do vouchers run out", "faq:gift-cards")]:  # fmt: skip
        assert ref not in _refs(search(index, question, k=3, mode="bm25"))
        hits = search(index, question, k=3)
        assert hits[0].passage.ref == ref
        assert hits[0].bm25_rank is None and hits[0].embed_rank == 1


def test_exact_words_rank_first_in_bm25(index: KnowledgeIndex) -> None:
    hits = search(index, "PayPal Klarna", k=3, mode="bm25")
    assert hits[0].passage.ref == "payment.md" and hits[0].bm25_rank == 1
    assert hits[0].embed_rank is None


def test_every_hit_has_its_cosine_similarity(index: KnowledgeIndex) -> None:
    for mode in ("bm25", "embed", "hybrid"):
        hits = search(index, "express delivery to Canada", k=5, mode=mode)
        assert hits and all(0.0 < h.similarity <= 1.0 for h in hits)
    (embedded,) = search(index, "express delivery to Canada", k=1, mode="embed")
    (fused,) = search(index, "express delivery to Canada", k=1, mode="bm25")
    assert embedded.passage == fused.passage
    assert fused.similarity == pytest.approx(embedded.similarity, abs=1e-6)


def test_scores_are_reciprocal_rank_fusion(index: KnowledgeIndex) -> None:
    for hit in search(index, "how long does a refund take", k=8):
        ranks = [r for r in (hit.bm25_rank, hit.embed_rank) if r is not None]
        assert hit.score == pytest.approx(sum(1 / (60 + r) for r in ranks))


def test_sources_filter_what_is_searched(index: KnowledgeIndex) -> None:
    hits = search(index, "linen shirt price", k=5, sources={"faq"})
    assert hits and {h.passage.source for h in hits} == {"faq"}
    assert search(index, "linen shirt price", sources={"product"})[0].passage.ref == "linen-shirt"
    assert search(index, "   ") == []


def test_save_and_load_give_the_same_results(index: KnowledgeIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "index")
    loaded = KnowledgeIndex.load(tmp_path / "index")
    assert loaded.passages == index.passages and loaded.fingerprint == index.fingerprint
    assert np.array_equal(loaded.minilm, index.minilm) and np.array_equal(loaded.e5, index.e5)
    for question in ["when will I get my money back", "礼品卡会过期吗", "PayPal"]:
        assert search(loaded, question, k=5) == search(index, question, k=5)


def test_load_refuses_files_that_disagree(index: KnowledgeIndex, tmp_path: Path) -> None:
    index.save(tmp_path)
    lines = (tmp_path / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "passages.jsonl").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vectors do not match"):
        KnowledgeIndex.load(tmp_path)


def test_a_build_with_the_previous_index_embeds_only_new_texts(index: KnowledgeIndex) -> None:
    passages = _passages()
    changed = Passage(**{**passages[1].__dict__, "text": passages[1].text + " Sale items too."})
    added = Passage("new.md#0", "page", "new.md", "Store hours", "We open at 9.", None, "en")
    new = [passages[0], changed, *passages[2:], added]
    rebuilt = KnowledgeIndex.build(new, previous=index)
    assert (rebuilt.stats.embedded, rebuilt.stats.reused) == (2, len(passages) - 1)
    assert np.array_equal(rebuilt.minilm[0], index.minilm[0])
    assert np.array_equal(rebuilt.e5[2:-1], index.e5[2:])
    assert not np.allclose(rebuilt.minilm[1], index.minilm[1])
    assert search(rebuilt, "what time do you open", k=1)[0].passage.ref == "new.md"


# -- follow-up questions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "query", "topic"),
    [
        (["How long does shipping to Canada take?"], "and what about express?", "shipping canada"),
        (["Do you ship to Canada?"], "how much is it", "ship canada"),
        (["Do you ship to Canada?", "thanks!"], "and how long does that take?", "ship canada"),
        (["Can I return shoes?"], "what about for Canada?", "return shoes"),
        (["退货政策是什么？"], "那要多久？", "退货 政策"),
        (["我的订单什么时候发货？"], "它要多久到？", "订单 发货"),
        (["How long does shipping to Canada take?", "what about express?"], "how much is that?",
         "shipping canada express"),
    ],
)  # fmt: skip
def test_a_follow_up_borrows_the_earlier_topic(history: list[str], query: str, topic: str) -> None:
    assert is_follow_up(query)
    assert rewrite(query, history) == f"{topic} {query}"


@pytest.mark.parametrize(
    "query",
    ["Can I pay with PayPal?", "Do you accept returns on swimwear bought on sale?",
     "可以用支付宝付款吗？", "thanks", "How much is shipping to Australia?"],
)  # fmt: skip
def test_a_self_contained_message_is_left_alone(query: str) -> None:
    assert rewrite(query, ["How long does shipping to Canada take?"]) == query


def test_nothing_to_borrow_leaves_the_query_alone() -> None:
    assert rewrite("how much is it?", []) == "how much is it?"
    assert rewrite("how much is it?", ["hello", "thanks"]) == "how much is it?"


def test_a_rewritten_follow_up_finds_the_passage(index: KnowledgeIndex) -> None:
    query = rewrite("and how long does that take?", ["Can I get my money back?"])
    assert search(index, query, k=1)[0].passage.ref == "refunds.md"


# -- the live index -----------------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    with store.session() as s:
        for row in [*PAGES[1:3], PAGES[6]]:
            s.add(Page(**row))
        s.add(Product(**SHIRT))
        s.add(Product(external_id="old-hat", title="Old hat", status="archived"))
    yield store
    store.dispose()


def test_store_passages_are_pages_and_active_products(shop: Store) -> None:
    passages = store_passages(shop)
    assert [p.ref for p in passages] == ["returns.md", "refunds.md", "faq:account", "linen-shirt"]
    assert store_fingerprint(passages) == store_fingerprint(store_passages(shop))


def test_ensure_index_rebuilds_only_when_the_store_changed(shop: Store, tmp_path: Path) -> None:
    models = tmp_path / "models"
    first = ensure_index(shop, models)
    registry = index_registry(models)
    assert registry.current_id() == "v0001" and first.stats.embedded == 4
    assert ensure_index(shop, models) is first  # nothing changed: the cached index
    assert registry.current_id() == "v0001"

    with shop.session() as s:
        page = s.scalars(select(Page).where(Page.external_id == "refunds.md")).one()
        page.body += " Store credit is refunded at once."
    second = ensure_index(shop, models)
    assert registry.current_id() == "v0002"
    assert (second.stats.embedded, second.stats.reused) == (1, 3)
    assert "Store credit" in search(second, "refund to store credit", k=1)[0].passage.text

    knowledge._loaded.clear()  # a new process: the published version is read from disk
    reloaded = ensure_index(shop, models)
    assert reloaded is not second and reloaded.fingerprint == second.fingerprint
    assert registry.current_id() == "v0002"

    with shop.session() as s:
        s.delete(s.scalars(select(Page).where(Page.external_id == "faq:account")).one())
    smaller = ensure_index(shop, models)
    assert registry.current_id() == "v0003" and len(smaller) == 3
    assert (smaller.stats.embedded, smaller.stats.reused) == (0, 3)

    forced = rebuild_index(shop, models)
    assert registry.current_id() == "v0004" and forced.stats.embedded == 3


def test_an_empty_store_gets_an_empty_index(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    empty = ensure_index(store, tmp_path / "models")
    assert len(empty) == 0 and search(empty, "where is my order") == []
    assert ensure_index(store, tmp_path / "models") is empty
    store.dispose()
