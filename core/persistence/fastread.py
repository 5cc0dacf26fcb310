"""Reading an order aggregate straight through the DBAPI.

Loading an order is the first step of every action: eight small SELECTs. Through SQLAlchemy
each costs about ten times the driver's own time (statement caching, result processing), which
capped post-sales flows far below what agents need. Like `bulk.py` for writes, this reads with
plain SQL on the raw cursor and decodes the few typed columns (JSON, UTC times, booleans)
itself, into namedtuples with the same attribute names the SQLAlchemy rows had.

On PostgreSQL, where each SELECT is a network round trip, `fetch_together` sends the reads of
an aggregate in one psycopg pipeline; the children are then selected by the order's id through
a subquery, since the order's `seq` is not known yet when they are sent.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import JSON, Boolean, Connection, Table

from .tables import UTCDateTime
from .times import read_time
from .writes import raw_connection


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value  # psycopg decodes


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


class Reader:
    """SELECT every column of a table WHERE one key column equals a value, decoded."""

    def __init__(self, table: Table, key: str, order_by: str | None = None) -> None:
        self.table = table
        self.columns = [c.name for c in table.columns]
        self.row: Any = namedtuple(f"{table.name}_row", self.columns)  # type: ignore[misc]
        self.key = key
        self.order_by = order_by
        self.decoders: list[tuple[int, Callable[[Any], Any]]] = []
        for i, column in enumerate(table.columns):
            if isinstance(column.type, JSON):
                self.decoders.append((i, _json))
            elif isinstance(column.type, UTCDateTime):
                self.decoders.append((i, read_time))
            elif isinstance(column.type, Boolean):
                self.decoders.append((i, _bool))
        self._sql: dict[str, str] = {}

    def sql(
        self, conn: Connection, lock: bool, *, by_order_id: bool = False, scoped: bool = False
    ) -> str:
        """The SELECT; `by_order_id`: the key is the `seq` of the order with this id.

        `scoped` (PostgreSQL): only an order whose sales channel is in an array parameter
        (after the key's), so an order outside the user's stores is read, and locked, no more
        than an unknown one."""
        dialect = conn.dialect.name
        cache_key = f"{dialect}:{lock}:{by_order_id}:{scoped}"
        if cache_key not in self._sql:
            quote = conn.dialect.identifier_preparer.quote
            mark = "?" if dialect == "sqlite" else "%s"
            scope = " AND sales_channel = ANY(%s)" if scoped else ""
            value = f"(SELECT seq FROM orders WHERE id = {mark}{scope})" if by_order_id else mark
            text = (
                f"SELECT {', '.join(quote(c) for c in self.columns)} FROM {quote(self.table.name)} "
                f"WHERE {quote(self.key)} = {value}"
            )
            if scoped and not by_order_id:
                text += scope
            if self.order_by:
                text += f" ORDER BY {quote(self.order_by)}"
            if lock and dialect != "sqlite":
                text += " FOR UPDATE"
            self._sql[cache_key] = text
        return self._sql[cache_key]

    def fetch(
        self, conn: Connection, value: Any, *, lock: bool = False, cursor: Any = None
    ) -> list[Any]:
        """The decoded rows; on `cursor` if given (several reads in a row share one)."""
        if cursor is not None:
            cursor.execute(self.sql(conn, lock), (value,))
            return self.decode(cursor.fetchall())
        cursor = raw_connection(conn).cursor()
        try:
            cursor.execute(self.sql(conn, lock), (value,))
            raw = cursor.fetchall()
        finally:
            cursor.close()
        return self.decode(raw)

    def decode(self, raw: list[Any]) -> list[Any]:
        out = []
        for record in raw:
            values = list(record)
            for i, decode in self.decoders:
                values[i] = decode(values[i])
            out.append(self.row._make(values))
        return out


def fetch_together(
    conn: Connection,
    order_id: str,
    head: Reader,
    children: list[Reader],
    *,
    lock: bool,
    channels: Collection[str] | None = None,
) -> list[list[Any]]:
    """PostgreSQL: the order row (locked first if `lock`) and its children, in one round trip.
    The server runs them in order, so the children are read once the lock is held. With
    `channels`, an order of another sales channel is found by none of them."""
    raw = raw_connection(conn)
    scoped = channels is not None
    params: tuple[Any, ...] = (order_id, list(channels)) if channels is not None else (order_id,)
    cursors = []
    with raw.pipeline():
        cursor = raw.cursor()
        cursor.execute(head.sql(conn, lock, scoped=scoped), params)
        cursors.append((head, cursor))
        for reader in children:
            cursor = raw.cursor()
            cursor.execute(reader.sql(conn, False, by_order_id=True, scoped=scoped), params)
            cursors.append((reader, cursor))
    out = []
    for reader, cursor in cursors:
        out.append(reader.decode(cursor.fetchall()))
        cursor.close()
    return out
