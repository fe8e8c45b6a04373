"""Review sentiment benchmark: every tier plus VADER / snownlp on held-out products.

Data sets (from ``--data`` or ``SHOPMIND_DATA``, default ``../shared/data``):

- Women's Clothing (English, stars 1–5 → 3 classes), split by ``Clothing ID``;
- online_shopping_8_cats (Chinese, binary), split by category ``cat``;
- Amazon 2018 5-core (English, stars → 3 classes; All Beauty, Appliances, Gift Cards,
  Magazine Subscriptions), split by category: the held-out category is a new domain;
- PyCaret's Amazon set (English, binary), waimai_10k, ChnSentiCorp hotels and snownlp's
  own training text (Chinese, binary; de-duplicated): no product or category column, so
  they are split at random, and the output says so (``split``). snownlp was trained on
  the last one, so its baseline row there is not a held-out score.

Metrics: 3-class macro-F1 (only where stars give three classes), binary accuracy
(positive vs negative, neutral reviews left out: is P(positive) > P(negative)?), and
reviews/s of ``predict_proba`` on the test texts. For the transformer tier, the same
fine-tuned English model and texts also go through a plain transformers
``pipeline("text-classification")``: the throughput ratio ours / pipeline and how often
the two agree. ``--pretrain`` adds the effect of domain pretraining (with vs without,
same seed) on the first data set.

``--cross-domain`` instead measures shops the model never saw: Amazon 2018 and Women's
Clothing are each split by product/category, every tier is trained on one data set's
training split and scored on both held-out splits, with VADER beside it. Besides 3-class
macro-F1 and binary accuracy it reports strict accuracy (starred reviews only, 1–2 or
4–5 stars, where a ``neutral`` label counts wrong) and the share labelled neutral; the
linear and transformer rows also show the same trained model without its tuned logit
shift and with logit adjustment to the training prior instead.

    .venv/bin/python bench/reviews.py --quick --out /tmp/reviews-quick.json
    .venv/bin/python bench/reviews.py --tiers lexicon,linear,transformer --pretrain
    .venv/bin/python bench/reviews.py --cross-domain --out bench/results/reviews-cross.json
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shopmind.reviews.base import NEGATIVE, NEUTRAL, POSITIVE, stars_to_label  # noqa: E402

TIERS = ("baseline", "lexicon", "linear", "transformer")
DATASETS = (
    "womens-clothing",
    "amazon2018",
    "pycaret-amazon",
    "zh-online-shopping",
    "zh-waimai",
    "zh-chnsenticorp",
    "zh-snownlp",
)


@dataclass
class Dataset:
    name: str
    language: str
    rows: list[tuple[str, str, int]]  # (group, text, label 0/1/2)
    grouped: bool  # False: no product/category column, the split is random
    three_class: bool


@dataclass
class Split:
    train_texts: list[str]
    train_labels: list[int]
    test_texts: list[str]
    test_labels: list[int]
    how: str


# -- data ------------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def load_womens(data: Path) -> Dataset:
    path = data / "reviews" / "womens-clothing" / "womens_clothing_reviews.csv.zip"
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        with z.open(name) as raw:
            records = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))
    rows = []
    for r in records:
        body, title = (r.get("Review Text") or "").strip(), (r.get("Title") or "").strip()
        if body and r.get("Rating"):
            text = f"{title}. {body}" if title else body
            rows.append((r["Clothing ID"], text, stars_to_label(int(r["Rating"]))))
    return Dataset("womens-clothing", "en", rows, grouped=True, three_class=True)


def _binary(label: str) -> int:
    return POSITIVE if int(label) == 1 else NEGATIVE


def load_zh(data: Path, name: str) -> Dataset:
    files = {
        "zh-online-shopping": "zh-online-shopping/online_shopping_8_cats.csv",
        "zh-waimai": "zh-waimai/waimai_10k.csv",
        "zh-chnsenticorp": "zh-chnsenticorp/ChnSentiCorp_htl_all.csv",
    }
    records = _csv_rows(data / "reviews" / files[name])
    grouped = "cat" in (records[0] if records else {})
    rows = []
    for i, r in enumerate(records):
        text = (r.get("review") or "").replace("\ufeff", "").strip()
        if text and r.get("label") in ("0", "1"):
            rows.append((r["cat"] if grouped else str(i), text, _binary(r["label"])))
    return Dataset(name, "zh", rows, grouped=grouped, three_class=False)


def load_amazon2018(data: Path) -> Dataset:
    """The 5-core review files, grouped by category: a held-out category is a new domain."""
    import gzip

    rows = []
    for path in sorted((data / "reviews" / "amazon2018").glob("*_5.json.gz")):
        category = path.name.removesuffix("_5.json.gz")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                body, title = (r.get("reviewText") or "").strip(), (r.get("summary") or "").strip()
                if body and r.get("overall"):
                    text = f"{title}. {body}" if title else body
                    rows.append((category, text, stars_to_label(int(r["overall"]))))
    return Dataset("amazon2018", "en", rows, grouped=True, three_class=True)


def load_pycaret(data: Path) -> Dataset:
    records = _csv_rows(data / "reviews" / "pycaret-amazon" / "amazon.csv")
    rows = [
        (str(i), r["reviewText"].strip(), _binary(r["Positive"]))
        for i, r in enumerate(records)
        if (r.get("reviewText") or "").strip() and r.get("Positive") in ("0", "1")
    ]
    return Dataset("pycaret-amazon", "en", rows, grouped=False, three_class=False)


def load_snownlp_text(data: Path) -> Dataset:
    """snownlp's own training lines, de-duplicated; a line in both files is dropped."""
    folder = data / "reviews" / "zh-snownlp"
    seen: dict[str, set[int]] = {}
    for name, label in (("neg.txt", NEGATIVE), ("pos.txt", POSITIVE)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.setdefault(line.strip(), set()).add(label)
    rows = [(str(i), t, next(iter(y))) for i, (t, y) in enumerate(seen.items()) if len(y) == 1]
    return Dataset("zh-snownlp", "zh", rows, grouped=False, three_class=False)


def load(data: Path, name: str) -> Dataset:
    loaders = {
        "womens-clothing": load_womens,
        "amazon2018": load_amazon2018,
        "pycaret-amazon": load_pycaret,
        "zh-snownlp": load_snownlp_text,
    }
    return loaders[name](data) if name in loaders else load_zh(data, name)


def split(ds: Dataset, n_train: int, n_test: int, test_share: float, seed: int) -> Split:
    """Hold out ``test_share`` of the groups (products/categories), then sample."""
    rng = random.Random(seed)
    groups = sorted({g for g, _, _ in ds.rows})
    rng.shuffle(groups)
    test_groups = set(groups[: max(1, round(len(groups) * test_share))])
    train = [r for r in ds.rows if r[0] not in test_groups]
    test = [r for r in ds.rows if r[0] in test_groups]
    train = rng.sample(train, min(n_train, len(train)))
    test = rng.sample(test, min(n_test, len(test)))
    if ds.grouped:
        how = f"by group: {len(test_groups)} of {len(groups)} held out"
        if len(groups) <= 20:
            how += f" ({', '.join(sorted(test_groups))})"
    else:
        how = "random (no product or category column)"
    return Split(
        [t for _, t, _ in train],
        [y for _, _, y in train],
        [t for _, t, _ in test],
        [y for _, _, y in test],
        how,
    )


# -- metrics ---------------------------------------------------------------------------


def macro_f1(labels: Sequence[int], proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(labels, proba.argmax(axis=1), average="macro", labels=[0, 1, 2]))


def strict_accuracy(labels: Sequence[int], proba: np.ndarray) -> float:
    """Accuracy on starred reviews (1–2 or 4–5 stars): a ``neutral`` label counts wrong."""
    y = np.asarray(labels)
    keep = y != NEUTRAL
    return float(np.mean(proba[keep].argmax(axis=1) == y[keep]))


def binary_accuracy(labels: Sequence[int], proba: np.ndarray) -> float:
    y = np.asarray(labels)
    keep = y != NEUTRAL
    guess = np.where(proba[keep, POSITIVE] > proba[keep, NEGATIVE], POSITIVE, NEGATIVE)
    return float(np.mean(guess == y[keep]))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# -- baselines: raw VADER / snownlp ----------------------------------------------------


def _bands(score: float, lo: float, hi: float) -> list[float]:
    if score < lo:
        return [1.0, 0.0, 0.0]
    if score > hi:
        return [0.0, 0.0, 1.0]
    return [0.0, 1.0, 0.0]


class Baseline:
    """VADER compound (±0.05, its authors' thresholds) or snownlp P(positive) (0.4/0.6)."""

    def __init__(self, language: str) -> None:
        self.language = language
        if language == "zh":
            from snownlp import SnowNLP

            self._score = lambda t: SnowNLP(t).sentiments - 0.5
            self._band = (-0.1, 0.1)
        else:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            vader = SentimentIntensityAnalyzer()
            self._score = lambda t: vader.polarity_scores(t)["compound"]
            self._band = (-0.05, 0.05)

    @property
    def label(self) -> str:
        return "snownlp" if self.language == "zh" else "vader"

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> Baseline:
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        scores = [self._score(t) if t.strip() else 0.0 for t in texts]
        return np.array([_bands(s, *self._band) for s in scores], dtype=float)


# -- tiers -----------------------------------------------------------------------------


def make_model(tier: str, ds: Dataset, args: argparse.Namespace, init_from: str | None = None):
    if tier == "baseline":
        return Baseline(ds.language)
    if tier == "lexicon":
        from shopmind.reviews.lexicon import LexiconSentiment

        return LexiconSentiment()
    if tier == "linear":
        from shopmind.reviews.linear import LinearSentiment

        return LinearSentiment()
    from shopmind.reviews.transformer import TransformerSentiment

    return TransformerSentiment(
        init_from=init_from,
        epochs=args.epochs,
        max_train_examples=args.max_train,
        time_budget_s=args.time_budget,
        threads=args.threads,
        seed=args.seed,
        zh_epochs=args.epochs,
        zh_pretrain_steps=args.zh_pretrain_steps,
        zh_min_examples=min(500, args.max_train or 500),
        zh_encoder=args.zh_encoder,
        short_views=args.short_views,
    )


def cache_key(tier: str, ds: Dataset, args: argparse.Namespace, init_from: str | None) -> str:
    """Folder name for a trained transformer: data set plus every setting training reads."""
    import hashlib

    settings = [
        ds.name,
        args.train,
        args.test_share,
        args.max_train,
        args.epochs,
        args.time_budget,
        args.zh_pretrain_steps,
        args.zh_encoder,
        args.threads,
        args.seed,
        init_from or "",
    ] + ([] if args.short_views else ["no-short-views"])
    digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:12]
    return f"{ds.name}-{tier}-{digest}"


def fit_or_load(model: Any, sp: Split, cache: Path | None, key: str) -> tuple[Any, float]:
    """Fit ``model``, or load it from ``cache/key`` where an earlier run saved it.

    Training the transformer takes most of a run; the cache lets scoring and throughput
    be measured again (after a change to the scoring path) on the same fitted weights.
    The fit time reported is the one measured when the model was trained.
    """
    folder = None if cache is None else cache / key
    if folder is not None and (folder / "bench-fit.json").is_file():
        fit_s = json.loads((folder / "bench-fit.json").read_text())["fit_s"]
        return type(model).load(folder), float(fit_s)
    _, fit_s = timed(lambda: model.fit(sp.train_texts, sp.train_labels))
    if folder is not None:
        model.save(folder)
        (folder / "bench-fit.json").write_text(json.dumps({"fit_s": fit_s}))
    return model, fit_s


def evaluate(
    model: Any, sp: Split, three_class: bool, cache: Path | None = None, key: str = ""
) -> tuple[dict[str, Any], np.ndarray, Any]:
    """Fit (or load from the cache), score the test texts; the row, probabilities, model."""
    if cache is not None and key:
        model, fit_s = fit_or_load(model, sp, cache, key)
    else:
        _, fit_s = timed(lambda: model.fit(sp.train_texts, sp.train_labels))
    proba, predict_s = timed(lambda: model.predict_proba(sp.test_texts))
    row = {
        "fit_s": round(fit_s, 2),
        "macro_f1": round(macro_f1(sp.test_labels, proba), 4) if three_class else None,
        "binary_accuracy": round(binary_accuracy(sp.test_labels, proba), 4),
        "reviews_per_s": round(len(sp.test_texts) / predict_s, 1),
        "n_train": len(sp.train_texts),
        "n_test": len(sp.test_texts),
    }
    fallback = getattr(model, "fallback_", None)
    if fallback:
        row["fallback"] = dict(fallback)
    return row, proba, model


def pipeline_throughput(model: Any, sp: Split, ds: Dataset, args: argparse.Namespace) -> dict:
    """Our ``predict_proba`` vs a plain transformers pipeline over the same route model.

    On the first ``--throughput-texts`` test texts, ``--rounds`` interleaved rounds of:
    ours at the model's precision (``"auto"``), ours forced to float32 and to int8, the
    pipeline at its default batch size (1) and at ``--batch-size``; medians. The ratio
    is against the faster pipeline; agreement and accuracy come from the first round.
    """
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from shopmind.reviews.transformer.route import RouteModel

    route = "zh" if ds.language == "zh" else "en"
    rm = model.routes_.get(route)
    if not isinstance(rm, RouteModel):
        why = model.fallback_.get(route) or "the route is not a BERT model (e5)"
        return {"skipped": f"no fine-tuned {route} BERT: {why}"}
    hf_logging.set_verbosity(hf_logging.CRITICAL)  # "mean-pooling class not supported": it runs
    pipe = pipeline(
        "text-classification", model=rm.bert, tokenizer=rm.tokenizer, device=-1, top_k=None
    )
    texts = sp.test_texts[: args.throughput_texts]
    labels = sp.test_labels[: args.throughput_texts]
    label2id = rm.bert.config.label2id
    auto = rm.resolve_precision(model.precision)

    def ours(precision: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            saved, model.precision = model.precision, precision
            try:
                return model.predict_proba(texts)
            finally:
                model.precision = saved

        return run

    def theirs(**kwargs: Any) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            proba = np.zeros((len(texts), 3))
            out = pipe(texts, truncation=True, max_length=rm.max_length, **kwargs)
            for i, scores in enumerate(out):
                for s in scores:
                    proba[i, label2id[s["label"]]] = s["score"]
            return proba

        return run

    paths = {
        f"ours_{auto}": ours(model.precision),
        "ours_float32": ours("float32"),
        "ours_int8": ours("int8"),
        "pipeline_batch_1": theirs(),
        f"pipeline_batch_{args.batch_size}": theirs(batch_size=args.batch_size),
    }
    model.predict_proba(texts[:16])  # warm-up, both sides
    pipe(texts[:16], truncation=True, max_length=rm.max_length)
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    first: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, run in paths.items():
            proba, s = timed(run)
            seconds[name].append(s)
            first.setdefault(name, proba)
    per_s = {name: round(len(texts) / float(np.median(s)), 1) for name, s in seconds.items()}
    pipes = [n for n in paths if n.startswith("pipeline")]
    best_pipe = max(pipes, key=lambda n: per_s[n])
    ours_name = f"ours_{auto}"
    return {
        "texts": len(texts),
        "rounds": args.rounds,
        "precision": auto,
        "reviews_per_s": per_s,
        "ratio": round(per_s[ours_name] / per_s[best_pipe], 2),
        "ratio_vs": best_pipe,
        "ratio_float32": round(per_s["ours_float32"] / per_s[best_pipe], 2),
        "agreement": round(
            float(np.mean(first[ours_name].argmax(1) == first[best_pipe].argmax(1))), 4
        ),
        "agreement_with_float32": {
            n: round(float(np.mean(p.argmax(1) == first["ours_float32"].argmax(1))), 4)
            for n, p in first.items()
        },
        "binary_accuracy": {n: round(binary_accuracy(labels, p), 4) for n, p in first.items()},
        "macro_f1": {n: round(macro_f1(labels, p), 4) for n, p in first.items()}
        if ds.three_class
        else None,
    }


def pretraining_effect(ds: Dataset, sp: Split, args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune with and without domain pretraining on the training texts (same seed)."""
    from shopmind.reviews.transformer.pretrain import pretrain

    out: dict[str, Any] = {"dataset": ds.name}
    without, _, _ = evaluate(
        make_model("transformer", ds, args),
        sp,
        ds.three_class,
        args.cache,
        cache_key("transformer", ds, args, None),
    )
    with tempfile.TemporaryDirectory() as tmp:
        summary, pre_s = timed(
            lambda: pretrain(
                sp.train_texts,
                tmp,
                language=ds.language,
                time_budget_s=args.pretrain_budget,
                seed=args.seed,
                threads=args.threads,
            )
        )
        with_pre, _, _ = evaluate(
            make_model("transformer", ds, args, init_from=tmp), sp, ds.three_class
        )
    out.update(without=without, with_pretraining=with_pre, pretrain_s=round(pre_s, 1))
    out["pretrain_summary"] = json.loads(json.dumps(summary, default=str))
    return out


# -- run -------------------------------------------------------------------------------


def run_dataset(ds: Dataset, tiers: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    sp = split(ds, args.train, args.test, args.test_share, args.seed)
    result: dict[str, Any] = {"split": sp.how, "three_class": ds.three_class, "tiers": {}}
    for tier in tiers:
        model = make_model(tier, ds, args)
        name = model.label if tier == "baseline" else tier
        print(f"  {ds.name}: {name} …", flush=True)
        try:
            trained = tier == "transformer" and args.cache is not None
            key = cache_key(tier, ds, args, None) if trained else ""
            row, _, model = evaluate(model, sp, ds.three_class, args.cache, key)
            if tier == "transformer" and args.pipeline:
                row["pipeline"] = pipeline_throughput(model, sp, ds, args)
        except Exception as exc:  # one failing tier must not lose the others' numbers
            row = {"error": f"{type(exc).__name__}: {exc}"}
        result["tiers"][name] = row
    return result


def table(results: dict[str, Any]) -> str:
    head = (
        f"{'data set':<20} {'model':<12} {'macro-F1':>8} {'bin acc':>8} {'rev/s':>9} {'fit s':>7}"
    )
    lines = [head, "-" * len(head)]
    for ds_name, res in results["datasets"].items():
        for tier, row in res["tiers"].items():
            if "error" in row:
                lines.append(f"{ds_name:<20} {tier:<12} error: {row['error'][:60]}")
                continue
            f1 = "—" if row["macro_f1"] is None else f"{row['macro_f1']:.3f}"
            lines.append(
                f"{ds_name:<20} {tier:<12} {f1:>8} {row['binary_accuracy']:>8.3f} "
                f"{row['reviews_per_s']:>9.1f} {row['fit_s']:>7.1f}"
            )
            pipe = row.get("pipeline")
            if pipe and "ratio" in pipe:
                speeds = ", ".join(f"{k} {v}/s" for k, v in pipe["reviews_per_s"].items())
                lines.append(
                    f"{'':<20} {'  vs pipeline':<12} ratio {pipe['ratio']:.2f}x vs "
                    f"{pipe['ratio_vs']} (float32 {pipe['ratio_float32']:.2f}x), "
                    f"agreement {pipe['agreement']:.3f}; {speeds}"
                )
        lines.append(f"{'':<20} split: {res['split']}")
    pre = results.get("pretraining")
    if pre:
        for key in ("without", "with_pretraining"):
            r = pre[key]
            f1 = "—" if r.get("macro_f1") is None else f"{r['macro_f1']:.3f}"
            lines.append(f"pretraining {key:<17} macro-F1 {f1} bin acc {r.get('binary_accuracy')}")
    return "\n".join(lines)


# -- cross-domain: trained on one shop's reviews, scored on another's -------------------

CROSS = ("amazon2018", "womens-clothing")


def scores(labels: Sequence[int], proba: np.ndarray) -> dict[str, float]:
    y = np.asarray(labels)
    return {
        "macro_f1": round(macro_f1(labels, proba), 4),
        "strict_accuracy": round(strict_accuracy(labels, proba), 4),
        "binary_accuracy": round(binary_accuracy(labels, proba), 4),
        "neutral_share": round(float(np.mean(proba.argmax(axis=1) == NEUTRAL)), 4),
        "n": len(y),
    }


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def cross_variants(tier: str, model: Any, sp: Split, tests: dict[str, Split]) -> dict:
    """Score every test set with the tier as shipped and with its correction swapped.

    The shipped tiers correct the class-weighted loss back to the store's label mix
    (``shopmind.reviews.prior``): a shift tuned for macro-F1 on a validation split
    where the store has enough reviews. Beside it, from the same training: no
    correction at all, and logit adjustment to the training set's label prior. The
    correction is a constant shift of the logits, so one training serves every variant.
    """
    from shopmind.reviews.prior import PriorCorrection
    from shopmind.reviews.routing import prepare_texts

    shipped = model.prior_ if tier == "linear" else model.priors_.get("en")
    prior = PriorCorrection.fit(sp.train_labels, "balanced")
    none = PriorCorrection(prior.prior, prior.trained, 0.0)
    variants = {"no correction": none, "prior (logit adjustment)": prior, "shipped": shipped}
    if tier == "linear":
        out: dict[str, Any] = {}
        for name, correction in variants.items():
            model.prior_ = correction
            out[name] = {
                t: scores(s.test_labels, model.predict_proba(s.test_texts))
                for t, s in tests.items()
            }
        model.prior_ = shipped
        out["correction"] = shipped.to_dict()
        return out
    model.priors_ = {}
    try:  # raw logits once per test set; every variant is a shift of them
        logits = {t: model._logits(prepare_texts(s.test_texts))[0] for t, s in tests.items()}
    finally:
        model.priors_ = {"en": shipped} if shipped is not None else {}
    out = {
        name: {
            t: scores(tests[t].test_labels, _softmax_rows(z if c is None else c.logits(z)))
            for t, z in logits.items()
        }
        for name, c in variants.items()
    }
    out["correction"] = None if shipped is None else shipped.to_dict()
    out["history"] = {k: v for k, v in model.history_.get("en", {}).items() if k != "loss"}
    return out


def cross_domain(data: Path, tiers: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """Each of ``CROSS`` split by product/category; every model trained on one data set's
    training split is scored on both data sets' held-out splits (its own: held-out
    products; the other: a shop it never saw)."""
    sets = {name: load(data, name) for name in CROSS}
    splits = {
        name: split(ds, args.train, args.test, args.test_share, args.seed)
        for name, ds in sets.items()
    }
    out: dict[str, Any] = {"splits": {n: s.how for n, s in splits.items()}, "trained_on": {}}
    for source, ds in sets.items():
        sp = splits[source]
        rows: dict[str, Any] = {}
        for tier in tiers:
            print(f"  cross-domain, trained on {source}: {tier} …", flush=True)
            started = time.perf_counter()
            model = make_model(tier, ds, args)
            name = model.label if tier == "baseline" else tier
            try:
                if tier in ("linear", "transformer"):
                    key = (
                        cache_key("transformer-x", ds, args, None) if tier == "transformer" else ""
                    )
                    if key and args.cache is not None:
                        model, _ = fit_or_load(model, sp, args.cache, key)
                    else:
                        model.fit(sp.train_texts, sp.train_labels)
                    rows[name] = cross_variants(tier, model, sp, splits)
                else:
                    rows[name] = {
                        "shipped": {
                            t: scores(s.test_labels, model.predict_proba(s.test_texts))
                            for t, s in splits.items()
                        }
                    }
                rows[name]["seconds"] = round(time.perf_counter() - started, 1)
            except Exception as exc:  # one failing tier must not lose the others' numbers
                rows[name] = {"error": f"{type(exc).__name__}: {exc}"}
        out["trained_on"][source] = rows
    return out


SHIPPED = ("shipped",)


def cross_table(cross: dict[str, Any]) -> str:
    head = (
        f"{'trained on':<16} {'tested on':<27} {'model':<36} "
        f"{'macro-F1':>8} {'strict':>7} {'binary':>7} {'neutral':>8}"
    )
    lines = [head, "-" * len(head)]
    for source, rows in cross["trained_on"].items():
        for tier, variants in rows.items():
            if "error" in variants:
                lines.append(f"{source:<16} {tier}: error {variants['error'][:70]}")
                continue
            for variant, per_test in variants.items():
                if variant in ("correction", "history") or not isinstance(per_test, dict):
                    continue
                label = tier if variant in SHIPPED else f"{tier}: {variant}"
                for target, m in per_test.items():
                    where = f"{target}{'' if target != source else ' (held out)'}"
                    lines.append(
                        f"{source:<16} {where:<27} {label:<36} {m['macro_f1']:>8.3f} "
                        f"{m['strict_accuracy']:>7.3f} {m['binary_accuracy']:>7.3f} "
                        f"{m['neutral_share']:>8.3f}"
                    )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = os.environ.get("SHOPMIND_DATA") or str(ROOT.parent / "shared" / "data")
    p.add_argument("--data", default=default_data, help="folder holding reviews/")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "reviews.json"))
    p.add_argument("--quick", action="store_true", help="tiny sizes, a couple of minutes")
    p.add_argument("--tiers", default=",".join(TIERS), help=f"comma list of {TIERS}")
    p.add_argument("--datasets", default=",".join(DATASETS), help=f"comma list of {DATASETS}")
    p.add_argument("--train", type=int, default=20000, help="training reviews per data set")
    p.add_argument("--test", type=int, default=3000, help="test reviews per data set")
    p.add_argument("--test-share", type=float, default=0.25, help="share of groups held out")
    p.add_argument("--max-train", type=int, default=4000, help="transformer training cap")
    p.add_argument("--epochs", type=int, default=2, help="transformer epochs")
    p.add_argument("--time-budget", type=float, default=1200.0, help="transformer s per route")
    p.add_argument("--zh-pretrain-steps", type=int, default=300)
    p.add_argument("--zh-encoder", default="e5", help="Chinese route: e5 | char-bert")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64, help="scoring batch, both sides")
    p.add_argument("--no-pipeline", dest="pipeline", action="store_false")
    p.add_argument(
        "--no-short-views",
        dest="short_views",
        action="store_false",
        help="transformer: train on whole reviews only, no first-sentence views",
    )
    p.add_argument("--throughput-texts", type=int, default=1000, help="texts timed vs pipeline")
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    p.add_argument("--pretrain", action="store_true", help="measure domain pretraining")
    p.add_argument(
        "--cross-domain",
        action="store_true",
        help=f"only the cross-domain table: trained on one of {CROSS}, tested on both",
    )
    p.add_argument("--pretrain-budget", type=float, default=600.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder keeping trained transformers: a re-run with the same settings loads them",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.train, args.test, args.max_train, args.epochs = 600, 300, 600, 1
        args.time_budget, args.zh_pretrain_steps, args.pretrain_budget = 15.0, 20, 20.0
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    import torch

    torch.set_num_threads(args.threads)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    unknown = set(tiers) - set(TIERS)
    if unknown:
        raise SystemExit(f"unknown tier(s) {sorted(unknown)}; choose from {TIERS}")
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if args.quick and args.datasets == ",".join(DATASETS):
        names = ["womens-clothing", "zh-online-shopping", "zh-waimai"]
    unknown_data = set(names) - set(DATASETS)
    if unknown_data:
        raise SystemExit(f"unknown data set(s) {sorted(unknown_data)}; choose from {DATASETS}")
    data = Path(args.data)
    results: dict[str, Any] = {
        "settings": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "out"
        },
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "torch": torch.__version__,
        "datasets": {},
    }
    started = time.perf_counter()
    if args.cross_domain:
        results["cross_domain"] = cross_domain(data, tiers, args)
        names = []
    for name in names:
        ds = load(data, name)
        run_tiers = tiers
        if args.quick and name != "womens-clothing" and name != "zh-online-shopping":
            run_tiers = [t for t in tiers if t != "transformer"]  # keep --quick short
        print(f"{name}: {len(ds.rows)} reviews", flush=True)
        results["datasets"][name] = run_dataset(ds, run_tiers, args)
    if args.pretrain and names:
        ds = load(data, names[0])
        sp = split(ds, args.train, args.test, args.test_share, args.seed)
        results["pretraining"] = pretraining_effect(ds, sp, args)
    results["total_s"] = round(time.perf_counter() - started, 1)
    print(cross_table(results["cross_domain"]) if args.cross_domain else table(results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({results['total_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
