"""Tokens/s of the local language model: n variants in one batch against one at a time.

The same prompt, sampling settings and seeds both ways, on the packaged
SmolLM2-135M-Instruct (or ``--model``):

- **batched**: ``LocalLanguageModel.generate(n=3)``, one ``model.generate`` call with
  ``num_return_sequences=3`` (what the content studio does);
- **one at a time**: three ``generate(n=1)`` calls, one after another (a plain loop).

Tokens are those generated (``completion_tokens``, up to the end of each variant); the
two ways alternate which runs first, ``--repeat`` times, and the table shows medians::

    .venv/bin/python bench/llm_speed.py                      # writes bench/results/llm-speed.json
    .venv/bin/python bench/llm_speed.py --threads 2 --max-tokens 128 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

PROMPT = [
    {"role": "system", "content": "You write product descriptions for an online clothing store."},
    {
        "role": "user",
        "content": "Write a product description for a men's linen shirt: 100% linen, "
        "relaxed fit, mother-of-pearl buttons, machine washable, colour sand.",
    },
]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from shopmind.models.llm.local import load_local

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    lm = load_local(args.model)
    load_s = time.perf_counter() - started
    lm.generate(PROMPT, n=1, max_tokens=4, temperature=0)  # warm-up
    sampling = {"max_tokens": args.max_tokens, "temperature": args.temperature}
    runs: list[dict[str, Any]] = []
    for r in range(args.repeat):
        order = ["batched", "one_at_a_time"] if r % 2 == 0 else ["one_at_a_time", "batched"]
        for way in order:
            seed = 1000 + r
            started = time.perf_counter()
            if way == "batched":
                out = lm.generate(PROMPT, n=args.n, seed=seed, **sampling)
            else:
                out = [lm.generate(PROMPT, seed=seed + i, **sampling)[0] for i in range(args.n)]
            seconds = time.perf_counter() - started
            tokens = sum(c.completion_tokens or 0 for c in out)
            runs.append(
                {"repeat": r, "way": way, "seconds": round(seconds, 3), "tokens": tokens,
                 "tokens_per_s": round(tokens / seconds, 2)}
            )  # fmt: skip
    median = {
        way: statistics.median(x["tokens_per_s"] for x in runs if x["way"] == way)
        for way in ("batched", "one_at_a_time")
    }
    return {
        "model": lm.model_id,
        "threads": args.threads,
        "n": args.n,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "repeat": args.repeat,
        "load_seconds": round(load_s, 2),
        "median_tokens_per_s": median,
        "speedup": round(median["batched"] / median["one_at_a_time"], 2),
        "runs": runs,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "platform": platform.platform(),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="llm_model (default: the packaged SmolLM2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("-n", "--n", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm-speed.json"))
    args = parser.parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"{result['model']}, {args.threads} thread(s), n={args.n}, max_tokens={args.max_tokens}")
    print(f"{'way':<15} {'median tokens/s':>16}")
    for way, value in result["median_tokens_per_s"].items():
        print(f"{way:<15} {value:>16.1f}")
    print(f"speedup of the batch: {result['speedup']}x   (JSON: {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
