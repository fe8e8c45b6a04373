"""API keys for the REST API: created once, stored only as a SHA-256 hash.

A key reads ``sm_<prefix>_<secret>``. The prefix (12 hex digits) is kept in clear so a
key can be found, listed and revoked; the whole key is stored only as its SHA-256 hash
and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import select, update

from shopmind.store.db import Store
from shopmind.store.models import ApiKey

KEY_SCHEME = "sm"
_PREFIX = re.compile(r"^[0-9a-f]{12}$")
# Compared against when no key has the given prefix, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_prefix(key: str) -> str | None:
    """The clear prefix of a well-formed key, or ``None``."""
    scheme, _, rest = key.partition("_")
    prefix, sep, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not sep or not secret or not _PREFIX.match(prefix):
        return None
    return prefix


def public_part(text: str) -> str | None:
    """What may be shown of a key or prefix someone typed: the prefix, never the secret.

    A whole key gives its prefix, a prefix itself; anything else (a mistyped key, a bare
    secret) gives ``None``: nothing of it may be shown.
    """
    return key_prefix(text) or (text if _PREFIX.fullmatch(text) else None)


def create_api_key(store: Store, name: str) -> str:
    """Create a key labelled ``name``; return it in clear (the only time it is shown)."""
    name = name.strip()
    if not name or len(name) > 255:
        raise ValueError("API key name must be 1 to 255 characters")
    prefix = secrets.token_hex(6)
    key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    with store.session() as session:
        session.add(ApiKey(name=name, prefix=prefix, key_hash=hash_key(key), created_at=_now()))
    return key


def verify_api_key(store: Store, key: str | None) -> bool:
    """True when ``key`` is a stored key that has not been revoked."""
    prefix = key_prefix(key or "")
    stored = None
    if prefix is not None:
        with store.engine.connect() as conn:
            stored = conn.execute(
                select(ApiKey.key_hash, ApiKey.revoked_at).where(ApiKey.prefix == prefix)
            ).first()
    expected = stored.key_hash if stored is not None else _DUMMY_HASH
    matches = hmac.compare_digest(hash_key(key or ""), expected)
    return matches and stored is not None and stored.revoked_at is None


def revoke_api_key(store: Store, prefix: str) -> bool:
    """Revoke the key with this prefix (or the key itself); False if none was active."""
    prefix = key_prefix(prefix) or prefix
    with store.connect() as conn:
        result = conn.execute(
            update(ApiKey)
            .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        return result.rowcount > 0


def list_api_keys(store: Store) -> list[dict[str, object]]:
    """Every key's name, prefix and dates (never the hash)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ApiKey.name, ApiKey.prefix, ApiKey.created_at, ApiKey.revoked_at).order_by(
                ApiKey.id
            )
        ).all()
    return [dict(row._mapping) for row in rows]
