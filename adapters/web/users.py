"""Users and their API tokens, for admins (`users.manage`; issue 16 item 4, issue 17 item 7):
the list, and a user's page with their roles and time zone, password, disabling, and tokens.

Each view parses the form, calls one core service (`core/services/users.py`, `tokens.py`) and
renders the result; bad input is shown beside the form (422), as on the order page. A new
token is shown once, in the page that answers the form, and never put in the cookie.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from postsales.core.errors import BadInput, PostsalesError
from postsales.core.services import tokens as tk
from postsales.core.services.user_admin import (
    change_user,
    disable_user,
    enable_user,
    list_users,
    show_user,
)
from postsales.core.services.users import set_password

from .context import require, services, user
from .errors import shown_inline, status_for

bp = Blueprint("users", __name__, url_prefix="/admin/users")

Page = str | Response | tuple[str, int]


@bp.before_request
def _managers_only() -> None:
    require("users.manage")


@bp.get("")
def index() -> str:
    """Every user, with roles, stores and time zone."""
    return render_template("users.html", users=list_users(services(), actor=user()))


@functools.cache
def _zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


def _page(name: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    shown = show_user(services(), name, actor=user())
    listed = tk.list_tokens(services(), name, actor=user())
    context = {
        "u": shown,
        "tokens": listed,
        "roles": sorted(services().settings.roles),
        "zones": _zones(),
        "values": request.form,
        "form": None,  # which form the values and error belong to
        "error": None,
        "error_field": None,
        **extra,
    }
    return render_template("user.html", **context), status


@bp.get("/<name>")
def show(name: str) -> tuple[str, int]:
    return _page(name)


def _inline(name: str, form: str, exc: PostsalesError) -> tuple[str, int]:
    """Bad input or a refusal, shown at the form that caused it, the typed values kept."""
    if not shown_inline(exc):
        raise exc
    return _page(name, status_for(exc), form=form, error=exc.message, error_field=_field(exc))


@bp.post("/<name>")
def change(name: str) -> Page:
    """New roles, time zone and e-mail address."""
    try:
        changes = change_user(
            services(),
            name,
            actor=user(),
            roles=request.form.getlist("role"),
            timezone=request.form.get("timezone", ""),
            email=request.form.get("email"),  # absent: unchanged; blank: removed
        )
    except PostsalesError as exc:
        return _inline(name, "change", exc)
    flash(
        f"{name}: " + (", ".join(changes) + " changed." if changes else "nothing changed."),
        "success",
    )
    return redirect(url_for("users.show", name=name))


@bp.post("/<name>/password")
def password(name: str) -> Page:
    """A new password; the user's sessions end at once."""
    new, again = request.form.get("password", ""), request.form.get("password_again", "")
    try:
        if new != again:
            raise BadInput("password: the two passwords differ", field="password")
        set_password(services(), name, new, actor=user())
    except PostsalesError as exc:
        return _inline(name, "password", exc)
    flash(f"The password of {name} was changed; their sessions have ended.", "success")
    return redirect(url_for("users.show", name=name))


@bp.post("/<name>/disable")
def disable(name: str) -> Page:
    try:
        ended = disable_user(services(), name, actor=user())
    except PostsalesError as exc:
        return _inline(name, "status", exc)
    sessions = f"{ended} session{'s' if ended != 1 else ''}"
    flash(f"{name} is disabled: {sessions} ended, their API tokens stopped.", "success")
    return redirect(url_for("users.show", name=name))


@bp.post("/<name>/enable")
def enable(name: str) -> Page:
    try:
        enable_user(services(), name, actor=user())
    except PostsalesError as exc:
        return _inline(name, "status", exc)
    flash(f"{name} may sign in again.", "success")
    return redirect(url_for("users.show", name=name))


def _scope(form: Any) -> list[str]:
    """The scope radio buttons and permission boxes as the service reads them."""
    kind = form.get("scope", "all")
    if kind == "read":
        return ["read"]
    if kind == "some":
        chosen = form.getlist("permission")
        if not chosen:
            raise BadInput("scope: tick at least one permission", field="scope")
        return list(chosen)
    if kind != "all":
        raise BadInput(f"scope: expected all, read or some, got {kind!r}", field="scope")
    return []


@bp.post("/<name>/tokens")
def issue(name: str) -> Page:
    """A new token for the user, shown once in the answer."""
    form = request.form
    try:
        made = tk.create_token(
            services(),
            name,
            actor=user(),
            label=form.get("token_name", ""),
            expires_at=tk.parse_expiry(form.get("expires"), services().now(), user().timezone),
            scope=_scope(form),
        )
    except PostsalesError as exc:
        return _inline(name, "token", exc)
    return _page(name, 201, new_token=made, values=MultiDict())


@bp.post("/<name>/tokens/<int:token_id>/revoke")
def revoke(name: str, token_id: int) -> Response:
    tk.revoke_token(services(), name, token_id, actor=user())
    flash(f"Token {token_id} of {name} was revoked; it no longer works.", "success")
    return redirect(url_for("users.show", name=name, _anchor="tokens"))


def _field(exc: PostsalesError) -> str | None:
    return getattr(exc, "field", None)
