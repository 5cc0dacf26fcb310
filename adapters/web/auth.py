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

from postsales.core.services.sign_in import ThrottlePolicy, sign_in

from .context import services
from .redirects import safe_next
from .security import end_this_session, start_session

bp = Blueprint("auth", __name__)


def _policy() -> ThrottlePolicy:
    return current_app.extensions["postsales_sign_in_policy"]  # type: ignore[no-any-return]


def _wait_text(seconds: float) -> str:
    if seconds <= 90:
        n = max(1, math.ceil(seconds))
        return f"{n} second{'s' if n != 1 else ''}"
    n = math.ceil(seconds / 60)
    return f"{n} minute{'s' if n != 1 else ''}"


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Show the form; on POST check the password, then start a fresh session."""
    # Only a path on this site, as the browser will read it: an open redirect would make a
    # good phishing link (redirects.py). Refused values are dropped, not echoed into the form.
    next_url = safe_next(request.values.get("next", ""))
    if request.method != "POST":  # GET, and HEAD with it
        return render_template("login.html", next=next_url, username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    # The client's address: the proxy's own unless POSTSALES_WEB_TRUSTED_PROXIES says how many
    # proxies' X-Forwarded-For to believe (ProxyFix, set up in create_app).
    outcome = sign_in(services(), username, password, address=request.remote_addr, policy=_policy())
    if outcome.wait:
        error = f"Too many failed sign-in attempts. Try again in {_wait_text(outcome.wait)}."
        page = render_template("login.html", error=error, next=next_url, username=username)
        return page, 429, {"Retry-After": str(math.ceil(outcome.wait))}
    if outcome.user is None:
        error = "Invalid username or password."
        return render_template("login.html", error=error, next=next_url, username=username), 401
    start_session(services(), outcome.user)
    return redirect(next_url or url_for("orders.grid"))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """POST only (CSRF-checked), so a link or an image on another site cannot sign anyone out.

    The session ends in the database: a copy of the cookie taken before is worth nothing."""
    end_this_session(services())
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
