"""Review intelligence end to end: train a tier, score the store, write insights back.

The CLI, the REST API and the demo call these functions; they hold no business logic
of their own.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopmind.models.cache import ArtifactCache
from shopmind.models.registry import DEFAULT_KEEP, Registry, RegistryError, Version
from shopmind.reviews.base import SentimentModel, stars_to_label
from shopmind.safety import SafeDictWriter
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
log = logging.getLogger(__name__)


class ReviewsError(ValueError):
    """A review-intelligence request that cannot be served (message says what to do)."""


def model_dir(models_dir: Path, tier: str) -> Path:
    """The registry folder of ``tier`` (``pretrained`` for the domain-pretrained encoder)."""
    return Path(models_dir) / "reviews" / tier


def registry(models_dir: Path, tier: str, keep: int = DEFAULT_KEEP) -> Registry:
    """The versions of ``tier`` (``reviews/<tier>`` in the model registry).

    A model a pre-registry shopmind wrote in place is served in place when it loads, and
    ignored (never loaded) when it does not; the next training or ``shopmind models prune
    --legacy`` adopts it as a version.
    """
    check = _pretrained_check if tier == "pretrained" else _legacy_check(tier)
    return Registry(models_dir, f"reviews/{tier}", keep=keep, legacy_check=check)


def open_registry(models_dir: Path, name: str, keep: int = DEFAULT_KEEP) -> Registry:
    """The registry of any model ``name``; a review tier's knows its old layout."""
    tier = name.removeprefix("reviews/")
    if name.startswith("reviews/") and tier in (*TIERS, "pretrained"):
        return registry(models_dir, tier, keep)
    return Registry(models_dir, name, keep=keep)


def _loader(tier: str) -> Callable[[Path], SentimentModel]:
    """``load(folder)`` of ``tier``, importing the tier only when a folder is loaded."""
    return lambda folder: _tier_class(tier).load(folder)


def _legacy_check(tier: str) -> Callable[[Path], object]:
    """Raise unless a folder written in place holds a whole model of ``tier`` (it loads)."""

    def check(folder: Path) -> object:
        if tier == "transformer" and not (folder / "shopmind.json").is_file():
            raise FileNotFoundError(f"{folder}: no shopmind.json (the save never finished)")
        return _tier_class(tier).load(folder)

    return check


def _pretrained_check(folder: Path) -> None:
    """Raise unless ``folder`` holds a finished ``pretrain`` output (each route's json last)."""
    routes = [f for f in (folder, folder / "zh") if (f / "model.safetensors").exists()]
    if not routes:
        raise FileNotFoundError(f"{folder}: no pretrained model")
    for route in routes:
        if not (route / "pretrain.json").is_file():
            raise FileNotFoundError(f"{route}: no pretrain.json (pretraining never finished)")
    from shopmind.reviews.transformer.model import load_pretrainer

    for route in routes:
        load_pretrainer(route)


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


@dataclass(frozen=True)
class LoadedModel:
    """A sentiment model and where it came from.

    ``version`` is the registry version (``"v0003"``), ``"legacy"`` for a model still in
    the old layout, or None for the lexicon when it was never trained.
    """

    tier: str
    model: SentimentModel
    version: str | None = None


def open_model(models_dir: Path, tier: str = "lexicon") -> LoadedModel:
    """The current version of ``tier`` from the workspace (the lexicon needs no training).

    Only a complete version (every file matches its manifest) is ever loaded. Raises
    ``ReviewsError`` when the tier was never trained, and when its current version is
    damaged or does not load (naming the version and the rollback command).
    """
    loaded = _open(models_dir, tier)
    if loaded is not None:
        return loaded
    if tier == "lexicon":
        return LoadedModel(tier, _tier_class(tier)())
    raise ReviewsError(
        f"no trained {tier} model in {model_dir(models_dir, tier)}; train one with: "
        f"shopmind reviews train --model {tier}"
    )


def _open(models_dir: Path, tier: str) -> LoadedModel | None:
    if tier not in TIERS:
        _tier_class(tier)  # raises, naming the tiers
    try:
        loaded = registry(models_dir, tier).load_version(_loader(tier))
    except RegistryError as exc:
        raise ReviewsError(str(exc)) from exc
    return None if loaded is None else LoadedModel(tier, loaded[1], loaded[0].id)


def load_model(models_dir: Path, tier: str = "lexicon") -> SentimentModel:
    """``open_model(models_dir, tier).model``: the current version of ``tier``."""
    return open_model(models_dir, tier).model


def open_best(models_dir: Path, failures: dict[str, Exception] | None = None) -> LoadedModel:
    """The strongest tier whose current version loads: transformer, linear, lexicon.

    A tier that fails — a damaged version, one that does not load (a format this build
    cannot read, a missing optional package), an unreadable pointer — is skipped and
    logged (and put in ``failures``); the untrained lexicon is the last resort.
    """
    for tier in reversed(TIERS):
        try:
            loaded = _open(models_dir, tier)
        except Exception as exc:
            why = str(exc) if isinstance(exc, ReviewsError) else f"{type(exc).__name__}: {exc}"
            log.warning("not using the %s tier: %s", tier, why)
            if failures is not None:
                failures[tier] = exc
            continue
        if loaded is not None:
            return loaded
    return LoadedModel("lexicon", _tier_class("lexicon")())


def best_model(models_dir: Path) -> SentimentModel:
    """``open_best(models_dir).model``: the strongest tier that loads."""
    return open_best(models_dir).model


class _BestLoader:
    """``open_best`` for a cache: it never steps down to a weaker tier because the tier it
    serves published a version that does not load; it raises instead, so the cache keeps
    serving the old model (and logs why) until a version that loads is current."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.serving: LoadedModel | None = None

    def __call__(self) -> LoadedModel:
        failures: dict[str, Exception] = {}
        loaded = open_best(self.models_dir, failures)
        old = self.serving
        if old and old.tier in failures and TIERS.index(loaded.tier) < TIERS.index(old.tier):
            raise failures[old.tier]
        self.serving = loaded
        return loaded


def model_cache(models_dir: Path, tier: str | None = None) -> ArtifactCache[LoadedModel]:
    """``tier`` (None: the best one) loaded once, reloaded when a new version is published.

    For a long-running server: each ``get()`` stats the tiers' version pointers. A new
    version that fails to load leaves the old model serving.
    """
    tiers = reversed(TIERS) if tier is None else (tier,)
    pointers = [registry(models_dir, t).pointer_path for t in tiers]
    if tier is None:
        return ArtifactCache(_BestLoader(models_dir), pointers, "reviews/best")
    return ArtifactCache(lambda: open_model(models_dir, tier), pointers, f"reviews/{tier}")


def save_model(
    models_dir: Path,
    tier: str,
    model: SentimentModel,
    metrics: dict[str, Any] | None = None,
    keep: int = DEFAULT_KEEP,
) -> Version:
    """Publish a fitted model as the new current version of ``tier`` (see models.registry)."""
    get_params = getattr(model, "get_params", None)
    source = {"tier": tier, "params": get_params() if get_params else {}}
    source = json.loads(json.dumps(source, default=str))
    return registry(models_dir, tier, keep).publish(model.save, metrics, source)


@dataclass
class TrainReport:
    tier: str
    examples: int
    label_counts: dict[str, int]
    seconds: float
    path: Path
    version: str = ""

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.label_counts.items())
        return (
            f"trained {self.tier} on {self.examples:,} starred reviews ({counts}) "
            f"in {self.seconds:.1f} s → version {self.version} in {self.path}"
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
    keep: int = DEFAULT_KEEP,
    **params: Any,
) -> TrainReport:
    """Fit ``tier`` on the store's starred reviews and publish it as a new version.

    ``progress`` (transformer only) is called with the training step as it goes; ``keep``
    versions of the tier stay in the workspace.
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
        if getattr(model, "init_from", None) is None:
            pretrained = _current_pretrained(models_dir)
            model.init_from = str(pretrained.path) if pretrained else None
        model.fit(texts, labels, progress=progress)
    else:
        model.fit(texts, labels)
    counts = {name: labels.count(i) for i, name in enumerate(LABELS)}
    seconds = time.perf_counter() - started
    metrics = {"examples": len(texts), "label_counts": counts, "train_seconds": round(seconds, 1)}
    metrics.update(_measured_quality(model))
    version = save_model(models_dir, tier, model, metrics, keep)
    return TrainReport(tier, len(texts), counts, seconds, version.path, version.id)


def _measured_quality(model: Any) -> dict[str, Any]:
    """Macro-F1 on the reviews held out to tune the prior shift, where there were enough
    (``reviews.prior``): the quality the dashboard and ``models list`` show per version."""
    correction = getattr(model, "prior_", None)
    if correction is None:
        correction = (getattr(model, "priors_", None) or {}).get("en")
    state = correction.to_dict() if correction is not None else {}
    if state.get("kind") != "tuned" or not state.get("validation"):
        return {}
    return {
        "validation_macro_f1": state.get("f1_after"),
        "validation_reviews": state.get("validation"),
    }


def _current_pretrained(models_dir: Path) -> Version | None:
    try:
        return registry(models_dir, "pretrained").current()
    except RegistryError as exc:
        raise ReviewsError(f"{exc} (or pretrain again: shopmind reviews pretrain)") from exc


def pretrain(
    store: Store,
    models_dir: Path,
    progress: Progress = None,
    keep: int = DEFAULT_KEEP,
    **params: Any,
) -> Path:
    """Domain-pretrain the transformer (MLM + NSP) on the store's review and product text.

    ``progress`` is called with the training step of the route being pretrained. The
    result is published as a new version of ``reviews/pretrained``; its folder is returned.
    """
    from shopmind.reviews.transformer import pretrain as run_pretrain

    texts = [r.text for batch in iter_reviews(store) for r in batch if r.text.strip()]
    texts += list(product_texts(store))
    if len(texts) < 10:
        raise ReviewsError(f"too little text to pretrain on ({len(texts)} texts)")
    source = json.loads(json.dumps({"kind": "pretrained", "params": params}, default=str))
    with registry(models_dir, "pretrained", keep).stage({"texts": len(texts)}, source) as staged:
        summary = run_pretrain(texts, staged.path, progress=progress, **params)
        staged.metrics["routes"] = sorted(summary)
    assert staged.version is not None
    return staged.version.path


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
    raw: bool = False,
) -> int:
    """Score a CSV's text column; the output adds label, score and aspects to every row.

    Rows are written batch by batch to a temporary file renamed at the end, so the
    output is never half-written and the input never touched; if scoring fails midway,
    the rows already scored are kept in ``<output>.partial.csv``. Cells a spreadsheet
    would run as a formula (``=…``, ``@…``) get a ``'`` in front unless ``raw``
    (:mod:`shopmind.safety.spreadsheet`).
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
            writer = SafeDictWriter(out, fields + extra, extrasaction="ignore", raw=raw)
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
