"""Review intelligence end to end: train a tier, score the store, write insights back.

The CLI, the REST API and the demo call these functions; they hold no business logic
of their own.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopmind.reviews.base import SentimentModel, stars_to_label
from shopmind.store import Store
from shopmind.store.reviews import (
    ReviewRecord,
    aspect_results,
    find_product,
    iter_reviews,
    product_insights,
    product_texts,
    review_results,
    reviewed_product_ids,
    write_product_insights,
    write_review_results,
)

TIERS = ("lexicon", "linear", "transformer")
Progress = Callable[[int], Any] | None


class ReviewsError(ValueError):
    """A review-intelligence request that cannot be served (message says what to do)."""


def model_dir(models_dir: Path, tier: str) -> Path:
    return Path(models_dir) / "reviews" / tier


def _tier_class(tier: str) -> type:
    if tier == "lexicon":
        from shopmind.reviews.lexicon import LexiconSentiment

        return LexiconSentiment
    if tier == "linear":
        from shopmind.reviews.linear import LinearSentiment

        return LinearSentiment
    if tier == "transformer":
        from shopmind.reviews.transformer import TransformerSentiment

        return TransformerSentiment
    raise ReviewsError(f"unknown model {tier!r}; choose one of: {', '.join(TIERS)}")


def load_model(models_dir: Path, tier: str = "lexicon") -> SentimentModel:
    """The trained model of ``tier`` from the workspace (the lexicon needs no training)."""
    cls = _tier_class(tier)
    folder = model_dir(models_dir, tier)
    if tier == "lexicon" and not folder.exists():
        return cls()
    if not folder.exists():
        raise ReviewsError(
            f"no trained {tier} model in {folder}; train one with: "
            f"shopmind reviews train --model {tier}"
        )
    return cls.load(folder)


def best_model(models_dir: Path) -> SentimentModel:
    """The strongest trained tier in the workspace: transformer, then linear, then lexicon."""
    for tier in reversed(TIERS):
        if tier == "lexicon" or model_dir(models_dir, tier).exists():
            return load_model(models_dir, tier)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class TrainReport:
    tier: str
    examples: int
    label_counts: dict[str, int]
    seconds: float
    path: Path

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.label_counts.items())
        return (
            f"trained {self.tier} on {self.examples:,} starred reviews ({counts}) "
            f"in {self.seconds:.1f} s → {self.path}"
        )


def starred(store: Store) -> tuple[list[str], list[int]]:
    """Texts and labels (stars → negative/neutral/positive) of reviews that have stars."""
    texts, labels = [], []
    for batch in iter_reviews(store):
        for r in batch:
            if r.rating is not None and r.text.strip():
                texts.append(r.text)
                labels.append(stars_to_label(r.rating))
    return texts, labels


def train(
    store: Store,
    models_dir: Path,
    tier: str = "linear",
    progress: Progress = None,
    **params: Any,
) -> TrainReport:
    """Fit ``tier`` on the store's starred reviews and save it in the workspace.

    ``progress`` (transformer only) is called with the training step as it goes.
    """
    from shopmind.reviews.base import LABELS

    texts, labels = starred(store)
    if len(set(labels)) < 2:
        raise ReviewsError(
            f"need starred reviews of at least two kinds to train; found {len(texts)} "
            "reviews with stars (import reviews with a rating column first)"
        )
    started = time.perf_counter()
    model = _tier_class(tier)(**params)
    if tier == "transformer":
        pretrained = model_dir(models_dir, "pretrained")
        if pretrained.exists() and getattr(model, "init_from", None) is None:
            model.init_from = str(pretrained)
    if tier == "transformer":
        model.fit(texts, labels, progress=progress)
    else:
        model.fit(texts, labels)
    folder = model_dir(models_dir, tier)
    model.save(folder)
    counts = {name: labels.count(i) for i, name in enumerate(LABELS)}
    return TrainReport(tier, len(texts), counts, time.perf_counter() - started, folder)


def pretrain(store: Store, models_dir: Path, progress: Progress = None, **params: Any) -> Path:
    """Domain-pretrain the transformer (MLM + NSP) on the store's review and product text.

    ``progress`` is called with the training step of the route being pretrained.
    """
    from shopmind.reviews.transformer import pretrain as run_pretrain

    texts = [r.text for batch in iter_reviews(store) for r in batch if r.text.strip()]
    texts += list(product_texts(store))
    if len(texts) < 10:
        raise ReviewsError(f"too little text to pretrain on ({len(texts)} texts)")
    folder = model_dir(models_dir, "pretrained")
    run_pretrain(texts, folder, progress=progress, **params)
    return folder


@dataclass
class AnalyzeReport:
    model: str
    reviews: int = 0
    mentions: int = 0
    products: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    negatives: int = 0
    newest: datetime | None = None

    def summary(self) -> str:
        return (
            f"scored {self.reviews:,} reviews with {self.model} ({self.mentions:,} aspect "
            f"mentions), insights for {self.products:,} products, {len(self.alerts)} alerts "
            f"in {self.seconds:.1f} s"
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


ASPECTS_FILE = "aspects.toml"


def aspect_config(workspace: Path) -> Any:
    """The workspace's aspect list: the defaults, extended or changed by ``aspects.toml``.

    Raises ``ReviewsError`` naming the file and key when the file is wrong.
    """
    from shopmind.reviews.aspects import AspectConfig

    path = Path(workspace) / ASPECTS_FILE
    if not path.exists():
        return AspectConfig()
    try:
        return AspectConfig.load(path)
    except ValueError as exc:
        raise ReviewsError(str(exc)) from exc


def _extractor(model: SentimentModel, aspects: Any = None) -> Any:
    from shopmind.reviews.aspects import AspectConfig, AspectExtractor

    return AspectExtractor(aspects or AspectConfig(), model)


def analyze(
    store: Store,
    model: SentimentModel,
    batch_size: int = 256,
    progress: Progress = None,
    aspects: Any = None,
) -> AnalyzeReport:
    """Score every review, store sentiments and aspects, then per-product insights."""
    started = time.perf_counter()
    report = AnalyzeReport(model=model.name)
    extractor = _extractor(model, aspects)
    for batch in iter_reviews(store, batch_size=batch_size):
        _score_batch(store, model, extractor, batch, report)
        if progress is not None:
            progress(report.reviews)
    # Every product is judged on the store's timeline, its normal range pulled toward the
    # store-wide negative share (so products with little history can still raise an alert).
    prior = report.negatives / report.reviews if report.reviews else None
    rows = []
    for product_id in reviewed_product_ids(store):
        insight = product_insights_for(store, product_id, model.name, report.newest, prior)
        rows.append(insight)
        if insight["alert"]:
            report.alerts.append({"product_id": product_id, **insight["payload"]["alert"]})
        if len(rows) >= 500:
            write_product_insights(store, rows)
            rows = []
    write_product_insights(store, rows)
    report.products = len(reviewed_product_ids(store))
    report.seconds = time.perf_counter() - started
    return report


def _score_batch(
    store: Store,
    model: SentimentModel,
    extractor: Any,
    batch: list[ReviewRecord],
    report: AnalyzeReport,
) -> None:
    texts = [r.text for r in batch]
    predictions = model.predict(texts)
    mentions = extractor.extract_many(texts)
    now = _now()
    sentiments, aspects = [], []
    for review, pred, found in zip(batch, predictions, mentions, strict=True):
        sentiments.append(
            {
                "review_id": review.id,
                "model": model.name,
                "label": pred.label,
                "score": pred.score,
                "probs": pred.probs,
                "language": pred.language,
                "truncated": pred.truncated,
                "scored_at": now,
            }
        )
        aspects.extend(
            {
                "review_id": review.id,
                "product_id": review.product_id,
                "sentence_no": m.sentence_no,
                "aspect": m.aspect,
                "polarity": m.polarity,
                "score": m.score,
                "sentence": m.sentence,
            }
            for m in found
        )
    write_review_results(store, sentiments, aspects)
    report.negatives += sum(p.label == "negative" for p in predictions)
    dates = [r.created_at for r in batch if r.created_at is not None]
    if dates:
        report.newest = max([*dates, report.newest or dates[0]])
    report.reviews += len(batch)
    report.mentions += len(aspects)


def product_insights_for(
    store: Store,
    product_id: int,
    model_name: str,
    now: datetime | None = None,
    prior_share: float | None = None,
) -> dict[str, Any]:
    """Compute one product's insights from its stored scores (a row for the insights table)."""
    from shopmind.reviews.insights import product_insights as compute

    payload = compute(
        review_results(store, product_id),
        aspect_results(store, product_id),
        now=now,
        prior_share=prior_share,
    )
    payload = json.loads(json.dumps(payload, default=str))  # JSON-ready (dates → text)
    return {
        "product_id": product_id,
        "model": model_name,
        "reviews": int(payload.get("reviews", 0)),
        "negative_share": float(payload.get("shares", {}).get("negative", 0.0)),
        "alert": bool(payload.get("alert", {}).get("active", False)),
        "payload": payload,
        "computed_at": _now(),
    }


def insights(store: Store, product: int | str) -> dict[str, Any]:
    """Stored insights of a product given by id or external id."""
    found = find_product(store, product)
    if found is None:
        raise ReviewsError(f"no product {product!r}")
    data = product_insights(store, found[0])
    if data is None:
        raise ReviewsError(
            f"product {found[1]!r} has no review insights yet; run: shopmind reviews analyze"
        )
    return {"external_id": found[1], **data}


def score_texts(
    model: SentimentModel, texts: list[str], with_aspects: bool = True, aspects: Any = None
) -> list[dict[str, Any]]:
    """Score free texts: label, score, probabilities, language and aspects."""
    predictions = model.predict(texts)
    if with_aspects:
        mentions = _extractor(model, aspects).extract_many(texts)
    else:
        mentions = [[] for _ in texts]
    out = []
    for pred, found in zip(predictions, mentions, strict=True):
        row = pred.to_dict()
        row["aspects"] = [
            {"aspect": m.aspect, "polarity": m.polarity, "sentence": m.sentence} for m in found
        ]
        out.append(row)
    return out


def _open_csv(path: Path, text_column: str) -> tuple[list[str], Iterator[dict[str, str]], Any]:
    """The header, a row iterator and the open file of a CSV to score (delimiter sniffed)."""
    from shopmind.store.importers.reading import open_text

    if not path.is_file():
        raise ReviewsError(f"{path}: no such file")
    fh, _ = open_text(path)
    sample = fh.readline()
    if not sample.strip():
        fh.close()
        raise ReviewsError(f"{path}: file is empty")
    delimiter = max(",;\t|", key=sample.count)
    fh.seek(0)
    reader = csv.DictReader(fh, delimiter=delimiter)
    fields = list(reader.fieldnames or [])
    if text_column not in fields:
        fh.close()
        raise ReviewsError(f"{path}: no column {text_column!r} (found: {', '.join(fields)})")
    return fields, iter(reader), fh


def score_file(
    model: SentimentModel,
    input_path: Path,
    text_column: str,
    output_path: Path,
    batch_size: int = 256,
    progress: Progress = None,
    aspects: Any = None,
) -> int:
    """Score a CSV's text column; the output adds label, score and aspects to every row.

    Rows are written batch by batch to a temporary file renamed at the end, so the
    output is never half-written and the input never touched; if scoring fails midway,
    the rows already scored are kept in ``<output>.partial.csv``.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise ReviewsError("the output file must not be the input file")
    fields, rows, fh = _open_csv(input_path, text_column)
    extra = [f for f in ("label", "score", "aspects") if f not in fields]
    tmp = output_path.with_name(f".{output_path.name}.tmp")
    done = 0
    try:
        with fh, tmp.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=fields + extra, extrasaction="ignore")
            writer.writeheader()
            for chunk in _chunks(rows, batch_size):
                texts = [row.get(text_column) or "" for row in chunk]
                scored = score_texts(model, texts, aspects=aspects)
                for row, result in zip(chunk, scored, strict=True):
                    row["label"], row["score"] = result["label"], f"{result['score']:.4f}"
                    row["aspects"] = ";".join(
                        f"{a['aspect']}:{a['polarity']}" for a in result["aspects"]
                    )
                    writer.writerow(row)
                done += len(chunk)
                if progress is not None:
                    progress(done)
        tmp.replace(output_path)
    except Exception as exc:
        if done:  # keep what was scored: the rows before the failing batch
            partial = output_path.with_name(f"{output_path.stem}.partial{output_path.suffix}")
            tmp.replace(partial)
            raise ReviewsError(
                f"scoring stopped after {done:,} rows ({exc}); they are kept in {partial}"
            ) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return done


def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
