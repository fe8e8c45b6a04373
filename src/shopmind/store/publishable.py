"""Publishable keys: what the storefront widgets send instead of the secret API key.

A publishable key reads ``pk_<random>``. It is meant to be seen — it sits in the shop's
HTML — so it is stored in clear. What keeps it harmless is what it opens: only the
public, read-only widget routes (``shopmind.api.public``), only from the origins listed
with it (``https://shop.example.com``; the browser's ``Origin`` must be one of them), and
under a per-client rate limit.

Each key also has a **signing secret** that never leaves the merchant's server: the shop
signs a logged-in customer's id with it (``user_signature``: HMAC-SHA256, hex), and only a
signed id opens that customer's whole history (orders, every device) to the widget. An
unsigned id is treated as a browser id — only events recorded under that very id count —
so knowing someone's customer id or e-mail reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update

from shopmind.store.db import Store
from shopmind.store.models import PublishableKey

SCHEME = "pk"
_KEY = re.compile(r"^pk_[A-Za-z0-9_-]{20,60}$")
MAX_ORIGINS = 20


class PublishableKeyError(ValueError):
    """A key or origin that cannot be stored, naming which."""


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    key: str
    allowed_origins: tuple[str, ...]
    signing_secret: str
    created_at: datetime
    revoked_at: datetime | None

    def sign(self, user: str) -> str:
        """The signature of ``user`` under this key (what the shop's server computes)."""
        return sign_user(self.signing_secret, user)

    def verify(self, user: str, signature: str | None) -> bool:
        return bool(signature) and hmac.compare_digest(self.sign(user), str(signature))

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "key": self.key,
                "allowed_origins": list(self.allowed_origins),
                "created_at": self.created_at.isoformat(timespec="seconds"),
                "revoked": self.revoked_at is not None}  # fmt: skip


def sign_user(secret: str, user: str) -> str:
    """HMAC-SHA256 of the user id (UTF-8) under ``secret``, lower-case hex."""
    return hmac.new(secret.encode(), user.encode("utf-8"), hashlib.sha256).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalize_origin(text: str) -> str:
    """``scheme://host[:port]`` in lower case, or ``PublishableKeyError`` naming it: an
    origin has no path, query, user or wildcard."""
    raw = text.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishableKeyError(f"origin {raw!r}: must be http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or "*" in raw:
        raise PublishableKeyError(f"origin {raw!r}: only scheme, host and port (no path, no *)")
    try:
        port = parts.port
    except ValueError as exc:
        raise PublishableKeyError(f"origin {raw!r}: bad port") from exc
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def create_publishable_key(store: Store, name: str, origins: list[str]) -> KeyInfo:
    name = name.strip()
    if not name or len(name) > 255:
        raise PublishableKeyError("name: must be 1 to 255 characters")
    clean = list(dict.fromkeys(normalize_origin(o) for o in origins if o.strip()))
    if not clean:
        raise PublishableKeyError(
            "allowed origins: give at least one, e.g. https://shop.example.com"
        )
    if len(clean) > MAX_ORIGINS:
        raise PublishableKeyError(f"allowed origins: at most {MAX_ORIGINS}")
    key = f"{SCHEME}_{secrets.token_urlsafe(24)}"
    with store.session() as s:
        row = PublishableKey(name=name, key=key, allowed_origins=clean, created_at=_now(),
                             signing_secret=secrets.token_hex(32))  # fmt: skip
        s.add(row)
        s.flush()
        return _info(row)


def list_publishable_keys(store: Store) -> list[KeyInfo]:
    with store.session() as s:
        return [_info(r) for r in s.scalars(select(PublishableKey).order_by(PublishableKey.id))]


def find_publishable_key(store: Store, key: str | None) -> KeyInfo | None:
    """The live (not revoked) key, or None."""
    if not key or not _KEY.match(key):
        return None
    with store.session() as s:
        row = s.scalars(select(PublishableKey).where(PublishableKey.key == key)).first()
        return _info(row) if row is not None and row.revoked_at is None else None


def revoke_publishable_key(store: Store, key_id: int) -> bool:
    with store.session() as s:
        done = s.execute(
            update(PublishableKey)
            .where(PublishableKey.id == key_id, PublishableKey.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        return bool(done.rowcount)


def _info(row: PublishableKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.key, tuple(row.allowed_origins or ()),
                   row.signing_secret, row.created_at, row.revoked_at)  # fmt: skip
