"""Cost benchmark: what ``POST /v1/reviews/score`` costs on each tier, before and after.

Three tiers, trained here on shared-data reviews (or loaded from ``--cache``): the
lexicon; the linear tier on 300 English and 300 Chinese reviews; the transformer tier,
MiniLM fine-tuned for one epoch on 300 English reviews with the e5 route on 200 Chinese
ones. Torch, e5 and BLAS run on one thread each (``OMP_NUM_THREADS=1``).

(a) Cost per kind of text, in process: the time of ``predict`` per model input (a
    text, or an aspect clause: "Nice.", "很好"), per character of English reviews, of
    Chinese reviews (texts of about one e5 window) and of emoji, on each tier. The
    weights of ``shopmind.reviews.cost`` are the largest ratio on any tier between a
    kind and the same tier's Latin character (a Latin character is 1 unit); the bench
    prints them beside the weights the code uses, and the cost of 256 Women's Clothing
    reviews with aspects (what ``score_max_cost`` should let through).

(b) Requests through the API (``TestClient`` in a child process per code and tier, the
    body encoded beforehand; median of ``--runs``, peak memory = the child's ``VmHWM``):

    - after: the fullest requests the current code allows under ``score_max_cost`` —
      256 English reviews, 256 Chinese reviews, and one Chinese text without punctuation,
      each grown until one more character would cost more than the budget;
    - before: the old largest request, 256 texts of 20,000 characters (85 English, 85
      English without punctuation, 85 English + Chinese, 1 Chinese without punctuation,
      as the first version of this bench), through the code at ``--before`` (``git
      archive``): one request per kind, scaled by the mix. The trained tiers are loaded
      by that code from the old folder layout (hyperparameters it does not know are
      dropped). The Chinese text has ``--before-zh-chars`` characters (default 5,000:
      the code before read that much for sentiment either way; its aspect clauses
      covered all 20,000, so the estimate is a lower bound).

(c) Chinese without punctuation at 1k-20k characters: snownlp's own ``classify`` on the
    whole text and on segments of at most 1,000 characters, and the lexicon tier
    (segments, words by ``zhseg``), in µs per character, best of ``--repeat``.

    python bench/cost.py --cache /tmp/cost-models      # about 10 minutes on two cores
    python bench/cost.py --quick                       # smoke run
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy, torch and e5 start
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import csv
import io
import json
import math
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "1deb0a0226f9948373d7b7aeb0099272430eb1e1"  # the last commit before issue 7
ROUTE = "/v1/reviews/score"
TIERS = ("lexicon", "linear", "transformer")
OLD_TEXTS, OLD_CHARS = 256, 20_000
OLD_MIX = {
    "English": 85,
    "English, no punctuation": 85,
    "English + Chinese": 85,
    "Chinese, no punctuation": 1,
}
SNOWNLP_SIZES = (1_000, 5_000, 20_000)
EMOJI = "😍👍😡💯🔥😭🙏😂😊😞🤮🥰😤👎❤🎉"
_PUNCT = re.compile(r"[^\w\s]")
_NUMBER = re.compile(r"^[\d,.\s/]+$")
Maker = Callable[[int], str]


# --- texts ------------------------------------------------------------------------------


def english_reviews(data: Path) -> list[tuple[str, int]]:
    """Women's Clothing reviews with their stars."""
    path = data / "reviews" / "womens-clothing" / "womens_clothing_reviews.csv.zip"
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8"))
        return [
            (r["Review Text"], int(r["Rating"])) for r in rows if (r["Review Text"] or "").strip()
        ]


def chinese_reviews(data: Path) -> list[tuple[str, int]]:
    """Food-delivery reviews with their 0/1 labels."""
    path = data / "reviews" / "zh-waimai" / "waimai_10k.csv"
    with path.open(encoding="utf-8") as fh:
        return [(r["review"], int(r["label"])) for r in csv.DictReader(fh) if r["review"].strip()]


def unpunctuated(text: str) -> str:
    """Punctuation out; Chinese keeps only its Han characters (one unbroken run)."""
    if sum(unicodedata.name(c, "").startswith("CJK") for c in text) > len(text) / 2:
        return "".join(c for c in text if unicodedata.name(c, "").startswith("CJK UNIFIED"))
    return " ".join(_PUNCT.sub(" ", text).split())


def joined(pool: list[str], n: int, rng: random.Random, sep: str = " ") -> str:
    """Reviews drawn at random and joined until ``n`` characters (cut there)."""
    out, size = [], 0
    while size < n:
        out.append(rng.choice(pool))
        size += len(out[-1]) + len(sep)
    return sep.join(out)[:n]


def kinds(en: list[str], zh: list[str], seed: int) -> dict[str, Maker]:
    """Makers of ``n`` characters of each kind of text."""
    en_bare, zh_bare = [unpunctuated(t) for t in en], [unpunctuated(t) for t in zh]
    rng = random.Random(seed)
    return {
        "English": lambda n: joined(en, n, rng),
        "English, no punctuation": lambda n: joined(en_bare, n, rng),
        "English + Chinese": lambda n: joined([*en, *en, *en, *zh], n, rng),
        "Chinese": lambda n: joined(zh, n, rng, sep="。"),
        "Chinese, no punctuation": lambda n: joined(zh_bare, n, rng, sep=""),
        "emoji": lambda n: "".join(rng.choice(EMOJI) for _ in range(n)),
    }


# --- models -----------------------------------------------------------------------------


def labelled(data: Path, seed: int) -> tuple[list[str], list[int], list[str], list[int]]:
    """300 English reviews (stars → labels) and 300 Chinese ones, drawn at random."""
    from shopmind.reviews.base import stars_to_label

    rng = random.Random(seed)
    en = rng.sample(english_reviews(data), 300)
    zh = rng.sample(chinese_reviews(data), 300)
    return (
        [t for t, _ in en],
        [stars_to_label(s) for _, s in en],
        [t for t, _ in zh],
        [2 * y for _, y in zh],
    )


def train(tier: str, data: Path, seed: int) -> Any:
    en, en_y, zh, zh_y = labelled(data, seed)
    if tier == "linear":
        from shopmind.reviews.linear import LinearSentiment

        return LinearSentiment().fit(en + zh, en_y + zh_y)
    from shopmind.reviews.transformer import TransformerSentiment

    model = TransformerSentiment(
        epochs=1, max_train_examples=300, threads=1, zh_min_examples=100, seed=seed
    )
    return model.fit(en + zh[:200], en_y + zh_y[:200])


def load_models(data: Path, cache: Path, seed: int) -> dict[str, Path]:
    """Folders of the trained tiers (trained once into ``cache``)."""
    from shopmind.reviews.service import _tier_class

    folders = {}
    for tier in TIERS[1:]:
        folder = cache / tier
        if not (folder / "done").exists():
            started = time.perf_counter()
            print(f"training {tier} ...", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            train(tier, data, seed).save(folder)
            (folder / "done").write_text(f"{time.perf_counter() - started:.1f}\n")
        _tier_class(tier).load(folder)  # loads, or raises here rather than in a child
        folders[tier] = folder
    return folders


def open_tier(tier: str, folders: dict[str, Path]) -> Any:
    from shopmind.reviews.service import _tier_class

    return _tier_class(tier)() if tier == "lexicon" else _tier_class(tier).load(folders[tier])


# --- (a) cost per kind ------------------------------------------------------------------


def kind_cases(makers: dict[str, Maker], en: list[str], quick: bool) -> dict[str, list[str]]:
    """Inputs of each kind: many tiny ones (the cost of an input), then longer ones."""
    n = 16 if quick else 64
    mid = [t for t in en if 300 <= len(t) <= 450][: 8 if quick else 32]
    return {
        "input (English)": ["Nice."] * n,
        "input (Chinese)": ["很好"] * n,
        "Latin": mid,
        "Chinese": [makers["Chinese"](600) for _ in range(2 if quick else 4)],
        "emoji": [" ".join(makers["emoji"](100)) for _ in range(4 if quick else 16)],
    }


def time_cases(model: Any, cases: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Seconds of one ``predict`` of each case: the cases interleaved ``repeat`` times (a
    busy spell on the shared cores hits them alike), best kept; each timing spans as many
    calls as take 0.3 s, so a fast tier is timed over many calls."""
    calls = {}
    for name, texts in cases.items():
        started = time.perf_counter()
        model.predict(texts)
        calls[name] = max(1, math.ceil(0.3 / max(time.perf_counter() - started, 1e-6)))
    best = dict.fromkeys(cases, math.inf)
    for _ in range(repeat):
        for name, texts in cases.items():
            started = time.perf_counter()
            for _ in range(calls[name]):
                model.predict(texts)
            best[name] = min(best[name], (time.perf_counter() - started) / calls[name])
    return best


def per_kind(models: dict[str, Any], cases: dict[str, list[str]], repeat: int) -> dict[str, Any]:
    """µs per input and per character of each kind, per tier, and their ratios."""
    from shopmind.reviews.cost import _SYMBOL, _WIDE

    rows = {}
    for tier, model in models.items():
        model.predict(["warm up", "预热一下"])
        took = time_cases(model, cases, repeat)
        en_call = took["input (English)"] / len(cases["input (English)"])
        zh_call = took["input (Chinese)"] / len(cases["input (Chinese)"])
        latin = per_char(cases["Latin"], took["Latin"], None, en_call)
        us = {
            "input_en": en_call * 1e6,
            "input_zh": zh_call * 1e6,
            "latin_char": latin * 1e6,
            "wide_char": per_char(cases["Chinese"], took["Chinese"], _WIDE, zh_call) * 1e6,
            "symbol_char": per_char(cases["emoji"], took["emoji"], _SYMBOL, en_call) * 1e6,
        }
        rows[tier] = {
            "seconds": {k: round(v, 5) for k, v in took.items()},
            "us": {k: round(v, 1) for k, v in us.items()},
            "ratio_to_latin": {k: round(v / us["latin_char"], 1) for k, v in us.items()},
        }
        print(f"(a) {tier}: {rows[tier]['us']} µs", flush=True)
    return rows


def per_char(
    texts: list[str], seconds: float, kind: re.Pattern[str] | None, per_input: float
) -> float:
    """Seconds per character of ``kind`` (all characters when None), inputs' cost off."""
    chars = sum(len(kind.findall(t)) if kind else len(t) for t in texts)
    return max(seconds - per_input * len(texts), 0.0) / chars


def derived_weights(rows: dict[str, Any]) -> dict[str, int]:
    """The largest ratio to a Latin character on any tier, rounded up."""
    ratios = [r["ratio_to_latin"] for r in rows.values()]
    return {
        "latin": 1,
        "wide": math.ceil(max(r["wide_char"] for r in ratios)),
        "symbol": math.ceil(max(r["symbol_char"] for r in ratios)),
        "call": math.ceil(max(r["input_en"] for r in ratios)),
        "zh_call": math.ceil(max(r["input_zh"] for r in ratios)),
    }


def typical_request(en: list[str], draws: int = 20, seed: int = 0) -> dict[str, Any]:
    """Cost units of 256 Women's Clothing reviews with aspects, over random draws."""
    from shopmind.reviews.aspects import AspectConfig
    from shopmind.reviews.cost import scoring_cost

    rng = random.Random(seed)
    costs = sorted(
        scoring_cost(rng.sample(en, OLD_TEXTS), AspectConfig()).units for _ in range(draws)
    )
    chars = statistics.mean(map(len, en))
    return {
        "draws": draws,
        "median": costs[draws // 2],
        "max": costs[-1],
        "mean_review_chars": round(chars),
    }


# --- (b) requests -----------------------------------------------------------------------


def fullest(make: Maker, n: int, budget: int, cap: int = OLD_CHARS) -> list[str]:
    """``n`` texts of one kind, each as long as the budget allows (aspects counted)."""
    from shopmind.reviews.aspects import AspectConfig
    from shopmind.reviews.cost import scoring_cost

    config = AspectConfig()
    pool = [make(cap) for _ in range(n)]

    def cost(length: int) -> int:
        return scoring_cost([t[:length] for t in pool], config).units

    lo, hi = 1, cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid - 1)
    return [t[:lo] for t in pool]


def body(texts: list[str], tier: str) -> bytes:
    return json.dumps({"texts": texts, "model": tier}, ensure_ascii=False).encode()


def peak_mb() -> float:
    """This process's peak RSS (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def accept_new_params() -> None:
    """In the code before: drop hyperparameters its tiers do not know (saved by the new)."""
    import inspect

    from shopmind.reviews.linear import LinearSentiment
    from shopmind.reviews.transformer import TransformerSentiment

    for cls in (LinearSentiment, TransformerSentiment):
        init = cls.__init__
        known = set(inspect.signature(init).parameters)

        def patched(self: Any, *args: Any, _init: Any = init, _known: Any = known, **kw: Any):
            _init(self, *args, **{k: v for k, v in kw.items() if k in _known})

        cls.__init__ = patched


def child(spec_path: str) -> dict[str, Any]:
    """Serve the cases of ``spec`` in this process: each request timed, then the peak."""
    from fastapi.testclient import TestClient

    import shopmind
    from shopmind.api import create_app
    from shopmind.config import load_settings
    from shopmind.store import Store
    from shopmind.store.apikeys import create_api_key

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    if spec["before"]:
        accept_new_params()
    store = Store.open(spec["workspace"])
    store.upgrade()
    settings = load_settings(spec["workspace"], rate_limit_per_minute=0, model_wait_seconds=60)
    headers = {
        "Authorization": f"Bearer {create_api_key(store, 'bench')}",
        "Content-Type": "application/json",
    }
    out = []
    with TestClient(create_app(settings, store)) as client:
        warm = body(["Lovely fabric.", "质量很好，很满意"], spec["tier"])
        r = client.post(ROUTE, content=warm, headers=headers)
        assert r.status_code == 200, r.text[:500]
        baseline = peak_mb()
        for case in spec["cases"]:
            content = Path(case["body"]).read_bytes()
            seconds = []
            for _ in range(case["runs"]):
                started = time.perf_counter()
                r = client.post(ROUTE, content=content, headers=headers)
                seconds.append(round(time.perf_counter() - started, 3))
                assert r.status_code == 200, f"{case['label']}: {r.status_code}: {r.text[:500]}"
            truncated = sum(x["truncated"] for x in r.json()["results"])
            out.append({"label": case["label"], "seconds": seconds, "truncated": truncated})
    store.dispose()
    return {"code": shopmind.__file__, "baseline_mb": baseline, "peak_mb": peak_mb(), "cases": out}


def run_child(source: Path, spec: dict[str, Any], scratch: Path) -> dict[str, Any]:
    path = scratch / f"spec-{spec['tier']}-{'before' if spec['before'] else 'after'}.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    cmd = [sys.executable, __file__, "--child", str(path)]
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=source)
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["code"].startswith(str(source)):
        raise RuntimeError(f"child imported {result['code']}, not the code in {source}")
    return result


def snapshot_before(commit: str, scratch: Path) -> Path:
    """``src/shopmind`` as of ``commit`` (``git archive``, read-only for the repository)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "src/shopmind"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    dest = scratch / "before"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def snapshot_after(scratch: Path) -> Path:
    dest = scratch / "after" / "src"
    shutil.copytree(
        ROOT / "src" / "shopmind", dest / "shopmind", ignore=shutil.ignore_patterns("__pycache__")
    )
    return dest


def workspace(scratch: Path, name: str, tier: str, folder: Path | None, before: bool) -> Path:
    """A workspace holding ``tier``: as a registry version (after), in place (before)."""
    ws = scratch / f"ws-{name}"
    ws.mkdir()
    if folder is None:
        return ws
    if before:
        shutil.copytree(folder, ws / "models" / "reviews" / tier, ignore=_done)
    else:
        from shopmind.reviews.service import _tier_class, save_model

        save_model(ws / "models", tier, _tier_class(tier).load(folder))
    return ws


def _done(_dir: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "done"]


def after_cases(makers: dict[str, Maker], en: list[str], budget: int) -> dict[str, list[str]]:
    rng = random.Random(1)
    return {
        "256 English reviews": fullest(lambda n: joined(en, n, rng), OLD_TEXTS, budget),
        "256 Chinese reviews": fullest(makers["Chinese"], OLD_TEXTS, budget),
        "1 Chinese text, no punctuation": fullest(makers["Chinese, no punctuation"], 1, budget),
    }


def before_cases(makers: dict[str, Maker], zh_chars: int) -> dict[str, list[str]]:
    return {
        kind: [makers[kind](zh_chars if kind.startswith("Chinese") else OLD_CHARS)]
        for kind in OLD_MIX
    }


def tier_requests(
    tier: str,
    folder: Path | None,
    cases: dict[str, dict[str, list[str]]],
    sources: dict[str, Path],
    runs: dict[str, int],
    scratch: Path,
) -> dict[str, Any]:
    """The after and before cases of one tier, each in a child process of its code."""
    out: dict[str, Any] = {}
    for when in ("after", "before"):
        ws = workspace(scratch, f"{tier}-{when}", tier, folder, when == "before")
        spec_cases = []
        for label, texts in cases[when].items():
            path = scratch / f"body-{tier}-{when}-{len(spec_cases)}.json"
            path.write_bytes(body(texts, tier))
            spec_cases.append({"label": label, "body": str(path), "runs": runs[when]})
        print(f"(b) {tier}, {when}: {len(spec_cases)} cases ...", flush=True)
        spec = {"workspace": str(ws), "tier": tier, "before": when == "before"}
        result = run_child(sources[when], {**spec, "cases": spec_cases}, scratch)
        rows = []
        for case, texts in zip(result["cases"], cases[when].values(), strict=True):
            rows.append(
                {
                    "case": case["label"],
                    "texts": len(texts),
                    "characters": sum(map(len, texts)),
                    "runs": case["seconds"],
                    "seconds": round(statistics.median(case["seconds"]), 3),
                    "truncated": case["truncated"],
                }
            )
            print(f"    {case['label']}: {rows[-1]['seconds']} s", flush=True)
        out[when] = {
            "cases": rows,
            "baseline_mb": result["baseline_mb"],
            "peak_mb": result["peak_mb"],
        }
    return out


def summarise(tier_result: dict[str, Any], budget: int) -> dict[str, Any]:
    """The old largest request (the mix, scaled) against the slowest allowed one."""
    per_kind = {r["case"]: r["seconds"] for r in tier_result["before"]["cases"]}
    old = sum(OLD_MIX[kind] * per_kind[kind] for kind in OLD_MIX)
    worst = max(tier_result["after"]["cases"], key=lambda r: r["seconds"])
    return {
        "before_estimate_s": round(old, 1),
        "worst_after": worst["case"],
        "worst_after_s": worst["seconds"],
        "time_ratio": round(old / worst["seconds"], 1),
        "budget": budget,
    }


# --- (c) snownlp ------------------------------------------------------------------------


def snownlp_scaling(make: Maker, sizes: Sequence[int], repeat: int) -> list[dict[str, Any]]:
    """snownlp's classify on the whole text, on its segments, and the lexicon tier; the
    best of ``repeat`` interleaved runs of each."""
    from snownlp import sentiment

    from shopmind.models.segments import SEGMENT_CHARS, split_segments
    from shopmind.reviews.lexicon import LexiconSentiment

    tier = LexiconSentiment(max_chars=max(sizes))
    sentiment.classify("预热")
    cases = {
        "direct": lambda text: sentiment.classify(text),
        "segmented": lambda text: [
            sentiment.classify(p) for p in split_segments(text, SEGMENT_CHARS)
        ],
        "tier": lambda text: tier.polarity([text]),
    }
    rows = []
    for n in sizes:
        text = make(n)
        runs: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, run in cases.items():
                started = time.perf_counter()
                run(text)
                runs[name].append(round(time.perf_counter() - started, 4))
        row: dict[str, Any] = {"characters": n, "runs": runs}
        for name, took in runs.items():
            row[f"{name}_s"] = round(min(took), 3)
            row[f"{name}_us_per_char"] = round(min(took) / n * 1e6)
        rows.append(row)
        print(f"(c) snownlp {n:,}: {[row[f'{c}_s'] for c in cases]} s", flush=True)
    return rows


# --- report -----------------------------------------------------------------------------


def tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    kinds_ = result["per_kind"]
    keys = ("input_en", "input_zh", "latin_char", "wide_char", "symbol_char")
    names = ("English input", "Chinese input", "Latin char", "Han char", "emoji")
    a_rows = [[tier] + [f"{row['us'][k]:,.1f}" for k in keys] for tier, row in kinds_.items()]
    r_rows = [
        [tier] + [f"{row['ratio_to_latin'][k]:,.1f}" for k in keys] for tier, row in kinds_.items()
    ]
    w = result["weights"]
    w_rows = [
        ["measured (largest ratio, rounded up)"] + [str(w["derived"][k]) for k in _WKEYS],
        ["shopmind.reviews.cost.WEIGHTS"] + [str(w["code"][k]) for k in _WKEYS],
    ]
    b_rows, s_rows = [], []
    for tier, res in result["requests"].items():
        for when in ("before", "after"):
            for r in res[when]["cases"]:
                b_rows.append(
                    [
                        tier,
                        when,
                        r["case"],
                        str(r["texts"]),
                        f"{r['characters']:,}",
                        f"{r['seconds']:.2f}",
                    ]
                )
        peak = f"{res['before']['peak_mb']:,.0f} / {res['after']['peak_mb']:,.0f}"
        s = res["summary"]
        s_rows.append(
            [
                tier,
                f"{s['before_estimate_s']:,.1f}",
                s["worst_after"],
                f"{s['worst_after_s']:.2f}",
                f"{s['time_ratio']:,}",
                peak,
            ]
        )
    snow = [
        [f"{r['characters']:,}"]
        + [f"{r[f'{c}_s']:.2f}" for c in ("direct", "segmented", "tier")]
        + [f"{r[f'{c}_us_per_char']:,}" for c in ("direct", "segmented", "tier")]
        for r in result["snownlp"]
    ]
    typical = result["typical"]
    return [
        ("(a) µs per model input and per character, predict, one thread", ["tier", *names], a_rows),
        ("(a) the same as multiples of the tier's Latin character", ["tier", *names], r_rows),
        (
            "(a) cost weights (units; a Latin character is 1)",
            ["weights", "Latin", "Han/kana/Hangul", "emoji", "English input", "Chinese input"],
            w_rows,
        ),
        (
            f"(a) cost of 256 Women's Clothing reviews with aspects ({typical['draws']} draws)",
            ["median units", "largest units", "mean review characters", "score_max_cost"],
            [
                [
                    f"{typical['median']:,}",
                    f"{typical['max']:,}",
                    f"{typical['mean_review_chars']:,}",
                    f"{result['budget']:,}",
                ]
            ],
        ),
        (
            f"(b) {ROUTE} with aspects (median of runs; before: one text of each kind)",
            ["tier", "code", "case", "texts", "characters", "s"],
            b_rows,
        ),
        (
            "(b) the old largest request (256 x 20,000, mix scaled) against the slowest now",
            [
                "tier",
                "before s (estimate)",
                "slowest allowed now",
                "s",
                "ratio",
                "peak MB before / after",
            ],
            s_rows,
        ),
        (
            "(c) Chinese without punctuation: snownlp's classify on the whole text (direct), on "
            "segments of 1,000, and the lexicon tier (segments + zhseg); best of "
            f"{result['settings']['repeat']}",
            [
                "characters",
                "direct s",
                "segmented s",
                "tier s",
                "direct µs/char",
                "segmented µs/char",
                "tier µs/char",
            ],
            snow,
        ),
    ]


_WKEYS = ("latin", "wide", "symbol", "call", "zh_call")


def show(result: dict[str, Any]) -> None:
    for title, header, rows in tables(result):
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print(f"\n{title}")
        for row in [header, *rows]:
            cells = [
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            print("  ".join(cells))
    for note in result["notes"]:
        print(f"note: {note}")


def markdown(result: dict[str, Any]) -> str:
    out = []
    for title, header, rows in tables(result):
        out += [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        numeric = [all(_NUMBER.match(row[i]) for row in rows) for i in range(len(header))]
        out.append("|" + "|".join("--:" if n else "---" for n in numeric) + "|")
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", default=os.environ.get("SHOPMIND_DATA", str(ROOT.parent / "shared" / "data"))
    )
    p.add_argument("--before", default=BEFORE, help="commit before (default: %(default).12s)")
    p.add_argument("--cache", help="folder for the trained models (kept between runs)")
    p.add_argument("--runs", type=int, default=3, help="requests per case after (lexicon, linear)")
    p.add_argument("--transformer-runs", type=int, default=1, help="the same, transformer")
    p.add_argument("--before-zh-chars", type=int, default=5_000)
    p.add_argument("--tiers", default=",".join(TIERS))
    p.add_argument("--sizes", default=",".join(map(str, SNOWNLP_SIZES)))
    p.add_argument("--repeat", type=int, default=2, help="runs of (a) and (c); best kept")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="fewer texts, one run each")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "cost.json"))
    p.add_argument("--markdown", metavar="JSON", help="print a result file's tables as Markdown")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.transformer_runs, args.repeat, args.sizes = 1, 1, 1, "1000,2000"
    args.tiers = [t for t in args.tiers.split(",") if t]
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    return args


def measure(opts: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from shopmind.config import Settings
    from shopmind.reviews.cost import WEIGHTS

    data = Path(opts.data)
    en = [t for t, _ in english_reviews(data)]
    zh = [t for t, _ in chinese_reviews(data)]
    makers = kinds(en, zh, opts.seed)
    cache = Path(opts.cache) if opts.cache else scratch / "models"
    folders = load_models(data, cache, opts.seed)
    models = {tier: open_tier(tier, folders) for tier in opts.tiers}
    rows = per_kind(models, kind_cases(makers, en, opts.quick), opts.repeat)
    del models
    budget = Settings().score_max_cost
    sources = {"before": snapshot_before(opts.before, scratch), "after": snapshot_after(scratch)}
    cases = {
        "after": after_cases(makers, en, budget),
        "before": before_cases(makers, opts.before_zh_chars),
    }
    requests = {}
    for tier in opts.tiers:
        runs = opts.transformer_runs if tier == "transformer" else opts.runs
        res = tier_requests(
            tier, folders.get(tier), cases, sources, {"after": runs, "before": 1}, scratch
        )
        res["summary"] = summarise(res, budget)
        requests[tier] = res
    return {
        "budget": budget,
        "per_kind": rows,
        "weights": {"derived": derived_weights(rows), "code": WEIGHTS.to_dict()},
        "typical": typical_request(en),
        "requests": requests,
        "snownlp": snownlp_scaling(makers["Chinese, no punctuation"], opts.sizes, opts.repeat),
        "trained_in_s": {
            t: float((f / "done").read_text()) for t, f in folders.items() if (f / "done").exists()
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse(argv)
    if opts.child:
        print(json.dumps(child(opts.child)))
        return
    if opts.markdown:
        print(markdown(json.loads(Path(opts.markdown).read_text(encoding="utf-8"))))
        return
    sys.path.insert(0, str(ROOT / "src"))
    started = datetime.now(UTC)
    scratch = Path(tempfile.mkdtemp(prefix="shopmind-bench-cost-"))
    load = os.getloadavg()
    try:
        result = {
            "benchmark": "cost",
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/cost.py " + " ".join(sys.argv[1:]),
            "before": opts.before,
            "settings": {
                "runs": opts.runs,
                "transformer_runs": opts.transformer_runs,
                "repeat": opts.repeat,
                "before_zh_chars": opts.before_zh_chars,
                "threads": 1,
            },
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in load]},
            **measure(opts, scratch),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["minutes"] = round((datetime.now(UTC) - started).total_seconds() / 60, 1)
    result["notes"] = NOTES
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    show(result)
    print(f"wrote {out}")


NOTES = [
    "before: the code at --before, which took up to 256 x 20,000 characters; the code "
    "after answers that request 413 at once",
    "before: one request per kind of text, scaled by the old bench's mix (85, 85, 85, 1); "
    "the Chinese text had --before-zh-chars characters, so its aspect clauses covered less "
    "than a 20,000-character text: the estimate is a lower bound",
    "two shared cores: other work ran beside this benchmark (load averages in the JSON)",
]


if __name__ == "__main__":
    main()
