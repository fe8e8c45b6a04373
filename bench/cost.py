"""Cost benchmark: the worst request ``POST /v1/reviews/score`` allows, before and after.

(a) Requests, through the API in process (``TestClient``, body encoded beforehand, the
    lexicon tier with aspects, the default when nothing is trained):

    - before: the largest request the code before issue 7 accepted, 256 texts of 20,000
      characters (English with and without punctuation, English mixed with Chinese,
      Chinese without punctuation), through that code (``git archive`` of ``--before``);
    - after: the worst request the current code allows, ``score_max_chars`` characters of
      each kind (one text, or 256 short ones), through the current code.

    Wall time is the median of ``--runs`` requests; peak memory is the ``VmHWM`` of the
    child process that served them (its baseline, after a warm-up request, beside it).

(b) Chinese without punctuation at 1k-20k characters: snownlp's own ``classify`` on the
    whole text, the same on segments of at most 1,000 characters, and the lexicon tier
    (segments, words by ``zhseg``), in microseconds per character (flat when linear),
    best of ``--repeat`` interleaved runs.

    python bench/cost.py                 # a few minutes on two cores
    python bench/cost.py --quick         # smoke run: smaller old request, one run each
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "1deb0a0226f9948373d7b7aeb0099272430eb1e1"  # the last commit before issue 7
ROUTE = "/v1/reviews/score"
OLD_TEXTS, OLD_CHARS = 256, 20_000
SNOWNLP_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000)
_PUNCT = re.compile(r"[^\w\s]")


# --- texts ------------------------------------------------------------------------------


def english_reviews(data: Path) -> list[str]:
    path = data / "reviews" / "womens-clothing" / "womens_clothing_reviews.csv.zip"
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        rows = csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8"))
        return [r["Review Text"] for r in rows if (r.get("Review Text") or "").strip()]


def chinese_reviews(data: Path) -> list[str]:
    path = data / "reviews" / "zh-waimai" / "waimai_10k.csv"
    with path.open(encoding="utf-8") as fh:
        return [r["review"] for r in csv.DictReader(fh) if r["review"].strip()]


def unpunctuated(text: str) -> str:
    """Punctuation out; Chinese keeps only its Han characters (no spaces, digits or Latin
    letters, which would end a run of the word segmenter: one unbroken run)."""
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


def kinds(data: Path, seed: int) -> dict[str, Any]:
    """Makers of ``n`` characters of each kind of text."""
    en, zh = english_reviews(data), chinese_reviews(data)
    en_bare, zh_bare = [unpunctuated(t) for t in en], [unpunctuated(t) for t in zh]
    rng = random.Random(seed)

    def mixed(n: int) -> str:  # English reviews with a Chinese one every few: read as English
        return joined([*en, *en, *en, *zh], n, rng)

    return {
        "English": lambda n: joined(en, n, rng),
        "English, no punctuation": lambda n: joined(en_bare, n, rng),
        "English + Chinese": mixed,
        "Chinese, no punctuation": lambda n: joined(zh_bare, n, rng, sep=""),
    }


def old_request(makers: dict[str, Any], mix: Sequence[int], chars: int) -> list[str]:
    """``mix[i]`` texts of kind ``i`` (in ``kinds`` order), ``chars`` characters each."""
    return [
        make(chars) for make, count in zip(makers.values(), mix, strict=True) for _ in range(count)
    ]


def body(texts: list[str]) -> bytes:
    return json.dumps({"texts": texts, "model": "lexicon"}, ensure_ascii=False).encode()


# --- children ---------------------------------------------------------------------------


def peak_mb() -> float:
    """This process's peak RSS (``VmHWM``: its own program, not the parent's image)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(body_path: str, runs: int) -> dict[str, Any]:
    """Serve ``runs`` copies of one request in this process; time each, then the peak."""
    from fastapi.testclient import TestClient

    import shopmind
    from shopmind.api import create_app
    from shopmind.config import load_settings
    from shopmind.store import Store
    from shopmind.store.apikeys import create_api_key

    workspace = tempfile.mkdtemp(prefix="shopmind-cost-")
    store = Store.open(workspace)
    store.upgrade()
    headers = {
        "Authorization": f"Bearer {create_api_key(store, 'bench')}",
        "Content-Type": "application/json",
    }
    content = Path(body_path).read_bytes()
    seconds = []
    with TestClient(create_app(load_settings(workspace), store)) as client:
        warm = client.post(
            ROUTE, content=body(["Lovely fabric.", "质量很好，很满意"]), headers=headers
        )
        assert warm.status_code == 200, warm.text[:500]
        baseline = peak_mb()
        for _ in range(runs):
            started = time.perf_counter()
            r = client.post(ROUTE, content=content, headers=headers)
            seconds.append(time.perf_counter() - started)
            assert r.status_code == 200, f"{r.status_code}: {r.text[:500]}"
    store.dispose()
    shutil.rmtree(workspace, ignore_errors=True)
    return {
        "code": shopmind.__file__,
        "seconds": [round(s, 3) for s in seconds],
        "baseline_mb": baseline,
        "peak_mb": peak_mb(),
    }


def run_child(source: Path, body_path: Path, runs: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(body_path), "--runs", str(runs)]
    env = {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "2"}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=source)
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["code"].startswith(str(source)):
        raise RuntimeError(f"child imported {result['code']}, not the snapshot in {source}")
    return result


# --- sources ----------------------------------------------------------------------------


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


# --- cases ------------------------------------------------------------------------------


def request_case(
    label: str, source: Path, texts: list[str], runs: int, scratch: Path
) -> dict[str, Any]:
    path = scratch / f"body-{abs(hash(label))}.json"
    path.write_bytes(body(texts))
    print(f"{label}: {len(texts)} texts, {sum(map(len, texts)):,} characters ...", flush=True)
    out = run_child(source, path, runs)
    return {
        "case": label,
        "texts": len(texts),
        "characters": sum(map(len, texts)),
        "body_bytes": path.stat().st_size,
        "runs": out["seconds"],
        "seconds": round(statistics.median(out["seconds"]), 3),
        "baseline_mb": out["baseline_mb"],
        "peak_mb": out["peak_mb"],
    }


def requests(opts: argparse.Namespace, makers: dict[str, Any], scratch: Path) -> dict[str, Any]:
    before, after = snapshot_before(opts.before, scratch), snapshot_after(scratch)
    sys.path.insert(0, str(after))
    from shopmind.config import Settings

    budget = Settings().score_max_chars
    mix = ", ".join(f"{n} {name}" for name, n in zip(makers, opts.old_mix, strict=True))
    old = request_case(
        f"before: {sum(opts.old_mix)} x {opts.old_chars:,} ({mix})",
        before,
        old_request(makers, opts.old_mix, opts.old_chars),
        opts.old_runs,
        scratch,
    )
    new = []
    for name, make in makers.items():
        new.append(
            request_case(
                f"after: 1 x {budget:,}, {name}", after, [make(budget)], opts.runs, scratch
            )
        )
    per = budget // OLD_TEXTS
    many = [makers["Chinese, no punctuation"](per) for _ in range(OLD_TEXTS)]
    new.append(
        request_case(
            f"after: {OLD_TEXTS} x {per}, Chinese, no punctuation", after, many, opts.runs, scratch
        )
    )
    worst = max(new, key=lambda r: r["seconds"])
    return {
        "score_max_chars": budget,
        "before": old,
        "after": new,
        "worst_after": worst["case"],
        "time_ratio": round(old["seconds"] / worst["seconds"], 1),
        "peak_ratio": round(old["peak_mb"] / worst["peak_mb"], 2),
        "peak_above_baseline_ratio": round(
            (old["peak_mb"] - old["baseline_mb"])
            / max(1.0, worst["peak_mb"] - worst["baseline_mb"]),
            1,
        ),
    }


def snownlp_scaling(
    makers: dict[str, Any], sizes: Sequence[int], repeat: int
) -> list[dict[str, Any]]:
    """snownlp's classify on the whole text, on its segments, and the lexicon tier; the
    best of ``repeat`` runs of each (the run least slowed by other work on the cores)."""
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
        text = makers["Chinese, no punctuation"](n)
        runs: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):  # the cases interleaved, so a busy spell hits all alike
            for name, run in cases.items():
                started = time.perf_counter()
                run(text)
                runs[name].append(time.perf_counter() - started)
        row: dict[str, Any] = {"characters": n, "runs": runs}
        for name, took in runs.items():
            row[f"{name}_s"] = round(min(took), 3)
            row[f"{name}_us_per_char"] = round(min(took) / n * 1e6)
        rows.append(row)
        print(f"snownlp {n:,}: {[row[f'{c}_s'] for c in cases]} s", flush=True)
    return rows


# --- report -----------------------------------------------------------------------------


def tables(result: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    req = result["requests"]
    rows = [
        [
            r["case"],
            f"{r['characters']:,}",
            f"{r['seconds']:.2f}",
            f"{r['peak_mb']:,.0f}",
            f"{r['peak_mb'] - r['baseline_mb']:,.0f}",
        ]
        for r in [req["before"], *req["after"]]
    ]
    ratios = [
        ["wall time", f"{req['time_ratio']:,}"],
        ["peak memory (VmHWM)", f"{req['peak_ratio']:,}"],
        ["peak above the warmed-up baseline", f"{req['peak_above_baseline_ratio']:,}"],
    ]
    snow = [
        [f"{r['characters']:,}"]
        + [f"{r[f'{case}_s']:.2f}" for case in ("direct", "segmented", "tier")]
        + [f"{r[f'{case}_us_per_char']:,}" for case in ("direct", "segmented", "tier")]
        for r in result["snownlp"]
    ]
    return [
        (
            f"(a) {ROUTE}, lexicon with aspects (median of runs; peak = VmHWM of the child)",
            ["case", "characters", "s", "peak MB", "above baseline MB"],
            rows,
        ),
        (
            f"(a) ratios, before / the slowest case after ({req['worst_after'][7:]})",
            ["case", "ratio"],
            ratios,
        ),
        (
            "(b) Chinese without punctuation: snownlp's classify on the whole text (direct), "
            "on segments of 1,000 (segmented), and the lexicon tier (segments + zhseg); "
            f"best of {result['settings']['repeat']}",
            [
                *("characters", "direct s", "segmented s", "tier s"),
                *("direct µs/char", "segmented µs/char", "tier µs/char"),
            ],
            snow,
        ),
    ]


def show(result: dict[str, Any]) -> None:
    for title, header, rows in tables(result):
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print(f"\n{title}")
        print(
            "  ".join(
                h.ljust(w) if i == 0 else h.rjust(w)
                for i, (h, w) in enumerate(zip(header, widths, strict=True))
            )
        )
        for row in rows:
            print(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    for note in result["notes"]:
        print(f"note: {note}")


def markdown(result: dict[str, Any]) -> str:
    out = []
    for title, header, rows in tables(result):
        out += [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        out.append("|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|")
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", default=os.environ.get("SHOPMIND_DATA", str(ROOT.parent / "shared" / "data"))
    )
    p.add_argument(
        "--before", default=BEFORE, help="commit of the code before (default: %(default).12s)"
    )
    p.add_argument("--runs", type=int, default=5, help="requests per case after")
    p.add_argument("--old-runs", type=int, default=1, help="requests of the old largest one")
    p.add_argument(
        "--old-mix",
        default="85,85,85,1",
        help="texts of each kind in the old request: English, English without punctuation, "
        "English + Chinese, Chinese without punctuation (each of those is slow before)",
    )
    p.add_argument("--old-chars", type=int, default=OLD_CHARS)
    p.add_argument("--sizes", default=",".join(map(str, SNOWNLP_SIZES)))
    p.add_argument("--repeat", type=int, default=3, help="runs per size in (b); best kept")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="16 old texts, one run each, small sizes")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "cost.json"))
    p.add_argument("--markdown", metavar="JSON", help="print a result file's tables as Markdown")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.old_mix, args.runs, args.sizes, args.repeat = "5,5,5,1", 1, "1000,2000", 1
    args.old_mix = [int(n) for n in str(args.old_mix).split(",")]
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse(argv)
    if opts.child:
        print(json.dumps(child(opts.child, opts.runs)))
        return
    if opts.markdown:
        print(markdown(json.loads(Path(opts.markdown).read_text(encoding="utf-8"))))
        return
    started = datetime.now(UTC)
    makers = kinds(Path(opts.data), opts.seed)
    scratch = Path(tempfile.mkdtemp(prefix="shopmind-bench-cost-"))
    try:
        load = os.getloadavg()
        result = {
            "benchmark": "cost",
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/cost.py " + " ".join(sys.argv[1:]),
            "before": opts.before,
            "settings": {"runs": opts.runs, "old_runs": opts.old_runs, "repeat": opts.repeat},
            "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in load]},
            "requests": requests(opts, makers, scratch),
            "snownlp": snownlp_scaling(makers, opts.sizes, opts.repeat),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["minutes"] = round((datetime.now(UTC) - started).total_seconds() / 60, 1)
    result["notes"] = [
        "before: the code at --before, which took up to 256 x 20,000 characters; the code "
        "after answers such a request 413 at once",
        "before: only one text of Chinese without punctuation, to keep the run to minutes: "
        "the code before read its first 5,000 characters with snownlp twice, and its aspect "
        "units again ((b) has snownlp's cost per character); more would only make the ratio "
        "larger",
        "two shared cores: other work ran beside this benchmark (load averages in the JSON)",
    ]
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    show(result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
