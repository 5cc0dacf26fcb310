"""Sign-in and sign-out (SPEC §10): argon2id via the core, a rotated signed session."""

from __future__ import annotations

import math

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from postsales.core.services.audit import record_sign_in_failure
from postsales.core.services.users import verify_password

from .context import services
from .redirects import safe_next
from .security import LoginThrottle, end_this_session, start_session

bp = Blueprint("auth", __name__)


def _throttle() -> LoginThrottle:
    return current_app.extensions["postsales_login_throttle"]  # type: ignore[no-any-return]


def _audit_failure(username: str, reason: str) -> None:
    record_sign_in_failure(
        services(), username, door="web", source=request.remote_addr, reason=reason
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """Show the form; on POST check the password, then start a fresh session."""
    # Only a path on this site, as the browser will read it: an open redirect would make a
    # good phishing link (redirects.py). Refused values are dropped, not echoed into the form.
    next_url = safe_next(request.values.get("next", ""))
    if request.method != "POST":  # GET, and HEAD with it
        return render_template("login.html", next=next_url, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    keys = LoginThrottle.keys(username, request.remote_addr or "unknown")
    wait = _throttle().blocked_for(keys)
    if wait:
        _audit_failure(username, "throttled")
        minutes = max(1, math.ceil(wait / 60))
        error = (
            f"Too many failed sign-in attempts. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        return render_template("login.html", error=error, next=next_url, username=username), 429
    user = verify_password(services(), username, password) if username and password else None
    if user is None:
        _throttle().failed(keys)
        _audit_failure(username, "invalid")
        error = "Invalid username or password."
        return render_template("login.html", error=error, next=next_url, username=username), 401
    _throttle().succeeded(keys[0])
    start_session(services(), user)
    return redirect(next_url or url_for("orders.grid"))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """POST only (CSRF-checked), so a link or an image on another site cannot sign anyone out.

    The session ends in the database: a copy of the cookie taken before is worth nothing."""
    end_this_session(services())
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
