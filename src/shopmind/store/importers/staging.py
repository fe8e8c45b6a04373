"""SQLite: stage an import's rows in a TEMP table, so that reading a long file does not hold
the database's write lock.

SQLite has one writer at a time, and a transaction holds the write lock from its first write
to its end, so an import writing as it reads would make every other writer (the REST API)
wait for the whole file. A TEMP table lives in the connection's own temp database and takes
no lock on the store: the checked rows go there while the file is read, then one short
transaction copies them into the real table with ``INSERT … SELECT … ON CONFLICT DO NOTHING``.
A bad row before the end still means nothing reaches the real table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, UniqueConstraint, select, true
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

from shopmind.store.db import Store
from shopmind.store.writer import insert_new


class TempStage:
    """A TEMP copy of ``model``'s table (primary key left out, ``key`` unique) on one
    connection; :meth:`connect` yields that connection for staging, then copies the rows.
    ``on_copy(conn, new)`` runs in the copy's transaction, after it added ``new`` rows."""

    def __init__(
        self,
        model: type[DeclarativeBase],
        key: str,
        on_copy: Callable[[Connection, int], None] | None = None,
    ) -> None:
        self.table: Table = model.__table__  # type: ignore[assignment]
        self.key = key
        columns = [Column(c.name, c.type) for c in self.table.columns if not c.primary_key]
        self.temp = Table(
            f"_import_{self.table.name}",
            MetaData(),
            *columns,
            UniqueConstraint(key),
            prefixes=["TEMPORARY"],
        )
        self.on_copy = on_copy
        self.new = 0  # rows the copy added to the real table

    def write(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Stage ``rows``; a key repeated in the file keeps its first row."""
        insert_new(conn, self.temp, rows, [self.key])

    @contextmanager
    def connect(self, store: Store) -> Iterator[Connection]:
        """Yield a connection in a transaction that writes only the TEMP table; when the
        body succeeds, copy the staged rows in a second, short transaction. The TEMP table
        is dropped either way."""
        with store.engine.connect() as conn:
            with conn.begin():
                self.temp.drop(conn, checkfirst=True)  # left over by a crashed import
                self.temp.create(conn)
            try:
                with conn.begin():
                    yield conn
                with conn.begin():
                    self.new = self._copy(conn)
                    if self.on_copy is not None:
                        self.on_copy(conn, self.new)
            finally:
                self._drop(conn)

    def _copy(self, conn: Connection) -> int:
        names = [c.name for c in self.temp.columns]
        # SQLite reads ON CONFLICT after INSERT … SELECT only when the SELECT has a WHERE.
        staged = select(*self.temp.columns).where(true())
        stmt = sqlite.insert(self.table).from_select(names, staged)
        return conn.execute(stmt.on_conflict_do_nothing(index_elements=[self.key])).rowcount

    def _drop(self, conn: Connection) -> None:
        try:
            with conn.begin():
                self.temp.drop(conn, checkfirst=True)
        except DBAPIError:
            conn.invalidate()  # a broken connection is not reused; its TEMP table goes with it
