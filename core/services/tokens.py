"""API tokens an admin controls (issue 17 item 7, SPEC §10): each belongs to a user's id, has a
name, an optional expiry and an optional scope, can be listed and revoked, and its use is in
the audit log.

Only a token's SHA-256 is stored; the token itself is shown once, when it is made. A scope
narrows what the token may do to "read" (`READ_ONLY`) or a list of permissions, always within
the user's own: a user who loses a role loses it on every token too.

Use is recorded cheaply: a token's `last_used_at`, and an `api.token_used` audit row with the
method, route and address of the request, are written at most once per `USE_RECORDED_EVERY`
per token (the first request of each minute); see docs/api.md for why and what that costs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import insert, select, update

from ..bootstrap import Postsales
from ..domain.users import SYSTEM_USER, User
from ..errors import BadInput, Forbidden, NotFound, Refused
from ..persistence import tables as T
from . import audit
from .users import get_user, may_manage, stored_user, user_from_row

READ_ONLY = ("orders.view", "orders.export", "config.view")
USE_RECORDED_EVERY = timedelta(minutes=1)
NAME_MAX = 64

TOKEN_ISSUED = "api.token_issued"
TOKEN_REVOKED = "api.token_revoked"
TOKEN_USED = "api.token_used"

Scope = str | tuple[str, ...] | None  # None: every permission of the user; "read"; a list


@attrs.frozen
class NewToken:
    """A token just made: `token` is shown once and never stored."""

    id: int
    name: str
    token: str
    expires_at: datetime | None
    scope: Scope


@attrs.frozen
class TokenUse:
    """Where a token is being used, for the audit log."""

    door: str
    method: str
    route: str
    address: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stored(value: Any) -> Scope:
    """A scope as the `scope` column holds it: NULL, "read" or a JSON list."""
    if value is None or value == "read":
        return value
    return tuple(value)


def scope_permissions(scope: Scope) -> frozenset[str] | None:
    """The permissions a scope allows (None: no narrowing)."""
    if scope is None:
        return None
    return frozenset(READ_ONLY if scope == "read" else scope)


def parse_scope(app: Postsales, user: User, values: Collection[str]) -> Scope:
    """`read`, or permissions the user holds, as typed (comma-separated or repeated)."""
    names = [p.strip() for value in values for p in value.split(",") if p.strip()]
    if not names:
        return None
    if names == ["read"]:
        return "read"
    unknown = sorted(set(names) - app.registry.permissions)
    if unknown:
        raise BadInput(
            f"scope: unknown permission {', '.join(map(repr, unknown))}; give `read` or "
            f"permissions such as orders.view",
            field="scope",
        )
    lacking = sorted(p for p in set(names) if not user.can(p))
    if lacking:
        raise BadInput(
            f"scope: {user.name} does not have {', '.join(lacking)}; a token gets no more "
            "than its user",
            field="scope",
        )
    return tuple(sorted(set(names)))


_DURATION = re.compile(r"(\d{1,5})\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_expiry(text: str | None, now: datetime, zone: str = "UTC") -> datetime | None:
    """When a token should stop working, as typed: `90d`, `12h`, `30m`, a date (valid through
    that day, in `zone`) or an ISO-8601 time with an offset. Empty: never."""
    text = (text or "").strip()
    if not text:
        return None
    duration = _DURATION.fullmatch(text.lower())
    if duration:
        amount, unit = int(duration[1]), _UNITS[duration[2]]
        if amount == 0:
            raise BadInput("expires: give a positive duration such as 90d", field="expires")
        return now + timedelta(**{unit: amount})
    try:
        if len(text) == 10:  # a date
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(zone)).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadInput(
            f"expires: expected 90d, 12h, 30m, a date like 2027-01-31 or a time with an "
            f"offset like 2027-01-31T18:00:00+01:00, got {text!r}",
            field="expires",
        )
    return moment.astimezone(UTC)


def create_token(
    app: Postsales,
    name: str,
    *,
    actor: User,
    label: str = "token",
    expires_at: datetime | None = None,
    scope: Collection[str] = (),
) -> NewToken:
    """A new bearer token for the user `name`."""
    may_manage(actor)
    if not name or name == SYSTEM_USER:
        raise BadInput("name: the built-in system user has no API tokens; add a user first")
    label = label.strip()
    if not label or len(label) > NAME_MAX:
        raise BadInput(f"name: a token's name is 1 to {NAME_MAX} characters", field="token_name")
    now = app.now()
    if expires_at is not None and expires_at <= now:
        raise BadInput("expires: the expiry is in the past", field="expires")
    try:
        user = get_user(app, name)
    except Forbidden:
        raise Refused(f"user {name} is disabled; enable them first") from None
    narrowed = parse_scope(app, user, scope)
    token = "pst_" + secrets.token_urlsafe(32)
    with app.uow() as uow:
        result = uow.conn.execute(
            insert(T.api_tokens).values(
                token_hash=_hash(token),
                user_id=user.id,
                name=label,
                scope=shown_scope(narrowed),
                created_at=now,
                created_by=actor.name,
                expires_at=expires_at,
            )
        )
        assert result.inserted_primary_key is not None  # an INSERT of one row
        token_id = int(result.inserted_primary_key[0])
        audit.append(
            uow.conn,
            app,
            actor.name,
            TOKEN_ISSUED,
            {
                "user": name,
                "token_id": token_id,
                "token_name": label,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "scope": shown_scope(narrowed),
            },
        )
        uow.commit()
    return NewToken(token_id, label, token, expires_at, narrowed)


def issue_token(app: Postsales, name: str, *, actor: User | None = None, **options: Any) -> str:
    """A new token for `name` with every permission of its user (SPEC §10 `users token`)."""
    return create_token(app, name, actor=actor or get_user(app, None), **options).token


def shown_scope(scope: Scope) -> str | list[str] | None:
    """A scope as JSON shows it: null, \"read\" or a list."""
    return scope if scope is None or scope == "read" else list(scope)


def _status(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def list_tokens(app: Postsales, name: str, *, actor: User) -> list[dict[str, Any]]:
    """The user's tokens, newest first, revoked and expired ones included (marked so)."""
    may_manage(actor)
    t = T.api_tokens.c
    with app.uow(read_only=True) as uow:
        owner = stored_user(uow.conn, name)  # disabled users' tokens are listed too
        rows = uow.conn.execute(
            select(T.api_tokens).where(t.user_id == owner.id).order_by(t.id.desc())
        ).all()
    now = app.now()
    return [
        {
            "id": row.id,
            "name": row.name,
            "status": _status(row, now),
            "scope": shown_scope(_stored(row.scope)),
            "created_at": row.created_at,
            "created_by": row.created_by,
            "expires_at": row.expires_at,
            "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at,
            "revoked_by": row.revoked_by,
        }
        for row in rows
    ]


def revoke_token(app: Postsales, name: str, token_id: int, *, actor: User) -> None:
    """Revoke one of the user's tokens; it stops working at once, on every host."""
    may_manage(actor)
    t = T.api_tokens.c
    with app.uow() as uow:
        owner = stored_user(uow.conn, name)
        row = uow.conn.execute(
            select(t.id, t.name, t.revoked_at).where(t.id == token_id, t.user_id == owner.id)
        ).first()
        if row is None:
            raise NotFound(f"user {name!r} has no token {token_id}")
        if row.revoked_at is not None:
            raise Refused(f"token {token_id} of {name} is already revoked")
        uow.conn.execute(
            update(T.api_tokens)
            .where(t.id == token_id)
            .values(revoked_at=app.now(), revoked_by=actor.name)
        )
        audit.append(
            uow.conn,
            app,
            actor.name,
            TOKEN_REVOKED,
            {"user": name, "token_id": token_id, "token_name": row.name},
        )
        uow.commit()


def user_for_token(app: Postsales, token: str, use: TokenUse | None = None) -> User | None:
    """The user a valid token acts as, its permissions narrowed to the token's scope; None for
    an unknown, revoked or expired token, or one of a disabled user. With `use`, the use is
    recorded (see above)."""
    t, u = T.api_tokens.c, T.users.c
    query = (
        select(
            u.id,
            u.name,
            u.roles,
            u.timezone,
            u.email,
            t.id.label("token_id"),
            t.name.label("token_name"),
            t.scope,
            t.expires_at,
            t.revoked_at,
            t.last_used_at,
            u.disabled_at,
        )
        .join_from(T.api_tokens, T.users, t.user_id == u.id)
        .where(t.token_hash == _hash(token))
    )
    with app.uow(read_only=True) as uow:
        row = uow.conn.execute(query).first()
    now = app.now()
    if row is None or _status(row, now) != "active" or row.disabled_at is not None:
        return None
    if use is not None and (
        row.last_used_at is None or now - row.last_used_at >= USE_RECORDED_EVERY
    ):
        _record_use(app, row, use, now)
    user = user_from_row(app, row)
    allowed = scope_permissions(_stored(row.scope))
    if allowed is not None:
        user = attrs.evolve(user, permissions=user.permissions & allowed)
    return user


def _record_use(app: Postsales, row: Any, use: TokenUse, now: datetime) -> None:
    try:
        # Best effort, briefly: a GET must not wait the busy timeout behind another writer.
        with app.uow(lock_wait=audit.BEST_EFFORT_LOCK_WAIT) as uow:
            uow.conn.execute(
                update(T.api_tokens)
                .where(T.api_tokens.c.id == row.token_id)
                .values(last_used_at=now)
            )
            audit.append(
                uow.conn,
                app,
                row.name,
                TOKEN_USED,
                {
                    "door": use.door,
                    "token_id": row.token_id,
                    "token_name": row.token_name,
                    "method": use.method,
                    "route": use.route[:200],
                    "source": (use.address or "")[:64] or None,
                },
            )
            uow.commit()
    except Exception:  # the answer must not depend on the log (as in audit.record)
        audit.log.exception("could not record the use of token %s", row.token_id)


__all__ = [
    "READ_ONLY",
    "NewToken",
    "TokenUse",
    "create_token",
    "issue_token",
    "list_tokens",
    "parse_expiry",
    "parse_scope",
    "revoke_token",
    "shown_scope",
    "user_for_token",
]
