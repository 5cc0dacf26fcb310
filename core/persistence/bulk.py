"""Bulk inserts straight through the DBAPI.

SQLAlchemy's executemany spends most of its time building and type-processing one parameter
dict per row; for the import path (tens of thousands of rows a second) we convert values
ourselves, once per column kind, and hand lists to the driver. Used only for INSERTs of rows
built by `rows.py`, so the stored format is exactly what the ORM-free read path expects.

Many rows go in as few statements as the database takes: multi-row VALUES on SQLite, COPY on
PostgreSQL. The driver's executemany runs one statement per row; on SQLite each one on a table
with triggers opens a statement journal and makes the FTS5 tables the triggers feed flush their
pending terms into a new segment (~60 µs an order at import, measured), and on PostgreSQL each
is parsed and executed on the server.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, String, Table, text

from ..errors import BadInput
from ..limits import MAX_TEXT, text_problem
from .tables import UTCDateTime

_EMPTY: dict[type, str] = {list: "[]", dict: "{}"}


def raw_connection(conn: Connection) -> Any:
    """The DB-API connection (sqlite3 or psycopg) under a SQLAlchemy one, for the raw-cursor
    paths; a checked-out connection always has one."""
    driver = conn.connection.driver_connection
    assert driver is not None, "connection is closed"
    return driver


def _json(value: Any) -> Any:
    if value is None:
        return None
    if not value:  # most taxes/promotions lists are empty: skip the encoder
        return _EMPTY.get(type(value)) or json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLAlchemy's own SQLite storage format (always with microseconds), so reads agree.
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def _pg_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _identity(value: Any) -> Any:
    return value


@functools.cache
def _text_check(column: str, length: int) -> Callable[[Any], Any]:
    """The last guard of text on its way to a column, whatever door it came through: the
    length the column holds (PostgreSQL refuses more, SQLite would keep it), no NUL (PostgreSQL
    refuses it), no lone surrogate (neither driver can encode it). A door that checked the field
    by its own name has already refused it; this names the column."""

    def check(value: Any) -> Any:
        if value.__class__ is str and (
            len(value) > length or "\x00" in value or not value.isascii()
        ):
            problem = text_problem(value, length)
            if problem is not None:
                raise BadInput(f"{column}: {problem}", field=column)
        return value

    return check


def _converters(table: Table, columns: Sequence[str], dialect: str) -> list[Callable[[Any], Any]]:
    out: list[Callable[[Any], Any]] = []
    for name in columns:
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            out.append(_json)
        elif isinstance(col_type, UTCDateTime):
            out.append(_sqlite_time if dialect == "sqlite" else _pg_time)
        elif isinstance(col_type, String):  # Text too
            out.append(_text_check(name, col_type.length or MAX_TEXT))
        else:
            out.append(_identity)
    return out


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (all with the same keys) with one executemany on the raw cursor."""
    if not rows:
        return
    dialect = conn.dialect.name
    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if dialect == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    getter = itemgetter(*columns)
    converted = [
        (i, fn) for i, fn in enumerate(_converters(table, columns, dialect)) if fn is not _identity
    ]
    if len(columns) == 1:
        params: list[Any] = [(getter(row),) for row in rows]
    else:
        params = []
        for row in rows:
            values = list(getter(row))
            for i, fn in converted:
                values[i] = fn(values[i])
            params.append(values)
    if len(columns) == 1 and converted:
        fn = converted[0][1]
        params = [(fn(value),) for (value,) in params]
    driver = raw_connection(conn)
    cursor = driver.cursor()
    try:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        elif dialect == "sqlite":
            insert_many_sqlite(driver, cursor, sql, params)
        elif len(params) >= _COPY_FROM and not _pipelined(driver):
            copy_rows_pg(cursor, quote(table.name), [quote(c) for c in columns], params)
        else:
            cursor.executemany(sql, params)
    finally:
        cursor.close()


_COPY_FROM = 20  # rows: below this a pipelined executemany is as quick as COPY's round trip
_SQLITE_VARIABLES = 30_000  # per statement; the full 32,766 measured slower at import


def insert_many_sqlite(driver: Any, cursor: Any, sql: str, params: Sequence[Sequence[Any]]) -> None:
    """`INSERT … VALUES (?, …)` for every row of `params`, as multi-row statements."""
    head, _, row = sql.partition(" VALUES ")
    width = row.count("?")
    per = max(1, min(_variable_limit(driver), _SQLITE_VARIABLES) // width)
    full = f"{head} VALUES {','.join([row] * per)}"
    for start in range(0, len(params), per):
        chunk = params[start : start + per]
        values = [value for r in chunk for value in r]
        if len(chunk) < per:
            cursor.execute(f"{head} VALUES {','.join([row] * len(chunk))}", values)
        else:
            cursor.execute(full, values)


def copy_rows_pg(
    cursor: Any, table: str, quoted_columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY `rows` into `table` (psycopg); not in pipeline mode, which COPY cannot join."""
    sql = f"COPY {table} ({', '.join(quoted_columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


def _pipelined(driver: Any) -> bool:
    from psycopg import pq

    return driver.pgconn.pipeline_status != pq.PipelineStatus.OFF


def _variable_limit(driver: Any) -> int:
    """Bound parameters one statement may hold: 32,766 since SQLite 3.32, 999 before."""
    try:
        return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):
        return 999


def allocate_seqs(conn: Connection, table: Table, count: int) -> list[int]:
    """Reserve `count` values of the table's integer `seq` key, in increasing order.

    SQLite: the caller holds the write lock (BEGIN IMMEDIATE), so max()+1… is safe.
    PostgreSQL: draw from the column's own sequence, safe under concurrency.
    """
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        query = text(f"SELECT coalesce(max(seq), 0) + 1 FROM {table.name}")
        start = conn.execute(query).scalar_one()
        return list(range(start, start + count))
    rows = conn.execute(
        text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'seq')) "
            "FROM generate_series(1, :n)"
        ),
        {"n": count},
    ).scalars()
    return sorted(rows)
