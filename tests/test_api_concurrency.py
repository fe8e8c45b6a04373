"""Many clients at once against a real server process: no event lost, none duplicated.

The server runs in its own process on the backend under test, either through the CLI
(``shopmind serve``, one worker) or through ``run_server`` with two uvicorn workers (two
processes writing to one database). Client threads send overlapping batches on purpose,
so the same event ids race each other into the store.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shopmind.config import load_settings
from shopmind.store import Store
from shopmind.store.models import Event

THREADS = 16
BATCHES = 15  # per thread
BATCH_SIZE = 20
DISTINCT = 1500  # event-id space; batches overlap within and across threads

TWO_WORKERS = """\
import sys
from shopmind.api.server import run_server
from shopmind.config import load_settings
run_server(load_settings(sys.argv[1]), "127.0.0.1", int(sys.argv[2]), workers=2)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(workspace: Path, *args: str) -> str:
    command = [sys.executable, "-m", "shopmind.cli", "--workspace", str(workspace), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=os.environ)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(params=["cli", "two-workers"])
def server(request: pytest.FixtureRequest, workspace: Path) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a server process on the workspace's database."""
    key = cli(workspace, "apikey", "create", "--name", "load-test")  # also migrates
    port = free_port()
    if request.param == "cli":
        command = [sys.executable, "-m", "shopmind.cli", "--workspace", str(workspace)]
        command += ["serve", "--port", str(port)]
    else:
        command = [sys.executable, "-c", TWO_WORKERS, str(workspace), str(port)]
    log = workspace / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=os.environ, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, log)
        yield base, key
    finally:
        stop(proc)


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not ready after {timeout} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (uvicorn stops its workers), SIGKILL its process group if stuck."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def batch_ids(thread: int, batch: int) -> list[int]:
    """Overlapping ids: every thread's batch b covers nearly the same ids as the others'."""
    start = (batch * 97 + thread * 5) % DISTINCT
    ids = [(start + j) % DISTINCT for j in range(BATCH_SIZE)]
    return ids + ids[:2]  # and a repeat inside the batch


def event(i: int) -> dict[str, Any]:
    return {
        "event_id": f"load-{i}",
        "event_name": "add_to_cart" if i % 2 else "view_item",
        "event_timestamp": 1_718_000_000 + i,
        "user_pseudo_id": f"user-{i % 37}",
        "items": [{"item_id": f"sku-{i % 101}", "price": i % 50 + 0.99}],
    }


def client_thread(base: str, key: str, thread: int) -> list[dict[str, Any]]:
    results = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        for b in range(BATCHES):
            body = {"events": [event(i) for i in batch_ids(thread, b)]}
            r = client.post("/v1/events", json=body)
            assert r.status_code == 200, r.text
            results.append(r.json())
    return results


def test_concurrent_writers_lose_and_duplicate_nothing(
    server: tuple[str, str], workspace: Path
) -> None:
    base, key = server
    sent = [i for t in range(THREADS) for b in range(BATCHES) for i in batch_ids(t, b)]
    distinct = set(sent)
    assert len(sent) > 2 * len(distinct), "the batches must overlap for the test to mean much"

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(client_thread, base, key, t) for t in range(THREADS)]
        results = [r for f in futures for r in f.result()]

    assert sum(r["accepted"] for r in results) == len(distinct)
    assert sum(r["accepted"] + r["duplicates"] for r in results) == len(sent)
    store = Store.from_settings(load_settings(workspace))
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(func.count(), func.count(Event.event_id.distinct()))).one()
            ids = set(conn.scalars(select(Event.event_id)))
    finally:
        store.dispose()
    assert tuple(rows) == (len(distinct), len(distinct))
    assert ids == {f"load-{i}" for i in distinct}
    stats = httpx.get(f"{base}/v1/stats", headers={"Authorization": f"Bearer {key}"}).json()
    assert stats["events"] == len(distinct)
