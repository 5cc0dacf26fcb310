"""Every write that goes around SQLAlchemy's statement layer, built in one place.

SQLAlchemy spends most of an INSERT's time building and type-processing a parameter dict per
row; at import (tens of thousands of rows a second) and in every post-sales flush that is the
cost, so values are converted here once per column kind (`converters`) and handed to the
driver's own cursor as lists, for statements whose text is built once per shape.

- `insert_rows`: many rows in as few statements as the database takes: multi-row VALUES on
  SQLite, COPY on PostgreSQL. The driver's executemany runs one statement per row; on SQLite
  each one on a table with triggers opens a statement journal and makes the FTS5 tables the
  triggers feed flush their pending terms into a new segment (~60 µs an order at import,
  measured), and on PostgreSQL each is parsed and executed on the server.
- `Batch`: the writes of one unit of work's flush. On PostgreSQL every statement is a network
  round trip, and they, not Python, bound how many post-sales flows an agent gets through: the
  batch goes out in one psycopg pipeline (one round trip) and the row counts of its guarded
  UPDATEs are checked once the results are back. On SQLite the statements run one after the
  other, each guard checked at once.

A guarded UPDATE must change exactly one row; when its condition keeps the row unchanged (a cap
of D-1…D-4 would be exceeded) the flush raises `Refused` and the unit of work rolls back.

Committing on PostgreSQL, the COMMIT rides in the same pipeline even when the batch has guards:
each guarded UPDATE is then sent as `WITH g AS (UPDATE … RETURNING 1) SELECT 1 / (count(*) =
1)::int FROM g`, which fails on the server (division by zero) when the guard held its row. A
statement failing aborts the transaction, so the COMMIT queued behind it cannot commit anything:
the server skips it or answers it with a rollback. The first guard without a result is the one
that refused. (A plain row-count check could only be read after the COMMIT had gone out.)
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import attrs
from sqlalchemy import JSON, Connection, String, Table

from ..errors import BadInput, Refused
from ..limits import MAX_TEXT, text_problem
from .tables import UTCDateTime
from .times import stored_time

_EMPTY: dict[type, str] = {list: "[]", dict: "{}"}
_Convert = Callable[[Any], Any]


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


def _identity(value: Any) -> Any:
    return value


@functools.cache
def _text_check(column: str, length: int) -> _Convert:
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


def converters(table: Table, columns: Sequence[str], dialect: str) -> list[_Convert]:
    """Per column, what turns a value as `rows.py` builds it into what the driver takes."""
    out: list[_Convert] = []
    for name in columns:
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            out.append(_json)
        elif isinstance(col_type, UTCDateTime):
            out.append(stored_time(dialect))
        elif isinstance(col_type, String):  # Text too
            out.append(_text_check(name, col_type.length or MAX_TEXT))
        else:
            out.append(_identity)
    return out


_SQL: dict[tuple[Any, ...], tuple[str, list[_Convert], list[tuple[int, _Convert]]]] = {}


def _statement(
    conn: Connection, key: tuple[Any, ...], table: Table, columns: Sequence[str], sql: str
) -> tuple[str, list[_Convert], list[tuple[int, _Convert]]]:
    """`sql` for `table` with its bound `columns`' converters, remembered under `key`."""
    found = _SQL.get(key)
    if found is None:
        convert = converters(table, columns, conn.dialect.name)
        pairs = [(i, fn) for i, fn in enumerate(convert) if fn is not _identity]
        found = _SQL[key] = (sql, convert, pairs)
    return found


def insert_statement(
    conn: Connection, table: Table, columns: Sequence[str]
) -> tuple[str, list[_Convert], list[tuple[int, _Convert]]]:
    """The one INSERT builder: its text, each column's converter, and those that change values."""
    key = ("insert", conn.dialect.name, table.name, tuple(columns))
    if key in _SQL:
        return _SQL[key]
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    return _statement(conn, key, table, columns, sql)


def as_lists(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> tuple[str, list[Sequence[Any]]]:
    """The INSERT of `rows` (all with the same keys) and their values in the driver's form."""
    columns = tuple(rows[0])
    sql, convert, pairs = insert_statement(conn, table, columns)
    if len(columns) == 1:
        name, fn = columns[0], convert[0]
        return sql, [(fn(row[name]),) for row in rows]
    getter = itemgetter(*columns)
    params: list[Sequence[Any]] = []
    for row in rows:
        values = list(getter(row))
        for i, fn in pairs:
            values[i] = fn(values[i])
        params.append(values)
    return sql, params


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (all with the same keys, values as `rows.py` builds them)."""
    if rows:
        sql, params = as_lists(conn, table, rows)
        insert_rows(conn, table, sql, params)


_COPY_FROM = 20  # rows: below this a pipelined executemany is as quick as COPY's round trip
_SQLITE_VARIABLES = 30_000  # per statement; the full 32,766 measured slower at import


def insert_rows(
    conn: Connection, table: Table, sql: str, params: Sequence[Sequence[Any]], cursor: Any = None
) -> None:
    """Run the INSERT `sql` (from `insert_statement`) for every row of driver-ready `params`."""
    driver = raw_connection(conn)
    own = cursor is None
    cursor = driver.cursor() if own else cursor
    try:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        elif conn.dialect.name == "sqlite":
            _insert_many_sqlite(driver, cursor, sql, params)
        elif len(params) >= _COPY_FROM and not _pipelined(driver):
            head = sql.partition(" VALUES ")[0]
            with cursor.copy(f"COPY {head.removeprefix('INSERT INTO ')} FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, params)
    finally:
        if own:
            cursor.close()


def _insert_many_sqlite(
    driver: Any, cursor: Any, sql: str, params: Sequence[Sequence[Any]]
) -> None:
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


def _pipelined(driver: Any) -> bool:
    from psycopg import pq

    return driver.pgconn.pipeline_status != pq.PipelineStatus.OFF


def _variable_limit(driver: Any) -> int:
    """Bound parameters one statement may hold: 32,766 since SQLite 3.32, 999 before."""
    try:
        return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):
        return 999


DRAW_SEQS_PG = (
    "SELECT nextval(pg_get_serial_sequence('{table}', 'seq')) FROM generate_series(1, %s)"
)


def allocate_seqs(conn: Connection, table: Table, count: int, cursor: Any = None) -> list[int]:
    """Reserve `count` values of the table's integer `seq` key, in increasing order.

    SQLite: the caller holds the write lock (BEGIN IMMEDIATE), so max()+1… is safe.
    PostgreSQL: draw from the column's own sequence, safe under concurrency (a value drawn and
    left unused by a rollback is a gap)."""
    if count == 0:
        return []
    own = cursor is None
    cursor = raw_connection(conn).cursor() if own else cursor
    try:
        if conn.dialect.name == "sqlite":
            cursor.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {table.name}")
            start = cursor.fetchone()[0]
            return list(range(start, start + count))
        cursor.execute(DRAW_SEQS_PG.format(table=table.name), (count,))
        return sorted(row[0] for row in cursor.fetchall())
    finally:
        if own:
            cursor.close()


@attrs.frozen
class Guard:
    """Extra SET terms and WHERE conditions of a guarded UPDATE, with `{m}` parameter marks.

    `name` identifies the statement shape for the statement cache."""

    name: str
    sets: str
    where: str
    set_params: tuple[Any, ...]
    where_params: tuple[Any, ...]
    refusal: str


_Op = tuple[str, Sequence[Any], bool, str | None]  # sql, params, executemany, refusal


class Batch:
    """Statements queued by `insert` and `update` (statement texts cached per shape), sent by
    `run` on the driver's own cursor."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.mark = "?" if self.dialect == "sqlite" else "%s"
        self.ops: list[_Op] = []

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """INSERT rows that all have the same keys (one executemany)."""
        if rows:
            sql, params = as_lists(self.conn, table, rows)
            self.ops.append((sql, params, True, None))

    def update(
        self,
        table: Table,
        keys: dict[str, Any],
        values: dict[str, Any],
        *,
        bump_version: bool = False,
        guard: Guard | None = None,
    ) -> None:
        """UPDATE the row identified by `keys`: `values`, the guard's terms, `version + 1`."""
        columns, key_names = tuple(values), tuple(keys)
        cache_key: tuple[Any, ...] = (
            "update",
            self.dialect,
            table.name,
            columns,
            key_names,
            bump_version,
        )
        cache_key += (guard.name if guard else None,)
        if cache_key not in _SQL:
            quote = self.conn.dialect.identifier_preparer.quote
            m = self.mark
            sets = [guard.sets.format(m=m)] if guard else []
            sets += [f"{quote(c)} = {m}" for c in columns]
            if bump_version:
                sets.append(f"{quote('version')} = {quote('version')} + 1")
            where = [f"{quote(k)} = {m}" for k in key_names]
            if guard:
                where.append(guard.where.format(m=m))
            sql = f"UPDATE {quote(table.name)} SET {', '.join(sets)} WHERE {' AND '.join(where)}"
            _statement(self.conn, cache_key, table, columns, sql)
        sql, convert, _ = _SQL[cache_key]
        params: list[Any] = list(guard.set_params) if guard else []
        params += [fn(values[c]) for c, fn in zip(columns, convert, strict=True)]
        params += keys.values()
        if guard:
            params += guard.where_params
        self.ops.append((sql, params, False, guard.refusal if guard else None))

    def run(self, *, commit: bool = False) -> bool:
        """Send every statement; raise `Refused` for the first guard that held its row.

        With `commit` on PostgreSQL, COMMIT is sent in the batch's pipeline (the round trip of a
        separate COMMIT saved), guards checked on the server; returns whether it did."""
        ops, self.ops = self.ops, []
        if not ops:
            return False
        raw = raw_connection(self.conn)
        if self.dialect != "postgresql":
            cursor = raw.cursor()
            try:
                for sql, params, many, refusal in ops:
                    if many:
                        cursor.executemany(sql, params)
                        continue
                    cursor.execute(sql, tuple(params))
                    if refusal is not None and cursor.rowcount != 1:
                        raise Refused(refusal)
            finally:
                cursor.close()
            return False
        # psycopg is loaded with the first PostgreSQL batch: a SQLite command never pays for it.
        from psycopg import errors as pg_errors

        cursors = []
        try:
            with raw.pipeline():
                for sql, params, many, refusal in ops:
                    cursor = raw.cursor()
                    if many:
                        cursor.executemany(sql, params)
                    elif commit and refusal is not None:
                        cursor.execute(_checked_on_server(sql), params)
                    else:
                        cursor.execute(sql, params)
                    cursors.append((cursor, refusal))
                if commit:
                    raw.commit()
        except pg_errors.DivisionByZero:
            if not commit:
                raise
            # Only a guard divides; guards that passed have their row back, so the first one
            # without a result is the one that refused (an executemany keeps no result).
            failed = next((r for c, r in cursors if r is not None and c.pgresult is None), None)
            if failed is None:
                raise
            raise Refused(failed) from None
        else:
            if not commit:
                held = next((r for c, r in cursors if r is not None and c.rowcount != 1), None)
                if held is not None:
                    raise Refused(held)
        finally:
            for cursor, _ in cursors:
                cursor.close()
        return commit


_CHECKED: dict[str, str] = {}


def _checked_on_server(update_sql: str) -> str:
    """The guarded UPDATE as a statement that fails unless it changed exactly one row (its
    text cached: psycopg prepares a statement it sees often)."""
    checked = _CHECKED.get(update_sql)
    if checked is None:
        checked = f"WITH g AS ({update_sql} RETURNING 1) SELECT 1 / (count(*) = 1)::int FROM g"
        _CHECKED[update_sql] = checked
    return checked
