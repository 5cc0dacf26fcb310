"""UTC instants on their way to and from the database: the one place they are converted.

Times are stored as naive UTC on both databases; SQLite keeps them as text in SQLAlchemy's own
format, which the raw-cursor paths (bulk import, a flush's batch, the aggregate's reads) write
and read too, so every path agrees with every other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


def sqlite_time(value: datetime | None) -> str | None:
    """A UTC instant as the SQLite driver is handed it: SQLAlchemy's own storage format (always
    with microseconds), so both read paths agree; isoformat gives the same text for years from
    1000 at a third of strftime's cost."""
    if value is None:
        return None
    if value.utcoffset() != _NO_OFFSET:
        value = value.astimezone(UTC)
    if value.year < 1000:
        return f"{value:%Y-%m-%d %H:%M:%S.%f}"
    return value.isoformat(" ", "microseconds")[:26]


def naive_utc(value: datetime | None) -> datetime | None:
    """A UTC instant as psycopg is handed it (and as `UTCDateTime` binds it everywhere)."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def stored_time(dialect: str) -> Callable[[datetime | None], Any]:
    """How a `UTCDateTime` column's value goes to this dialect's driver on the raw-cursor paths."""
    return sqlite_time if dialect == "sqlite" else naive_utc


def read_time(value: datetime | str | None) -> datetime | None:
    """A `UTCDateTime` column's value as a driver returns it (SQLite text, naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


_NO_OFFSET = timedelta(0)
