"""Engines per dialect, and the transaction rules that keep money safe (issue 2 item 12).

SQLite: pysqlite's own transaction handling is switched off and every write transaction starts
with `BEGIN IMMEDIATE`, so the write lock is taken *before* an order is read: two agents refunding
the same line are serialised instead of both reading the old remainder. Readers use a deferred
`BEGIN` and never block under WAL. PostgreSQL: the unit of work locks the order row
(`SELECT … FOR UPDATE`) before reading the aggregate.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError

from ..errors import BadInput
from ..faults import masked_url

DEFAULT_SQLITE_PATH = Path("var") / "postsales.db"
READ_ONLY = "postsales_read_only"
# Execution option: seconds a write transaction may wait for SQLite's write lock, instead of the
# engine's busy timeout, for best-effort writes a reader makes (a session's seen_at, a token's
# use): a page must not wait the whole busy timeout behind an import for them.
LOCK_WAIT = "postsales_lock_wait"
SQLITE_CACHE_KIB = 16 * 1024
# A writer behind another's lock gives up after this long, well inside gunicorn's 30 s worker
# timeout (docs/deploy.md), so the door answers 503 / exit 3 rather than the worker being killed.
# `?timeout=SECONDS` in the URL, else POSTSALES_SQLITE_BUSY_TIMEOUT, sets it.
BUSY_TIMEOUT_SECONDS = 10.0
BUSY_TIMEOUT_ENV = "POSTSALES_SQLITE_BUSY_TIMEOUT"
PING_AFTER_IDLE_SECONDS = 10.0
POOL_RECYCLE_SECONDS = 30 * 60
_IDLE_SINCE = "postsales_idle_since"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, then POSTSALES_DATABASE_URL, then var/postsales.db."""
    url = url or os.environ.get("POSTSALES_DATABASE_URL")
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; SQLAlchemy would otherwise look for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def parse_database_url(url: str | None = None) -> URL:
    """The effective URL, refused with `BadInput` unless it names SQLite or PostgreSQL."""
    text = database_url(url)
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise BadInput(
            f"database URL {masked_url(text)!r} cannot be read; expected sqlite:///path/to.db "
            "or postgresql://user@host/db",
            field="db",
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadInput(
            f"database URL {masked_url(text)!r}: Postsales runs on SQLite (sqlite:///path) or "
            f"PostgreSQL (postgresql://user@host/db), not {parsed.get_backend_name()!r}",
            field="db",
        )
    return parsed


def make_engine(url: str | None = None, *, echo: bool = False, ping_always: bool = False) -> Engine:
    """An engine for `url`. `ping_always` checks every pooled connection before each unit of
    work (a read replica's: one that died since the last read is found before the read starts,
    so the read can go to the primary instead of failing)."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        # `?timeout=SECONDS` in the URL bounds the wait for another writer's lock (pysqlite's
        # own parameter); after it the command fails with "database is locked".
        default = _seconds(os.environ.get(BUSY_TIMEOUT_ENV) or None, BUSY_TIMEOUT_SECONDS,
                           name=BUSY_TIMEOUT_ENV)  # fmt: skip
        busy = _seconds(parsed.query.get("timeout"), default)
        parsed = parsed.difference_update_query(["timeout"])
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": busy})
        _configure_sqlite(engine, busy)
        return engine
    engine = create_engine(
        parsed, echo=echo, pool_recycle=POOL_RECYCLE_SECONDS, pool_pre_ping=ping_always
    )
    if not ping_always:
        _ping_when_idle(engine)
    _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # No JIT: the planner prices a common partial-text count or a large export past
        # `jit_above_cost` and spends 5 ms compiling statements that run in 1 to 20 (at a
        # million orders, bench/search.py); nothing here runs long enough to repay it.
        # No parallel workers: for a common partial name the planner starts two to scan a
        # sample of some 60 buffers, and gathering them costs more than the scan (at a million
        # orders p95 28 ms with them, 19 without; bench/search.py). Agents' statements are short;
        # exports stream through a cursor, which runs serially anyway.
        # Committed, or the pool's reset on return would roll the settings back.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        dbapi_connection.commit()


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before reuse only if it sat idle for a while.

    `pool_pre_ping` pings on every checkout: on PostgreSQL one round trip per unit of work,
    2 of a post-sales flow's 9 (bench/actions.py). A connection handed back moments ago is as
    good as the round trip would prove; one idle for longer may have been dropped (a server
    restart, an idle timeout), so it is pinged and, if dead, replaced before the unit of work
    starts (DisconnectionError makes the pool reconnect). A connection dropped within the
    window fails its first statement instead; SQLAlchemy then invalidates the pool, so only
    that one unit of work is lost, and it had changed nothing.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _seconds(value: object, default: float, *, name: str = "database URL: timeout") -> float:
    try:
        seconds = float(value) if isinstance(value, str) else default
    except ValueError:
        raise BadInput(f"{name}={value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 3600:  # also refuses nan
        raise BadInput(f"{name}={value!r} must be 0 to 3600 seconds")
    return seconds


def _configure_sqlite(engine: Engine, busy_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        # 16 MB of page cache per connection instead of 2: a search total that reads a
        # thousand scattered order rows (partial name, child-table filters) costs half the CPU
        # at 1,000,000 orders (6 ms -> 3 ms, bench/search.py). No mmap: it measured no faster
        # here and makes every page an export reads count in the process's memory.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # On the driver itself: through exec_driver_sql this one statement cost as much Python
        # as a flush. Errors are wrapped as SQLAlchemy would ("database is locked" must stay an
        # sqlalchemy OperationalError: the inbox retries on it).
        options = conn.get_execution_options()
        sql = "BEGIN" if options.get(READ_ONLY, False) else "BEGIN IMMEDIATE"
        wait = options.get(LOCK_WAIT)
        dbapi = conn.dialect.loaded_dbapi
        driver = conn.connection.driver_connection
        try:
            if wait is None or sql == "BEGIN":
                driver.execute(sql)
            else:
                # Only BEGIN IMMEDIATE waits for the lock; once held, nothing else waits.
                driver.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
                try:
                    driver.execute(sql)
                finally:
                    driver.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        except dbapi.Error as exc:
            raise DBAPIError.instance(sql, (), exc, dbapi.Error, dialect=conn.dialect) from exc


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def insert_or_update(conn: Connection, table: Table) -> Any:
    """An INSERT on `table` with this database's ON CONFLICT clauses (`on_conflict_do_update`,
    `on_conflict_do_nothing`). The dialect's module is imported here, on first use: importing
    PostgreSQL's at start-up cost a SQLite command 50 ms (issue 18 item 1)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
