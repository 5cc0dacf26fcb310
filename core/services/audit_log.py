"""Reading the audit log (issue 16 item 5): sign-ins and their failures, access refusals,
exports, user and token changes and token use — newest first, filtered and paged, for admins.

The log names users, addresses, routes and order ids of every store, so only a user who may
manage users (`users.manage`) *and* sees every sales channel reads it (the built-in `system`
user of the CLI does); anyone else is refused with nothing else said. Billing words an export
was filtered by stay sealed (S-6): they are shown as `[billing data]`, never opened here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import ColumnElement, and_, func, or_, select

from ..bootstrap import Postsales
from ..crypto import SEALED
from ..domain.users import User
from ..errors import BadInput, Forbidden
from ..persistence import tables as T

# Every kind Postsales writes, for the doors' filter choices (a filter may name others: a
# plugin's, or a category such as `access`).
KINDS = (
    "auth.signed_in",
    "auth.sign_in_failed",
    "access.forbidden",
    "access.out_of_store",
    "access.unknown_order",
    "orders.export",
    "user.added",
    "user.changed",
    "user.password_changed",
    "user.disabled",
    "user.enabled",
    "api.token_issued",
    "api.token_revoked",
    "api.token_used",
)
PER_PAGE = 50
MAX_PER_PAGE = 500
_KIND = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
SEALED_SHOWN = "[billing data]"


@attrs.frozen
class AuditPage:
    """One page of audit entries, newest first; `total` counts every entry the filters keep."""

    total: int
    page: int
    per_page: int
    entries: list[dict[str, Any]]


def may_read(user: User) -> None:
    """Refuse unless `user` may read the audit log (users.manage and every sales channel)."""
    if not user.can("users.manage") or user.channels is not None:
        raise Forbidden(
            "the audit log names users and orders of every store: only users with "
            "users.manage who see every sales channel may read it"
        )


def _kinds(values: list[str]) -> ColumnElement[bool] | None:
    """`user.disabled` is one kind; `user` (no dot) is every `user.…` kind."""
    conditions = []
    kind = T.audit_log.c.kind
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if not _KIND.fullmatch(value) or len(value) > 48:
            raise BadInput(
                f"kind: {value[:60]!r} is not a kind (e.g. access.forbidden) or a category "
                "(e.g. access)",
                field="kind",
            )
        conditions.append(kind == value if "." in value else kind.like(f"{value}.%"))
    return or_(*conditions) if conditions else None


def parse_when(field: str, value: str | None, zone: str, *, end: bool) -> datetime | None:
    """An ISO-8601 time (one without an offset is in `zone`) or a date: the start of that day
    in `zone`, or with `end` the start of the next (so `until=2026-12-02` keeps that day)."""
    text = (value or "").strip()
    if not text:
        return None
    tz = ZoneInfo(zone)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tz).astimezone(UTC)
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"{field}: {text[:60]!r} is not a date (2026-11-02) or an ISO-8601 time "
            "(2026-11-02T09:30:00+01:00)",
            field=field,
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=tz)).astimezone(UTC)


def _shown(value: Any) -> Any:
    """The detail as stored, with sealed billing data left sealed and said so."""
    if isinstance(value, dict):
        if set(value) == {SEALED}:
            return SEALED_SHOWN
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def read_audit(
    app: Postsales,
    user: User,
    *,
    kinds: list[str] | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> AuditPage:
    """The audit entries the filters keep, newest first: `kinds` (kinds or categories, any of
    them), `actor` (who acted, exactly), `since` / `until` (dates in the user's zone or ISO-8601
    times; `until` a date keeps that whole day), one page of `per_page` (1 to 500)."""
    may_read(user)
    if page < 1:
        raise BadInput(f"page: must be 1 or more, got {page}", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise BadInput(f"per_page: must be 1 to {MAX_PER_PAGE}, got {per_page}", field="per_page")
    a = T.audit_log.c
    conditions: list[ColumnElement[bool]] = []
    by_kind = _kinds(kinds or [])
    if by_kind is not None:
        conditions.append(by_kind)
    if actor is not None and actor.strip():
        conditions.append(a.actor == actor.strip())
    start = parse_when("since", since, user.timezone, end=False)
    stop = parse_when("until", until, user.timezone, end=True)
    if start is not None:
        conditions.append(a.at >= start)
    if stop is not None:
        conditions.append(a.at < stop)
    if start is not None and stop is not None and stop <= start:
        raise BadInput("until: must be after since", field="until")
    where = and_(*conditions) if conditions else None
    count = select(func.count()).select_from(T.audit_log)
    query = select(a.id, a.at, a.actor, a.kind, a.detail).order_by(a.at.desc(), a.id.desc())
    if where is not None:
        count, query = count.where(where), query.where(where)
    query = query.limit(per_page).offset((page - 1) * per_page)
    with app.uow(read_only=True) as uow:
        total = int(uow.conn.execute(count).scalar_one())
        rows = uow.conn.execute(query).all()
    entries = [
        {"id": r.id, "at": r.at, "actor": r.actor, "kind": r.kind, "detail": _shown(r.detail or {})}
        for r in rows
    ]
    return AuditPage(total, page, per_page, entries)


__all__ = ["KINDS", "MAX_PER_PAGE", "PER_PAGE", "AuditPage", "may_read", "parse_when", "read_audit"]
