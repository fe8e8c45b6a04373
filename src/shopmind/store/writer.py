"""The one write path: bulk upserts keyed by natural keys, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, DateTime, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

Row = Mapping[str, Any]
# Keep well under SQLite's 32766 bound parameters per statement.
_LOOKUP_CHUNK = 900
# From this many rows, PostgreSQL inserts go through COPY into a staging table.
COPY_THRESHOLD = 500


def dumps_json(value: Any) -> str:
    """JSON text as the store writes it (orjson: about 20x faster than ``json.dumps``)."""
    return orjson.dumps(value).decode()


def _table(model: type[DeclarativeBase] | Table) -> Table:
    return model if isinstance(model, Table) else model.__table__  # type: ignore[return-value]


def _insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"unsupported database dialect: {name}")


def upsert(
    conn: Connection,
    model: type[DeclarativeBase] | Table,
    rows: Sequence[Row],
    key: Sequence[str] = ("external_id",),
    update: Iterable[str] | None = None,
) -> None:
    """Insert ``rows``; where ``key`` already exists, overwrite the ``update`` columns.

    ``update`` defaults to every column present in the rows except the key. All rows
    must carry the same columns.
    """
    if not rows:
        return
    table = _table(model)
    stmt = _insert(conn, table)
    columns = list(update) if update is not None else [c for c in rows[0] if c not in key]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    conn.execute(stmt, list(rows))


def insert_new(
    conn: Connection,
    model: type[DeclarativeBase] | Table,
    rows: Sequence[Row],
    key: Sequence[str],
    count: bool = False,
    sqlite_bulk_from: int = COPY_THRESHOLD,
) -> int | None:
    """Insert the rows whose ``key`` is not stored yet; leave existing rows untouched.

    With ``count=True`` returns how many rows were new (costs a RETURNING clause).
    ``sqlite_bulk_from``: from this many rows SQLite takes the bulk path (a prepared
    statement through ``executemany``, without SQLAlchemy's per-statement work).
    """
    if not rows:
        return 0 if count else None
    table = _table(model)
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        pk = next(iter(table.primary_key.columns)).name
        added = _copy_insert_new(conn, table, rows, key, pk if count else None)
        return None if added is None else len(added)
    if conn.dialect.name == "sqlite" and len(rows) >= sqlite_bulk_from:
        return _sqlite_insert_new(conn, table, rows, key, count)
    stmt = _insert(conn, table).on_conflict_do_nothing(index_elements=list(key))
    if not count:
        conn.execute(stmt, list(rows))
        return None
    pk = next(iter(table.primary_key.columns))
    result = conn.execute(stmt.returning(pk), list(rows))
    return len(result.all())


def insert_new_returning(
    conn: Connection,
    model: type[DeclarativeBase] | Table,
    rows: Sequence[Row],
    key: Sequence[str],
    column: str,
) -> set[Any]:
    """Insert the rows whose ``key`` is not stored yet; the ``column`` values of the rows
    this insert added (exact when concurrent writers send the same rows). PostgreSQL
    batches from ``COPY_THRESHOLD`` rows go through COPY, as in :func:`insert_new`."""
    if not rows:
        return set()
    table = _table(model)
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        return set(_copy_insert_new(conn, table, rows, key, column) or ())
    stmt = _insert(conn, table).on_conflict_do_nothing(index_elements=list(key))
    return set(conn.scalars(stmt.returning(table.c[column]), list(rows)))


def _sqlite_value(column_type: Any) -> Any:
    """How SQLAlchemy would bind a value of this column type on SQLite, as a plain function."""
    if isinstance(column_type, JSON):
        return lambda v: None if v is None else dumps_json(v)
    if isinstance(column_type, DateTime):
        return lambda v: None if v is None else v.isoformat(" ", "microseconds")
    if isinstance(column_type, Boolean):
        return lambda v: None if v is None else int(v)
    return None


def _sqlite_insert_new(
    conn: Connection, table: Table, rows: Sequence[Row], key: Sequence[str], count: bool
) -> int | None:
    """SQLite bulk path: one prepared INSERT … ON CONFLICT DO NOTHING through ``executemany``.

    Values are bound exactly as SQLAlchemy binds them (JSON text, ``YYYY-MM-DD HH:MM:SS.ffffff``
    datetimes), so the ORM reads the rows back unchanged.
    """
    cols = list(rows[0])
    convert = [(i, f) for i, c in enumerate(cols) if (f := _sqlite_value(table.c[c].type))]
    quoted = ", ".join(f'"{c}"' for c in cols)  # column names come from the table, not input
    keys = ", ".join(f'"{k}"' for k in key)
    sql = (
        f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(cols))}) '
        f"ON CONFLICT ({keys}) DO NOTHING"
    )

    def values() -> Any:
        for row in rows:
            out = [row[c] for c in cols]
            for i, f in convert:
                out[i] = f(out[i])
            yield out

    raw = conn.connection.driver_connection
    before = raw.total_changes  # type: ignore[union-attr]
    cursor = raw.cursor()  # type: ignore[union-attr]
    cursor.executemany(sql, values())
    cursor.close()
    return raw.total_changes - before if count else None  # type: ignore[union-attr]


def _copy_insert_new(
    conn: Connection, table: Table, rows: Sequence[Row], key: Sequence[str], returning: str | None
) -> list[Any] | None:
    """PostgreSQL bulk path: COPY into a temporary table, then INSERT … ON CONFLICT DO NOTHING;
    the ``returning`` column of the rows it added (None without one)."""
    cols = list(rows[0])
    json_cols = {c for c in cols if isinstance(table.c[c].type, JSON)}
    # One staging table per column set: a pooled connection keeps its temp tables.
    stage = f"_stage_{table.name}_{hashlib.md5(','.join(cols).encode()).hexdigest()[:10]}"
    quoted = ", ".join(f'"{c}"' for c in cols)  # column names come from the table, not input
    conn.execute(
        text(
            f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" AS '
            f'SELECT {quoted} FROM "{table.name}" WITH NO DATA'
        )
    )
    conn.execute(text(f'TRUNCATE "{stage}"'))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{stage}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    dumps_json(row[c]) if c in json_cols and row[c] is not None else row[c]
                    for c in cols
                ]
            )
    keys = ", ".join(f'"{k}"' for k in key)
    result = conn.execute(
        text(
            f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{stage}" '
            f"ON CONFLICT ({keys}) DO NOTHING" + (f' RETURNING "{returning}"' if returning else "")
        )
    )
    added = list(result.scalars()) if returning else None
    conn.execute(text(f'TRUNCATE "{stage}"'))
    return added


def id_map(
    conn: Connection,
    model: type[DeclarativeBase] | Table,
    keys: Iterable[Any],
    key: str = "external_id",
) -> dict[Any, int]:
    """Map natural keys to primary keys for those that exist."""
    table = _table(model)
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    pk = next(iter(table.primary_key.columns))
    found: dict[Any, int] = {}
    for i in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[i : i + _LOOKUP_CHUNK]
        found.update(conn.execute(select(table.c[key], pk).where(table.c[key].in_(chunk))).all())
    return found
