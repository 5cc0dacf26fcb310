"""The writes of one flush, sent to the driver as one batch.

On PostgreSQL every statement is a network round trip, and they, not Python, bound how many
post-sales flows an agent gets through: the batch goes out in one psycopg pipeline (one round
trip) and the row counts of its guarded UPDATEs are checked once the results are back. On
SQLite the statements run one after the other, each guard checked at once.

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

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import attrs
from sqlalchemy import Connection, Table

from ..errors import Refused
from .bulk import _converters, _identity, _sqlite_time, raw_connection


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
_Convert = list[Callable[[Any], Any]]
_SQL: dict[tuple[Any, ...], tuple[str, _Convert, list[tuple[int, Callable[[Any], Any]]]]] = {}


_TIMES: dict[datetime, str | None] = {}


def _sqlite_time_cached(value: datetime | None) -> str | None:
    """`bulk._sqlite_time`, remembered: a flush stores the same few instants (the action's
    `now`) in many rows, and formatting one costs more than the rest of its row."""
    if value is None:
        return None
    text = _TIMES.get(value)
    if text is None:
        if len(_TIMES) > 1024:
            _TIMES.clear()
        text = _TIMES[value] = _sqlite_time(value)
    return text


def _prepared(table: Table, columns: Sequence[str], dialect: str, sql: str) -> Any:
    convert = [
        _sqlite_time_cached if fn is _sqlite_time else fn
        for fn in _converters(table, columns, dialect)
    ]
    return sql, convert, [(i, fn) for i, fn in enumerate(convert) if fn is not _identity]


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
        if not rows:
            return
        columns = tuple(rows[0])
        key = ("insert", self.dialect, table.name, columns)
        if key not in _SQL:
            quote = self.conn.dialect.identifier_preparer.quote
            _SQL[key] = _prepared(
                table,
                columns,
                self.dialect,
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                f"VALUES ({', '.join([self.mark] * len(columns))})",
            )
        sql, convert, pairs = _SQL[key]
        getter = itemgetter(*columns)
        if len(columns) == 1:
            params: list[Sequence[Any]] = [(convert[0](row[columns[0]]),) for row in rows]
        else:
            params = []
            for row in rows:
                values = list(getter(row))
                for i, fn in pairs:
                    values[i] = fn(values[i])
                params.append(values)
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
            _SQL[cache_key] = _prepared(
                table,
                columns,
                self.dialect,
                f"UPDATE {quote(table.name)} SET {', '.join(sets)} WHERE {' AND '.join(where)}",
            )
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
