"""`postsales init`: create or upgrade the database with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URLs may hold %-escapes (search_path options)
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (revision before, revision after)."""
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    return before, head or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Refuse to work on a database that `postsales init` has not created or upgraded."""
    from ..errors import PostsalesError

    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    try:
        current = current_revision(engine)
    except Exception as exc:  # unreachable server, bad credentials: say so, no traceback
        url = engine.url.render_as_string(hide_password=True)
        raise PostsalesError(
            f"cannot open database {url}: {exc.__class__.__name__}: {exc}"
        ) from None
    if current != head:
        url = engine.url.render_as_string(hide_password=True)
        state = "is not initialised" if current is None else f"is at revision {current}, not {head}"
        raise PostsalesError(f"database {url} {state}; run `postsales init`")
