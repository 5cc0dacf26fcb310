"""Per-request context: the services object, the signed-in user, times in the user's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, flash, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import Forbidden
from postsales.core.services.sessions import resume_session

from .security import SESSION_ID

# Endpoints reachable without a session: the sign-in form itself and the stylesheet.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})


def services() -> Postsales:
    return current_app.extensions["postsales"]  # type: ignore[no-any-return]


def user() -> User:
    """The signed-in user; views behind `load_user` may rely on it being there."""
    return g.user  # type: ignore[no-any-return]


def load_user() -> Response | None:
    """Before each request: find the session's user or send the browser to sign in.

    The session is looked up in the database on every request, so one ended on another host
    (sign-out, a password change, an admin's action) is over here too.
    """
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    session_id = session.get(SESSION_ID)
    loaded: User | None = None
    reason = None
    if isinstance(session_id, str) and session_id:
        resumed = resume_session(services(), session_id)
        loaded, reason = resumed.user, resumed.reason
    if loaded is None:
        session.clear()
        if reason:
            flash(reason, "info")
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))
    g.user = loaded
    return None


def require(permission: str) -> None:
    if not user().can(permission):
        raise Forbidden(f"you lack the permission {permission}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: Any, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """Jinja filter: a UTC datetime or ISO-8601 text shown in the signed-in user's zone."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = _zone(g.user.timezone) if g.get("user") else ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)


def grouped(value: Any) -> str:
    """Jinja filter: a count or an amount with thousands separators (12,480; 1,234.50).

    Amounts come as Decimal or as their text and keep their decimals; anything else is shown
    as it is."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    return f"{number:,}"
