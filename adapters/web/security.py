"""Sessions, CSRF, sign-in throttling, security headers and the secret key (SPEC §10).

The session is Flask's signed cookie: it holds only the user's name, a CSRF token and two
timestamps, so nothing secret leaves the server and nothing needs a session store.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

from postsales.core.domain.users import User
from postsales.core.errors import BadInput
from postsales.core.services.keys import key_file_beside

if TYPE_CHECKING:
    from sqlalchemy import Engine

IDLE_TIMEOUT = 30 * 60  # seconds without a request before the agent must sign in again
ABSOLUTE_TIMEOUT = 12 * 60 * 60  # a working day, however active
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


# -- session lifetime -----------------------------------------------------------------------


def start_session(user: User) -> None:
    """Rotate the session at sign-in: nothing from before (CSRF token included) survives."""
    session.clear()
    now = int(time.time())
    session["user"] = user.name
    session["started"] = now
    session["seen"] = now
    session["csrf"] = secrets.token_urlsafe(32)


def session_expired() -> str | None:
    """Why the signed-in session is over, or None; refreshes the idle timer otherwise."""
    now = int(time.time())
    started, seen = session.get("started"), session.get("seen")
    if not isinstance(started, int) or not isinstance(seen, int):
        return "Please sign in."
    if now - started > ABSOLUTE_TIMEOUT:
        return "Your session reached its 12-hour limit; please sign in again."
    if now - seen > IDLE_TIMEOUT:
        return "You were signed out after 30 minutes without activity."
    if now != seen:
        session["seen"] = now
    return None


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


# -- sign-in throttling ---------------------------------------------------------------------


class LoginThrottle:
    """At most `limit` failures per username and per IP in `window` seconds, then a pause.

    An in-process dict: enough for one server process. With several gunicorn workers each
    keeps its own count, so the effective limit is multiplied by the worker count; a shared
    store (the database or Redis) replaces this when that matters. Behind a reverse proxy the
    client's address is the proxy's unless Werkzeug's ProxyFix is configured, and the per-IP
    limit would then apply to everyone at once.
    """

    def __init__(self, limit: int = 5, window: float = 15 * 60, clock: Any = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, ip: str) -> list[str]:
        return [f"user:{username.strip().lower()}", f"ip:{ip}"]

    def blocked_for(self, keys: list[str]) -> float:
        """Seconds left before these keys may try again (0 when they may)."""
        now = self.clock()
        with self._lock:
            left = [self._blocked_until.get(k, 0) - now for k in keys]
        return max(0.0, *left)

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                recent = self._failures.setdefault(key, deque())
                while recent and now - recent[0] > self.window:
                    recent.popleft()
                recent.append(now)
                if len(recent) >= self.limit:
                    self._blocked_until[key] = now + self.window
                    recent.clear()

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)


def current_user() -> User | None:
    """The signed-in user of this request (loaded once per request by the app)."""
    return g.get("user")
