"""A process the registry tests kill: it publishes review models until ``kill -9`` lands.

Run as ``python registry_child.py TIER`` (TIER: ``linear`` or ``transformer``). It fits a
small model of TIER on synthetic reviews once (so each fork starts at once, with no
imports), prints ``ready``, then serves one command per stdin line, one JSON reply each
(``{"error": …}`` when a command fails); MODELS is a workspace's models folder:

- ``fork MODELS``: fork a process that publishes the model through
  ``reviews.service.save_model`` (linear: in a loop, forever; transformer: once, then it
  exits); reply ``{"pid": …}``.
- ``crash MODELS N``: fork a process that publishes once and SIGKILLs itself right before
  its N-th call that changes files (open, write, mkdir, rename, replace, unlink, rmdir …,
  seen through ``sys.setprofile``); reply ``{"pid": …}``. Calls that change nothing a
  killed process leaves behind (read, fsync, close, flock) are not counted: killing before
  them leaves the same files as killing before the next counted call.
- ``count MODELS``: publish once from this process; reply ``{"calls": [names]}``, the
  counted calls the publish made, in order.
- ``reap PID``: wait for that process; reply ``{"status": …}`` (negative: killed by signal).
- ``publish MODELS``: publish once from this process; reply ``{"version": …}``.
- ``score MODELS``: load the current TIER version and score the synthetic texts; reply
  ``{"version": …, "accuracy": …, "labels": sha256 of the labels}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single-threaded: safe to fork
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reviews_contract import synthetic_reviews
from shopmind.reviews.base import LABELS
from shopmind.reviews.service import load_model, registry, save_model

FS_CALLS = {
    *("open", "write", "mkdir", "rename", "replace", "link", "unlink", "rmdir"),
    *("truncate", "ftruncate"),
}
FS_MODULES = {"posix", "io", "_io"}


def changes_files(fn: Any) -> bool:
    """Whether a C function the profiler saw is one of FS_CALLS (os.*, open, file.write)."""
    if getattr(fn, "__name__", "") not in FS_CALLS:
        return False
    owner = getattr(fn, "__self__", None)
    return (getattr(fn, "__module__", None) or type(owner).__module__) in FS_MODULES


def fitted(tier: str, texts: list[str], labels: list[int]) -> object:
    if tier == "linear":
        from shopmind.reviews.linear import LinearSentiment

        return LinearSentiment().fit(texts, labels)
    from test_reviews_contract_transformer import tiny_model

    return tiny_model(epochs=1, max_length=32).fit(texts, labels)


def watch_fs_calls(kill_at: int | None = None) -> list[str]:
    """Record this thread's file-changing calls (SIGKILL before call ``kill_at``)."""
    seen: list[str] = []

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and changes_files(arg):
            seen.append(f"{arg.__name__} in {frame.f_code.co_name}")
            if len(seen) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    sys.setprofile(hook)
    return seen


def in_fork(work: Callable[[], object]) -> int:
    """Run ``work`` in a forked process that exits with 0 (done) or 1 (failed)."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        work()
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def serve(tier: str) -> None:
    texts, labels = synthetic_reviews(300 if tier == "linear" else 120, seed=3)
    model = fitted(tier, texts, labels)

    def publish(models: str) -> str:
        return save_model(Path(models), tier, model, {"examples": len(texts)}).id

    def forever(models: str) -> None:
        while True:
            publish(models)

    def crash(models: str, n: str) -> None:
        watch_fs_calls(kill_at=int(n))
        publish(models)

    def count(models: str) -> list[str]:
        calls = watch_fs_calls()
        try:
            publish(models)
        finally:
            sys.setprofile(None)
        return calls

    def score(models: str) -> dict[str, Any]:
        version = registry(Path(models), tier).current()
        scored = [p.label for p in load_model(Path(models), tier).predict(texts)]
        right = [s == LABELS[y] for s, y in zip(scored, labels, strict=True)]
        return {
            "version": version and version.id,
            "accuracy": sum(right) / len(right),
            "labels": hashlib.sha256(" ".join(scored).encode()).hexdigest(),
        }

    def reap(pid: str) -> int:
        return os.waitstatus_to_exitcode(os.waitpid(int(pid), 0)[1])

    commands: dict[str, Callable[..., dict[str, Any]]] = {
        "fork": lambda m: {"pid": in_fork(lambda: forever(m) if tier == "linear" else publish(m))},
        "crash": lambda m, n: {"pid": in_fork(lambda: crash(m, n))},
        "count": lambda m: {"calls": count(m)},
        "reap": lambda pid: {"status": reap(pid)},
        "publish": lambda m: {"version": publish(m)},
        "score": score,
    }
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        try:
            reply = commands[cmd](*args)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    serve(sys.argv[1])
