"""A database's keys as the doors see them (issue 12 item 7): the web app refuses to start on a
billing key that cannot read the database, and keeps its session secret beside a SQLite file.
The rules themselves are in `persistence.keys`; doors reach them here (the doors' contract)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..bootstrap import Postsales
from ..persistence import keys

if TYPE_CHECKING:
    from sqlalchemy import Engine


def check_billing_key(app: Postsales) -> None:
    """Raise `BillingKeyError` (exit 2) when no billing key is configured where one is needed,
    or when the keys found cannot read what the database holds."""
    keys.cipher_for(app.engine)


def key_file_beside(engine: Engine, name: str) -> Path | None:
    """`name` in the database's folder (SQLite), or None (PostgreSQL: configure it)."""
    return keys.key_file_beside(engine, name)
