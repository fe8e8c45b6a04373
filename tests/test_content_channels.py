"""Channel specs: every limit at its boundary, the HTML allow-list, and rule-based repair
that never adds a word and either passes or says why it cannot."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopmind.content import SPECS, TASKS, faq_jsonld
from shopmind.content.channels import markdown_table
from shopmind.content.counting import code_points, double_width, x_weighted
from shopmind.content.html import ALLOWED_TAGS, html_problems, sanitize
from shopmind.content.repair import trim_to
from shopmind.content.textnorm import tokens

DOCS = Path(__file__).resolve().parents[1] / "docs" / "content.md"


def rules(task: str, fields: dict[str, Any], severity: str = "error") -> set[tuple]:
    """(field, index, rule) of each problem of that severity."""
    return {
        (p.field, p.index, p.rule) for p in SPECS[task].validate(fields) if p.severity == severity
    }


def ad(headlines=None, descriptions=None, paths=None) -> dict[str, Any]:
    return {
        "headlines": headlines
        if headlines is not None
        else ["Linen Tee", "Soft Linen", "Shop Now"],
        "descriptions": descriptions if descriptions is not None else ["Soft linen.", "Made well."],
        "paths": paths if paths is not None else ["linen", "tees"],
    }


def words(value: Any) -> Counter:
    """Every token in a fields value (strings, lists, records; entities decoded)."""
    if isinstance(value, str):
        return Counter(tokens(html.unescape(value)))
    if isinstance(value, dict):
        return sum((words(v) for v in value.values()), Counter())
    if isinstance(value, list):
        return sum((words(v) for v in value), Counter())
    return Counter()


# -- counting ---------------------------------------------------------------------------
def test_counters_count_as_the_channels_do() -> None:
    assert code_points("e\u0301") == 1  # NFC: e + combining accent is one character
    assert double_width("中文ab") == 6  # Google Ads: wide characters count 2
    assert double_width("ｱ") == 1  # half-width katakana is narrow
    assert x_weighted("a" * 10) == 10
    assert x_weighted("中") == 2
    assert x_weighted("see https://example.com/a/very/long/path/indeed ok") == 4 + 23 + 3


# -- google-ads boundaries --------------------------------------------------------------
def test_google_ads_headline_30_passes_31_fails() -> None:
    assert rules("google-ads", ad(headlines=["x" * 30, "Soft Linen", "Shop Now"])) == set()
    assert rules("google-ads", ad(headlines=["x" * 31, "Soft Linen", "Shop Now"])) == {
        ("headlines", 0, "max-chars")
    }


def test_google_ads_counts_chinese_double() -> None:
    assert rules("google-ads", ad(headlines=["中" * 15, "Soft Linen", "Shop Now"])) == set()
    assert rules("google-ads", ad(headlines=["中" * 16, "Soft Linen", "Shop Now"])) == {
        ("headlines", 0, "max-chars")
    }


@pytest.mark.parametrize(
    ("count", "rule"), [(2, "min-items"), (3, None), (15, None), (16, "max-items")]
)
def test_google_ads_headline_count(count: int, rule: str | None) -> None:
    fields = ad(headlines=[f"Headline {i}" for i in range(count)])
    assert rules("google-ads", fields) == ({("headlines", None, rule)} if rule else set())


def test_google_ads_descriptions_90_and_count() -> None:
    assert rules("google-ads", ad(descriptions=["x" * 90, "ok"])) == set()
    assert rules("google-ads", ad(descriptions=["x" * 91, "ok"])) == {
        ("descriptions", 0, "max-chars")
    }
    assert rules("google-ads", ad(descriptions=["one"])) == {("descriptions", None, "min-items")}
    five = [f"Description {i}" for i in range(5)]
    assert rules("google-ads", ad(descriptions=five)) == {("descriptions", None, "max-items")}


@pytest.mark.parametrize(("paths", "expected"), [
    (["linen", "tees"], set()),
    (["linen"], {("paths", None, "min-items")}),
    (["a", "b", "c", "d", "e"], {("paths", None, "max-items")}),
    (["x" * 15, "tees"], set()),
    (["x" * 16, "tees"], {("paths", 0, "max-chars")}),
    (["linen tees", "x"], {("paths", 0, "spaces")}),
])  # fmt: skip
def test_google_ads_exactly_two_paths(paths: list[str], expected: set) -> None:
    assert rules("google-ads", ad(paths=paths)) == expected


def test_google_ads_refuses_duplicate_headlines_case_and_spacing_ignored() -> None:
    fields = ad(headlines=["Shop Linen", "shop  linen", "Soft Tees"])
    assert rules("google-ads", fields) == {("headlines", 1, "duplicate")}


# -- the other channels -----------------------------------------------------------------
@pytest.mark.parametrize(("task", "field", "limit"), [
    ("seo", "title", 60), ("seo", "meta_description", 160),
    ("merchant-feed", "title", 150), ("merchant-feed", "description", 5000),
    ("amazon-title", "title", 200), ("product-title", "title", 150),
    ("meta-ad", "headline", 40), ("meta-ad", "primary_text", 2200),
    ("email", "subject", 150), ("article", "meta_description", 160),
])  # fmt: skip
def test_hard_limit_boundary(task: str, field: str, limit: int) -> None:
    spec = SPECS[task]
    fields: dict[str, Any] = {f.name: "ok" for f in spec.fields if f.kind == "text"}
    if task == "article":
        fields["sections"] = [{"heading": "Why linen", "body": "It breathes."}]
    assert rules(task, fields | {field: "x" * limit}) == set()
    assert rules(task, fields | {field: "x" * (limit + 1)}) == {(field, None, "max-chars")}


@pytest.mark.parametrize("char", list("!$?_{}^¬¦"))
def test_amazon_title_refuses_each_forbidden_character(char: str) -> None:
    assert rules("amazon-title", {"title": f"Linen Tee {char} White"}) == {
        ("title", None, "forbidden-chars")
    }


def test_soft_limits_warn_but_pass() -> None:
    spec = SPECS["meta-ad"]
    fields = {"primary_text": "x" * 126, "headline": "Linen"}
    assert spec.passes(fields)
    assert rules("meta-ad", fields, "warning") == {("primary_text", None, "soft-max-chars")}
    assert rules("meta-ad", {"primary_text": "x" * 125, "headline": "Linen"}, "warning") == set()
    email = {"subject": "x" * 51, "preview_text": "Inside", "body": "Hello"}
    assert SPECS["email"].passes(email)
    assert rules("email", email, "warning") == {("subject", None, "soft-max-chars")}
    assert rules("product-title", {"title": "x" * 81}, "warning") == {
        ("title", None, "soft-max-chars")
    }


def test_social_counts_the_post_with_its_hashtags_x_weighted() -> None:
    spec = SPECS["social"]
    assert spec.passes({"post": "中" * 136, "hashtags": ["ab"]})  # 272 + 2 + 3 = 277
    assert rules("social", {"post": "中" * 139, "hashtags": ["ab"]}) == {
        ("post", None, "max-chars")
    }
    assert rules("social", {"post": "Hi", "hashtags": ["two words"]}) == {
        ("hashtags", 0, "pattern")
    }
    assert rules("social", {"post": "Hi", "hashtags": []}) == {("hashtags", None, "required")}
    assert rules("social", {"post": "Hi", "hashtags": ["#linen", "夏天"]}) == set()


def test_article_sections_and_faq() -> None:
    good = {
        "title": "Choosing a linen tee",
        "meta_description": "What to look for.",
        "sections": [{"heading": "Fabric", "body": "Linen breathes.\n\nIt softens."}],
        "faq": [{"question": "Does linen shrink?", "answer": "Wash it cold."}],
    }
    assert rules("article", good) == set()
    assert rules("article", good | {"sections": []}) == {("sections", None, "required")}
    broken = good | {"faq": [{"question": "Does it shrink?", "colour": "red"}]}
    assert rules("article", broken) == {("faq", 0, "unknown-field"), ("faq", 0, "required")}
    assert faq_jsonld(good) == {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [{"@type": "Question", "name": "Does linen shrink?",
                        "acceptedAnswer": {"@type": "Answer", "text": "Wash it cold."}}],
    }  # fmt: skip


def test_types_unknown_fields_markup_and_line_breaks() -> None:
    assert rules("seo", {"title": ["a"], "meta_description": "b"}) == {("title", None, "type")}
    assert rules("seo", {"title": "a", "meta_description": "b", "extra": 1}) == {
        ("extra", None, "unknown-field")
    }
    assert rules("seo", {"title": "a\nb", "meta_description": "<b>b</b>"}) == {
        ("title", None, "line-break"),
        ("meta_description", None, "markup"),
    }
    assert rules("seo", {"title": "a\x00", "meta_description": "b"}) == {
        ("title", None, "control-chars")
    }
    assert rules("seo", {"meta_description": "b"}) == {("title", None, "required")}


# -- HTML -------------------------------------------------------------------------------
ATTACK = (
    '<p onclick="steal()">Soft <strong>linen</strong></p><script>alert(1)</script>'
    '<a href="javascript:alert(1)">click</a><p style="color:red">Red</p>'
    '<img src=x onerror="steal()"><ul><li>One</li></ul><!-- note --><iframe src="//x"></iframe>'
)


def test_sanitize_removes_scripts_handlers_urls_and_styles() -> None:
    clean = sanitize(ATTACK)
    assert clean == "<p>Soft <strong>linen</strong></p>click<p>Red</p><ul><li>One</li></ul>"
    for bad in ("script", "alert", "onclick", "onerror", "javascript", "style", "href",
                "iframe", "<img", "note"):  # fmt: skip
        assert bad not in clean
    assert html_problems(clean) == []


def test_html_problems_name_what_is_not_allowed() -> None:
    problems = html_problems(ATTACK)
    expected_problems = [
        "attribute 'onclick' on <p>", "tag <script>", "tag <a>", "attribute 'href'",
        "attribute 'style' on <p>", "tag <img>", "comments", "tag <iframe>",
    ]  # fmt: skip
    for expected in expected_problems:
        assert any(expected in p for p in problems), expected
    assert html_problems("<p>open") == ["unclosed elements: <p>"]
    allowed = "".join(f"<{t}>x</{t}>" for t in sorted(ALLOWED_TAGS - {"br"})) + "a<br>b"
    assert html_problems(allowed) == []
    assert sanitize(allowed) == allowed


def test_product_description_html_field_is_refused_then_repaired() -> None:
    spec = SPECS["product-description"]
    fields = {"description": "Soft linen.", "html": ATTACK}
    assert {p.rule for p in spec.errors(fields)} == {"html"}
    fixed = spec.repair(fields)
    assert fixed.ok and fixed.fields["html"] == sanitize(ATTACK)


# -- repair -----------------------------------------------------------------------------
def test_trim_to_a_word_boundary_without_dangling_words() -> None:
    text = "Soft linen tee for warm summer days"
    assert trim_to(text, 20, code_points) == "Soft linen tee"  # not "Soft linen tee for"
    assert trim_to(text, 100, code_points) == text
    assert trim_to("Supercalifragilistic", 5, code_points) == ""
    assert trim_to("First part is here. Second part is longer", 30, code_points) == (
        "First part is here."  # a sentence end, not "First part is here. Second"
    )
    assert trim_to("Light linen shirt for hot days, cut loose and long", 40, code_points) == (
        "Light linen shirt for hot days"  # a clause end, not "…hot days, cut"
    )
    assert trim_to("纯棉T恤，柔软透气，适合日常", 12, double_width) == "纯棉T恤，"[:-1]


def test_repair_google_ads_drops_trims_and_dedupes() -> None:
    long = (
        "Soft linen tee for summer days and long evenings outside in the warm sun, by the sea, "
        "all day"
    )
    fields = ad(
        headlines=["x" * 40, "Shop Linen Tees", "shop linen tees", "Soft Linen",
                   "Linen for summer days"],
        descriptions=[long, "Made well."],
        paths=["linen tees", "summer"],
    )  # fmt: skip
    fixed = SPECS["google-ads"].repair(fields)
    assert fixed.ok, fixed.problems
    assert fixed.fields["headlines"] == ["Shop Linen Tees", "Soft Linen", "Linen for summer days"]
    assert fixed.fields["descriptions"][0] == (
        "Soft linen tee for summer days and long evenings outside in the warm sun, by the sea"
    )
    assert fixed.fields["paths"] == ["linen-tees", "summer"]


def test_repair_trims_an_item_when_dropping_it_would_break_the_minimum() -> None:
    fields = ad(headlines=["Soft linen tee for the summer season", "Soft Linen", "Shop Now"])
    fixed = SPECS["google-ads"].repair(fields)
    assert fixed.ok
    assert fixed.fields["headlines"][0] == "Soft linen tee for the summer"


def test_repair_says_when_it_cannot() -> None:
    fixed = SPECS["google-ads"].repair(ad(headlines=["Linen", "linen", "LINEN"]))
    assert not fixed.ok
    assert {p.rule for p in fixed.problems} == {"min-items"}
    assert not SPECS["seo"].repair({"title": "Linen"}).ok  # meta_description missing
    assert not SPECS["seo"].repair({"title": "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2,
                                    "meta_description": "b"}).ok  # fmt: skip


def test_repair_amazon_title_removes_forbidden_characters() -> None:
    fixed = SPECS["amazon-title"].repair({"title": "Linen Tee! Only $20? {New} ^_^ ¬¦"})
    assert fixed.ok and fixed.fields["title"] == "Linen Tee Only 20 New"


def test_repair_social_keeps_the_hashtags_and_trims_the_post() -> None:
    fixed = SPECS["social"].repair({"post": "Linen tee. " * 40, "hashtags": ["linen", "#summer"]})
    assert fixed.ok
    assert fixed.fields["hashtags"] == ["linen", "#summer"]
    assert x_weighted(fixed.fields["post"]) <= 280 - len("\n\n#linen #summer")


def test_repair_strips_markup_and_unknown_fields() -> None:
    fixed = SPECS["seo"].repair({"title": "<b>Linen</b> tee", "meta_description": "b", "x": 1})
    assert fixed.ok and fixed.fields == {"title": "Linen tee", "meta_description": "b"}


_WORD = st.sampled_from([
    "linen", "tee", "soft", "Shop", "summer", "纯棉", "透气", "!", "$", "x" * 12, "wide",
    "中文标题", "a", "and", "20", "<b>", "</b>",
])  # fmt: skip
_TEXT = st.lists(_WORD, max_size=25).map(" ".join)


@settings(max_examples=150)
@given(
    task=st.sampled_from(TASKS),
    texts=st.lists(_TEXT, min_size=1, max_size=18),
    records=st.lists(st.fixed_dictionaries({"heading": _TEXT, "body": _TEXT}), max_size=3),
)
def test_repair_never_adds_words_and_passes_or_says_why(task, texts, records) -> None:
    spec = SPECS[task]
    fields: dict[str, Any] = {}
    for i, f in enumerate(spec.fields):
        if f.kind in ("text", "html"):
            fields[f.name] = texts[i % len(texts)]
        elif f.kind == "texts":
            fields[f.name] = texts
        else:
            fields[f.name] = (
                records
                if f.name == "sections"
                else [{"question": r["heading"], "answer": r["body"]} for r in records]
            )
    fixed = spec.repair(fields)
    before, after = words(fields), words(fixed.fields)
    assert not after - before, f"repair added {after - before}"
    errors = [p for p in fixed.problems if p.severity == "error"]
    assert fixed.ok == (not errors) == spec.passes(fixed.fields)


# -- docs -------------------------------------------------------------------------------
def test_docs_name_every_task_and_field() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    assert markdown_table() in doc, "docs/content.md: regenerate the limits table"
    for task, spec in SPECS.items():
        assert f"`{task}`" in doc, task
        for f in spec.fields:
            assert f"`{f.name}`" in doc, (task, f.name)
            assert f.doc, (task, f.name)
