from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from shopmind.store import Store
from shopmind.store.models import Base, Product, Variant


def test_migrations_match_models(store: Store) -> None:
    """Guards against a model change without a migration."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert store.is_current()


def test_upgrade_is_idempotent(store: Store) -> None:
    store.upgrade()
    assert set(Base.metadata.tables) <= set(inspect(store.engine).get_table_names())


def test_stats_counts_rows(store: Store) -> None:
    assert store.stats() == dict.fromkeys(
        ["products", "variants", "customers", "orders", "events", "reviews", "pages"], 0
    )
    with store.session() as s:
        p = Product(external_id="tee", title="Tee", price=19.5, created_at=datetime(2026, 1, 1))
        p.variants = [Variant(external_id="tee-s", title="S"), Variant(external_id="tee-m")]
        s.add(p)
    stats = store.stats()
    assert stats["products"] == 1
    assert stats["variants"] == 2
    with store.session() as s:
        assert s.get(Product, p.id).price == pytest.approx(19.5)


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.session() as s:
        s.add(Product(external_id="x", title="X"))
        s.flush()
        raise RuntimeError("boom")
    assert store.stats()["products"] == 0


def test_sqlite_uses_wal(tmp_path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'w.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
