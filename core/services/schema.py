"""The database's schema as the doors see it (SPEC §10 `init`): create or upgrade it, refuse to
work on one `init` never made, say where a configured database stands (`config check`) and
whether it holds any order yet (`demo --if-empty`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import select

from ..bootstrap import Postsales
from ..errors import PostsalesError, Unavailable
from ..faults import explain, first_line, masked_url
from ..persistence import migrate
from ..persistence import tables as T
from ..persistence.database import make_engine, parse_database_url

READY = "ready"
NOT_INITIALISED = "not_initialised"
BEHIND = "behind"
UNKNOWN_REVISION = "unknown_revision"
UNREACHABLE = "unreachable"


@attrs.frozen
class DatabaseStatus:
    """Where a database stands: `state` is one of ready, not_initialised, behind,
    unknown_revision (newer than this version of Postsales) or unreachable."""

    url: str  # password hidden
    state: str
    revision: str | None
    head: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def database_label(app: Postsales) -> str:
    """The database's URL for messages, its password hidden."""
    return app.engine.url.render_as_string(hide_password=True)


def upgrade_database(app: Postsales) -> tuple[str | None, str]:
    """Create or upgrade the schema (Alembic); returns (revision before, revision after)."""
    return migrate.upgrade(app.engine)


def has_orders(app: Postsales) -> bool:
    """Whether the database holds any order at all, in any store (`postsales demo --if-empty`)."""
    with app.uow(read_only=True) as uow:
        return uow.conn.execute(select(T.orders.c.id).limit(1)).first() is not None


def ensure_current(app: Postsales) -> None:
    """Refuse (exit 3, HTTP 503) to work on a database that `postsales init` has not created
    or upgraded. A plain read of the stored revision: no Alembic, no write lock."""
    url = database_label(app)
    try:
        current, head = migrate.schema_state(app.engine)
    except Exception as exc:  # unreachable, locked, read-only: said in one line
        raise (explain(exc, database=url) or _unreadable(url, exc)) from None
    if current != head:
        state = "is not initialised" if current is None else f"is at revision {current}, not {head}"
        raise Unavailable(f"database {url} {state}; run `postsales init`")


def database_status(db_url: str | None = None) -> DatabaseStatus:
    """Where the database at `db_url` (or POSTSALES_DATABASE_URL, or the default) stands,
    without creating anything: a SQLite file that does not exist is reported, not made."""
    head = migrate.head_revision()
    try:
        parsed = parse_database_url(db_url)
    except PostsalesError as exc:
        return DatabaseStatus(masked_url(db_url or ""), UNREACHABLE, None, head, exc.message)
    url = parsed.render_as_string(hide_password=True)
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
        return DatabaseStatus(
            url, NOT_INITIALISED, None, head, "not initialised (no file yet; run postsales init)"
        )
    engine = make_engine(parsed.render_as_string(hide_password=False))
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:
        error = explain(exc, database=url) or _unreadable(url, exc)
        return DatabaseStatus(url, UNREACHABLE, None, head, error.message)
    finally:
        engine.dispose()
    if current is None:
        message = "not initialised (run postsales init)"
        return DatabaseStatus(url, NOT_INITIALISED, None, head, message)
    if current == head:
        return DatabaseStatus(url, READY, current, head, f"ready (revision {current})")
    if current in migrate.known_revisions():
        return DatabaseStatus(
            url, BEHIND, current, head, f"at revision {current}, not {head} (run postsales init)"
        )
    return DatabaseStatus(
        url,
        UNKNOWN_REVISION,
        current,
        head,
        f"at revision {current}, which this version of Postsales does not know (newer?)",
    )


def _unreadable(url: str, exc: BaseException) -> Unavailable:
    return Unavailable(f"cannot read database {url}: {first_line(exc)}")
