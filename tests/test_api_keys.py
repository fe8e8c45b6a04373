"""API keys: shown once, stored only as a hash, verified in constant time, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopmind.store import Store
from shopmind.store.apikeys import (
    create_api_key,
    hash_key,
    key_prefix,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from shopmind.store.models import ApiKey


def test_key_is_stored_only_as_hash(store: Store) -> None:
    key = create_api_key(store, "shop front")
    scheme, prefix, secret = key.split("_", 2)
    assert scheme == "sm" and len(prefix) == 12 and len(secret) >= 40
    with store.session() as session:
        row = session.scalars(select(ApiKey)).one()
    assert (row.name, row.prefix, row.key_hash) == ("shop front", prefix, hash_key(key))
    assert secret not in " ".join(str(v) for v in vars(row).values())
    assert row.revoked_at is None


def test_keys_are_unique(store: Store) -> None:
    keys = {create_api_key(store, f"k{i}") for i in range(5)}
    assert len(keys) == 5
    assert len({key_prefix(k) for k in keys}) == 5


def test_verify_accepts_only_the_exact_active_key(store: Store) -> None:
    key = create_api_key(store, "a")
    other = create_api_key(store, "b")
    assert verify_api_key(store, key) and verify_api_key(store, other)
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    for bad in [tampered, key + "x", key.upper(), "", None, "sm__", "Bearer " + key, "x" * 500]:
        assert not verify_api_key(store, bad), bad
    # Right prefix, someone else's secret.
    assert not verify_api_key(store, f"sm_{key_prefix(key)}_{other.split('_', 2)[2]}")


def test_revoke_by_prefix_or_key(store: Store) -> None:
    key = create_api_key(store, "a")
    keep = create_api_key(store, "b")
    assert revoke_api_key(store, key_prefix(key) or "")
    assert not verify_api_key(store, key)
    assert verify_api_key(store, keep)
    assert not revoke_api_key(store, key), "already revoked"
    assert revoke_api_key(store, keep)
    assert not verify_api_key(store, keep)
    assert not revoke_api_key(store, "000000000000")


def test_list_never_shows_hashes(store: Store) -> None:
    create_api_key(store, "a")
    create_api_key(store, "b")
    listed = list_api_keys(store)
    assert [k["name"] for k in listed] == ["a", "b"]
    assert all(set(k) == {"name", "prefix", "created_at", "revoked_at"} for k in listed)


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_bad_names_refused(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        create_api_key(store, name)
    assert list_api_keys(store) == []
