"""The session cookie, CSRF, security headers and the secret key (SPEC §10).

The cookie is Flask's signed cookie: it holds a random session id and the CSRF token, nothing
else. Whose session it is, and whether it is still valid, lives in the database
(`core/services/sessions.py`), so signing out ends it on every host, and the key that signs
the cookie must be the same on every host (`POSTSALES_SECRET_KEY`, docs/deploy.md).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

from postsales.core.bootstrap import Postsales
from postsales.core.domain.users import User
from postsales.core.errors import BadInput
from postsales.core.services.keys import key_file_beside
from postsales.core.services.sessions import end_session
from postsales.core.services.sessions import start_session as core_start_session

if TYPE_CHECKING:
    from sqlalchemy import Engine

SECRET_KEY_FILE = "secret_key"  # beside a SQLite database
SECRET_KEY_ENV = "POSTSALES_SECRET_KEY"
SECRET_KEY_FILE_ENV = "POSTSALES_SECRET_KEY_FILE"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def load_secret_key(engine: Engine) -> str:
    """`POSTSALES_SECRET_KEY`, else the file named by `POSTSALES_SECRET_KEY_FILE`, else
    `secret_key` beside a SQLite database (`var/postsales.db` -> `var/secret_key`), made on
    first use; a PostgreSQL database has no folder, so one of the two must be set.

    The key belongs to the database, not to the folder the server was started in: started
    from elsewhere, the app keeps its sessions. Nothing stored depends on it (it signs the
    session cookie only), so a new one merely signs everyone out. It is never a constant in
    the code, which would let anyone who read the source forge a session.
    """
    from_env = os.environ.get(SECRET_KEY_ENV)
    if from_env:
        return from_env
    named = os.environ.get(SECRET_KEY_FILE_ENV)
    path = Path(named) if named else key_file_beside(engine, SECRET_KEY_FILE)
    if path is None:
        url = engine.url.render_as_string(hide_password=True)
        raise BadInput(
            f"no secret key for the web app on {url}: it has no folder to keep one beside, so "
            f"set {SECRET_KEY_ENV} (at least 32 random bytes) or {SECRET_KEY_FILE_ENV} (a file "
            "holding it, made on first use); see docs/deploy.md"
        )
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


class SessionInterface(SecureCookieSessionInterface):
    """Marks the cookie `Secure` when the app is configured for HTTPS or the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


# -- the session cookie ---------------------------------------------------------------------

SESSION_ID = "sid"


def start_session(app: Postsales, user: User) -> None:
    """Rotate the cookie at sign-in: nothing from before (CSRF token included) survives, and
    a session this browser had before ends."""
    end_session(app, session.get(SESSION_ID))
    session.clear()
    session[SESSION_ID] = core_start_session(app, user, source=request.remote_addr)
    session["csrf"] = secrets.token_urlsafe(32)


def end_this_session(app: Postsales) -> None:
    """Sign-out: the session ends in the database (every host), and the cookie is emptied."""
    end_session(app, session.get(SESSION_ID))
    session.clear()


# -- CSRF -----------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's token, made on first use (the sign-in form needs one before sign-in)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Every POST form carries the session's token; a mismatch is a 400, never an action."""
    if request.method != "POST":
        return
    expected = session.get("csrf")
    sent = request.form.get("csrf_token", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, sent):
        abort(400, "The form could not be verified (it may have expired). Reload and try again.")


def add_security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        # Order pages hold personal data: keep them out of shared caches and the back button.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
