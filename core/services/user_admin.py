"""What an admin does to users (issue 16 item 4, SPEC §4): list them with roles, stores, time
zone and last sign-in; change roles and time zone; disable and enable. Every change needs
`users.manage` and is written to the audit log in the same transaction as the change.

Disabling a user ends their web sessions at once (the rows go) and stops their API tokens
(each token use checks the user); the tokens themselves are kept, so enabling the user again
brings back the tokens that were not revoked — revoke them too if that is not wanted. An admin
cannot disable themselves, nor take `users.manage` from themselves, so there is always someone
left who can undo a mistake.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update

from ..bootstrap import Postsales
from ..domain.users import User
from ..errors import NotFound, Refused
from ..persistence import tables as T
from . import audit
from .users import (
    check_email,
    check_roles,
    check_timezone,
    end_user_sessions,
    may_manage,
    stored_user,
    user_from_row,
)

USER_CHANGED = "user.changed"
USER_DISABLED = "user.disabled"
USER_ENABLED = "user.enabled"


def _columns() -> list[Any]:
    u = T.users.c
    return [
        u.id,
        u.name,
        u.roles,
        u.timezone,
        u.email,
        u.created_at,
        u.last_sign_in_at,
        u.disabled_at,
        u.disabled_by,
    ]


def _listed(app: Postsales, row: Any, sessions: int) -> dict[str, Any]:
    user = user_from_row(app, row)
    return {
        "name": user.name,
        "roles": list(user.roles),
        "stores": None if user.channels is None else sorted(user.channels),
        "timezone": user.timezone,
        "email": row.email,
        "permissions": sorted(user.permissions),
        "created_at": row.created_at,
        "last_sign_in_at": row.last_sign_in_at,
        "disabled": row.disabled_at is not None,
        "disabled_at": row.disabled_at,
        "disabled_by": row.disabled_by,
        "sessions": sessions,
    }


def _sessions_by_user(conn: Any, user_id: int | None = None) -> dict[int, int]:
    s = T.web_sessions.c
    query = select(s.user_id, func.count()).group_by(s.user_id)
    if user_id is not None:
        query = query.where(s.user_id == user_id)
    return {uid: int(n) for uid, n in conn.execute(query)}


def list_users(app: Postsales, *, actor: User) -> list[dict[str, Any]]:
    """Every user by name: roles, stores (from the roles; None is all), time zone, last
    sign-in, whether disabled, and how many web sessions are open."""
    may_manage(actor)
    with app.uow(read_only=True) as uow:
        rows = uow.conn.execute(select(*_columns()).order_by(T.users.c.name)).all()
        sessions = _sessions_by_user(uow.conn)
    return [_listed(app, row, sessions.get(row.id, 0)) for row in rows]


def show_user(app: Postsales, name: str, *, actor: User) -> dict[str, Any]:
    """One user as `list_users` shows each."""
    may_manage(actor)
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(select(*_columns()).where(T.users.c.name == name)).first()
        if row is None:
            raise NotFound(f"user {name!r} not found")
        sessions = _sessions_by_user(uow.conn, row.id)
    return _listed(app, row, sessions.get(row.id, 0))


def change_user(
    app: Postsales,
    name: str,
    *,
    actor: User,
    roles: list[str] | None = None,
    timezone: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """New roles, time zone and/or e-mail address (blank removes it); returns what changed
    ({field: {"from", "to"}}), also the audit record's detail. Nothing changed, nothing
    recorded."""
    may_manage(actor)
    if roles is not None:
        roles = list(dict.fromkeys(roles))  # as given, without repeats
        check_roles(app, roles)
    if timezone is not None:
        timezone = timezone.strip()
        check_timezone(timezone)
    new_email = check_email(email) if email is not None else None
    with app.uow() as uow:
        row = stored_user(uow.conn, name)
        changes: dict[str, Any] = {}
        if roles is not None and roles != list(row.roles):
            changes["roles"] = {"from": list(row.roles), "to": roles}
        if timezone is not None and timezone != row.timezone:
            changes["timezone"] = {"from": row.timezone, "to": timezone}
        if email is not None and new_email != row.email:
            changes["email"] = {"from": row.email, "to": new_email}
        if not changes:
            return {}
        if "roles" in changes and row.id == actor.id:
            after = SimpleNamespace(id=row.id, name=row.name, roles=roles, timezone=row.timezone)
            kept = user_from_row(app, after)
            if not kept.can("users.manage"):
                raise Refused("you cannot take users.manage from yourself; ask another admin")
        uow.conn.execute(
            update(T.users)
            .where(T.users.c.id == row.id)
            .values(
                roles=roles if "roles" in changes else row.roles,
                timezone=timezone or row.timezone,
                email=new_email if "email" in changes else row.email,
            )
        )
        audit.append(uow.conn, app, actor.name, USER_CHANGED, {"user": name, **changes})
        uow.commit()
    return changes


def disable_user(app: Postsales, name: str, *, actor: User) -> int:
    """Disable the user: their sessions end and their tokens stop at once, on every host.
    Returns how many sessions were ended."""
    may_manage(actor)
    with app.uow() as uow:
        row = stored_user(uow.conn, name)
        if row.id == actor.id:
            raise Refused("you cannot disable yourself; ask another admin")
        if row.disabled_at is not None:
            raise Refused(f"user {name} is already disabled")
        uow.conn.execute(
            update(T.users)
            .where(T.users.c.id == row.id)
            .values(disabled_at=app.now(), disabled_by=actor.name)
        )
        ended = end_user_sessions(uow.conn, row.id)
        audit.append(
            uow.conn, app, actor.name, USER_DISABLED, {"user": name, "sessions_ended": ended}
        )
        uow.commit()
    return ended


def enable_user(app: Postsales, name: str, *, actor: User) -> None:
    """Let a disabled user sign in again; tokens not revoked work again."""
    may_manage(actor)
    with app.uow() as uow:
        row = stored_user(uow.conn, name)
        if row.disabled_at is None:
            raise Refused(f"user {name} is not disabled")
        uow.conn.execute(
            update(T.users).where(T.users.c.id == row.id).values(disabled_at=None, disabled_by=None)
        )
        audit.append(uow.conn, app, actor.name, USER_ENABLED, {"user": name})
        uow.commit()


__all__ = ["change_user", "disable_user", "enable_user", "list_users", "show_user"]
