"""Review text hygiene, language detection and the shared routing step."""

from __future__ import annotations

import random

import numpy as np
import pytest

from reviews_contract import hostile_texts
from shopmind.reviews import LexiconSentiment, detect_language
from shopmind.reviews.language import SUPPORTED
from shopmind.reviews.routing import (
    MAX_CHARS,
    by_language,
    check_texts,
    prepare_text,
    prepare_texts,
    to_predictions,
)
from shopmind.reviews.text import clean_text, is_blank, truncate

# -- clean_text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Great <b>fit</b>!</p>", "Great fit!"),
        ("Soft&nbsp;&amp; warm &#8212; love it", "Soft & warm — love it"),
        ("Nice<script>alert('x')</script> top<style>p{color:red}</style>", "Nice top"),
        ("Line one<br>Line two<br/>", "Line one\nLine two"),
        ("<div>a</div>\n\n\n<div>b</div>", "a\nb"),
        ("  lots   of \t space  ", "lots of space"),
        ("I <3 this, 5 < 6 and 7 > 3", "I <3 this, 5 < 6 and 7 > 3"),
        ("<!-- hidden --> shown", "shown"),
        ("zero\u200bwidth\x00 and\x07 bell", "zerowidth and bell"),
        ("lone \ud800surrogate", "lone surrogate"),
        ("family 👩\u200d👩\u200d👧 stays", "family 👩\u200d👩\u200d👧 stays"),
        ("<p", "<p"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("windows\r\nline\rends", "windows\nline\nends"),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_never_raises_and_is_idempotent_on_plain_text():
    for raw in hostile_texts(n=300, seed=11):
        once = clean_text(raw)
        assert isinstance(once, str)
        once.encode("utf-8")  # no lone surrogates survive
        if "&" not in once and "<" not in once:
            assert clean_text(once) == once


def test_script_text_never_reaches_the_model():
    model = LexiconSentiment()
    html = "<p>The item arrived</p><script>document.write('terrible awful horrible')</script>"
    assert model.predict([html])[0].label == "neutral"


# -- truncate and is_blank ------------------------------------------------------------------


def test_truncate_prefers_sentence_then_word_then_hard_cut():
    text = "First sentence here. Second one is longer than the rest of it"
    assert truncate(text, 200) == (text, False)
    assert truncate(text, 24) == ("First sentence here.", True)
    assert truncate("word " * 20, 23) == ("word word word word", True)
    assert truncate("x" * 50, 10) == ("x" * 10, True)
    assert truncate("质量很好。" + "非常好" * 10, 6) == ("质量很好。", True)
    with pytest.raises(ValueError):
        truncate("abc", 0)


def test_truncate_never_exceeds_max_chars():
    rng = random.Random(3)
    for raw in hostile_texts(n=200, seed=5):
        n = rng.randint(1, 40)
        cut, was_cut = truncate(raw, n)
        assert len(cut) <= n and was_cut == (len(raw) > n)
        assert raw.startswith(cut.rstrip()) or raw.startswith(cut)


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        ("", True),
        ("   \n\t", True),
        ("?!... --- ...", True),
        ("<p> </p><br/>", True),
        ("&nbsp;", True),
        ("😍", False),
        ("5", False),
        ("好", False),
        ("ok", False),
    ],
)
def test_is_blank(text, blank):
    assert is_blank(text) is blank


# -- detect_language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The dress fits well", "en"),
        ("Très belle robe, taille parfaite", "en"),  # Latin script routes to English
        ("质量很好，物流也很快", "zh"),
        ("這件衣服品質很好", "zh"),
        ("这个iPhone很好用", "zh"),  # Han is a word a character: a lower bar
        ("Love it, great dress 好", "en"),
        ("とても良い商品です", "ja"),
        ("品質が良い", "ja"),  # kana beside Han is Japanese
        ("정말 좋아요", "ko"),
        ("😍😍👍", "und"),
        ("12345 !!!", "und"),
        ("", "und"),
        ("Отличное платье", "und"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_detect_language_is_total():
    assert {detect_language(t) for t in hostile_texts(n=200)} <= set(SUPPORTED)


# -- routing ------------------------------------------------------------------------------


def test_check_texts_names_the_index_before_any_work():
    with pytest.raises(TypeError, match="index 1 is int"):
        check_texts(["ok", 3, None])
    with pytest.raises(TypeError, match="single string"):
        check_texts("not a list")
    assert check_texts(("a", "b")) == ["a", "b"]
    assert check_texts(iter(["a"])) == ["a"]


def test_prepare_text_cleans_truncates_and_detects():
    p = prepare_text("<p>" + "Nice top. " * 1000 + "</p>")
    assert p.truncated and len(p.text) <= MAX_CHARS and p.language == "en"
    assert p.original_chars == len("Nice top. " * 1000) - 1
    blank = prepare_text("<br>  ...")
    assert blank.blank and blank.text == "" and not blank.truncated


def test_by_language_and_notes():
    prepared = prepare_texts(["good", "", "很好", "😍", "とても良い"])
    assert by_language(prepared) == {"en": [0], "zh": [2], "und": [3], "ja": [4]}
    assert by_language(prepared, {"und": "en", "ja": "en"}) == {"en": [0, 3, 4], "zh": [2]}
    proba = np.tile([0.2, 0.3, 0.5], (5, 1))
    notes = [p.notes for p in to_predictions(proba, prepared)]
    assert notes[0] == [] and "blank" in notes[1][0] and "'ja'" in notes[4][0]
