"""The schema's revision: `postsales init` upgrades with Alembic; every other command only checks.

Alembic takes about a third of a second to import, so it is loaded only to upgrade (issue 18
item 1). The check compares the revision stored in `alembic_version` with the head revision,
read from the migration files themselves (`revision = "…"` / `down_revision = "…"`), which is
what Alembic would find; `tests/integration/test_migrations.py` holds the two to each other.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from .database import READ_ONLY

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)
_IDS = re.compile(r"""["']([^"']+)["']""")


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URLs may hold %-escapes (search_path options)
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (revision before, revision after)."""
    from alembic import command

    cfg = alembic_config(engine)
    before = current_revision(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision id of the migration files."""
    return frozenset(_graph()[0])


@functools.cache
def head_revision() -> str:
    """The newest revision, from the migration files (no Alembic import)."""
    revisions, parents = _graph()
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}), not one")
    return heads[0]


@functools.cache
def _graph() -> tuple[set[str], set[str]]:
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8")):
            ids = _IDS.findall(value)
            if name == "revision":
                revisions.update(ids)
            else:
                parents.update(ids)
    return revisions, parents


def stored_revision(conn: Connection) -> str | None:
    """The revision in `alembic_version`, or None for a database `init` never touched."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        exists = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :t"),
            {"t": VERSION_TABLE},
        ).first()
    else:  # to_regclass follows search_path, as Alembic's own lookup does
        exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": VERSION_TABLE}).scalar()
    if not exists:
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def current_revision(engine: Engine) -> str | None:
    # A read: on SQLite a deferred BEGIN, so a writer holding the lock does not block it.
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return stored_revision(conn)


def schema_state(engine: Engine) -> tuple[str | None, str]:
    """(stored revision, head revision)."""
    return current_revision(engine), head_revision()
