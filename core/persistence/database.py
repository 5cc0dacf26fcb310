"""Engines per dialect, and the transaction rules that keep money safe (issue 2 item 12).

SQLite: pysqlite's own transaction handling is switched off and every write transaction starts
with `BEGIN IMMEDIATE`, so the write lock is taken *before* an order is read: two agents refunding
the same line are serialised instead of both reading the old remainder. Readers use a deferred
`BEGIN` and never block under WAL. PostgreSQL: the unit of work locks the order row
(`SELECT … FOR UPDATE`) before reading the aggregate.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path("var") / "postsales.db"
READ_ONLY = "postsales_read_only"
SQLITE_CACHE_KIB = 16 * 1024


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, then POSTSALES_DATABASE_URL, then var/postsales.db."""
    url = url or os.environ.get("POSTSALES_DATABASE_URL")
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; SQLAlchemy would otherwise look for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 16 MB of page cache per connection instead of 2: a search total that reads a
        # thousand scattered order rows (partial name, child-table filters) costs half the CPU
        # at 1,000,000 orders (6 ms -> 3 ms, bench/search.py). No mmap: it measured no faster
        # here and makes every page an export reads count in the process's memory.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
