"""The kinds of job: what each runs, what parameters it takes, what it conflicts with.

A kind is a function of a ``JobContext`` returning a JSON summary, a parameter check that
turns untrusted input (a form, an API body) into clean parameters or raises ``JobError``
naming the field, and a conflict key: two jobs with the same key never run at once (two
trainings of one model, two imports writing the same tables). Later capabilities add
their kinds with ``register``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopmind.jobs.runner import JobContext


class JobError(ValueError):
    """A job that cannot run as asked; the message names the parameter."""


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str  # shown in the dashboard and `shopmind jobs list`
    run: Callable[[JobContext], dict[str, Any]]
    check: Callable[[dict[str, Any], Path | None], dict[str, Any]]
    conflict: Callable[[dict[str, Any]], str | None]

    def conflict_key(self, params: dict[str, Any]) -> str | None:
        return self.conflict(params)


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def check_params(
    kind: str, params: dict[str, Any] | None, uploads: Path | None = None
) -> dict[str, Any]:
    """Clean parameters for ``kind``, or ``JobError`` naming the bad one. With ``uploads``
    (a server taking jobs from browsers and API clients) a file a job reads must lie in
    that folder: a caller of the server cannot make it read the server's other files."""
    if kind not in KINDS:
        raise JobError(f"kind: unknown job kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    if params is not None and not isinstance(params, dict):
        raise JobError("params: must be an object")
    return KINDS[kind].check(dict(params or {}), uploads)


def _only(params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise JobError(f"{unknown[0]}: unknown parameter; allowed: {', '.join(sorted(allowed))}")


def _number(params: dict[str, Any], key: str, low: float, high: float, integer: bool) -> None:
    value = params.get(key)
    if value is None:
        params.pop(key, None)
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobError(f"{key}: must be a number")
    if integer and int(value) != value:
        raise JobError(f"{key}: must be a whole number")
    if not low <= value <= high:
        raise JobError(f"{key}: must be between {low:g} and {high:g}")
    params[key] = int(value) if integer else float(value)


# -- reviews ------------------------------------------------------------------------------

TIERS = ("linear", "transformer")


def _check_train(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    _only(params, {"tier", "time_budget_s", "epochs", "max_train_examples"})
    tier = params.get("tier", "linear")
    if tier not in TIERS:
        raise JobError(f"tier: must be one of {', '.join(TIERS)}")
    params["tier"] = tier
    _number(params, "time_budget_s", 1, 7 * 24 * 3600, integer=False)
    _number(params, "epochs", 1, 100, integer=True)
    _number(params, "max_train_examples", 10, 10_000_000, integer=True)
    if tier == "linear" and len(params) > 1:
        raise JobError(f"{sorted(set(params) - {'tier'})[0]}: only the transformer takes it")
    return params


def _run_train(ctx: JobContext) -> dict[str, Any]:
    from shopmind.reviews.service import ReviewsError, train

    params = dict(ctx.params)
    tier = params.pop("tier")
    if tier == "transformer":
        params.setdefault("threads", ctx.settings.threads)
    ctx.stage("training (steps)" if tier == "transformer" else "training")
    try:
        report = train(
            ctx.store,
            ctx.settings.models_dir,
            tier,
            progress=ctx.progress,
            keep=ctx.settings.model_versions_keep,
            **params,
        )
    except ReviewsError as exc:
        raise JobError(str(exc)) from exc
    return {
        "tier": report.tier,
        "version": report.version,
        "examples": report.examples,
        "label_counts": report.label_counts,
        "seconds": round(report.seconds, 1),
        "text": report.summary(),
    }


def _check_analyze(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    _only(params, {"tier"})
    tier = params.get("tier")
    if tier is not None and tier not in ("lexicon", *TIERS):
        raise JobError("tier: must be lexicon, linear or transformer (or left out: the best)")
    return params


def _run_analyze(ctx: JobContext) -> dict[str, Any]:
    from shopmind.reviews.service import (
        ReviewsError,
        analyze,
        aspect_config,
        best_model,
        load_model,
    )

    tier = ctx.params.get("tier")
    models = ctx.settings.models_dir
    try:
        model = best_model(models) if tier is None else load_model(models, tier)
        aspects = aspect_config(ctx.settings.workspace)
    except ReviewsError as exc:
        raise JobError(str(exc)) from exc
    ctx.stage("scoring reviews", total=ctx.store.stats()["reviews"])
    report = analyze(ctx.store, model, progress=ctx.progress, aspects=aspects)
    return {
        "model": report.model,
        "reviews": report.reviews,
        "mentions": report.mentions,
        "products": report.products,
        "alerts": len(report.alerts),
        "seconds": round(report.seconds, 1),
        "text": report.summary(),
    }


# -- imports ------------------------------------------------------------------------------


def _file_param(params: dict[str, Any], uploads: Path | None, what: str) -> None:
    """``path`` (inside ``uploads`` when a server takes the job) and its ``file_name``."""
    path = params.get("path")
    if not isinstance(path, str) or not path:
        raise JobError(f"path: {what} is missing")
    if "\x00" in path:
        raise JobError("path: holds a NUL character")
    if uploads is not None:
        resolved = (uploads / path).resolve()
        if not resolved.is_relative_to(uploads.resolve()):
            raise JobError("path: must name a file uploaded to the workspace's uploads folder")
        path = str(resolved)
    params["path"] = str(Path(path))
    params["file_name"] = str(params.get("file_name") or Path(path).name)[:512]


def _check_import(params: dict[str, Any], uploads: Path | None) -> dict[str, Any]:
    from shopmind.store.importers import IMPORTERS

    _only(params, {"kind", "path", "file_name", "skip_bad_rows", "mapping", "raw"})
    if params.get("kind") not in IMPORTERS:
        raise JobError(f"kind: must be one of {', '.join(IMPORTERS)}")
    _file_param(params, uploads, "the file to import")
    for flag in ("skip_bad_rows", "raw"):
        if not isinstance(params.get(flag, False), bool):
            raise JobError(f"{flag}: must be true or false")
        params[flag] = bool(params.get(flag, False))
    mapping = params.get("mapping") or {}
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise JobError("mapping: must map field names to column names")
    params["mapping"] = mapping
    return params


def _run_import(ctx: JobContext) -> dict[str, Any]:
    from shopmind.store.importers import ImportFileError, import_file
    from shopmind.store.importers.history import record_import

    p = ctx.params
    ctx.stage(f"importing {p['file_name']}")
    created_by = ctx.created_by
    try:
        result = import_file(
            ctx.store,
            p["kind"],
            Path(p["path"]),
            skip_bad_rows=p["skip_bad_rows"],
            mapping=p["mapping"],
            currency=ctx.settings.currency,
            batch_size=ctx.settings.batch_size,
            progress=ctx.progress,
            raw=p["raw"],
        )
    except ImportFileError as exc:
        record_import(ctx.store, p["kind"], p["file_name"], "failed", {"error": str(exc)},
                      job_id=ctx.job_id, created_by=created_by)  # fmt: skip
        raise JobError(str(exc)) from exc
    summary = {
        "kind": p["kind"],
        "file_name": p["file_name"],
        "read": result.read,
        "rows": result.rows,
        "new": result.new,
        "rejected": result.rejected,
        "reject_file": None if result.reject_file is None else str(result.reject_file),
        "counts": result.counts,
        "text": result.summary(),
    }
    counts = {k: summary[k] for k in ("read", "rows", "new", "rejected", "counts")}
    record_import(ctx.store, p["kind"], p["file_name"], "done", counts, summary["reject_file"],
                  ctx.job_id, created_by)  # fmt: skip
    return summary


def _check_validate(params: dict[str, Any], uploads: Path | None) -> dict[str, Any]:
    params = _check_import({**params, "skip_bad_rows": False, "raw": False}, uploads)
    params.pop("skip_bad_rows")
    params.pop("raw")
    return params


def _run_validate(ctx: JobContext) -> dict[str, Any]:
    from shopmind.store.importers import ImportFileError, validate_file

    p = ctx.params
    ctx.stage(f"checking {p['file_name']}")
    try:
        report = validate_file(
            ctx.store,
            p["kind"],
            Path(p["path"]),
            mapping=p["mapping"],
            currency=ctx.settings.currency,
            batch_size=ctx.settings.batch_size,
            progress=ctx.progress,
        )
    except ImportFileError as exc:
        raise JobError(str(exc)) from exc
    text = report.summary().replace(str(report.path), p["file_name"])
    return {**report.to_dict(), "path": p["file_name"], "text": text}


def _check_nothing(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    _only(params, set())
    return params


def _run_rebuild(ctx: JobContext) -> dict[str, Any]:
    from shopmind.store.daily import rebuild_daily

    ctx.stage("counting the stored events", total=ctx.store.stats()["events"])
    counts = rebuild_daily(ctx.store, progress=ctx.progress)
    rows = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    return {"counts": counts, "text": f"rebuilt the daily figures: {rows}"}


# -- content ------------------------------------------------------------------------------

MAX_JOB_PRODUCTS = 10_000


def _check_content(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    from shopmind.content import TASKS
    from shopmind.content.generate import MAX_VARIANTS, WRITERS

    _only(params, {"task", "language", "n", "seed", "writer", "product_ids", "redo"})
    if params.get("task") not in TASKS:
        raise JobError(f"task: must be one of {', '.join(TASKS)}")
    params["language"] = params.get("language", "auto")
    if params["language"] not in ("auto", "en", "zh"):
        raise JobError("language: must be auto, en or zh")
    params["writer"] = params.get("writer", "model")
    if params["writer"] not in WRITERS:
        raise JobError(f"writer: must be one of {', '.join(WRITERS)}")
    params.setdefault("n", 3)
    _number(params, "n", 1, MAX_VARIANTS, integer=True)
    _number(params, "seed", 0, 2**31 - 1, integer=True)
    ids = params.get("product_ids")
    if ids is None:
        params.pop("product_ids", None)  # the whole catalogue
    elif not isinstance(ids, list) or not all(isinstance(i, str) and 0 < len(i) <= 255
                                              for i in ids):  # fmt: skip
        raise JobError("product_ids: must be a list of product ids")
    elif not 0 < len(ids) <= MAX_JOB_PRODUCTS:
        raise JobError(f"product_ids: give 1 to {MAX_JOB_PRODUCTS} ids, or none for every product")
    if not isinstance(params.get("redo", False), bool):
        raise JobError("redo: must be true or false")
    params["redo"] = bool(params.get("redo", False))
    return params


def _run_content(ctx: JobContext) -> dict[str, Any]:
    from shopmind.content import run as runs
    from shopmind.content import source as sources
    from shopmind.content.generate import Options
    from shopmind.content.voice import voice_from_settings
    from shopmind.models.llm import LLMError

    p = ctx.params
    options = Options(n=p["n"], language=p["language"], seed=p.get("seed"), writer=p["writer"],
                      voice=voice_from_settings(ctx.settings))  # fmt: skip
    ctx.stage("choosing products")
    try:
        if "product_ids" in p:
            products = [sources.store_product(ctx.store, ref) for ref in p["product_ids"]]
        else:
            products = list(sources.store_products(ctx.store))
    except LookupError as exc:
        raise JobError(str(exc)) from exc
    try:
        lm = runs.load_writer(ctx.settings) if p["writer"] == "model" else None
    except LLMError as exc:
        raise JobError(str(exc)) from exc
    chosen = products if p["redo"] else runs.pending(ctx.store, lm, p["task"], options, products)
    skipped = len(products) - len(chosen)
    if chosen:
        ctx.stage("reading the store's copy for examples")
    bank = runs.example_bank(ctx.store, ctx.settings, p["task"], lm, limit=5000) if chosen else None
    ctx.stage(f"writing {p['task']}", total=len(chosen))
    try:
        counts = runs.write_all(ctx.store, lm, p["task"], chosen, options, job_id=ctx.job_id,
                                progress=ctx.progress, bank=bank,
                                examples=ctx.settings.content_examples)  # fmt: skip
    except LLMError as exc:
        raise JobError(f"language model: {exc}") from exc
    text = (
        f"{p['task']}: {counts['variants']:,} variants for {counts['written']:,} of "
        f"{counts['products']:,} products; {counts['empty']:,} without a variant that passed; "
        f"{skipped:,} already done the same way"
    )
    return {**counts, "skipped": skipped, "task": p["task"], "text": text}


def _check_article(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    from shopmind.content.generate import WRITERS

    _only(params, {"topic", "k", "language", "seed", "writer"})
    topic = params.get("topic")
    if not isinstance(topic, str) or not topic.strip() or len(topic) > 200:
        raise JobError("topic: give the article's topic, at most 200 characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in topic):
        raise JobError("topic: holds control characters")
    params["topic"] = " ".join(topic.split())
    params.setdefault("k", 4)
    _number(params, "k", 1, 8, integer=True)
    params["language"] = params.get("language", "auto")
    if params["language"] not in ("auto", "en", "zh"):
        raise JobError("language: must be auto, en or zh")
    params["writer"] = params.get("writer", "model")
    if params["writer"] not in WRITERS:
        raise JobError(f"writer: must be one of {', '.join(WRITERS)}")
    _number(params, "seed", 0, 2**31 - 1, integer=True)
    return params


def _run_article(ctx: JobContext) -> dict[str, Any]:
    from shopmind.content import run as runs
    from shopmind.content.generate import Options
    from shopmind.content.voice import voice_from_settings
    from shopmind.models.llm import LLMError

    p = ctx.params
    options = Options(n=1, language=p["language"], seed=p.get("seed"), writer=p["writer"],
                      voice=voice_from_settings(ctx.settings))  # fmt: skip
    ctx.stage(f"writing an article on {p['topic']}")
    try:
        lm = runs.load_writer(ctx.settings) if p["writer"] == "model" else None
        result = runs.write_store_article(ctx.store, lm, p["topic"], options, k=p["k"],
                                          job_id=ctx.job_id)  # fmt: skip
    except (LLMError, ValueError) as exc:
        raise JobError(str(exc)) from exc
    products = ", ".join(str(x["title"]) for x in result["products"])
    text = (f"an article on {result['topic']!r} about {products}"
            if result["variants"] else "no article passed the checks")  # fmt: skip
    return {"topic": result["topic"], "products": result["products"],
            "variants": len(result["variants"]), "text": text}  # fmt: skip


def _check_tune(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    _only(params, {"epochs", "time_budget_s", "held_out", "generate"})
    params.setdefault("epochs", 2.0)
    _number(params, "epochs", 0.1, 100, integer=False)
    _number(params, "time_budget_s", 1, 7 * 24 * 3600, integer=False)
    params.setdefault("held_out", 8)
    _number(params, "held_out", 1, 200, integer=True)
    if not isinstance(params.get("generate", True), bool):
        raise JobError("generate: must be true or false")
    params["generate"] = bool(params.get("generate", True))
    return params


def _run_tune(ctx: JobContext) -> dict[str, Any]:
    from shopmind.content import source
    from shopmind.content.tune import TuneError, tune

    if ctx.settings.llm_backend != "local":
        raise JobError("tuning needs llm_backend = local: a remote server's model cannot be tuned")
    p = ctx.params
    ctx.stage("training (steps)")
    try:
        report = tune(list(source.store_products(ctx.store)), ctx.settings.models_dir,
                      model=ctx.settings.llm_model, epochs=p["epochs"],
                      time_budget_s=p.get("time_budget_s"), held_out=p["held_out"],
                      generate=p["generate"], keep=ctx.settings.model_versions_keep,
                      threads=ctx.settings.threads, progress=ctx.progress)  # fmt: skip
    except TuneError as exc:
        raise JobError(str(exc)) from exc
    return {**report.to_dict(), "text": report.summary()}


# -- recommendations ----------------------------------------------------------------------

RECOMMENDERS = ("popular", "itemknn", "als", "content", "sasrec")


def _check_recommend(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    _only(params, {"model", "epochs", "time_budget_s"})
    params.setdefault("model", "sasrec")
    if params["model"] not in RECOMMENDERS:
        raise JobError(f"model: must be one of {', '.join(RECOMMENDERS)}")
    _number(params, "epochs", 1, 1000, integer=True)
    _number(params, "time_budget_s", 1, 7 * 24 * 3600, integer=False)
    return params


def _run_recommend(ctx: JobContext) -> dict[str, Any]:
    from shopmind.recommend import RecommendError
    from shopmind.recommend.train import train

    p = ctx.params
    params: dict[str, Any] = {}
    if p["model"] in ("als", "sasrec"):
        params["threads"] = ctx.settings.threads
    if p["model"] == "sasrec":
        params |= {k: p[k] for k in ("epochs", "time_budget_s") if k in p}
        ctx.stage("training (epochs)", total=p.get("epochs") or 200)
    else:
        ctx.stage("training")

    def progress(row: dict[str, Any]) -> None:
        if row.get("refit") and row["epoch"] == 1:  # sasrec: the epochs are chosen
            ctx.stage("training again with the held-out items (epochs)", total=row["of"])
        ctx.progress(int(row["epoch"]))

    try:
        metrics = train(ctx.store, ctx.settings.models_dir, p["model"], params,
                        keep=ctx.settings.model_versions_keep, progress=progress)  # fmt: skip
    except RecommendError as exc:
        raise JobError(str(exc)) from exc
    return metrics


register(JobKind("reviews.train", "Train a sentiment model", _run_train, _check_train,
                 lambda p: f"train:reviews/{p['tier']}"))  # fmt: skip
register(JobKind("reviews.analyze", "Score the store's reviews", _run_analyze, _check_analyze,
                 lambda p: "reviews.analyze"))  # fmt: skip
register(JobKind("import", "Import a file", _run_import, _check_import, lambda p: "import"))
# it rewrites what imports add to: never beside one
register(JobKind("store.rebuild-aggregates", "Rebuild the daily figures", _run_rebuild,
                 _check_nothing, lambda p: "import"))  # fmt: skip
register(JobKind("import.validate", "Check a file without importing it", _run_validate,
                 _check_validate, lambda p: None))  # fmt: skip
register(JobKind("content.generate", "Write copy", _run_content, _check_content,
                 lambda p: f"content:{p['task']}:{p['language']}"))  # fmt: skip
register(JobKind("content.article", "Write an article", _run_article, _check_article,
                 lambda p: "content:article"))  # fmt: skip
register(JobKind("content.tune", "Tune the language model to the store's voice", _run_tune,
                 _check_tune, lambda p: "train:content/lora"))  # fmt: skip
register(JobKind("recommend.train", "Train a recommender", _run_recommend, _check_recommend,
                 lambda p: f"train:recommend/{p['model']}"))  # fmt: skip


# -- support ------------------------------------------------------------------------------


def _run_support_index(ctx: JobContext) -> dict[str, Any]:
    from shopmind.support.knowledge import ensure_index, source_counts, store_passages

    ctx.stage("embedding new and changed passages", total=len(store_passages(ctx.store)))
    idx = ensure_index(ctx.store, ctx.settings.models_dir, progress=ctx.progress)
    return {"passages": len(idx.passages), "by_source": source_counts(idx.passages)}


def _check_support_train(params: dict[str, Any], uploads: Path | None) -> dict[str, Any]:
    _only(params, {"path", "file_name", "max_per_intent"})
    _file_param(params, uploads, "the labelled messages file")
    params.setdefault("max_per_intent", 300)
    _number(params, "max_per_intent", 10, 100_000, integer=True)
    return params


def _run_support_train(ctx: JobContext) -> dict[str, Any]:
    from shopmind.support.training import train_from_file

    p = ctx.params
    try:
        return train_from_file(ctx.settings.models_dir, Path(p["path"]), p["max_per_intent"],
                               min_confidence=ctx.settings.support_min_confidence,
                               progress=ctx.stage)  # fmt: skip
    except (OSError, ValueError) as exc:
        raise JobError(f"{p['file_name']}: {exc}") from exc


register(JobKind("support.index", "Index the help pages and catalog for the assistant",
                 _run_support_index, _check_nothing, lambda p: "support.index"))  # fmt: skip
register(JobKind("support.train", "Train the support intent classifier", _run_support_train,
                 _check_support_train, lambda p: "train:support/intents"))  # fmt: skip


# -- insights -----------------------------------------------------------------------------

REPORT_LANGS = ("en", "zh")
REPORT_STAGES = {
    "findings": "analysing the funnel, channels, segments, trends and demand",
    "cohorts": "counting the cohorts",
    "recommendations": "writing the recommendations",
    "drawing": "drawing the report",
}


def _check_report(params: dict[str, Any], _uploads: Path | None) -> dict[str, Any]:
    _only(params, {"start", "end", "days", "lang"})
    for key in ("start", "end"):
        value = params.get(key)
        if value in (None, ""):
            params.pop(key, None)
            continue
        try:
            params[key] = date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise JobError(f"{key}: must be a date (YYYY-MM-DD)") from None
    params.setdefault("days", 30)
    _number(params, "days", 1, 3660, integer=True)
    params["lang"] = params.get("lang") or "en"
    if params["lang"] not in REPORT_LANGS:
        raise JobError(f"lang: must be one of {', '.join(REPORT_LANGS)}")
    return params


def _run_report(ctx: JobContext) -> dict[str, Any]:
    from shopmind.insights.engine import InsightsError
    from shopmind.insights.report import write_report
    from shopmind.insights.service import Insights
    from shopmind.jobs.runner import reports_dir

    p = ctx.params
    stages = list(REPORT_STAGES)

    def stage(name: str) -> None:
        ctx.stage(REPORT_STAGES.get(name, name), total=len(stages))
        ctx.progress(stages.index(name) if name in stages else 0)
        ctx.flush()

    ctx.stage("choosing the period")
    ins = Insights(ctx.store, ctx.settings)
    start, end = (date.fromisoformat(p[k]) if k in p else None for k in ("start", "end"))
    try:
        period = ins.period(start, end, p["days"])
        folder = reports_dir(ctx.settings)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"growth-report-{period.start}-{period.end}-{p['lang']}-{ctx.job_id}.html"
        html, data = write_report(ins, period, folder / name, p["lang"], progress=stage)
    except InsightsError as exc:
        raise JobError(str(exc)) from exc
    return {
        "period": period.to_dict(),
        "lang": p["lang"],
        "html": html.name,
        "json": data.name,
        "download": f"/insights/reports/{html.name}",
        "text": f"the growth report of {period.start} – {period.end} is written: {html.name}",
    }


register(JobKind("insights.report", "Write the growth report", _run_report, _check_report,
                 lambda p: "insights.report"))  # fmt: skip
