"""The audit log (SPEC §4, §10): sign-ins, their failures and access-control failures, beside the
exports that `search.export_orders` records and the changes an admin makes to users
(`users.py`, written with the change itself by `append`).

Doors call these after they have refused a request, with what the user asked for (door, route,
action, order id); the user is told nothing more than before. An order outside the user's
stores and an order that does not exist both read "not found" to the user, and both are
recorded here, so that neither the answer nor its timing says which it was; the log says.

Writing the log never changes the answer: a failure to write it is logged and swallowed, so a
403 or a 404 never turns into a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, insert, select

from ..bootstrap import Postsales
from ..domain.users import User
from ..persistence import tables as T

log = logging.getLogger(__name__)

SIGNED_IN = "auth.signed_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
FORBIDDEN = "access.forbidden"
OUT_OF_STORE = "access.out_of_store"
UNKNOWN_ORDER = "access.unknown_order"
USER_ADDED = "user.added"
USER_PASSWORD = "user.password_changed"

# Seconds a best-effort record made while serving a read (a token's use, a session's seen_at)
# waits for SQLite's write lock: a read must not wait the busy timeout behind an import.
BEST_EFFORT_LOCK_WAIT = 1.0

_ACTOR_MAX = 96  # the width of audit_log.actor
_TEXT_MAX = 200  # typed text kept in `detail` (a user name, a path)


def _clip(text: str | None, size: int = _TEXT_MAX) -> str | None:
    return None if text is None else text[:size]


def _request(
    door: str, method: str, route: str, order_id: str | None, action: str | None
) -> dict[str, Any]:
    """What was asked for: the door, the method and path, the order and the action."""
    return {
        "door": door,
        "method": method,
        "route": _clip(route),
        "order_id": _clip(order_id),
        "action": _clip(action),
    }


def append(conn: Connection, app: Postsales, actor: str, kind: str, detail: dict[str, Any]) -> None:
    """Append one audit row in the caller's transaction: the record and the change it
    describes commit together, or neither does."""
    conn.execute(
        insert(T.audit_log).values(at=app.now(), actor=actor[:_ACTOR_MAX], kind=kind, detail=detail)
    )


def record(app: Postsales, actor: str, kind: str, detail: dict[str, Any]) -> bool:
    """Append one audit row in a transaction of its own; False (and a log line) if it failed."""
    try:
        with app.uow() as uow:
            append(uow.conn, app, actor, kind, detail)
            uow.commit()
    except Exception:  # the refusal the user gets must not depend on the log
        log.exception("could not write the audit record %s for %s", kind, actor)
        return False
    return True


def record_sign_in_failure(
    app: Postsales, username: str, *, door: str, source: str | None, reason: str
) -> bool:
    """A refused sign-in: wrong name or password (`reason="invalid"`) or throttled."""
    return record(
        app,
        username or "-",
        SIGN_IN_FAILED,
        {"door": door, "username": _clip(username), "source": _clip(source), "reason": reason},
    )


def record_forbidden(
    app: Postsales,
    user: User,
    *,
    door: str,
    route: str,
    method: str,
    reason: str,
    order_id: str | None = None,
    action: str | None = None,
) -> bool:
    """A signed-in user (or a token's user) refused for lack of permission (a 403)."""
    detail = _request(door, method, route, order_id, action)
    detail["reason"] = _clip(reason, 500)
    return record(app, user.name, FORBIDDEN, detail)


def _order_channel(app: Postsales, order_id: str) -> tuple[bool, str | None]:
    o = T.orders.c
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(select(o.sales_channel).where(o.id == order_id)).first()
    return (row is not None, row.sales_channel if row is not None else None)


def record_order_not_found(
    app: Postsales,
    user: User,
    order_id: str,
    *,
    door: str,
    route: str,
    method: str,
    action: str | None = None,
) -> str | None:
    """An order the user was told is "not found": recorded as `access.out_of_store` when it
    exists in a store the user may not see, `access.unknown_order` when it does not exist.
    Nothing is recorded when the user does see the order (the "not found" was about something
    else on it). Returns the kind recorded, if any."""
    try:
        exists, channel = _order_channel(app, order_id[:_TEXT_MAX])
    except Exception:
        log.exception("could not look up order %r for the audit log", order_id[:_TEXT_MAX])
        return None
    if exists and user.sees(channel or ""):
        return None
    kind = OUT_OF_STORE if exists else UNKNOWN_ORDER
    detail = _request(door, method, route, order_id, action)
    if exists:
        detail["sales_channel"] = channel
    return kind if record(app, user.name, kind, detail) else None


__all__ = [
    "FORBIDDEN",
    "OUT_OF_STORE",
    "SIGNED_IN",
    "SIGN_IN_FAILED",
    "UNKNOWN_ORDER",
    "USER_ADDED",
    "USER_PASSWORD",
    "append",
    "record",
    "record_forbidden",
    "record_order_not_found",
    "record_sign_in_failure",
]
