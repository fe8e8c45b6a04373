"""Shared fixtures: every store test runs on SQLite and on a real PostgreSQL server.

PostgreSQL tests use the server named by ``SHOPMIND_TEST_POSTGRES_URL`` (``.ci/postgres.sh
start`` prints one) and a fresh schema per test. Without that variable they are skipped,
unless ``SHOPMIND_REQUIRE_POSTGRES=1`` (set by CI), which turns the skip into a failure.

Every hypothesis test runs under the ``seeded`` profile registered here: derandomised (the
same examples every run, so CI cannot fail on a draw no earlier run made), no example
database (nothing written into the tree, no replay of another run's failures), no deadline
and no too-slow health check (shared CI machines stall). Tests set only how many examples
they draw, or build on ``settings.get_profile("seeded")`` where they change more.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from shopmind.config import init_workspace
from shopmind.store import Store

PG_URL = os.environ.get("SHOPMIND_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("SHOPMIND_REQUIRE_POSTGRES") == "1"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

settings.register_profile(
    "seeded",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("seeded")


def _pg_schema_url() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("SHOPMIND_REQUIRE_POSTGRES=1 but SHOPMIND_TEST_POSTGRES_URL is unset")
        pytest.skip("no PostgreSQL server (set SHOPMIND_TEST_POSTGRES_URL)")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    s = Store(database_url)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def workspace(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder whose database is the backend under test (not yet migrated)."""
    ws = tmp_path / "ws"
    init_workspace(ws)
    monkeypatch.setenv("SHOPMIND_DATABASE_URL", database_url)
    return ws


@pytest.fixture
def shared_data() -> Path:
    """The shared public data folder; tests using it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny chat model folder (random weights, byte tokenizer): ``tests/llm_tiny.py``."""
    from llm_tiny import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-llm"))


@pytest.fixture(scope="session")
def tiny_llm_long(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny chat model with room for a whole content prompt (2,048 tokens)."""
    from llm_tiny import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-llm-long"), context=2048)


@pytest.fixture
def api_workspace(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str], Path]]:
    """A running app on its own workspace and SQLite store: client, auth headers, workspace."""
    from fastapi.testclient import TestClient

    from shopmind.api.app import create_app
    from shopmind.config import load_settings
    from shopmind.store.apikeys import create_api_key

    ws = tmp_path / "ws"
    init_workspace(ws)
    settings = load_settings(ws, database_url=f"sqlite:///{tmp_path / 'api.db'}")
    store = Store(settings.resolved_database_url)
    store.upgrade()
    key = create_api_key(store, "t")
    with TestClient(create_app(settings, store=store)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, ws
    store.dispose()
