"""Training the intent classifier on a labelled file, measured on a held-out part of it,
and labelling a file of messages with it (``shopmind support train`` / ``intents``)."""

from __future__ import annotations

import csv
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.safety.spreadsheet import SafeDictWriter


class IntentFileError(ValueError):
    """A messages file that cannot be read as asked; the message names file and column."""


def split(labels: Sequence[str], test_share: float, seed: int = 0
          ) -> tuple[list[int], list[int]]:  # fmt: skip
    """Stratified row indexes (train, test): ``test_share`` of each intent held out."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by[label].append(i)
    r = random.Random(seed)
    train, test = [], []
    for rows in by.values():
        r.shuffle(rows)
        k = round(len(rows) * test_share) if len(rows) > 1 else 0
        test += rows[:k]
        train += rows[k:]
    return sorted(train), sorted(test)


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over the intents present in ``truth``."""
    t, p = np.asarray(truth), np.asarray(predicted)
    f1s = []
    for label in sorted(set(truth)):
        tp = float(np.sum((t == label) & (p == label)))
        prec = tp / max(1.0, float(np.sum(p == label)))
        rec = tp / max(1.0, float(np.sum(t == label)))
        f1s.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return {"accuracy": float(np.mean(t == p)) if len(t) else 0.0,
            "macro_f1": float(np.mean(f1s)) if f1s else 0.0}  # fmt: skip


def train_from_file(models_dir: Path, path: Path, max_per_intent: int | None = 300,
                    test_share: float = 0.2, min_confidence: float = 0.5,
                    progress: Callable[[str], Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Fit on the file (plus the built-in examples) less a held-out share, measure on that
    share, publish as ``support/intents``; the metrics as published."""
    from shopmind.support.intents import load_training_file, publish_intents, train_intents

    texts, labels = load_training_file(path)
    train, test = split(labels, test_share)
    started = time.perf_counter()
    if progress:
        progress("training")
    clf = train_intents([texts[i] for i in train], [labels[i] for i in train],
                        max_per_intent=max_per_intent, min_confidence=min_confidence)  # fmt: skip
    seconds = time.perf_counter() - started
    if progress:
        progress("measuring on the held-out messages")
    held = [texts[i] for i in test]
    got = [p.best for p in clf.predict(held)] if held else []
    metrics = {"file": path.name, "messages": len(texts), "train": len(train),
               "held_out": len(test), "intents": len(set(labels)),
               "train_seconds": round(seconds, 1),
               **{f"held_out_{k}": round(v, 4)
                  for k, v in scores([labels[i] for i in test], got).items()}}  # fmt: skip
    publish_intents(models_dir, clf, metrics)
    return metrics


def label_file(clf: Any, src: Path, text_column: str, out: Path, batch: int = 256,
               progress: Callable[[int], Any] | None = None) -> int:  # fmt: skip
    """Copy ``src`` to ``out`` with ``predicted_intent`` and ``confidence`` columns added."""
    try:
        fh = src.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise IntentFileError(f"{src}: cannot read ({exc.strerror})") from exc
    partial = out.with_name(f".{out.name}.partial")
    try:
        with fh, partial.open("w", newline="", encoding="utf-8") as dst:
            done = _copy(clf, csv.DictReader(fh), src, text_column, dst, batch, progress)
        os.replace(partial, out)  # a failed run leaves no half-written OUT
    finally:
        partial.unlink(missing_ok=True)
    return done


def _copy(clf: Any, reader: csv.DictReader, src: Path, text_column: str, dst: Any,
          batch: int, progress: Callable[[int], Any] | None) -> int:  # fmt: skip
    header = list(reader.fieldnames or [])
    if text_column not in header:
        raise IntentFileError(f"{src}: no column {text_column!r} (columns: "
                              f"{', '.join(header) or 'none'})")  # fmt: skip
    writer = SafeDictWriter(dst, fieldnames=[*header, "predicted_intent", "confidence"], restval="")
    writer.writeheader()
    done, rows = 0, []
    for row in reader:
        row.pop(None, None)  # cells beyond the header
        rows.append(row)
        if len(rows) >= batch:
            done += _write(clf, rows, text_column, writer)
            rows = []
            if progress:
                progress(done)
    return done + _write(clf, rows, text_column, writer)


def _write(clf: Any, rows: list[dict[str, Any]], col: str, writer: Any) -> int:
    if not rows:
        return 0
    preds = clf.predict([(r.get(col) or "").strip() or " " for r in rows])
    for row, p in zip(rows, preds, strict=True):
        writer.writerow({**row, "predicted_intent": p.intent, "confidence": f"{p.confidence:.4f}"})
    return len(rows)
