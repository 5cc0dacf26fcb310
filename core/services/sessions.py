"""Web sessions kept in the database (issue 17 item 4, issue 15 item 1).

The browser's cookie carries a random session id; the `web_sessions` table holds its SHA-256,
the user it belongs to and when it started and was last seen. Every host and worker reads the
same rows, so signing out, a password change or disabling the user ends the session everywhere
at once, and the idle timeout counts from the last request to any host.

`seen_at` is rewritten at most once per `SEEN_EVERY` (not on every request): the idle timeout
is measured to within that much, and a busy agent costs one small write a minute, not one per
page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

import attrs
from sqlalchemy import Connection, delete, insert, or_, select, update

from ..bootstrap import Postsales
from ..domain.users import User
from ..faults import database_errors, first_line
from ..persistence import tables as T
from . import audit
from .audit import BEST_EFFORT_LOCK_WAIT
from .users import user_from_row

log = logging.getLogger(__name__)

IDLE_TIMEOUT = timedelta(minutes=30)  # without a request, the agent must sign in again
ABSOLUTE_TIMEOUT = timedelta(hours=12)  # a working day, however active
SEEN_EVERY = timedelta(minutes=1)

SIGNED_OUT = "Your session has ended; please sign in again."
IDLE = "You were signed out after 30 minutes without activity."
TOO_LONG = "Your session reached its 12-hour limit; please sign in again."


@attrs.frozen
class Resumed:
    """The session's user, or why there is none (a sentence for the sign-in page)."""

    user: User | None
    reason: str | None = None


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _prune(conn: Connection, now: datetime) -> None:
    """Forget sessions that can no longer be resumed (cheap: both columns are indexed)."""
    s = T.web_sessions.c
    conn.execute(
        delete(T.web_sessions).where(
            or_(s.seen_at < now - IDLE_TIMEOUT, s.created_at < now - ABSOLUTE_TIMEOUT)
        )
    )


def start_session(app: Postsales, user: User, *, source: str | None = None) -> str:
    """A new session for `user` (signed in just now); returns the id for the cookie. The
    sign-in is recorded in the audit log (`auth.signed_in`, with the client's address
    `source`) in the same transaction."""
    if user.id is None:
        raise ValueError("only a stored user has sessions")
    session_id = secrets.token_urlsafe(32)
    now = app.now()
    with app.uow() as uow:
        _prune(uow.conn, now)
        audit.append(uow.conn, app, user.name, audit.SIGNED_IN,
                     {"door": "web", "source": (source or "")[:64] or None})  # fmt: skip
        uow.conn.execute(
            insert(T.web_sessions).values(
                id_hash=_hash(session_id), user_id=user.id, created_at=now, seen_at=now
            )
        )
        uow.conn.execute(update(T.users).where(T.users.c.id == user.id).values(last_sign_in_at=now))
        uow.commit()
    return session_id


def resume_session(app: Postsales, session_id: str) -> Resumed:
    """The user of a session that is still valid; its idle timer restarts."""
    s, u = T.web_sessions.c, T.users.c
    now = app.now()
    query = (
        select(s.created_at, s.seen_at, u.id, u.name, u.roles, u.timezone, u.email)
        .add_columns(u.disabled_at)
        .join_from(T.web_sessions, T.users, s.user_id == u.id)
        .where(s.id_hash == _hash(session_id))
    )
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(query).first()
    if row is None:  # signed out (here or on another host), or ended by an admin
        return Resumed(None, SIGNED_OUT)
    if row.disabled_at is not None:  # disabling deletes the rows; this covers a race with it
        end_session(app, session_id)
        return Resumed(None, SIGNED_OUT)
    if now - row.created_at > ABSOLUTE_TIMEOUT:
        end_session(app, session_id)
        return Resumed(None, TOO_LONG)
    if now - row.seen_at > IDLE_TIMEOUT:
        end_session(app, session_id)
        return Resumed(None, IDLE)
    if now - row.seen_at >= SEEN_EVERY:
        _touch(app, session_id, now)
    return Resumed(user_from_row(app, row))


def _touch(app: Postsales, session_id: str, now: datetime) -> None:
    """Restart the idle timer, best effort: a page is a read, so it neither waits long behind
    another writer's lock nor fails for it (issue 17 item 10); the next request tries again."""
    s = T.web_sessions.c
    try:
        with app.uow(lock_wait=BEST_EFFORT_LOCK_WAIT) as uow:
            uow.conn.execute(
                update(T.web_sessions).where(s.id_hash == _hash(session_id)).values(seen_at=now)
            )
            uow.commit()
    except database_errors() as exc:
        log.warning("session seen_at not updated: %s", first_line(exc))


def end_session(app: Postsales, session_id: str | None) -> None:
    """Sign-out: the session ends on every host."""
    if not session_id:
        return
    with app.uow() as uow:
        uow.conn.execute(
            delete(T.web_sessions).where(T.web_sessions.c.id_hash == _hash(session_id))
        )
        uow.commit()


__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "Resumed",
    "end_session",
    "resume_session",
    "start_session",
]
