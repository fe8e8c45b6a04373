"""Product keys as people and URLs give them: one parser for the CLI, every route and the store.

A product is named by its internal id (``42``) or its external id (a handle, an SKU key,
``SIM-P00001``). The key is untrusted text, so it is checked here before it reaches SQL:

- only ASCII digits make an id. ``str.isdigit()`` also accepts ``²``, ``٣`` and full-width
  digits, which ``int()`` refuses or reads as another number; such keys are external ids.
- an id is range-checked against the integer type of the id column on the database at hand
  (any ``INTEGER`` is 64-bit on SQLite; ``INTEGER`` is 32-bit on PostgreSQL). A larger number
  is looked up as an external id only, never sent to the database as an overflowing integer.
- control characters (NUL among them: PostgreSQL refuses it in text) and lone surrogates
  (not encodable text), as :mod:`shopmind.safety.chars` defines them, are refused, and so
  is a key longer than the external-id column.

``ProductKeyError`` says what is wrong in words; callers name the field (the API answers 422
with ``loc: ["path", "product"]``, the CLI names its ``PRODUCT`` argument).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Dialect, SmallInteger
from sqlalchemy.orm import InstrumentedAttribute

from shopmind.safety.chars import unstorable_problem

MAX_KEY_LENGTH = 255  # products.external_id is VARCHAR(255)


class ProductKeyError(ValueError):
    """A product key that cannot name any product; the message says why."""


@dataclass(frozen=True)
class ProductKey:
    """A checked key: ``text`` to compare with external ids, ``number`` when it is a number."""

    text: str
    number: int | None  # the key read as an ASCII decimal number, of any size

    def id_within(self, limit: int) -> int | None:
        """The key as an internal id when it fits ``0..limit``, else ``None``."""
        if self.number is None or not 0 <= self.number <= limit:
            return None
        return self.number


def parse_product_key(key: str | int) -> ProductKey:
    """Check a product key (id or external id); raise ``ProductKeyError`` saying why not."""
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise ProductKeyError(f"must be text or a whole number, not {type(key).__name__}")
    if isinstance(key, int):
        return ProductKey(str(key), key if key >= 0 else None)
    if not key:
        raise ProductKeyError("is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ProductKeyError(f"is longer than {MAX_KEY_LENGTH} characters ({len(key):,})")
    problem = unstorable_problem(key)
    if problem is not None:
        raise ProductKeyError(problem)
    number = int(key) if key.isascii() and key.isdigit() else None
    return ProductKey(key, number)


def id_limit(column: InstrumentedAttribute[int], dialect: Dialect) -> int:
    """The largest value the integer ``column`` holds on ``dialect``'s database."""
    if dialect.name == "sqlite":
        return 2**63 - 1  # every SQLite INTEGER is a signed 64-bit value
    impl = column.type.dialect_impl(dialect)
    bits = 16 if isinstance(impl, SmallInteger) else 64 if isinstance(impl, BigInteger) else 32
    return 2 ** (bits - 1) - 1
