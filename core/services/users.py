"""Users (SPEC §4): adding one, the user a door acts as, passwords (argon2id).

A user is known by an id that is never reused; sessions (`sessions.py`) and API tokens
(`tokens.py`) belong to that id, so a user removed and made again under the same name starts
with neither. What an admin changes later is in `user_admin.py`.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from ..bootstrap import Postsales
from ..domain.users import SYSTEM_USER, User, system_user
from ..errors import BadInput, Forbidden, NotFound
from ..persistence import tables as T
from . import audit

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def _user_from_roles(
    app: Postsales,
    name: str,
    roles: list[str],
    timezone: str,
    user_id: int | None = None,
    email: str | None = None,
) -> User:
    permissions: set[str] = set()
    channels: set[str] | None = set()
    for role_name in roles:
        role = app.settings.roles.get(role_name)
        if role is None:
            continue  # a role removed from the config grants nothing
        permissions.update(role.permissions)
        if role.sales_channels == "*":
            channels = None
        elif channels is not None:
            channels.update(role.sales_channels)
    return User(
        name,
        tuple(roles),
        frozenset(permissions),
        None if channels is None else frozenset(channels),
        timezone,
        id=user_id,
        email=email,
    )


def user_from_row(app: Postsales, row: Any) -> User:
    """A `User` from a row holding the `users` columns id, name, roles and timezone (and
    email, when selected)."""
    email = getattr(row, "email", None)
    return _user_from_roles(app, row.name, list(row.roles), row.timezone, row.id, email)


def add_user(
    app: Postsales,
    name: str,
    roles: list[str],
    password: str | None,
    timezone: str = "UTC",
    *,
    actor: User | None = None,
    email: str | None = None,
) -> User:
    """Create a user; roles must exist in the config, the time zone must be a real zone, the
    e-mail address (optional) a plausible one.

    `actor` (default: the built-in `system` user) needs `users.manage`; the audit log records
    who added whom."""
    actor = actor or system_user()
    may_manage(actor)
    if not name or len(name) > 64 or name == SYSTEM_USER:
        raise BadInput(f"name: {name!r} cannot be used as a user name", field="name")
    check_roles(app, roles)
    check_timezone(timezone)
    email = check_email(email)
    if password is not None:
        check_new_password(password)
    with app.uow() as uow:
        exists = uow.conn.execute(select(T.users.c.name).where(T.users.c.name == name)).first()
        if exists:
            raise BadInput(f"name: user {name!r} already exists", field="name")
        result = uow.conn.execute(
            insert(T.users).values(
                name=name,
                password_hash=_hasher.hash(password) if password else None,
                roles=list(roles),
                timezone=timezone,
                email=email,
                created_at=app.now(),
            )
        )
        assert result.inserted_primary_key is not None  # an INSERT of one row
        user_id = result.inserted_primary_key[0]
        detail: dict[str, Any] = {"user": name, "roles": list(roles), "timezone": timezone}
        if email:
            detail["email"] = email
        audit.append(uow.conn, app, actor.name, audit.USER_ADDED, detail)
        uow.commit()
    return _user_from_roles(app, name, list(roles), timezone, user_id, email)


def check_roles(app: Postsales, roles: list[str]) -> None:
    """At least one role, each defined in the config."""
    if not roles:
        raise BadInput("role: give at least one role", field="role")
    for role in roles:
        if role not in app.settings.roles:
            known = ", ".join(sorted(app.settings.roles))
            raise BadInput(f"role: unknown role {role!r}; known roles: {known}", field="role")


# One @, no spaces or angle brackets, a dot in the domain: enough to catch a typo or a name typed
# in the wrong box; whether the mailbox exists is not for Postsales to know.
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")
EMAIL_MAX = 254  # RFC 5321's limit on a path, the column's width


def check_email(email: str | None) -> str | None:
    """The address stripped, None for none (None or blank); BadInput naming `email` if it
    cannot be an e-mail address."""
    if email is None or not email.strip():
        return None
    email = email.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email) or not email.isascii():
        raise BadInput(
            f"email: {email[:80]!r} is not an e-mail address (expected name@example.com)",
            field="email",
        )
    return email


def check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"timezone: unknown time zone {timezone!r}", field="timezone") from None


def get_user(app: Postsales, name: str | None) -> User:
    """The user a door acts as; no name means the built-in `system` user (CLI only).

    A disabled user is refused (Forbidden): they act through no door until enabled again."""
    if not name or name == SYSTEM_USER:
        return system_user()
    u = T.users.c
    with app.uow(read_only=True) as uow:
        # Only what a User is made of, not the password hash.
        row = uow.conn.execute(
            select(u.id, u.name, u.roles, u.timezone, u.email, u.disabled_at).where(u.name == name)
        ).first()
    if row is None:
        raise NotFound(f"user {name!r} not found")
    if row.disabled_at is not None:
        raise Forbidden(f"user {name!r} is disabled")
    return user_from_row(app, row)


def authenticate(app: Postsales, name: str, password: str) -> tuple[User | None, str]:
    """(the user, "ok") for the right password of an enabled user, else (None, why): "invalid"
    (unknown name or wrong password) or "disabled" (right password, disabled user). Only the
    audit log may tell these apart; the person signing in is told the same for both."""
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(select(T.users).where(T.users.c.name == name)).first()
    if row is None or not row.password_hash:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None, "invalid"
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None, "invalid"
    if row.disabled_at is not None:
        return None, "disabled"
    return user_from_row(app, row), "ok"


def verify_password(app: Postsales, name: str, password: str) -> User | None:
    """The user, if `password` is theirs and they are not disabled."""
    return authenticate(app, name, password)[0]


def check_new_password(password: str) -> None:
    if len(password) < 8:
        raise BadInput("password: at least 8 characters", field="password")


def stored_user(conn: Connection, name: str) -> Any:
    """The user's row (NotFound if there is none)."""
    row = conn.execute(select(T.users).where(T.users.c.name == name)).first()
    if row is None:
        raise NotFound(f"user {name!r} not found")
    return row


def end_user_sessions(conn: Connection, user_id: int) -> int:
    """End every web session of a user, in the caller's transaction; returns how many."""
    result = conn.execute(delete(T.web_sessions).where(T.web_sessions.c.user_id == user_id))
    return int(result.rowcount or 0)


def may_manage(actor: User) -> None:
    """Refuse unless `actor` may manage users (and their tokens)."""
    if not actor.can("users.manage"):
        raise Forbidden("you lack the permission users.manage")


def set_password(app: Postsales, name: str, password: str, *, actor: User) -> None:
    """A new password; every session of the user ends at once (on every host)."""
    may_manage(actor)
    check_new_password(password)
    with app.uow() as uow:
        row = stored_user(uow.conn, name)
        uow.conn.execute(
            update(T.users)
            .where(T.users.c.id == row.id)
            .values(password_hash=_hasher.hash(password))
        )
        ended = end_user_sessions(uow.conn, row.id)
        audit.append(
            uow.conn, app, actor.name, audit.USER_PASSWORD, {"user": name, "sessions_ended": ended}
        )
        uow.commit()
