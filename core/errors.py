"""The one error hierarchy of Postsales.

Every door maps these to its own vocabulary in one place: the CLI to exit codes (SPEC §10),
the API to HTTP statuses and problem+json, the web app to flash messages and pages.
"""

from __future__ import annotations


class PostsalesError(Exception):
    """Base of every error a user can cause; carries a message meant for that user.

    One of no more precise kind counts as bad input (exit 2): 1 is only for bugs (SPEC §10).
    """

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None) -> None:
        """`field`: the parameter or key path the error is about ("items[0].sku"), so a form
        can show it next to that field; a refusal may name one too (no stock for that SKU)."""
        if not message.isascii():  # a message quoting input must be printable and storable:
            message = message.encode("utf-8", "backslashreplace").decode()  # a lone \ud800
        super().__init__(message)
        self.message = message
        if field is not None and not field.isascii():  # as the message: a field may be typed
            field = field.encode("utf-8", "backslashreplace").decode()
        self.field = field


class BadInput(PostsalesError):
    """Input that cannot be accepted: a malformed message, parameter, filter or config (exit 2)."""

    exit_code = 2


class ConfigError(BadInput):
    """An invalid configuration file; `lines` name the file, the key path and what was expected."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Refused(PostsalesError):
    """Refused by a rule or by the state of the order (exit 3, HTTP 409)."""

    exit_code = 3


class NotFound(PostsalesError):
    """Unknown, or outside the user's stores: both answer "not found" (exit 4, HTTP 404)."""

    exit_code = 4


class Forbidden(PostsalesError):
    """The user lacks the permission (exit 5, HTTP 403)."""

    exit_code = 5


class Unavailable(PostsalesError):
    """What the command needs cannot serve it now: the database is unreachable, locked, not
    initialised or read-only, a broker is down (exit 3, HTTP 503). `denied` marks a refusal by
    the file system or the server's rights, which the CLI reports as exit 5."""

    exit_code = 3

    def __init__(self, message: str, *, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied
        if denied:
            self.exit_code = 5
