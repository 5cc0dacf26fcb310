"""Core errors and HTTP errors -> pages, in one place (STYLE: one error map per adapter).

`BadInput` 422 on a form (400 on a query string), `Refused` 409, `NotFound` 404, `Forbidden`
403. Bad input and refusals are shown next to the form that caused them; the others get a page.
Nothing a user can type ends in a traceback: unexpected errors get a plain 500 page.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as HTTPNotFound

from postsales.core.errors import BadInput, Forbidden, NotFound, PostsalesError, Refused

from .audit import audit_refusal

log = logging.getLogger(__name__)

STATUS: dict[type[PostsalesError], int] = {
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
}


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


def _core_error(exc: PostsalesError) -> tuple[str, int]:
    status = status_for(exc)
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


def _unexpected(exc: Exception) -> tuple[str, int]:
    if current_app.testing:
        raise exc  # in tests a bug should fail loudly with its traceback
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, "The request could not be completed. It has been logged.")


def register(app: Flask) -> None:
    app.register_error_handler(PostsalesError, _core_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
