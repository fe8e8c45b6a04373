"""Content studio benchmark: the copy of every task on real catalog products (issue 9).

Products come from ``catalog/`` in the shared data folder (``--data`` or
``SHOPMIND_DATA``, default ``../shared/data``; without it the bench skips with a note):

- ``electronics`` — ``electronics/electronics_dataset.csv``: the title, ``Sub Category``
  as the category, the price; the ``Feature`` list (bullets split at runs of 3+ spaces)
  is the listing's only text, so it is the description, one feature a line.
- ``amazon2018`` — ``amazon2018/meta_*.json.gz``: title, brand, category path, the
  ``description`` list (HTML → text), price; attributes are the ``feature`` list and the
  ``details`` table (ASIN, UPC and shipping lines left out). Products whose title is a
  scraping leftover (HTML markup: nearly all magazine subscriptions) are skipped.
- ``magento`` — ``magento/products.csv`` (Luma demo): the configurable products (the
  ones shown in the catalogue); attributes from ``additional_attributes`` (``a|b`` as
  lists; store flags such as ``new``, ``sale``, ``has_options`` left out), sizes and
  colours from ``configurable_variations`` as options, the first category path that is
  not a collection; the HTML description as text.

Each source's products are shuffled with ``--seed``; the first ``--held-out`` are held
out for the similarity measure (never used for the other tasks, and kept out of any
later tuning: their ids are in the JSON), the next ``--products`` are the task products
(``article``, which is slow: ``--article-products`` in all, from the sources in turn).

Everything runs on the packaged local model (SmolLM2-135M-Instruct, ``load_local("")``)
with ``--threads`` torch threads, ``generate_copy(model, task, product,
Options(n=3, seed=…))`` per product and task, and measures:

1. the share of returned variants that pass the channel spec (``SPECS[task].passes``),
   for model-written and facts-writer variants separately (goal 100 %);
2. the share of the model's **raw** answers with an unsupported claim (``checks``:
   ``unsupported / answers``) against the share of **returned** variants with one, each
   re-checked by ``FactGuard(ProductFacts.from_mapping(product))`` over
   ``SPECS[task].text(fields)`` (goal 0 after);
3. attribute coverage (mean ``scores["coverage"]`` of returned variants, products with
   salient attributes only), distinct-2 (the result's ``distinct_2``, mean per product),
   the share of products with at least one model-written variant, and the off-task share
   of raw answers (``checks``: ``off_task / answers``);
4. similarity to real descriptions, on the held-out products: the model gets each one
   **without** its description (title, brand, category, attributes and options only) and
   writes ``product-description``; the best returned variant's description (and the
   best model-written one, where there is one) is compared with the real description by
   **ROUGE-L F1** (longest common subsequence of lower-cased ``\\w+`` words: precision =
   LCS / candidate words, recall = LCS / reference words, F1 their harmonic mean) and by
   **word-bigram Jaccard** (shared distinct bigrams / all distinct bigrams), beside the
   facts writer alone on the same input. That is the "untuned" column. "tuned": per
   source (one store each) ``content.tune.tune`` fits a LoRA adapter on
   ``--tune-products`` of its other products with descriptions (``--tune-epochs``; the
   tuning holds out some of them itself and reports their answer loss and greedy
   ROUGE-L before and after), and the tuned model writes the held-out products again
   with the same seeds;
5. tokens/s of the local path — the ``n=3`` variants of one ask in one batched
   ``generate`` call, as the studio asks, in ``--precision`` (``auto``: bfloat16 where
   the CPU does it in hardware) — against a plain loop of three ``generate(n=1)`` calls
   on the same model, and against that loop on the model in float32 (as
   ``from_pretrained`` loads it), on the studio's own prompts (``prompts.messages``) for a few
   asks (``SPEED_ASKS``) and products, with the studio's token budget, stop string and
   temperature and the same seeds; the ways take turns running first, ``--repeat``
   times; medians and the ratios batched / loop (goal ≥ 2×);
6. seconds per product and task (median wall time of ``generate_copy`` with ``n=3``,
   retries and facts writer included) — for ``product-description`` the headline number.

It also keeps real outputs for the docs: per task the best- and worst-scoring
model-written variant and dropped answers with their reasons.

The defaults are the smallest run that covers everything: one product per source for
nine tasks, one ``article``, one held-out product per source, the speed comparison on
one product twice. On two quiet cores (about 15 tokens/s, as measured by ``--quick``)
that is 35,000-45,000 tokens, about 40-50 minutes: some 25 for the nine tasks (the long
texts — e-mail, feed and product descriptions — are most of it), 5-9 for the article, 5
for the held-out products and 5 for the speed comparison. Every further ``--products``
adds about 25 minutes. On cores shared with other work it is several times slower (the
``--quick`` run took 21 minutes beside a test suite, 5 alone).

    .venv/bin/python bench/content.py --quick --out /tmp/content-quick.json  # smoke run
    .venv/bin/python bench/content.py                  # full: writes bench/results/content.json
    .venv/bin/python bench/content.py --markdown bench/results/content.json  # tables for the docs

``--quick``: two tasks (``product-title``, ``product-description``), one product per
source, answers capped at 96 tokens (``--max-tokens``), one speed run: it checks that
everything runs, and its numbers say nothing about the goals.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import csv
import gzip
import html
import itertools
import json
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("electronics", "amazon2018", "magento")
N_VARIANTS = 3
# The asks timed batched against one at a time: (task, field key); a long text and two
# one-line answers, as the studio asks them.
SPEED_ASKS = (
    ("product-description", "description"),
    ("seo", "title"),
    ("google-ads", "descriptions"),
)
SAMPLE_CHARS = 600  # real outputs kept in the JSON are cut to this length


# -- loaders: one source's rows → the studio's product dicts ---------------------------
def _text(markup: Any) -> str:
    from shopmind.safety.text import html_to_text

    return html_to_text(str(markup or "")).strip()


def _price(raw: str) -> float | None:
    """A single price such as ``$20.99`` (ranges and empty prices give ``None``)."""
    match = re.fullmatch(r"\s*\$?\s*([\d,]+(?:\.\d+)?)\s*", raw or "")
    return float(match.group(1).replace(",", "")) if match else None


def load_electronics(catalog: Path) -> list[dict[str, Any]]:
    products, seen = [], set()
    with open(catalog / "electronics" / "electronics_dataset.csv", encoding="utf-8") as file:
        for i, row in enumerate(csv.DictReader(file)):
            title = _text(row["Title"])
            if not title or title in seen:
                continue
            seen.add(title)
            features = [f.strip() for f in re.split(r"\s{3,}", row["Feature"] or "") if f.strip()]
            products.append({
                "id": f"electronics-{i}",
                "title": title,
                "description": "\n".join(features),
                "brand": "",
                "category": row["Sub Category"].strip(),
                "price": _price(row["Price"]),
                "currency": "USD" if row["Currency"].strip() == "$" else row["Currency"].strip(),
                "attributes": {},
            })  # fmt: skip
    return products


_AMAZON_SKIP = re.compile(r"asin|upc|shipping:?$|domestic shipping|international shipping", re.I)


def load_amazon2018(catalog: Path) -> list[dict[str, Any]]:
    products = []
    for path in sorted((catalog / "amazon2018").glob("meta_*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as file:
            for line in file:
                item = json.loads(line)
                raw_title = item.get("title") or ""
                if "<" in raw_title or ">" in raw_title:
                    continue  # a scraping leftover, not a title
                title = _text(raw_title)
                description = _text(" ".join(d for d in item.get("description") or [] if d))
                if not title:
                    continue
                attributes: dict[str, Any] = {}
                features = [_text(f) for f in item.get("feature") or []]
                if any(features):
                    attributes["features"] = list(dict.fromkeys(f for f in features if f))
                for key, value in (item.get("details") or {}).items():
                    name = key.strip(" :\n")
                    if name and not _AMAZON_SKIP.search(name) and str(value).strip():
                        attributes[name] = _text(str(value).strip().rstrip("(").strip())
                category = [html.unescape(c).strip() for c in item.get("category") or []]
                category = [c for c in category if c and "." not in c and len(c) <= 40]
                products.append({
                    "id": item.get("asin") or f"{path.name}-{len(products)}",
                    "title": title,
                    "description": description,
                    "brand": _text(item.get("brand")),
                    "category": " > ".join(dict.fromkeys(category)),
                    "price": _price(item.get("price") or ""),
                    "currency": "USD",
                    "attributes": attributes,
                })  # fmt: skip
    return products


_MAGENTO_SKIP = {"has_options", "required_options", "new", "sale", "erin_recommends"}


def load_magento(catalog: Path) -> list[dict[str, Any]]:
    products = []
    with open(catalog / "magento" / "products.csv", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if row["product_type"] != "configurable":
                continue  # simple rows are the size/colour variations of these
            attributes: dict[str, Any] = {}
            for pair in row["additional_attributes"].split(","):
                name, _, value = pair.partition("=")
                if not value or name in _MAGENTO_SKIP:
                    continue
                values = [_text(v) for v in value.split("|") if v.strip()]
                attributes[name] = values if len(values) > 1 else values[0]
            options: dict[str, list[str]] = {}
            for variation in row["configurable_variations"].split("|"):
                for pair in variation.split(","):
                    name, _, value = pair.partition("=")
                    if value and name != "sku" and value not in options.setdefault(name, []):
                        options[name].append(value)
            paths = [p.strip() for p in row["categories"].split(",")]
            paths = [p.removeprefix("Default Category/") for p in paths if "/" in p]
            shown = [p for p in paths if not p.startswith("Collections")] or paths
            products.append({
                "id": row["sku"],
                "title": _text(row["name"]),
                "description": _text(row["description"]),
                "brand": "",
                "category": shown[0].replace("/", " > ") if shown else "",
                "price": _price(row["price"]),
                "currency": "USD",
                "attributes": attributes,
                "options": {k: v for k, v in options.items() if v},
            })  # fmt: skip
    return products


LOADERS: dict[str, Callable[[Path], list[dict[str, Any]]]] = {
    "electronics": load_electronics,
    "amazon2018": load_amazon2018,
    "magento": load_magento,
}
SOURCE_FILES = {
    "electronics": "electronics/electronics_dataset.csv",
    "amazon2018": "amazon2018/meta_*.json.gz",
    "magento": "magento/products.csv",
}


def pick(
    products: list[dict[str, Any]], seed: int, held_out: int, n: int, train: int = 0
) -> dict[str, Any]:
    """Held-out products (with a description, for the similarity measure), task products
    and tuning products (with a description), from one seeded shuffle; never the same
    product in two of them."""
    order = sorted(products, key=lambda p: str(p["id"]))
    random.Random(seed).shuffle(order)
    held = [p for p in order if p["description"]][:held_out]
    held_ids = {p["id"] for p in held}
    rest = [p for p in order if p["id"] not in held_ids and _has_facts(p)]
    used = held_ids | {p["id"] for p in rest[:n]}
    tuning = [p for p in order if p["id"] not in used and len(p["description"]) >= 80][:train]
    return {"held_out": held, "tasks": rest[:n], "train": tuning, "available": len(products)}


def _has_facts(product: Mapping[str, Any]) -> bool:
    """More than a title: a description, an attribute or an option."""
    return bool(product["description"] or product["attributes"] or product.get("options"))


# -- measures ---------------------------------------------------------------------------
from shopmind.content.tune import rouge_l  # noqa: E402 (the studio's own measure)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def bigram_jaccard(candidate: str, reference: str) -> float:
    """Distinct word bigrams shared / distinct word bigrams in either."""
    a, b = (set(itertools.pairwise(w)) for w in (words(candidate), words(reference)))
    return len(a & b) / len(a | b) if a | b else 0.0


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.fmean(kept), 4) if kept else None


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _median(values: Iterable[float]) -> float | None:
    kept = list(values)
    return round(statistics.median(kept), 2) if kept else None


# -- quality: generate_copy per product and task ----------------------------------------
def one_product(
    lm: Any, task: str, product: Mapping[str, Any], seed: int, cap: int | None = None
) -> dict[str, Any]:
    """``generate_copy`` on one product, timed, with every returned variant re-checked."""
    from shopmind.content import SPECS, FactGuard, ProductFacts
    from shopmind.content.generate import Options, generate_copy

    started = time.perf_counter()
    result = generate_copy(lm, task, product, Options(n=N_VARIANTS, seed=seed, max_tokens=cap))
    seconds = time.perf_counter() - started
    spec, guard = SPECS[task], FactGuard(ProductFacts.from_mapping(product))
    variants = [
        {
            "writer": v["writer"],
            "spec_pass": spec.passes(v["fields"]),
            "unsupported": [c.text for c in guard.unsupported(spec.text(v["fields"]))],
            "coverage": v["scores"]["coverage"],
            "total": v["scores"]["total"],
            "fields": v["fields"],
        }
        for v in result["variants"]
    ]
    return {
        "product_id": product["id"],
        "title": product["title"],
        "seconds": round(seconds, 2),
        "checks": result["checks"],
        "distinct_2": result["distinct_2"],
        "variants": variants,
        "dropped": result["dropped"],
    }


def summarise(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The measures of a (source, task) cell, or of several cells together."""
    variants = [v for r in records for v in r["variants"]]
    by_writer = {w: [v for v in variants if v["writer"] == w] for w in ("model", "rules")}
    checks = Counter()
    for r in records:
        checks.update(r["checks"])
    return {
        "products": len(records),
        "variants": {w: len(vs) for w, vs in by_writer.items()},
        "spec_pass": {
            w: _share(sum(v["spec_pass"] for v in vs), len(vs)) for w, vs in by_writer.items()
        },
        "unsupported_raw": _share(checks["unsupported"], checks["answers"]),
        "unsupported_returned": _share(
            sum(bool(v["unsupported"]) for v in variants), len(variants)
        ),
        "coverage": _mean(v["coverage"] for v in variants),
        "coverage_model": _mean(v["coverage"] for v in by_writer["model"]),
        "distinct_2": _mean(r["distinct_2"] for r in records if len(r["variants"]) > 1),
        "with_model_variant": _share(
            sum(any(v["writer"] == "model" for v in r["variants"]) for r in records), len(records)
        ),
        "off_task": _share(checks["off_task"], checks["answers"]),
        "checks": dict(checks),
        "drop_reasons": dict(Counter(d["reason"] for r in records for d in r["dropped"])),
        "median_seconds": _median(r["seconds"] for r in records),
    }


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= SAMPLE_CHARS else value[: SAMPLE_CHARS - 1] + "…"
    if isinstance(value, list):
        return [_cut(v) for v in value]
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    return value


def samples(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Real outputs of one task: the best- and worst-scoring model-written variants and
    one dropped answer per reason."""
    model = [(v, r) for r in records for v in r["variants"] if v["writer"] == "model"]
    out: dict[str, Any] = {}
    if model:
        for name, (v, r) in (
            ("best", max(model, key=lambda x: x[0]["total"])),
            ("worst", min(model, key=lambda x: x[0]["total"])),
        ):
            out[name] = {"source": r["source"], "product": r["title"], "total": v["total"],
                         "coverage": v["coverage"], "fields": _cut(v["fields"])}  # fmt: skip
    dropped: dict[str, Any] = {}
    for r in records:
        for d in r["dropped"]:
            if d["text"] and d["reason"] not in dropped:
                dropped[d["reason"]] = {"source": r["source"], "product": r["title"],
                                        "field": d["field"], "text": _cut(d["text"]),
                                        "details": _cut(d["details"][:3])}  # fmt: skip
    out["dropped"] = dropped
    return out


def task_products(task: str, picked: Mapping[str, Any], args: argparse.Namespace) -> list[Any]:
    """``(source, index, product)`` to run ``task`` on: ``--products`` per source, or for
    ``article`` ``--article-products`` in all, taken from the sources in turn."""
    if task != "article":
        return [
            (s, i, p) for s, c in picked.items() for i, p in enumerate(c["tasks"][: args.products])
        ]
    turns = itertools.zip_longest(*(
        [(s, i, p) for i, p in enumerate(c["tasks"])] for s, c in picked.items()
    ))  # fmt: skip
    return [x for turn in turns for x in turn if x is not None][: args.article_products]


def quality(lm: Any, picked: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    records: list[dict[str, Any]] = []
    for task in args.tasks:
        chosen = task_products(task, picked, args)
        for k, (source, i, product) in enumerate(chosen):
            record = one_product(lm, task, product, args.seed + i, args.max_tokens)
            records.append({"source": source, "task": task, **record})
            _progress(f"{task} {source} {k + 1}/{len(chosen)}: {record['seconds']:.1f} s")
    cells = {}
    for task in args.tasks:
        mine = [r for r in records if r["task"] == task]
        cells[task] = {"all": summarise(mine)} | {
            s: summarise([r for r in mine if r["source"] == s])
            for s in picked
            if any(r["source"] == s for r in mine)
        }
    per_product = [
        {k: r[k] for k in ("source", "task", "product_id", "seconds", "checks", "distinct_2")}
        | {"writers": [v["writer"] for v in r["variants"]],
           "unsupported_returned": sum(bool(v["unsupported"]) for v in r["variants"]),
           "dropped": dict(Counter(d["reason"] for d in r["dropped"]))}
        for r in records
    ]  # fmt: skip
    examples = {t: samples([r for r in records if r["task"] == t]) for t in args.tasks}
    return {"by_task": cells, "per_product": per_product, "samples": examples}


# -- similarity to real descriptions (held-out products) --------------------------------
def similarity(lm: Any, picked: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from shopmind.content.generate import Options, generate_copy

    out: dict[str, Any] = {}
    for source, chosen in picked.items():
        rows = []
        for i, product in enumerate(chosen["held_out"]):
            bare = {**product, "description": ""}
            started = time.perf_counter()
            opts = Options(n=N_VARIANTS, seed=args.seed + 10_000 + i, max_tokens=args.max_tokens)
            result = generate_copy(lm, "product-description", bare, opts)
            seconds = time.perf_counter() - started
            rules = generate_copy(None, "product-description", bare, Options(n=1, writer="rules"))
            real = product["description"]
            best = result["variants"][0] if result["variants"] else None
            model = next((v for v in result["variants"] if v["writer"] == "model"), None)
            facts = rules["variants"][0]["fields"]["description"] if rules["variants"] else ""
            row = {
                "product_id": product["id"],
                "seconds": round(seconds, 2),
                "best_writer": best["writer"] if best else None,
                "untuned": _pair(best["fields"]["description"] if best else "", real),
                "untuned_model": _pair(model["fields"]["description"], real) if model else None,
                "facts_writer": _pair(facts, real),
                "tuned": None,  # filled in by tuned_similarity
                "tuned_model": None,
                "model_text": _cut(model["fields"]["description"]) if model else None,
                "real_text": _cut(real),
            }
            rows.append(row)
            _progress(f"similarity {source} {i + 1}/{len(chosen['held_out'])}: {seconds:.1f} s")
        out[source] = {"summary": _similarity_summary(rows), "products": rows}
    everything = [row for s in out.values() for row in s["products"]]
    out["all"] = {"summary": _similarity_summary(everything)}
    return out


def _pair(candidate: str, reference: str) -> dict[str, float]:
    return {
        "rouge_l": round(rouge_l(candidate, reference), 4),
        "bigram_jaccard": round(bigram_jaccard(candidate, reference), 4),
    }


def _similarity_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def mean(column: str, measure: str) -> float | None:
        return _mean(r[column][measure] for r in rows if r[column] is not None)

    return {
        "products": len(rows),
        "with_model_variant": _share(sum(r["untuned_model"] is not None for r in rows), len(rows)),
        **{
            f"{column}_{measure}": mean(column, measure)
            for column in ("untuned", "untuned_model", "facts_writer", "tuned", "tuned_model")
            for measure in ("rouge_l", "bigram_jaccard")
        },
        "with_tuned_model_variant": _share(
            sum(r["tuned_model"] is not None for r in rows), len(rows)
        ),
        "median_seconds": _median(r["seconds"] for r in rows),
    }


# -- tuned: LoRA on each source's other products, the same held-out products -----------
def tuned_similarity(
    picked: Mapping[str, Any], similarity_out: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Per source (one store each): ``content.tune.tune`` on ``--tune-products`` of its
    products with descriptions (none held out or used for the tasks), then the held-out
    products written again, as in :func:`similarity`, by the tuned model; the rows of
    ``similarity_out`` gain their ``tuned`` columns. Returns each tuning's report (its own
    held-out products' answer loss and greedy ROUGE-L, before and after)."""
    import tempfile

    from shopmind.content.generate import Options, generate_copy
    from shopmind.content.tune import TuneError, load_tuned, tune

    reports: dict[str, Any] = {}
    for source, chosen in picked.items():
        if source not in similarity_out:
            continue
        with tempfile.TemporaryDirectory(prefix="content-tune-") as folder:
            started = time.perf_counter()
            try:
                report = tune(
                    chosen["train"],
                    Path(folder),
                    model=args.model,
                    epochs=args.tune_epochs,
                    seed=args.seed,
                    threads=args.threads,
                    progress=lambda step, s=source: _progress(f"tune {s}: step {step}"),
                )
            except TuneError as exc:  # fmt: skip
                reports[source] = {"error": str(exc)}
                continue
            reports[source] = report.to_dict() | {"wall_s": round(time.perf_counter() - started)}
            _progress(f"tune {source}: {report.summary()}")
            lm = load_tuned(Path(folder), args.model, args.precision)
        rows = similarity_out[source]["products"]
        for i, (product, row) in enumerate(zip(chosen["held_out"], rows, strict=True)):
            bare = {**product, "description": ""}
            opts = Options(n=N_VARIANTS, seed=args.seed + 10_000 + i, max_tokens=args.max_tokens)
            result = generate_copy(lm, "product-description", bare, opts)
            best = result["variants"][0] if result["variants"] else None
            model = next((v for v in result["variants"] if v["writer"] == "model"), None)
            real = product["description"]
            row["tuned"] = _pair(best["fields"]["description"] if best else "", real)
            row["tuned_model"] = _pair(model["fields"]["description"], real) if model else None
            row["tuned_text"] = _cut(model["fields"]["description"]) if model else None
            _progress(f"tuned similarity {source} {i + 1}/{len(rows)}")
        similarity_out[source]["summary"] = _similarity_summary(rows)
        del lm
    everything = [row for k, v in similarity_out.items() if k != "all" for row in v["products"]]
    similarity_out["all"] = {"summary": _similarity_summary(everything)}
    return reports


# -- speed: one batched call against a loop ---------------------------------------------
def speed(lm: Any, picked: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from shopmind.content.generate import Options, max_tokens
    from shopmind.content.prompts import asks, messages
    from shopmind.models.llm.local import load_local

    temperature = Options().temperature
    products = [c["tasks"][0] for c in picked.values() if c["tasks"]][: args.speed_products]
    chosen = [a for t, key in SPEED_ASKS for a in asks(t) if a.key == key]
    # the plain baseline: the same model as from_pretrained gives it, in float32
    plain = lm if lm.model.dtype == torch_float32() else load_local(args.model, precision="float32")
    models = {"batched": lm, "loop": lm, "loop_float32": plain}
    ways_all = [w for w in models if w != "loop_float32" or plain is not lm]
    runs: list[dict[str, Any]] = []
    for r in range(args.repeat):
        for p, product in enumerate(products):
            for ask in chosen:
                prompt = messages(ask, product)
                sampling = {"max_tokens": max_tokens(ask, args.max_tokens),
                            "temperature": temperature,
                            "stop": ["\n"] if ask.single_line else None}  # fmt: skip
                seed = args.seed + 1000 * r + p
                turn = (r + p) % len(ways_all)
                for way in ways_all[turn:] + ways_all[:turn]:  # each way first in turn
                    model = models[way]
                    started = time.perf_counter()
                    if way == "batched":
                        out = model.generate(prompt, n=N_VARIANTS, seed=seed, **sampling)
                    else:
                        out = [model.generate(prompt, n=1, seed=seed + i, **sampling)[0]
                               for i in range(N_VARIANTS)]  # fmt: skip
                    seconds = time.perf_counter() - started
                    tokens = sum(c.completion_tokens or 0 for c in out)
                    runs.append({"repeat": r, "product_id": product["id"],
                                 "ask": f"{ask.task}.{ask.key}", "way": way,
                                 "seconds": round(seconds, 3), "tokens": tokens,
                                 "tokens_per_s": round(tokens / seconds, 2)})  # fmt: skip
                _progress(f"speed {r + 1}/{args.repeat} {ask.task}.{ask.key}")
    return {"n": N_VARIANTS, "temperature": temperature, "repeat": args.repeat,
            "dtype": str(lm.model.dtype).removeprefix("torch."),
            "by_ask": _speed_summary(runs), "runs": runs}  # fmt: skip


def torch_float32() -> Any:
    import torch

    return torch.float32


def _speed_summary(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out = {}
    for ask in [*dict.fromkeys(r["ask"] for r in runs), "all"]:
        mine = [r for r in runs if ask in ("all", r["ask"])]
        ways = dict.fromkeys(r["way"] for r in mine)
        median = {w: _median(r["tokens_per_s"] for r in mine if r["way"] == w) for w in ways}
        tokens = {w: _median(r["tokens"] for r in mine if r["way"] == w) for w in median}
        ratios = {
            name: round(median["batched"] / median[base], 2)
            if median.get("batched") and median.get(base) else None
            for name, base in (("ratio", "loop"), ("ratio_vs_float32_loop", "loop_float32"))
        }  # fmt: skip
        out[ask] = {"median_tokens_per_s": median, "median_tokens": tokens, **ratios}
    return out


# -- the run ----------------------------------------------------------------------------
def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _commit() -> str | None:
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                               text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return found.stdout.strip()


def run(args: argparse.Namespace, catalog: Path) -> dict[str, Any]:
    import torch
    import transformers

    from shopmind.models.llm.local import load_local

    picked, notes = {}, []
    for source in args.sources:
        try:
            products = LOADERS[source](catalog)
        except FileNotFoundError:
            notes.append(f"{source}: {SOURCE_FILES[source]} not found under {catalog}; skipped")
            continue
        wanted = max(args.products, args.article_products)
        train = args.tune_products if args.held_out else 0
        picked[source] = pick(products, args.seed, args.held_out, wanted, train)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    lm = load_local(args.model, precision=args.precision)
    load_s = time.perf_counter() - started
    for n in (1, N_VARIANTS):  # warm-up, both batch shapes
        lm.generate([{"role": "user", "content": "Hi"}], n=n, max_tokens=4, temperature=0.5)
    begun = time.perf_counter()
    result = {
        "benchmark": "content",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "model": lm.model_id,
        "dtype": str(lm.model.dtype).removeprefix("torch."),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "markdown")},
        "sources": {
            s: {
                "available": c["available"],
                "held_out": [p["id"] for p in c["held_out"]],
                "tasks": [p["id"] for p in c["tasks"]],
            }
            for s, c in picked.items()
        },
        "notes": notes,
        "speed": speed(lm, picked, args),
        "quality": quality(lm, picked, args),
        "similarity": similarity(lm, picked, args) if args.held_out else {},
    }
    if args.held_out and args.tune_products:
        result["tuning"] = tuned_similarity(picked, result["similarity"], args)
    result["seconds"] = {"load": round(load_s, 2), "run": round(time.perf_counter() - begun, 1)}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "platform": platform.platform(),
        "commit": _commit(),
    }
    return result


# -- tables -----------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _quality_row(name: str, cell: Mapping[str, Any]) -> list[str]:
    return [
        name,
        str(cell["products"]),
        f"{cell['variants']['model']} / {cell['variants']['rules']}",
        _pct(cell["spec_pass"]["model"]),
        _pct(cell["spec_pass"]["rules"]),
        _pct(cell["unsupported_raw"]),
        _pct(cell["unsupported_returned"]),
        _num(cell["coverage"]),
        _num(cell["distinct_2"]),
        _pct(cell["with_model_variant"]),
        _pct(cell["off_task"]),
        _num(cell["median_seconds"], 1),
    ]


QUALITY_HEADER = (
    "task", "products", "variants model / rules", "spec pass (model)", "spec pass (rules)",
    "unsupported: raw answers", "unsupported: returned", "coverage", "distinct-2",
    "≥1 model variant", "off-task answers", "s / product",
)  # fmt: skip


def _inline(value: Any, limit: int = 300) -> str:
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "html"}  # the description again
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def markdown(result: Mapping[str, Any]) -> str:
    m = result["machine"]
    out = [
        f"{result['model']}, {m['threads']} torch thread(s) on {m['cpus']} CPUs, "
        f"n={N_VARIANTS}, {result['date']}; run {result['seconds']['run'] / 60:.0f} min.",
        "",
        "**Quality by task** (all sources)",
        "",
    ]
    cells = result["quality"]["by_task"]
    out += _table(QUALITY_HEADER, (_quality_row(t, c["all"]) for t, c in cells.items()))
    out += ["**Quality by task and source**", ""]
    rows = [_quality_row(f"{t} · {s}", c[s]) for t, c in cells.items() for s in c if s != "all"]
    out += _table(QUALITY_HEADER, rows)
    sim = result.get("similarity") or {}
    if sim:
        out += ["**Similarity to real descriptions** (held-out products, written without "
                "their description; ROUGE-L F1 / word-bigram Jaccard)", ""]  # fmt: skip
        rows = []
        for source, block in sim.items():
            s = block["summary"]
            rows.append([
                source, str(s["products"]), _pct(s["with_model_variant"]),
                f"{_num(s['untuned_rouge_l'])} / {_num(s['untuned_bigram_jaccard'])}",
                f"{_num(s['untuned_model_rouge_l'])} / {_num(s['untuned_model_bigram_jaccard'])}",
                f"{_num(s['facts_writer_rouge_l'])} / {_num(s['facts_writer_bigram_jaccard'])}",
                f"{_num(s.get('tuned_rouge_l'))} / {_num(s.get('tuned_bigram_jaccard'))}",
                f"{_num(s.get('tuned_model_rouge_l'))} / "
                f"{_num(s.get('tuned_model_bigram_jaccard'))}",
            ])  # fmt: skip
        out += _table(("source", "products", "≥1 model variant", "untuned (best returned)",
                       "untuned (best model-written)", "facts writer alone",
                       "tuned (best returned)", "tuned (best model-written)"),
                      rows)  # fmt: skip
    tuning = result.get("tuning") or {}
    if tuning:
        out += ["**Tuning** (`content.tune.tune` per source on its other products; measured "
                "on the tuning's own held-out products: answer loss per token and greedy "
                "ROUGE-L, before → after)", ""]  # fmt: skip
        rows = [
            [source, str(t.get("train", "–")), str(t.get("held_out", "–")),
             str(t.get("steps", "–")), f"{t.get('wall_s', '–')}",
             f"{_num(t.get('held_out_loss_before'), 3)} → {_num(t.get('held_out_loss_after'), 3)}",
             f"{_num(t.get('held_out_rouge_l_before'), 3)} → "
             f"{_num(t.get('held_out_rouge_l_after'), 3)}"]
            if "error" not in t else [source, t["error"], "", "", "", "", ""]
            for source, t in tuning.items()
        ]  # fmt: skip
        out += _table(("source", "trained on", "held out", "steps", "seconds", "loss",
                       "ROUGE-L (greedy)"), rows)  # fmt: skip
    speed_ = result["speed"]
    by_ask = speed_["by_ask"]
    dtype = speed_.get("dtype", "float32")
    out += ["**Speed**: n=3 variants in one batched call against three calls of n=1 on the "
            f"same model ({dtype}), and against three calls of the model in float32 as "
            "`from_pretrained` loads it (medians of "
            f"{speed_['repeat']} runs per ask and product)", ""]  # fmt: skip
    rows = [
        [ask, _num(s["median_tokens"]["batched"], 0), _num(s["median_tokens_per_s"]["batched"], 1),
         _num(s["median_tokens_per_s"]["loop"], 1), f"{_num(s['ratio'])}×",
         _num(s["median_tokens_per_s"].get("loop_float32"), 1),
         f"{_num(s.get('ratio_vs_float32_loop'))}×"]
        for ask, s in by_ask.items()
    ]  # fmt: skip
    out += _table(("ask", "tokens (batched)", f"batched tokens/s ({dtype})",
                   f"loop tokens/s ({dtype})", "ratio", "loop tokens/s (float32)",
                   "ratio to the float32 loop"), rows)  # fmt: skip
    seconds = {t: c["all"]["median_seconds"] for t, c in cells.items()}
    out += ["**Seconds per product** (median wall time of `generate_copy`, n=3)", ""]
    out += _table(("task", "s / product"), ([t, _num(s, 1)] for t, s in seconds.items()))
    out += ["**Real outputs**", ""]
    for task, found in result["quality"]["samples"].items():
        for name in ("best", "worst"):
            if name in found:
                v = found[name]
                where = f"total {v['total']:.2f}, {v['source']}: {_inline(v['product'])}"
                out.append(f"- `{task}`, {name} model-written variant ({where}): "
                           f"{_inline(v['fields'])}")  # fmt: skip
        for reason, d in found["dropped"].items():
            why = "; ".join(_inline(x.get("message") or x.get("text") or x) for x in d["details"])
            out.append(f"- `{task}`, dropped ({reason}, `{d['field']}`, {d['source']}): "
                       f"“{_inline(d['text'])}” — {why or reason}")  # fmt: skip
    out += ["", *(f"note: {n}" for n in result.get("notes", []))]
    return "\n".join(out).rstrip() + "\n"


# -- command line -----------------------------------------------------------------------
def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    from shopmind.content import TASKS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", default=os.environ.get("SHOPMIND_DATA", str(ROOT.parent / "shared" / "data"))
    )
    p.add_argument("--model", default="", help="llm_model (default: the packaged SmolLM2)")
    p.add_argument("--products", type=int, default=1, help="task products per source")
    p.add_argument("--article-products", type=int, default=1, help="article: products in all")
    p.add_argument("--held-out", type=int, default=1, help="held-out products per source")
    p.add_argument("--tasks", default=",".join(TASKS), help="comma list (default: all)")
    p.add_argument("--sources", default=",".join(SOURCES), help="comma list (default: all)")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--repeat", type=int, default=2, help="runs of the speed comparison")
    p.add_argument("--speed-products", type=int, default=1, help="products timed for speed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "float32", "bfloat16"),
        help="the local model's weights (llm_precision)",
    )
    p.add_argument(
        "--tune-products",
        type=int,
        default=40,
        help="products per source to tune on (0: no tuned column)",
    )
    p.add_argument("--tune-epochs", type=float, default=2.0)
    p.add_argument("--max-tokens", type=int, help="cap on every answer's budget (default: none)")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 tasks, short answers")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "content.json"))
    p.add_argument("--markdown", metavar="JSON", help="print a result file's tables as Markdown")
    args = p.parse_args(argv)
    if args.quick:
        args.products, args.article_products, args.held_out = 1, 1, 1
        args.tasks, args.repeat, args.speed_products = "product-title,product-description", 1, 1
        args.max_tokens = args.max_tokens or 96
    args.tasks = [t for t in args.tasks.split(",") if t]
    args.sources = [s for s in args.sources.split(",") if s]
    unknown = [t for t in args.tasks if t not in TASKS] + [
        s for s in args.sources if s not in LOADERS
    ]
    if unknown:
        p.error(f"unknown task or source: {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    args = parse(argv)
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text(encoding="utf-8"))), end="")
        return 0
    catalog = Path(args.data) / "catalog"
    if not catalog.is_dir():
        print(f"skipped: no catalog data at {catalog} (set --data or SHOPMIND_DATA)")
        return 0
    result = run(args, catalog)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown(result), end="")
    print(f"\n(JSON: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
