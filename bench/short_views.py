"""Short views ablation: the transformer trained with and without first-sentence views.

A store's training reviews may all be paragraphs while the reviews it scores include
one-liners ("Five Stars. Kids loved it"). The transformer tier therefore also trains on
each multi-sentence review's first sentence (``with_short_views``). This isolates that
choice: the same reviews, seed, epochs and settings, views on or off, no time budget (so
a busy machine changes the wall time, not the model), no head pass and no prior
correction (the raw model), scored on both held-out splits of the cross-domain table
(``bench/reviews.py --cross-domain``: same splits).

    python bench/short_views.py --sources womens-clothing,amazon2018 --train 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import reviews as cross  # noqa: E402  (the cross-domain splits and metrics)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", default=os.environ.get("SHOPMIND_DATA") or str(ROOT.parent / "shared" / "data")
    )
    p.add_argument("--sources", default="womens-clothing,amazon2018")
    p.add_argument("--train", type=int, default=2000, help="training reviews (before views)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "short-views.json"))
    args = p.parse_args(argv)

    import random

    import torch

    from shopmind.reviews.routing import prepare_texts
    from shopmind.reviews.transformer import TransformerSentiment

    torch.set_num_threads(args.threads)
    defaults = cross.parse(["--cross-domain"])
    data = Path(args.data)
    sets = {name: cross.load(data, name) for name in cross.CROSS}
    splits = {
        name: cross.split(ds, defaults.train, defaults.test, defaults.test_share, defaults.seed)
        for name, ds in sets.items()
    }
    results: dict[str, dict[str, dict]] = {}
    for source in args.sources.split(","):
        sp = splits[source]
        rows = random.Random(args.seed).sample(range(len(sp.train_texts)), args.train)
        texts = [sp.train_texts[i] for i in rows]
        labels = [sp.train_labels[i] for i in rows]
        results[source] = {}
        for views in (False, True):
            name = "short views" if views else "whole reviews only"
            model = TransformerSentiment(
                epochs=args.epochs, max_train_examples=None, time_budget_s=None,
                head_examples=0, refit_head=False, prior_strength=0, threads=args.threads,
                seed=args.seed, short_views=views,
            )  # fmt: skip
            started = time.perf_counter()
            model.fit(texts, labels)
            fit_s = time.perf_counter() - started
            row: dict = {"fit_s": round(fit_s, 1), "examples": model.history_["en"]["examples"]}
            for target, test in splits.items():
                logits = np.asarray(model._logits(prepare_texts(test.test_texts))[0])
                row[target] = cross.scores(test.test_labels, cross._softmax_rows(logits))
            results[source][name] = row
            print(f"trained on {source}, {name}: {row}", flush=True)
            write(args, splits, results)  # after every fit: a long run keeps what it measured
    print()
    head = ("trained on", "tested on", "training", "strict", "binary", "neutral")
    print("{:<16} {:<27} {:<20} {:>7} {:>7} {:>8}".format(*head))
    for source, variants in results.items():
        for target in splits:
            where = f"{target}{' (held out)' if target == source else ''}"
            for name, row in variants.items():
                s = row[target]
                cells = (s["strict_accuracy"], s["binary_accuracy"], s["neutral_share"])
                print(
                    "{:<16} {:<27} {:<20} {:>7.3f} {:>7.3f} {:>8.3f}".format(
                        source, where, name, *cells
                    )
                )
    write(args, splits, results)
    print(f"wrote {args.out}")
    return 0


def write(args: argparse.Namespace, splits: dict, results: dict) -> None:
    out = {
        "settings": vars(args),
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": args.threads},
        "splits": {n: s.how for n, s in splits.items()},
        "results": results,
    }
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
