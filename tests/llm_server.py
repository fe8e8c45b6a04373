"""Servers for the ``openai`` backend's tests, all real and on 127.0.0.1:

- :func:`shopmind_server`: shopmind's own API (uvicorn in a thread, ``browser.serve``) on a
  fresh workspace with an API key; its chat route serves the packaged SmolLM2.
- :func:`scripted_server`: a tiny ``http.server`` that answers requests from a script
  (status, headers, body) and records what it was sent — for retries and odd servers.
- :func:`closed_port`: a port where nothing listens.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shopmind.config import init_workspace, load_settings
from shopmind.store import Store
from shopmind.store.apikeys import create_api_key


@contextmanager
def shopmind_server(root: Path, **settings: Any) -> Iterator[tuple[str, str]]:
    """shopmind's API on a free port: yields (base URL of the API, ``…/v1``; an API key).
    One torch thread unless ``threads`` is given (the chat route sets torch's count from it)."""
    from browser import serve

    workspace = root / "workspace"
    init_workspace(workspace)
    settings = {"threads": 1, **settings}
    config = load_settings(workspace, database_url=f"sqlite:///{root / 'api.db'}", **settings)
    store = Store(config.resolved_database_url)
    store.upgrade()
    key = create_api_key(store, "llm-tests")
    try:
        with serve(config, store) as url:
            yield f"{url}/v1", key
    finally:
        store.dispose()


Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or bytes)


@dataclass
class Script:
    """Replies in order (the last one repeats) and the JSON bodies received."""

    replies: list[Reply]
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.received.append(body)
            return self.replies[min(len(self.received), len(self.replies)) - 1]


def completion(*texts: str, finish: str = "stop") -> dict[str, Any]:
    """An OpenAI chat.completion body with one choice per text."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": finish}
            for i, t in enumerate(texts)
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


@contextmanager
def scripted_server(script: Script) -> Iterator[str]:
    """An HTTP server answering every POST from ``script``; yields its base URL (…/v1)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            status, headers, reply = script.next(body)
            data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
