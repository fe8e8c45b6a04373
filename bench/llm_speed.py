"""Tokens/s of the local language model: n variants in one batch against one at a time.

The same prompt, sampling settings and seeds both ways, on the packaged
SmolLM2-135M-Instruct (or ``--model``):

- **batched**: ``LocalLanguageModel.generate(n=3)``, one ``model.generate`` call with
  ``num_return_sequences=3`` (what the content studio does);
- **one at a time**: three ``generate(n=1)`` calls, one after another (a plain loop).

Both ways run on the model in float32 (as ``from_pretrained`` loads it) and, where the
CPU does bfloat16 in hardware (``native_bfloat16``; ``llm_precision = "auto"`` picks it
there), in bfloat16. Tokens are those generated (``completion_tokens``, up to the end of
each variant); the ways take turns running first, ``--repeat`` times, and the table
shows medians and the ratios to the float32 loop::

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
    from shopmind.models.device import native_bfloat16

    precisions = ["float32"] + (["bfloat16"] if native_bfloat16("cpu") else [])
    models, load_s = {}, {}
    for precision in precisions:
        started = time.perf_counter()
        models[precision] = load_local(args.model, device="cpu", precision=precision)
        load_s[precision] = round(time.perf_counter() - started, 2)
        for n in (1, args.n):  # warm-up, both batch shapes
            models[precision].generate(PROMPT, n=n, max_tokens=4, temperature=args.temperature)
    lm = models["float32"]
    sampling = {"max_tokens": args.max_tokens, "temperature": args.temperature}
    ways = [(p, w) for p in precisions for w in ("batched", "one_at_a_time")]
    runs: list[dict[str, Any]] = []
    for r in range(args.repeat):
        turn = r % len(ways)
        for precision, way in ways[turn:] + ways[:turn]:
            model, seed = models[precision], 1000 + r
            started = time.perf_counter()
            if way == "batched":
                out = model.generate(PROMPT, n=args.n, seed=seed, **sampling)
            else:
                out = [model.generate(PROMPT, seed=seed + i, **sampling)[0] for i in range(args.n)]
            seconds = time.perf_counter() - started
            tokens = sum(c.completion_tokens or 0 for c in out)
            runs.append(
                {"repeat": r, "precision": precision, "way": way, "seconds": round(seconds, 3),
                 "tokens": tokens, "tokens_per_s": round(tokens / seconds, 2)}
            )  # fmt: skip
    median = {
        f"{p} {w}": statistics.median(
            x["tokens_per_s"] for x in runs if (x["precision"], x["way"]) == (p, w)
        )
        for p, w in ways
    }
    base = median["float32 one_at_a_time"]
    return {
        "model": lm.model_id,
        "threads": args.threads,
        "n": args.n,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "repeat": args.repeat,
        "load_seconds": load_s,
        "median_tokens_per_s": median,
        "speedup_over_float32_loop": {k: round(v / base, 2) for k, v in median.items()},
        "batching_speedup": {
            p: round(median[f"{p} batched"] / median[f"{p} one_at_a_time"], 2) for p in precisions
        },
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
    parser.add_argument("--threads", type=int, default=2)
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
    print(f"{'precision and way':<24} {'median tokens/s':>16} {'× float32 loop':>15}")
    for way, value in result["median_tokens_per_s"].items():
        ratio = result["speedup_over_float32_loop"][way]
        print(f"{way:<24} {value:>16.1f} {ratio:>14.2f}×")
    for precision, ratio in result["batching_speedup"].items():
        print(f"batch over loop, {precision}: {ratio}x")
    print(f"(JSON: {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
