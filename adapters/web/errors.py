"""Core errors and HTTP errors -> pages, in one place (STYLE: one error map per adapter).

`BadInput` 422 on a form (400 on a query string), `Refused` 409, `NotFound` 404, `Forbidden`
403, `Unavailable` 503. Bad input and refusals are shown next to the form that caused them; the
others get a page. A database that is locked past the busy timeout, read-only or down is a 503
page with `Retry-After` (`core.faults.explain`), not a 500 (issue 17 item 10). Nothing a user
can type ends in a traceback: unexpected errors get a plain 500 page.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as HTTPNotFound

from postsales.core.errors import (
    BadInput,
    Forbidden,
    NotFound,
    PostsalesError,
    Refused,
    Unavailable,
)
from postsales.core.faults import explain

from .audit import audit_refusal

log = logging.getLogger(__name__)

STATUS: dict[type[PostsalesError], int] = {
    Unavailable: 503,
    BadInput: 422,
    Refused: 409,
    NotFound: 404,
    Forbidden: 403,
}

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Refused",
    422: "Cannot accept this input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Try again in a moment",
}
RETRY_AFTER_SECONDS = "5"


def status_for(exc: PostsalesError, *, query: bool = False) -> int:
    """The HTTP status of a core error; bad query-string input is a plain 400."""
    if query and isinstance(exc, BadInput):
        return 400
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 500


def shown_inline(exc: PostsalesError) -> bool:
    """Whether the error belongs next to the form that caused it rather than on its own page."""
    return isinstance(exc, BadInput | Refused)


def error_page(status: int, message: str, title: str | None = None) -> tuple[str, int]:
    title = title or TITLES.get(status, "Error")
    return render_template("error.html", status=status, title=title, message=message), status


def unavailable_page(exc: PostsalesError) -> tuple[str, int, dict[str, str]]:
    """The 503 page of a database (or other service) that cannot serve the request now."""
    log.warning("503 on %s %s: %s", request.method, request.path, exc.message)
    page, status = error_page(503, exc.message)
    return page, status, {"Retry-After": RETRY_AFTER_SECONDS}


def _core_error(exc: PostsalesError) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    status = status_for(exc)
    if status == 503:
        return unavailable_page(exc)
    if status == 500:
        log.error("unexpected core error: %s", exc.message)
        return error_page(500, "The request could not be completed.")
    audit_refusal(current_app.extensions["postsales"], g.get("user"), exc, door="web")
    title = None
    if isinstance(exc, NotFound) and (request.view_args or {}).get("order_id"):
        # Unknown and out-of-store orders read the same (SPEC §4).
        title = "Order not found"
    return error_page(status, exc.message, title)


def _http_error(exc: HTTPException) -> tuple[str, int] | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc
    message = exc.description or ""
    if exc.code == 404 and message == HTTPNotFound.description:
        message = "There is no page at this address."
    return error_page(exc.code, message)


def _unexpected(exc: Exception) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    fault = explain(exc, database="")  # "the database": its URL is not the visitor's business
    if fault is not None:
        # Locked, read-only, unreachable: the service's state, not a bug, and not the
        # visitor's input either.
        return unavailable_page(Unavailable(fault.message))
    if current_app.testing:
        raise exc  # in tests a bug should fail loudly with its traceback
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, "The request could not be completed. It has been logged.")


def register(app: Flask) -> None:
    app.register_error_handler(PostsalesError, _core_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
