"""Variant scores on small inputs worked out by hand, the ranking, and drop reasons."""

from __future__ import annotations

import pytest

from shopmind.content import ProductFacts, guard_variant, score_variants
from shopmind.content.facts import FactGuard
from shopmind.content.scoring import (
    coverage,
    distinct_n,
    english_words,
    fluency,
    garbage_share,
    known_word_share,
    max_similarities,
    mentions,
    repetition,
    salient_attributes,
    similarity,
    spec_score,
)
from shopmind.content.spec import Problem

TEE = ProductFacts(
    title="Linen tee",
    attributes={"material": "linen", "colour": "white", "capacity": "500 ml",
                "sku": "LT-01", "image_url": "https://x/y.jpg", "care": "yes",
                "story": "x" * 200},
    brand="Acme",
)  # fmt: skip


def test_distinct_2_by_hand() -> None:
    # bigrams: (a b) (b c) | (a b) (b d) → 3 distinct of 4
    assert distinct_n(["a b c", "a b d"]) == 0.75
    assert distinct_n(["a b c", "a b c"]) == 0.5
    assert distinct_n(["a", "b"]) == 0.0  # no bigrams
    assert distinct_n(["a b c"], n=1) == 1.0
    assert distinct_n(["纯棉纯棉"]) == pytest.approx(2 / 3)  # 纯棉 棉纯 纯棉


def test_similarity_by_hand() -> None:
    assert similarity("a b c", "a b d") == pytest.approx(1 / 3)  # {ab} / {ab, bc, bd}
    assert similarity("a b c", "A  B C") == 1.0
    assert similarity("a b", "c d") == 0.0
    assert similarity("linen", "linen") == 1.0  # one word: unigrams
    assert max_similarities(["a b c", "a b d", "x y z"]) == pytest.approx([1 / 3, 1 / 3, 0.0])
    assert max_similarities(["a b"]) == [0.0]


def test_repetition_by_hand() -> None:
    # trigrams of "a b c a b c": abc bca cab abc → 1 of 4 repeated
    assert repetition("a b c a b c") == 0.25
    assert repetition("a b c d") == 0.0
    assert repetition("纯棉T恤纯棉T恤") > 0  # character 4-grams for Chinese


def test_fluency_proxy() -> None:
    if not english_words():
        pytest.skip("the all-MiniLM vocabulary is not installed")
    text = "Soft breathable cotton tee for everyday wear. Machine washable and easy to care for."
    assert known_word_share(text) == 1.0  # "breathable" = breath + ##able
    scrambled = "tofS rbbaahleet nocott tee rfo eyvraeyd raew"
    assert known_word_share(scrambled) < 0.5
    assert known_word_share("Acme Zorblex tee") == pytest.approx(1 / 3)
    assert known_word_share("Acme Zorblex tee", extra=["acme", "ZORBLEX"]) == 1.0  # its words
    assert fluency(text) == 1.0
    assert fluency("Soft cotton tee. " * 8) < 0.3  # a loop
    assert fluency("纯棉T恤，柔软透气，适合日常穿着。") == 1.0
    assert garbage_share("ab\ufffd\ue000") == 0.5


def test_salient_attributes_and_coverage() -> None:
    # no sku, url, yes/no or long text
    assert salient_attributes(TEE) == [
        ("brand", "Acme"), ("material", "linen"), ("colour", "white"), ("capacity", "500 ml"),
    ]  # fmt: skip
    assert coverage("Acme white linen tee, 0.5 l.", TEE) == 1.0  # 0.5 l is 500 ml
    assert coverage("A white tee.", TEE) == 0.25
    assert coverage("Anything", ProductFacts(title="x")) is None
    assert mentions("纯棉白色T恤", "白色") and not mentions("纯棉T恤", "白色")
    assert mentions("Sizes S and M", ["XL", "M"])


def test_spec_score() -> None:
    warning = Problem("subject", None, "soft-max-chars", "long", "warning")
    error = Problem("subject", None, "max-chars", "too long")
    assert spec_score([]) == 1.0
    assert spec_score([warning, warning]) == 0.5
    assert spec_score([warning, error]) == 0.0


def test_score_variants_ranks_and_says_why_variants_were_dropped() -> None:
    variants = [
        {"title": "Acme white linen tee"},  # 0: covers 3 of 4
        {"title": "Acme white linen tee"},  # 1: a repeat of 0
        {"title": "Best linen tee"},  # 2: unsupported superlative
        {"title": "x" * 151},  # 3: over the limit
        {"title": "Linen tee"},  # 4: covers 1 of 4
        {"title": "Acme linen tee in white, 500 ml"},  # 5: covers all
    ]
    ranking = score_variants("product-title", variants, TEE)
    assert [r.index for r in ranking.variants] == [5, 0, 4]
    assert [(d.index, d.reason) for d in ranking.dropped] == [
        (1, "duplicate"), (2, "unsupported-claims"), (3, "spec"),
    ]  # fmt: skip
    assert ranking.dropped[0].details == [{"of": 0}]
    assert ranking.dropped[1].details[0]["kind"] == "superlative"
    assert ranking.dropped[2].details[0]["rule"] == "max-chars"
    best = ranking.variants[0].scores
    assert best.spec_pass and best.spec == 1.0 and best.coverage == 1.0
    parts = [best.spec, best.fluency, best.coverage, 1 - best.max_similarity]
    assert best.total == pytest.approx(sum(parts) / 4)
    kept = [variants[i]["title"] for i in (0, 4, 5)]
    assert ranking.distinct_2 == pytest.approx(distinct_n(kept))


def test_a_single_variant_has_no_novelty_term() -> None:
    ranking = score_variants("seo", [{"title": "Linen tee", "meta_description": "A white tee."}],
                             ProductFacts(title="Linen tee"))  # fmt: skip
    scores = ranking.variants[0].scores
    assert scores.coverage is None and scores.max_similarity == 0.0
    assert scores.total == pytest.approx((scores.spec + scores.fluency) / 2)


def test_guard_variant_repairs_cuts_and_reports() -> None:
    guard = FactGuard(TEE)
    fields = {
        "headlines": ["Best Linen Tee", "Acme Linen Tee", "White Linen Tee", "Shop White Tees",
                      "shop white tees"],
        "descriptions": ["Soft white linen from Acme.", "A linen tee, with a 10-year warranty.",
                         "White linen, made by Acme."],
        "paths": ["linen tees", "white"],
    }  # fmt: skip
    result = guard_variant("google-ads", fields, guard)
    assert result.ok, result.problems
    assert result.fields == {
        "headlines": ["Acme Linen Tee", "White Linen Tee", "Shop White Tees"],
        "descriptions": ["Soft white linen from Acme.", "White linen, made by Acme."],
        "paths": ["linen-tees", "white"],
    }
    assert {c.text for c in result.removed} == {"Best", "10-year", "warranty"}
    fields["descriptions"] = fields["descriptions"][:2]
    failed = guard_variant("google-ads", fields, guard)
    assert not failed.ok
    assert [(p.field, p.rule) for p in failed.problems] == [("descriptions", "min-items")]


def test_guard_variant_cuts_clauses_in_text_fields() -> None:
    result = guard_variant("email", {
        "subject": "Meet the Acme linen tee",
        "preview_text": "White, light and 500 ml of nothing",
        "body": "Our linen tee is white, and it has a 10-year warranty. Made by Acme.",
    }, FactGuard(TEE))  # fmt: skip
    assert result.ok
    assert result.fields["body"] == "Our linen tee is white. Made by Acme."
    assert [c.kind for c in result.removed] == ["number", "warranty"]
    assert result.unsupported == []
